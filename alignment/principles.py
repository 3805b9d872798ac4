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


# ------------------------------------------------------------------------------ circumstances

# A normative word makes a statement a value even in the first person ("I think AI should …").
_NORMATIVE = re.compile(
    r"\b(?:should|must|ought|need to|needs to|has to|have to|shall|better|worse|right|wrong|"
    r"fair|unfair|important|allowed|forbid|ban|debe|deber[íi]a|deben|hay que|doit|devrait|"
    r"faut|sollte|muss)\b|应该|應該|应当|應當|必须|必須|不应|不應|不该|不該|需要|禁止|"
    r"يجب|ينبغي|لا ينبغي|باید|نباید",
    re.IGNORECASE,
)
# First-person statements of fact or circumstance about the voter, in the fixture languages.
_CIRCUMSTANCE = (
    (
        "first-person fact",
        re.compile(
            r"^\s*(?:i|we)(?:'m|'ve| am| have| has| own| live| work| drive| use| was| were|"
            r" got| grew up| come from| do not have| don't have| never| already| usually|"
            r" often| am not| can| cannot| can't)\b",
            re.IGNORECASE,
        ),
    ),
    ("first-person fact", re.compile(r"^\s*my\s+\w+", re.IGNORECASE)),
    (
        "first-person fact",
        re.compile(
            r"^\s*(?:yo\s+)?(?:tengo|soy|vivo|trabajo|conduzco|uso)\b|"
            r"^\s*(?:j'ai|je suis|je vis|j'habite|je travaille)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "first-person fact",
        re.compile(r"^\s*(?:我|我們|我们|本人)(?:有|是|住|在|開|开|用|沒有|没有|曾|的)"),
    ),
    ("first-person fact", re.compile(r"^\s*(?:أنا|لدي|لديّ|عندي|أعيش|أعمل)")),
    ("first-person fact", re.compile(r"^\s*(?:من\s+)?(?:دارم|هستم|زندگی می‌کنم|کار می‌کنم)")),
)


def circumstance_reason(statement: str) -> str | None:
    """Why a statement is a fact about the voter, not a value ("I have a licence"), or None.

    Heuristic, recorded and reviewable: the statement opens in the first person with a verb of
    having/being/doing and holds no normative word (should, must, 应该, يجب, باید, …).
    """
    text = normalise(statement)
    if _NORMATIVE.search(text):
        return None
    for reason, pattern in _CIRCUMSTANCE:
        if pattern.search(text):
            return reason
    return None


def is_mostly_latin(text: str) -> bool:
    """Whether most letters are Latin script (the English template reads well only then)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    latin = sum(1 for c in letters if ord(c) < 0x250)
    return latin / len(letters) >= 0.8
