"""Bridging score: Community Notes matrix factorisation on agree/disagree votes, sparse.

Model (twitter/communitynotes ``documentation/under-the-hood/ranking-notes.md``;
shared/reference/consensus-metrics.md §3), one-dimensional factors:

    r̂_un = μ + i_u + i_n + f_u·f_n
    loss = Σ (r_un − r̂_un)² + λ_i (i_u² + i_n² + μ²) + λ_f (f_u² + f_n²),  λ_i = 0.15, λ_f = 0.03

Ratings: agree 1, disagree 0, pass 0.5 (``pass_handling="count"``) or dropped ("exclude").
Fitted by alternating least squares: with the statement side fixed every participant's
(i_u, f_u) is a 2 × 2 ridge solve, and vice versa; every sum is a sparse mat-vec over the
ratings (O(n_votes) per sweep, no dense participant × statement matrix).

Polis data have a high base rate of agreement, which the plain model absorbs into f_u; so after
each sweep we re-centre ``f_u ← f_u − mean(f_u)`` and fold ``mean(f_u)·f_n`` into ``i_n``
(predictions unchanged), then rebalance the factor scales (``_balance``, also prediction-neutral)
so that ALS converges in a few sweeps. Score ``B(s) = μ + i_n`` (predicted agree rate at the
centre of opinion space), gated on ``|f_n| < 0.5`` and ≥ ``min_side_votes`` raters on each side
of the factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from consensus.gic import PassHandling, validate_pass_handling
from consensus.matrix import VoteMatrix

__all__ = ["BridgingMF", "vote_ratings"]

_RATING = {1: 0.0, 2: 0.5, 3: 1.0}  # stored code (vote + 2) -> rating


def _rating_matrices(matrix: VoteMatrix, pass_handling: PassHandling
                     ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(n, m) ratings and 0/1 weights sharing the vote structure (no copy of indices).

    Dropped votes (moderated-out statements, passes under "exclude") keep their slot with
    weight 0 and rating 0, so they add nothing to any sum.
    """
    validate_pass_handling(pass_handling)
    codes = matrix.codes
    lut = np.array([0.0, 0.0, 0.5, 1.0])  # code (vote + 2) -> rating
    weight_lut = np.array([0.0, 1.0, 0.0 if pass_handling == "exclude" else 1.0, 1.0])
    weight = weight_lut[codes.data]  # (nnz,)
    if matrix.moderated_out.any():
        weight *= ~matrix.moderated_out[codes.indices]
    structure = (codes.indices, codes.indptr)
    return (sp.csr_matrix((lut[codes.data] * weight, *structure), shape=matrix.shape),
            sp.csr_matrix((weight, *structure), shape=matrix.shape))


