"""Bridging score: Community Notes matrix factorisation on agree/disagree votes, sparse.

Model (twitter/communitynotes ``documentation/under-the-hood/ranking-notes.md``;
shared/reference/consensus-metrics.md §3), one-dimensional factors:

    r̂_un = μ + i_u + i_n + f_u·f_n
    loss = Σ (r_un − r̂_un)² + λ_i (i_u² + i_n² + μ²) + λ_f (f_u² + f_n²),  λ_i = 0.15, λ_f = 0.03

Ratings: agree 1, disagree 0, pass 0.5 (``pass_handling="count"``) or dropped ("exclude").
Fitted by alternating least squares: with the statement side fixed every participant's
(i_u, f_u) is a 2 × 2 ridge solve, and vice versa; all sums are ``np.bincount`` over the COO
vote arrays (O(n_votes) per sweep, no dense participant × statement matrix).

Polis data have a high base rate of agreement, which the plain model absorbs into f_u; so after
each sweep we re-centre ``f_u ← f_u − mean(f_u)`` and fold ``mean(f_u)·f_n`` into ``i_n``
(predictions unchanged). Score ``B(s) = μ + i_n`` (predicted agree rate at the centre of opinion
space), gated on ``|f_n| < 0.5`` and ≥ ``min_side_votes`` raters on each side of the factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consensus.gic import PassHandling, validate_pass_handling
from consensus.matrix import VoteMatrix

__all__ = ["BridgingMF", "vote_ratings"]

_RATING = {1: 0.0, 2: 0.5, 3: 1.0}  # stored code (vote + 2) -> rating


def vote_ratings(matrix: VoteMatrix, pass_handling: PassHandling = "count"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO (rows, cols, ratings) of kept votes; moderated-out statements are left out."""
    validate_pass_handling(pass_handling)
    codes = matrix.codes
    rows = np.repeat(np.arange(codes.shape[0]), np.diff(codes.indptr))  # (nnz,)
    cols, data = codes.indices.astype(np.int64), codes.data
    keep = ~matrix.moderated_out[cols]
    if pass_handling == "exclude":
        keep &= data != 2
    ratings = np.select([data == 1, data == 2], [0.0, 0.5], 1.0)  # (nnz,)
    return rows[keep], cols[keep], ratings[keep]


def _ridge2(s0: np.ndarray, s1: np.ndarray, s2: np.ndarray, b0: np.ndarray, b1: np.ndarray,
            lam_i: float, lam_f: float) -> tuple[np.ndarray, np.ndarray]:
    """Solve [[s0+λi, s1], [s1, s2+λf]]·[i, f] = [b0, b1] element-wise (closed form)."""
    a, d = s0 + lam_i, s2 + lam_f
    det = a * d - s1 * s1
    return (d * b0 - s1 * b1) / det, (a * b1 - s1 * b0) / det


@dataclass
class _Sums:
    rows: np.ndarray
    cols: np.ndarray
    ratings: np.ndarray
    n: int
    m: int


class BridgingMF:
    """Fit the 1-D Community Notes model (scikit-learn style; learned state ends in ``_``).

    Fitted: ``mu_``, ``user_intercepts_`` (n,), ``user_factors_`` (n,),
    ``statement_intercepts_`` (m,), ``statement_factors_`` (m,), ``score_`` (m,) = μ + i_n,
    ``passes_gate_`` (m,) bool, ``side_votes_`` (2, m) raters with f_u < 0 / f_u > 0,
    ``n_iter_``.
    """

    def __init__(self, *, pass_handling: PassHandling = "count", lambda_i: float = 0.15,
                 lambda_f: float = 0.03, max_iter: int = 30, tol: float = 1e-5,
                 factor_gate: float = 0.5, min_side_votes: int = 5) -> None:
        self.pass_handling = pass_handling
        self.lambda_i = lambda_i
        self.lambda_f = lambda_f
        self.max_iter = max_iter
        self.tol = tol
        self.factor_gate = factor_gate
        self.min_side_votes = min_side_votes

    def fit(self, matrix: VoteMatrix, init_user_factors: np.ndarray | None = None) -> BridgingMF:
        """``init_user_factors`` (n,) e.g. the PCA x coordinate (deterministic, speeds up ALS)."""
        rows, cols, ratings = vote_ratings(matrix, self.pass_handling)
        s = _Sums(rows, cols, ratings, *matrix.shape)
        f_u = self._init_factors(s, init_user_factors)
        i_n, f_n, mu = np.zeros(s.m), np.zeros(s.m), float(ratings.mean()) if len(ratings) else 0.0
        i_u = np.zeros(s.n)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            old = i_n.copy()
            i_n, f_n = self._solve(s.cols, s.rows, s.m, ratings - mu - i_u[rows], f_u)
            i_u, f_u = self._solve(s.rows, s.cols, s.n, ratings - mu - i_n[cols], f_n)
            mu = self._mu(s, i_u, f_u, i_n, f_n)
            f_u, i_n = self._recentre(s, f_u, i_n, f_n)
            if np.abs(i_n - old).max(initial=0.0) < self.tol:
                break
        self._store(s, mu, i_u, f_u, i_n, f_n)
        return self

    def _init_factors(self, s: _Sums, init: np.ndarray | None) -> np.ndarray:
        if init is not None and np.std(init) > 0:
            return (init - init.mean()) / np.std(init)
        return np.random.default_rng(0).standard_normal(s.n)

    def _solve(self, own: np.ndarray, other: np.ndarray, size: int, residual: np.ndarray,
               other_f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ridge-solve (intercept, factor) for every index of ``own`` given the other side."""
        f = other_f[other]  # (nnz,)
        s0 = np.bincount(own, minlength=size).astype(np.float64)
        s1 = np.bincount(own, weights=f, minlength=size)
        s2 = np.bincount(own, weights=f * f, minlength=size)
        b0 = np.bincount(own, weights=residual, minlength=size)
        b1 = np.bincount(own, weights=residual * f, minlength=size)
        return _ridge2(s0, s1, s2, b0, b1, self.lambda_i, self.lambda_f)

    def _mu(self, s: _Sums, i_u: np.ndarray, f_u: np.ndarray, i_n: np.ndarray,
            f_n: np.ndarray) -> float:
        resid = s.ratings - i_u[s.rows] - i_n[s.cols] - f_u[s.rows] * f_n[s.cols]  # (nnz,)
        return float(resid.sum() / (len(resid) + self.lambda_i))

    def _recentre(self, s: _Sums, f_u: np.ndarray, i_n: np.ndarray, f_n: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """f_u ← f_u − mean(f_u) over raters; i_n += mean·f_n keeps every prediction."""
        raters = np.bincount(s.rows, minlength=s.n) > 0
        shift = float(f_u[raters].mean()) if raters.any() else 0.0
        return np.where(raters, f_u - shift, 0.0), i_n + shift * f_n

    def _store(self, s: _Sums, mu: float, i_u: np.ndarray, f_u: np.ndarray, i_n: np.ndarray,
               f_n: np.ndarray) -> None:
        self.mu_, self.user_intercepts_, self.user_factors_ = mu, i_u, f_u
        self.statement_intercepts_, self.statement_factors_ = i_n, f_n
        self.score_ = mu + i_n  # (m,)
        side = f_u[s.rows] > 0  # (nnz,)
        self.side_votes_ = np.stack([np.bincount(s.cols[~side], minlength=s.m),
                                     np.bincount(s.cols[side], minlength=s.m)])  # (2, m)
        self.passes_gate_ = (np.abs(f_n) < self.factor_gate) & (
            self.side_votes_.min(axis=0) >= self.min_side_votes)
