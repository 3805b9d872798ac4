#!/usr/bin/env bash
# Install the Debian packages the web UI needs, only when missing (idempotent; run as root on CI).
#   chromium: the browser the Playwright tests in tests/frontend/ drive (never a downloaded one).
#   gettext:  msgfmt, which `manage.py compilemessages` needs to build locale/*/LC_MESSAGES/*.mo.
#   fonts-wqy-microhei: a small CJK font, so Mandarin text in the browser (and in the screenshots
#             of docs/screenshots/) renders as characters rather than empty boxes.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup_system: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup_system: chromium, gettext and fonts already installed"
fi
