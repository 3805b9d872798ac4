"""Which principles are relevant to a prompt, and why (stored with every critique round).

Why not uniform sampling: a hijab prompt critiqued against "drivers carrying passengers should
have accident insurance" teaches nothing (issue 12). Decided in this order:
1. `linked` — the prompt names principle ids (a grounded prompt set does) that are in the
   constitution: exactly those.
2. `similar` — otherwise, character 3–5-gram TF-IDF cosine between the prompt and each
   principle's source statements (language-agnostic, no model, idf fitted on the prompt and the
   constitution); principles with cosine ≥ `RELEVANCE_MIN`, best `RELEVANCE_TOP_K` first.
3. `uniform` — when nothing passes, every principle, and the record says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alignment.constitution import Constitution, Principle

RELEVANCE_MIN = 0.12
RELEVANCE_TOP_K = 3


@dataclass(frozen=True)
class Relevance:
    """The principles a prompt may be critiqued against, and why."""

    reason: str  # linked | similar | uniform
    principles: tuple[Principle, ...]
    scores: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, stored with each critique round."""
        return {
            "reason": self.reason,
            "candidates": [p.id for p in self.principles],
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }


def similarity_scores(prompt: str, principles: Sequence[Principle]) -> list[float]:
    """Cosine of char 3–5-gram TF-IDF between the prompt and each principle's statements."""
    from alignment.dedup import tfidf_vectors

    texts = [prompt] + [" ".join(s.text for s in p.sources) for p in principles]
    vectors = tfidf_vectors(texts)  # (1 + n, vocab), rows L2-normalised
    return [float(v) for v in vectors[1:] @ vectors[0]]


def relevant_principles(
    text: str, principle_ids: Sequence[str], constitution: Constitution
) -> Relevance:
    """Linked principles, else similar ones, else all (see the module docstring)."""
    known = {p.id: p for p in constitution.principles}
    linked = tuple(known[i] for i in principle_ids if i in known)
    if linked:
        return Relevance("linked", linked, {})
    scores = similarity_scores(text, constitution.principles)
    ranked = sorted(
        (pair for pair in zip(scores, constitution.principles, strict=True)),
        key=lambda pair: -pair[0],
    )
    chosen = [(s, p) for s, p in ranked if s >= RELEVANCE_MIN][:RELEVANCE_TOP_K]
    all_scores = {p.id: s for s, p in ranked}
    if chosen:
        return Relevance("similar", tuple(p for _, p in chosen), all_scores)
    return Relevance("uniform", constitution.principles, all_scores)
