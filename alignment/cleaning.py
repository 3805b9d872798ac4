"""Cleaning of model-written critiques and revisions before they become training data.

Why: small critics do not keep the Bai et al. format. Measured on SmolLM2-135M (issue 12), 3 of 8
revisions began with "Critique", 5 of 8 contained the critique text, and SFT on such rows teaches
the student to open answers with "Critique:". Everything here is deterministic string work, so a
record keeps the raw text beside the cleaned one and says what was removed (`issues`).

Rules, in order (`clean_revision`):
1. Leading labels ("Revision:", "Revised response:", markdown bold) are stripped.
2. A text that opens with a critique label is a critique, not a revision: only what follows a
   later "Revision:" label is kept, otherwise the revision is rejected.
3. The text is cut at the first later scaffold label (Critique Request / Critique / Revision
   Request / Revision / Human / Assistant / User followed by a colon).
4. Sentences copied from the critique (normalised, ≥ 12 characters) and sentences holding
   request or principle boilerplate ("Choose the response that", "Identify specific ways in
   which", "Please rewrite the assistant response", "the assistant's last response") are dropped.
5. What is left must hold at least `MIN_CHARS` characters; else the previous answer is kept and
   the record says the revision was rejected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MIN_CHARS = 8
LABELS = (
    "critique request",
    "critique",
    "revision request",
    "revision",
    "revised response",
    "human",
    "assistant",
    "user",
)
BOILERPLATE = (
    "choose the response that",
    "identify specific ways in which",
    "please rewrite the assistant response",
    "the assistant's last response",
    "the assistant’s last response",
)
_B = r"(?:\*\*|__)?"  # markdown bold around a label, before or after its colon
_LABEL = _B + r"\s*(?:" + "|".join(re.escape(x) for x in LABELS) + r")\s*" + _B + r"\s*[:：]" + _B
_LEADING = re.compile(
    r"^\s*" + _B + r"\s*(?:revision|revised response)\s*" + _B + r"\s*[:：]" + _B + r"\s*", re.I
)
_CRITIQUE_START = re.compile(
    r"^\s*" + _B + r"\s*critique(?: request)?\s*" + _B + r"\s*[:：]" + _B, re.I
)
_REVISION_LABEL = re.compile(_B + r"\s*revision\s*" + _B + r"\s*[:：]" + _B + r"\s*", re.I)
_ANY_LABEL = re.compile(r"(?:^|\n|(?<=[.!?。！？]\s))\s*" + _LABEL, re.I)
_SENTENCES = re.compile(r"[^.!?。！？؟\n]+(?:[.!?。！？؟]+|\n|$)")


@dataclass(frozen=True)
class Cleaned:
    """A cleaned text, what was wrong with the raw one, and whether it was rejected."""

    text: str
    issues: tuple[str, ...] = field(default_factory=tuple)
    rejected: bool = False


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def _cut_at_label(text: str, issues: list[str]) -> str:
    match = _ANY_LABEL.search(text, 1)
    if match:
        issues.append("scaffold label cut")
        return text[: match.start()]
    return text


def _drop_sentences(text: str, critique: str, issues: list[str]) -> str:
    critique_norm = _norm(critique)
    kept = []
    for sentence in _SENTENCES.findall(text):
        norm = _norm(sentence)
        if not norm:
            continue
        if any(b in sentence.casefold() for b in BOILERPLATE):
            issues.append("template text removed")
            continue
        if len(norm) >= 12 and critique_norm and norm in critique_norm:
            issues.append("critique text removed")
            continue
        kept.append(sentence)
    return "".join(kept)


def clean_answer(text: str) -> Cleaned:
    """An answer or critique cut at the first scaffold label (a small model runs on)."""
    issues: list[str] = []
    out = _cut_at_label(text.strip(), issues).strip()
    return Cleaned(out, tuple(dict.fromkeys(issues)))


def clean_critique(text: str) -> Cleaned:
    """The critique without its leading 'Critique:' label and anything after the next label."""
    issues: list[str] = []
    out = re.sub(r"^\s*(?:\*\*)?\s*critique\s*(?:\*\*)?\s*[:：]\s*", "", text.strip(), flags=re.I)
    out = _cut_at_label(out, issues).strip()
    return Cleaned(out, tuple(dict.fromkeys(issues)))


def clean_revision(text: str, *, critique: str = "") -> Cleaned:
    """A revision with labels, critique copies and template text removed (see module doc)."""
    issues: list[str] = []
    out = text.strip()
    if _LEADING.match(out):
        out = _LEADING.sub("", out, count=1)
    if _CRITIQUE_START.match(out):
        issues.append("started with a critique")
        later = _REVISION_LABEL.search(out)
        if later is None:
            return Cleaned("", tuple(issues), rejected=True)
        out = out[later.end() :]
    out = _cut_at_label(out, issues)
    if (
        critique
        and _norm(critique)
        and _norm(critique) in _norm(out)
        and len(_norm(critique)) >= 12
    ):
        issues.append("critique text removed")
    out = " ".join(_drop_sentences(out, critique, issues).split())
    issues = list(dict.fromkeys(issues))
    if len(out) < MIN_CHARS:
        return Cleaned("", (*issues, "too short after cleaning"), rejected=True)
    return Cleaned(out, tuple(issues))


def leaks(text: str, critique: str = "") -> list[str]:
    """What scaffold a (cleaned) text still holds — empty for a clean one (used by tests)."""
    found = []
    if re.search(_LABEL, text, re.I) and _ANY_LABEL.search(text):
        found.append("label")
    if _CRITIQUE_START.match(text) or _LEADING.match(text):
        found.append("leading label")
    if any(b in text.casefold() for b in BOILERPLATE):
        found.append("template")
    if critique and len(_norm(critique)) >= 12 and _norm(critique) in _norm(text):
        found.append("critique")
    return found
