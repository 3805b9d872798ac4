"""Group-informed consensus (GIC) with a documented pass-handling switch.

Polis (``conversation.clj :group-aware-consensus``; shared/reference/consensus-metrics.md §1):

    GIC_agree(s)    = Π_g (A_g + 1) / (N_g + 2)
    GIC_disagree(s) = Π_g (D_g + 1) / (N_g + 2)        (red-dwarf ``utils/stats.py``)
    GIC_norm(s)     = GIC(s) ** (1/k)                   (comparable across group counts k)

Pass handling (``PassHandling``):
* ``"count"`` (Polis default): N_g = A_g + D_g + P_g, so passes lower the score;
* ``"exclude"`` (CCAI): N_g = A_g + D_g.

Counts come from the *raw* matrix (moderation not applied) over in-conv group members, as
Polis' ``votes-base``; every statement gets a score, moderated ones included.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from consensus.repness import GroupCounts

__all__ = ["PASS_HANDLING", "PassHandling", "gic", "trials", "validate_pass_handling"]

PassHandling = Literal["count", "exclude"]
PASS_HANDLING: tuple[str, ...] = get_args(PassHandling)


def validate_pass_handling(value: str) -> PassHandling:
    """Return ``value`` if it is a valid pass handling, else raise ValueError listing choices."""
    if value not in PASS_HANDLING:
        raise ValueError(f"pass_handling must be one of {', '.join(PASS_HANDLING)}; got {value!r}")
    return value  # type: ignore[return-value]


def trials(counts: GroupCounts, pass_handling: PassHandling = "count") -> np.ndarray:
    """(k, m) N_g per the switch: all votes (count) or agree + disagree (exclude)."""
    validate_pass_handling(pass_handling)
    if pass_handling == "count":
        return counts.seen
    return counts.agree + counts.disagree


def gic(counts: GroupCounts, pass_handling: PassHandling = "count") -> dict[str, np.ndarray]:
    """(m,) arrays ``gic``, ``gic_normalized`` (k-th root), ``gic_disagree`` and its root.

    With no groups (k = 0) every score is NaN.
    """
    n = trials(counts, pass_handling)  # (k, m)
    k = n.shape[0]
    if k == 0:
        nan = np.full(n.shape[1], np.nan)
        return {
            "gic": nan,
            "gic_normalized": nan,
            "gic_disagree": nan,
            "gic_disagree_normalized": nan,
        }
    agree = np.prod((counts.agree + 1.0) / (n + 2.0), axis=0)  # (m,)
    disagree = np.prod((counts.disagree + 1.0) / (n + 2.0), axis=0)
    return {
        "gic": agree,
        "gic_normalized": agree ** (1.0 / k),
        "gic_disagree": disagree,
        "gic_disagree_normalized": disagree ** (1.0 / k),
    }
