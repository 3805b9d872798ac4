"""Maximum equal approval (MEA): the approval every group reaches at once.

Stray 2025, "A Practical Definition of Political Neutrality for AI"; scoring rule from
shared/reference/consensus-metrics.md §2. Per statement s and group g with A_g agrees out of
N_g trials (N_g per the pass switch of :mod:`consensus.gic`):

    p̂_g  = (A_g + 1) / (N_g + 2)                             (Laplace-smoothed agree rate)
    L_g  = BetaQuantile(q; A_g + 1, N_g − A_g + 1), q = 0.10  (lower confidence bound)
    MEA  = min_g L_g          ties broken by the smaller gap  max_g p̂_g − min_g p̂_g
    smooth = mean_g p̂_g − λ·gap                               (λ = ½ equals max-min for k = 2)

Groups count equally regardless of size.

Small groups. The prior is uniform (Beta(1, 1)) and the bound is the posterior's 10 % quantile,
so a group's bound widens by itself as its votes thin out: with N_g = 0 it is 0.10 (nothing
known), with 5 agrees out of 5 it is 0.1^(1/6) = 0.68, with 75 of 100 it is 0.69. A small
group therefore pulls down only the statements it has not clearly approved, and every statement
keeps a score. (Before, any group under ``min_votes`` trials nulled MEA for the statement — and a
group under ``min_votes`` members nulled it for every statement, so one small minority erased
the metric the constitution is built from.) ``limiting`` is the group whose bound is the
minimum; ``small_group`` flags statements whose MEA rests on a group with fewer than
``min_votes`` trials (the report shows it; ``needs_more_votes`` is the same flag, kept for
readers of the older name).
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
    """(m,) arrays: ``mea`` (NaN only without groups), ``gap``, ``smooth``, ``limiting``
    (row of the group whose bound is the minimum, -1 without groups), ``small_group`` (bool:
    that group has fewer than ``min_votes`` trials), ``needs_more_votes`` (same flag) and
    ``lower`` (k, m) per-group lower bounds."""

    mea: np.ndarray
    gap: np.ndarray
    smooth: np.ndarray
    needs_more_votes: np.ndarray
    lower: np.ndarray
    limiting: np.ndarray
    small_group: np.ndarray


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
    m = n.shape[1]
    if n.shape[0] == 0:
        nan, flag = np.full(m, np.nan), np.ones(m, bool)
        return MeaScores(nan, nan, nan, flag, np.zeros((0, m)), np.full(m, -1), flag)
    lower = betaincinv(a + 1.0, n - a + 1.0, quantile)  # (k, m) Beta quantile
    p_hat = (a + 1.0) / (n + 2.0)  # (k, m)
    gap = p_hat.max(axis=0) - p_hat.min(axis=0)  # (m,)
    limiting = lower.argmin(axis=0)  # (m,)
    small = n[limiting, np.arange(m)] < min_votes  # (m,)
    smooth = p_hat.mean(axis=0) - smooth_lambda * gap
    return MeaScores(lower.min(axis=0), gap, smooth, small, lower, limiting, small)


def mea_ranking(scores: MeaScores) -> np.ndarray:
    """Column indices best first: MEA descending, then smaller gap (NaN, without groups, last)."""
    mea = np.where(np.isnan(scores.mea), -np.inf, scores.mea)
    return np.lexsort((scores.gap, -mea))
