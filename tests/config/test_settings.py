"""Settings: production hardening passes `check --deploy`; bad environment fails at boot."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    done = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_production_without_a_secret_key_refuses_to_start():
    done = _manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in done.stderr


def test_a_misspelt_boolean_fails_at_boot():
    done = _manage("check", DJANGO_DEBUG="maybe")
    assert done.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in done.stderr