def vote_ratings(matrix: VoteMatrix, pass_handling: PassHandling = "count"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO (rows, cols, ratings) of the votes the model is fitted on."""
    ratings, weights = _rating_matrices(matrix, pass_handling)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(ratings.indptr))  # (nnz,)
    keep = weights.data > 0
    return rows[keep], ratings.indices[keep].astype(np.int64), ratings.data[keep]


def _ridge2(s0: np.ndarray, s1: np.ndarray, s2: np.ndarray, b0: np.ndarray, b1: np.ndarray,
            lam_i: float, lam_f: float) -> tuple[np.ndarray, np.ndarray]:
    """Solve [[s0+λi, s1], [s1, s2+λf]]·[i, f] = [b0, b1] element-wise (closed form)."""
    a, d = s0 + lam_i, s2 + lam_f
    det = a * d - s1 * s1
    return (d * b0 - s1 * b1) / det, (a * b1 - s1 * b0) / det


def _balance(f_u: np.ndarray, f_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescale f_u·c, f_n/c with c² = ‖f_n‖/‖f_u‖: predictions unchanged, λ_f penalty minimal.

    The loss is flat along this scaling except for the weak λ_f term, which plain ALS walks
    down very slowly; taking the exact minimiser each sweep makes the fit converge in a few
    sweeps instead of hundreds.
    """
    nu, nn = np.linalg.norm(f_u), np.linalg.norm(f_n)
    if nu == 0 or nn == 0:
        return f_u, f_n
    c = np.sqrt(nn / nu)
    return f_u * c, f_n / c


@dataclass
class _Side:
    """One side of the bipartite vote graph as sparse operators over the *other* side.

    ``ones`` (n_self, n_other) 1 per rating, ``ratings`` same structure with r_un, ``counts``
    ratings per index, ``rating_sum`` Σ r. Every ALS sum is one sparse mat-vec (O(n_votes)).
    """

    ones: sp.spmatrix
    ratings: sp.spmatrix
    counts: np.ndarray
    rating_sum: np.ndarray

    @classmethod
    def build(cls, ratings: sp.spmatrix, ones: sp.spmatrix) -> _Side:
        """From CSR matrices or their transposes (CSC views, so no conversion is paid)."""
        return cls(ones, ratings, np.asarray(ones.sum(axis=1)).ravel(),
                   np.asarray(ratings.sum(axis=1)).ravel())

    def solve(self, mu: float, i_other: np.ndarray, f_other: np.ndarray, lam_i: float,
              lam_f: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ridge (intercept, factor) per index with residual r − μ − i_other, feature f_other.

        Also returns Σ f_other per index (reused for μ).
        """
        block = np.stack([f_other, f_other * f_other, i_other, i_other * f_other], axis=1)
        s1, s2, s_i, s_if = (self.ones @ block).T  # one pass over the ratings for 4 sums
        b0 = self.rating_sum - mu * self.counts - s_i  # Σ residual
        b1 = self.ratings @ f_other - mu * s1 - s_if  # Σ residual·f
        return (*_ridge2(self.counts, s1, s2, b0, b1, lam_i, lam_f), s1)


class BridgingMF:
    """Fit the 1-D Community Notes model (scikit-learn style; learned state ends in ``_``).

    Fitted: ``mu_``, ``user_intercepts_`` (n,), ``user_factors_`` (n,),
    ``statement_intercepts_`` (m,), ``statement_factors_`` (m,), ``score_`` (m,) = μ + i_n,
    ``passes_gate_`` (m,) bool, ``side_votes_`` (2, m) raters with f_u ≤ 0 / f_u > 0,
    ``n_iter_``.
    """

    def __init__(self, *, pass_handling: PassHandling = "count", lambda_i: float = 0.15,
                 lambda_f: float = 0.03, max_iter: int = 30, tol: float = 5e-4,
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
        r, w = _rating_matrices(matrix, self.pass_handling)  # (n, m) each
        users, items = _Side.build(r, w), _Side.build(r.T, w.T)
        raters = users.counts > 0  # (n,)
        f_u = self._init_factors(init_user_factors, raters)
        n, m = matrix.shape
        i_u, i_n, f_n = np.zeros(n), np.zeros(m), np.zeros(m)
        mu = float(users.rating_sum.sum() / max(users.counts.sum(), 1.0))
        lam = (self.lambda_i, self.lambda_f)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            old = i_n.copy()
            i_n, f_n, _ = items.solve(mu, i_u, f_u, *lam)
            i_u, f_u, sum_f_n = users.solve(mu, i_n, f_n, *lam)
            mu = self._mu(users, items, i_u, i_n, f_u @ sum_f_n)
            shift = float(f_u[raters].mean()) if raters.any() else 0.0
            f_u, i_n = np.where(raters, f_u - shift, 0.0), i_n + shift * f_n  # re-centre
            f_u, f_n = _balance(f_u, f_n)
            if np.abs(i_n - old).max(initial=0.0) < self.tol:
                break
        self._store(items, mu, i_u, f_u, i_n, f_n)
        return self

    @staticmethod
    def _init_factors(init: np.ndarray | None, raters: np.ndarray) -> np.ndarray:
        if init is None or not np.std(init) > 0:  # also catches NaN
            init = np.random.default_rng(0).standard_normal(len(raters))
        scale = np.std(init) or 1.0  # a single participant has std 0
        return np.where(raters, (init - init.mean()) / scale, 0.0)

    def _mu(self, users: _Side, items: _Side, i_u: np.ndarray, i_n: np.ndarray,
            interaction: float) -> float:
        """Closed-form μ: Σ(r − i_u − i_n − f_u·f_n) / (n_ratings + λ_i)."""
        total = users.rating_sum.sum() - users.counts @ i_u - items.counts @ i_n - interaction
        return float(total / (users.counts.sum() + self.lambda_i))

    def _store(self, items: _Side, mu: float, i_u: np.ndarray, f_u: np.ndarray,
               i_n: np.ndarray, f_n: np.ndarray) -> None:
        self.mu_, self.user_intercepts_, self.user_factors_ = mu, i_u, f_u
        self.statement_intercepts_, self.statement_factors_ = i_n, f_n
        self.score_ = mu + i_n  # (m,)
        n_pos = np.rint(items.ones @ (f_u > 0).astype(np.float64))  # (m,) raters with f_u > 0
        self.side_votes_ = np.stack([items.counts - n_pos, n_pos]).astype(np.int64)  # (2, m)
        self.passes_gate_ = (np.abs(f_n) < self.factor_gate) & (
            self.side_votes_.min(axis=0) >= self.min_side_votes)
