"""Maximum equal approval (MEA): the approval every group reaches at once.

Stray 2025, "A Practical Definition of Political Neutrality for AI"; scoring rule from
shared/reference/consensus-metrics.md §2. Per statement s and group g with A_g agrees out of
N_g trials (N_g per the pass switch of :mod:`consensus.gic`):

    p̂_g  = (A_g + 1) / (N_g + 2)                             (Laplace-smoothed agree rate)
    L_g  = BetaQuantile(q; A_g + 1, N_g − A_g + 1), q = 0.10  (lower confidence bound)
    MEA  = min_g L_g          ties broken by the smaller gap  max_g p̂_g − min_g p̂_g
    smooth = mean_g p̂_g − λ·gap                               (λ = ½ equals max-min for k = 2)

Groups count equally regardless of size. When any group has fewer than ``min_votes`` trials the
statement "needs more votes": MEA is None (NaN in arrays) and the flag is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

from consensus.gic import PassHandling, trials
from consensus.repness import GroupCounts

__all__ = ["MeaScores", "maximum_equal_approval", "mea_ranking"]


@dataclass(frozen=True)
class MeaScores:
    """(m,) arrays: ``mea`` (NaN when more votes are needed), ``gap``, ``smooth``,
    ``needs_more_votes`` (bool) and ``lower`` (k, m) per-group lower bounds."""

    mea: np.ndarray
    gap: np.ndarray
    smooth: np.ndarray
    needs_more_votes: np.ndarray
    lower: np.ndarray


def maximum_equal_approval(
    counts: GroupCounts,
    *,
    pass_handling: PassHandling = "count",
    quantile: float = 0.10,
    min_votes: int = 8,
    smooth_lambda: float = 0.5,
) -> MeaScores:
    """Score every statement; see the module docstring for the formulas."""
    n = trials(counts, pass_handling)  # (k, m)
    a = counts.agree
    if n.shape[0] == 0:
        nan = np.full(n.shape[1], np.nan)
        return MeaScores(nan, nan, nan, np.ones(n.shape[1], bool), np.zeros((0, n.shape[1])))
    lower = betaincinv(a + 1.0, n - a + 1.0, quantile)  # (k, m) Beta quantile
    p_hat = (a + 1.0) / (n + 2.0)  # (k, m)
    gap = p_hat.max(axis=0) - p_hat.min(axis=0)  # (m,)
    needs_more = (n < min_votes).any(axis=0)  # (m,)
    mea = np.where(needs_more, np.nan, lower.min(axis=0))
    smooth = p_hat.mean(axis=0) - smooth_lambda * gap
    return MeaScores(mea, gap, smooth, needs_more, lower)


def mea_ranking(scores: MeaScores) -> np.ndarray:
    """Column indices best first: MEA descending, then smaller gap; "needs more votes" last."""
    mea = np.where(np.isnan(scores.mea), -np.inf, scores.mea)
    return np.lexsort((scores.gap, -mea))
