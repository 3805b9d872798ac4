"""Deterministic rewrite of a consensus statement into a CAI principle.

Why a template and not only a model: in CCAI the statement → principle rewrite was the main
editorial lever (consensus-metrics.md §4), so the default must be auditable and reproducible. The
template turns statements about what "AI should …" do into "Choose the response that …" clauses,
keeps negations ("should not" → "does not"), and falls back to quoting the statement when it is
not about the assistant's behaviour. The original text is always kept beside the principle by the
caller. Critique and revision requests follow Bai et al. 2022.
"""

from __future__ import annotations

import re

PREFIX = "Choose the response that "

# Who the statement is about: the assistant in any of its usual names.
_SUBJECT = (
    r"(?:the |an |a )?"
    r"(?:ai|a\.i\.|artificial intelligence|assistant|chatbot|model|language model|llm)"
    r"(?: (?:systems?|models?|assistants?|chatbots?|tools?))?s?"
)
_MODALS = r"(?:should|must|ought to|needs to|need to|has to|have to|shall|will|would)"
_NEG_CONTRACTIONS = {"shouldn't": "should not", "mustn't": "must not", "won't": "will not"}
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes", "can": "can"}
_ADVERBS = (
    "always",
    "never",
    "also",
    "still",
    "only",
    "actively",
    "consistently",
    "clearly",
    "not",
)
_IMPORTANT = re.compile(
    r"^it(?: is|'s) (?:important|essential|crucial|vital|necessary|critical|key) "
    r"(?:that|for (?P<for_subj>.+?) to) (?P<rest>.+)$",
    re.IGNORECASE,
)
_AI_MODAL = re.compile(rf"^{_SUBJECT} {_MODALS} (?P<rest>.+)$", re.IGNORECASE)
# A present-tense verb right after the subject; "AI companies should …" is about someone else.
_AI_PRESENT = re.compile(rf"^{_SUBJECT} (?P<rest>(?![a-z]+ {_MODALS}\b)[a-z]+ .+)$", re.IGNORECASE)
_IMPERATIVE_NEG = re.compile(r"^(?:do not|don't|never) (?P<rest>.+)$", re.IGNORECASE)


def normalise(text: str) -> str:
    """Collapse whitespace, strip trailing punctuation and quotes."""
    text = " ".join(text.split()).strip().strip("\"'“”")
    return text.rstrip(" .!;")


def third_person(verb: str) -> str:
    """'respect' → 'respects', 'be' → 'is', 'try' → 'tries' (regular English rules)."""
    lower = verb.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if re.search(r"(s|sh|ch|x|z|o)$", lower):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lower):
        return verb[:-1] + "ies"
    return verb + "s"


def _conjugate_clause(rest: str) -> str:
    """'not share data' → 'does not share data'; 'always be honest' → 'is always honest'."""
    words = rest.split(" ")
    first = words[0].lower()
    if first in _ADVERBS and len(words) > 1:
        verb, tail = words[1], words[2:]
        if verb.lower() == "be":  # "not be used" → "is not used"; "always be …" → "is always …"
            return " ".join(["is", words[0], *tail])
        if first == "not":
            return " ".join(["does not", verb, *tail])
        return " ".join([words[0], third_person(verb), *tail])
    if first in ("is", "are", "does", "do") or first.endswith("s") and first not in _IRREGULAR:
        return " ".join([{"are": "is", "do": "does"}.get(first, words[0]), *words[1:]])
    return " ".join([third_person(words[0]), *words[1:]])


def _expand_contractions(text: str) -> str:
    for short, long in _NEG_CONTRACTIONS.items():
        text = re.sub(re.escape(short), long, text, flags=re.IGNORECASE)
    return text


def principle_clause(statement: str) -> str:
    """The part after 'Choose the response that …', in third person singular."""
    text = _expand_contractions(normalise(statement))
    important = _IMPORTANT.match(text)
    if important:
        subject = important.group("for_subj")
        rest = important.group("rest")
        inner = f"{subject} should {rest}" if subject else rest
        return _clause_about_assistant(inner) or _supports(text)
    imperative = _IMPERATIVE_NEG.match(text)
    if imperative:
        return _conjugate_clause(
            ("never " if text.lower().startswith("never") else "not ") + imperative.group("rest")
        )
    return _clause_about_assistant(text) or _supports(text)


def _clause_about_assistant(text: str) -> str | None:
    """Clause for statements about the AI ('AI should …', 'AI systems are …'), else None."""
    modal = _AI_MODAL.match(text)
    if modal:
        return _conjugate_clause(modal.group("rest"))
    present = _AI_PRESENT.match(text)
    return _conjugate_clause(present.group("rest")) if present else None


def _supports(text: str) -> str:
    return f'best reflects the view that "{text}"'


def statement_to_principle(statement: str) -> str:
    """'AI should not share data.' → 'Choose the response that does not share data.'"""
    clause = principle_clause(statement)
    return PREFIX + clause.rstrip(".") + "."


def clause_of(principle: str) -> str:
    """The clause of a 'Choose the response that …' principle (or the text itself)."""
    text = principle.strip().rstrip(".")
    return text[len(PREFIX) :] if text.startswith(PREFIX) else text


def critique_request(principle: str) -> str:
    """Bai et al. style critique request for one principle."""
    return (
        "Identify specific ways in which the assistant's last response is not a response that "
        f"{clause_of(principle)}."
    )


def revision_request(principle: str) -> str:
    """Bai et al. style revision request for one principle."""
    return f"Please rewrite the assistant response so that it {clause_of(principle)}."
