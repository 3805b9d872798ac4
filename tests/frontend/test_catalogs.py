"""The translation catalogs are complete and compiled: every msgid of every language has a
translation (none fuzzy), the committed .mo holds exactly what the .po says, and every string the
page scripts use and every `{% translate %}` of the templates is in the catalogs.

No browser: this catches a string someone forgot to translate or to compile in a second.
test_untranslated.py catches the ones nobody wrapped for translation at all.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

from frontend import strings

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = {"ar": "ar", "fa": "fa", "zh-hans": "zh_Hans"}
# Script strings that are the same word in every language (acronyms).
SAME_EVERYWHERE = {"PCA", "UMAP", "GIC", "MEA", "GIC {value}", "MEA {value}", "DPO", "KTO"}
TEMPLATE_STRING = re.compile(r"""{%\s*translate\s+(["'])(.*?)\1""")


def _po_entries(path: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of every entry but the header; obsolete (#~) entries skipped."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        current = ""
        for line in lines:
            if line.startswith(("msgid ", "msgstr ", "msgctxt ", "msgid_plural ")):
                current, _, line = line.partition(" ")
                fields[current] = ""
            if line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid"):
            entries.append((fields["msgid"], fields.get("msgstr", ""), fuzzy))
    return entries


@pytest.mark.parametrize("folder", LANGUAGES.values())
def test_every_msgid_is_translated_and_compiled(folder: str) -> None:
    po = REPO / "locale" / folder / "LC_MESSAGES" / "django.po"
    entries = _po_entries(po)
    assert entries
    assert [m for m, s, fuzzy in entries if fuzzy] == [], "fuzzy: translate and unmark them"
    assert [m for m, s, _ in entries if not s] == [], "untranslated"
    with (po.parent / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    stale = {m: s for m, s, _ in entries if compiled.get(m) != s}
    assert stale == {}, "django.mo is older than django.po: run compilemessages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_script_string_has_a_translation(language: str) -> None:
    catalogs = [strings.participant, strings.moderator, strings.report]
    catalogs += [strings.constitution, strings.training]
    missing = set()
    for catalog in catalogs:
        with translation.override("en"):
            english = {key: str(value) for key, value in catalog().items()}
        with translation.override(language):
            translated = {key: str(value) for key, value in catalog().items()}
        missing |= {
            f"{key}: {text}"
            for key, text in english.items()
            if translated[key] == text and text not in SAME_EVERYWHERE
        }
    assert sorted(missing) == []


def test_every_template_string_is_in_the_catalogs() -> None:
    msgids = {m for m, _, _ in _po_entries(REPO / "locale" / "ar" / "LC_MESSAGES" / "django.po")}
    templates = sorted((REPO / "frontend" / "templates").rglob("*.html"))
    found = {
        (path.name, match.group(2))
        for path in templates
        for match in TEMPLATE_STRING.finditer(path.read_text(encoding="utf-8"))
    }
    assert found
    assert sorted(f"{name}: {text}" for name, text in found if text not in msgids) == []
