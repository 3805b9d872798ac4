"""Bridging score: Community Notes' matrix-factorisation scorer on agree/disagree votes, sparse.

Model and loss as Community Notes' own scorer (twitter/communitynotes ``scoring/src/scoring``:
``matrix_factorization/matrix_factorization.py`` and ``mf_base_scorer.py`` defaults;
shared/reference/consensus-metrics.md §3), one-dimensional factors:

    r̂_un = μ + i_u + i_n + f_u·f_n
    loss = mean_(u,n) (r_un − r̂_un)²
           + λ_f (mean_u f_u² + mean_n f_n²) + λ_i (mean_u i_u² + mean_n i_n² + μ²)

with ``l2_lambda`` λ_f = 0.03 and ``l2_intercept_multiplier`` 5, so λ_i = 0.15. The squared error
is a *mean over ratings* and each penalty a *mean over its raters or notes*, so multiplied out
(as the ridge solves below use it) a statement's intercept is shrunk by λ_i·N/n_statements
pseudo-ratings — about 0.15 × the average number of votes per statement — and a statement with
few votes stays near the global mean instead of topping the ranking. Before fitting, raters
with fewer than ``min_ratings_per_rater`` (10) ratings and statements with fewer than
``min_raters_per_statement`` (5) raters are dropped, repeated until both hold (Community Notes'
``minNumRatingsPerRater`` / ``minNumRatersPerNote``); dropped statements get no score
(``score_`` NaN, ``reason_`` says why), never a place in the ranking.

Ratings: agree 1, disagree 0, pass 0.5 (``pass_handling="count"``, Community Notes'
"somewhat helpful") or dropped ("exclude"). Fitted by alternating least squares: with the
statement side fixed every participant's (i_u, f_u) is a 2 × 2 ridge solve, and vice versa;
every sum is a sparse mat-vec over the ratings (O(n_votes) per sweep, no dense matrix).

Polis data have a high base rate of agreement, which the plain model absorbs into f_u; so after
each sweep we re-centre ``f_u ← f_u − c`` and fold ``c·f_n`` into ``i_n`` (predictions
unchanged), with c halfway between the mean factors of the two sides (``_balanced_centre``; the
plain mean would put the centre inside the larger camp and make majority-only statements look
like bridges), then rebalance the factor scales (``_balance``, also prediction-neutral) so that
ALS converges in a few sweeps.

Scale and range. ``intercept_`` is Community Notes' note intercept i_n (a note is "helpful" there
at i_n ≥ 0.40 with |f_n| < 0.5; ``helpful_`` applies that rule). ``score_ = clip(μ + ī_u + i_n,
0, 1)`` is the predicted rating, on the 0 (disagree) … 0.5 (pass) … 1 (agree) scale, of a
typical participant (average leniency ī_u over kept raters) at the centre of opinion space
(f_u = 0): what is left of a statement's approval once the part the opinion factor explains is
taken out. It ranks exactly as i_n (the added terms are one constant); the constant only puts it
on the rating scale, since the μ² penalty (λ_i·N in the summed loss) moves part of the base
rate out of μ into the intercepts. Clipping only touches statements the model extrapolates
beyond the scale (in practice the most rejected ones, at 0). ``passes_gate_``: |f_n| < 0.5 and at
least ``min_side_votes`` raters on each side of the factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from consensus.gic import PassHandling, validate_pass_handling
from consensus.matrix import VoteMatrix
from consensus.row_blocks import RowBlocks

__all__ = ["BridgingMF", "rating_filter", "vote_ratings"]

REASON_MODERATED = "moderated out"


def _rating_matrices(
    matrix: VoteMatrix, pass_handling: PassHandling
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(n, m) ratings and 0/1 weights sharing the vote structure (no copy of indices).

    Dropped votes (moderated-out statements, passes under "exclude") keep their slot with
    weight 0 and rating 0, so they add nothing to any sum.
    """
    validate_pass_handling(pass_handling)
    codes = matrix.codes
    signed = matrix.signed_data()  # (nnz,) -1 / 0 / +1, arithmetic (no int8-indexed lookup)
    weight = (signed != 0.0) * 1.0 if pass_handling == "exclude" else np.ones(codes.nnz)
    if matrix.moderated_out.any():
        weight *= ~matrix.moderated_out[codes.indices]
    rating = signed  # disagree 0, pass 0.5, agree 1, times the weight, in place
    rating += 1.0
    rating *= 0.5
    rating *= weight
    structure = (codes.indices, codes.indptr)
    return (
        sp.csr_matrix((rating, *structure), shape=matrix.shape),
        sp.csr_matrix((weight, *structure), shape=matrix.shape),
    )


def vote_ratings(
    matrix: VoteMatrix, pass_handling: PassHandling = "count"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO (rows, cols, ratings) of the votes the model is fitted on."""
    ratings, weights = _rating_matrices(matrix, pass_handling)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(ratings.indptr))  # (nnz,)
    keep = weights.data > 0
    return rows[keep], ratings.indices[keep].astype(np.int64), ratings.data[keep]


def _ridge2(
    s0: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
    b0: np.ndarray,
    b1: np.ndarray,
    lam_i: float,
    lam_f: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve [[s0+λi, s1], [s1, s2+λf]]·[i, f] = [b0, b1] element-wise (closed form)."""
    a, d = s0 + lam_i, s2 + lam_f
    det = a * d - s1 * s1
    return (d * b0 - s1 * b1) / det, (a * b1 - s1 * b0) / det


def _balance(
    f_u: np.ndarray, f_n: np.ndarray, lam_u: float, lam_n: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rescale f_u·c, f_n/c minimising λ_u c²‖f_u‖² + λ_n ‖f_n‖²/c²: predictions unchanged.

    The loss is flat along this scaling except for the weak λ_f terms, which plain ALS walks
    down very slowly; taking the exact minimiser (c⁴ = λ_n‖f_n‖² / λ_u‖f_u‖²) each sweep makes
    the fit converge in a few sweeps instead of hundreds.
    """
    nu, nn = np.linalg.norm(f_u), np.linalg.norm(f_n)
    if nu == 0 or nn == 0 or lam_u <= 0 or lam_n <= 0:
        return f_u, f_n
    c = (lam_n * nn * nn / (lam_u * nu * nu)) ** 0.25
    return f_u * c, f_n / c


def _balance_intercepts(
    mu: float,
    i_u: np.ndarray,
    i_n: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    lam_u: float,
    lam_n: float,
    lam_mu: float,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Move the base rate between μ, the rater and the statement intercepts at no change in
    any prediction (i_u + a, i_n + b, μ − a − b over the fitted raters / statements), choosing
    (a, b) that minimise the intercept penalties exactly.

    ALS walks this flat direction in tiny steps (the penalties are all that pin it), which
    took ~30 sweeps; solving it in closed form each sweep converges in a handful.
    """
    n_u, n_n = float(users.sum()), float(items.sum())
    if n_u == 0 or n_n == 0:
        return mu, i_u, i_n
    s_u, s_n = float(i_u[users].sum()), float(i_n[items].sum())
    # ∂/∂a: λ_u(s_u + n_u a) − λ_μ(μ − a − b) = 0 ; ∂/∂b: λ_n(s_n + n_n b) − λ_μ(μ − a − b) = 0
    lhs = np.array([[lam_u * n_u + lam_mu, lam_mu], [lam_mu, lam_n * n_n + lam_mu]])
    rhs = np.array([lam_mu * mu - lam_u * s_u, lam_mu * mu - lam_n * s_n])
    a, b = np.linalg.solve(lhs, rhs)
    return mu - a - b, np.where(users, i_u + a, i_u), np.where(items, i_n + b, i_n)


def _balanced_centre(f: np.ndarray, rounds: int = 20) -> float:
    """The point halfway between the mean factor of each side of it (1-D two-means midpoint).

    The origin of f_u decides what "the centre of opinion space" means for ``μ + i_n``. The
    plain mean puts it inside the larger camp, so a statement the majority likes would score
    like a bridge; halfway between the sides' means weighs both sides equally, whatever their
    size (the same "groups count equally" stance as MEA).
    """
    n = len(f)
    if n == 0:
        return 0.0
    c, total = float(f.mean()), float(f.sum())
    for _ in range(rounds):
        hi = f > c  # (n,) one mask and one masked sum per round, no copies of f
        n_hi = int(np.count_nonzero(hi))
        if n_hi in (0, n):
            return c
        s_hi = float(np.sum(f, where=hi))
        new = 0.5 * (s_hi / n_hi + (total - s_hi) / (n - n_hi))
        if abs(new - c) < 1e-12:
            break
        c = new
    return c


def rating_filter(
    weights: sp.csr_matrix,
    *,
    min_ratings_per_rater: int,
    min_raters_per_statement: int,
    max_rounds: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """(n,) raters and (m,) statements kept: each kept rater rated ≥ min kept statements and
    each kept statement has ≥ min kept raters (Community Notes' rating filters, to a fixed
    point: dropping a statement can take a rater below the minimum and vice versa)."""
    stmt_ok = np.asarray(weights.sum(axis=0)).ravel() > 0  # (m,)
    rater_ok = np.ones(weights.shape[0], bool)  # (n,)
    for _ in range(max_rounds):
        new_rater = (weights @ stmt_ok.astype(np.float64)) >= min_ratings_per_rater
        new_stmt = stmt_ok & (
            (weights.T @ new_rater.astype(np.float64)) >= min_raters_per_statement
        )
        if (new_rater == rater_ok).all() and (new_stmt == stmt_ok).all():
            break
        rater_ok, stmt_ok = new_rater, new_stmt
    return rater_ok, stmt_ok


@dataclass
class _Side:
    """One side of the bipartite vote graph: sums over the *other* side, one product each.

    ``ones(x)`` = Σ_other w·x and ``ratings(x)`` = Σ_other r·x per index of this side (O(n_votes),
    on every core), ``counts`` ratings per index, ``rating_sum`` Σ r.
    """

    ones: Callable[[np.ndarray], np.ndarray]
    ratings: Callable[[np.ndarray], np.ndarray]
    counts: np.ndarray
    rating_sum: np.ndarray

    @classmethod
    def pair(cls, ratings: sp.csr_matrix, ones: sp.csr_matrix) -> tuple[_Side, _Side]:
        """(raters, statements) of (n, m) CSR ratings and weights sharing one structure."""
        r, w = RowBlocks(ratings), RowBlocks(ones)
        n, m = ratings.shape
        raters = cls(w.dot, r.dot, w.dot(np.ones(m)), r.dot(np.ones(m)))
        statements = cls(w.tdot, r.tdot, w.tdot(np.ones(n)), r.tdot(np.ones(n)))
        return raters, statements

    def solve(
        self, mu: float, i_other: np.ndarray, f_other: np.ndarray, lam_i: float, lam_f: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ridge (intercept, factor) per index with residual r − μ − i_other, feature f_other.

        Also returns Σ f_other per index (reused for μ).
        """
        block = np.stack([f_other, f_other * f_other, i_other, i_other * f_other], axis=1)
        s1, s2, s_i, s_if = self.ones(block).T  # one pass over the ratings for 4 sums
        b0 = self.rating_sum - mu * self.counts - s_i  # Σ residual
        b1 = self.ratings(f_other) - mu * s1 - s_if  # Σ residual·f
        return (*_ridge2(self.counts, s1, s2, b0, b1, lam_i, lam_f), s1)


class BridgingMF:
    """Fit the 1-D Community Notes model (scikit-learn style; learned state ends in ``_``).

    Fitted: ``mu_``, ``user_intercepts_`` (n,), ``user_factors_`` (n,),
    ``statement_intercepts_`` (m,) = ``intercept_``, ``statement_factors_`` (m,),
    ``score_`` (m,) clip(μ + ī_u + i_n, 0, 1), NaN when not scored, ``reason_`` (m,) why not
    (None when scored), ``helpful_`` (m,) Community Notes' rule, ``passes_gate_`` (m,),
    ``side_votes_`` (2, m) kept raters with f_u ≤ 0 / f_u > 0, ``n_raters_`` (m,) kept raters,
    ``rater_kept_`` (n,), ``n_iter_``.
    """

    def __init__(
        self,
        *,
        pass_handling: PassHandling = "count",
        lambda_i: float = 0.15,
        lambda_f: float = 0.03,
        max_iter: int = 30,
        tol: float = 5e-4,
        factor_gate: float = 0.5,
        min_side_votes: int = 5,
        min_ratings_per_rater: int = 10,
        min_raters_per_statement: int = 5,
        helpful_intercept: float = 0.40,
    ) -> None:
        self.pass_handling = pass_handling
        self.lambda_i = lambda_i
        self.lambda_f = lambda_f
        self.max_iter = max_iter
        self.tol = tol
        self.factor_gate = factor_gate
        self.min_side_votes = min_side_votes
        self.min_ratings_per_rater = min_ratings_per_rater
        self.min_raters_per_statement = min_raters_per_statement
        self.helpful_intercept = helpful_intercept

    def fit(self, matrix: VoteMatrix, init_user_factors: np.ndarray | None = None) -> BridgingMF:
        """``init_user_factors`` (n,) e.g. the PCA x coordinate (deterministic, speeds up ALS)."""
        r, w = _rating_matrices(matrix, self.pass_handling)  # (n, m) each
        self.rater_kept_, kept = rating_filter(
            w,
            min_ratings_per_rater=self.min_ratings_per_rater,
            min_raters_per_statement=self.min_raters_per_statement,
        )
        rater_of_vote = np.repeat(self.rater_kept_, np.diff(w.indptr))  # (nnz,)
        dropped = ~(rater_of_vote & kept[w.indices])  # (nnz,) filtered-out ratings
        w.data[dropped], r.data[dropped] = 0.0, 0.0  # weight 0: adds nothing to any sum
        users, items = _Side.pair(r, w)
        raters = users.counts > 0  # (n,)
        n_ratings = float(users.counts.sum())
        lam_u, lam_n, lam_mu = self._penalties(n_ratings, int(raters.sum()), int(kept.sum()))
        f_u = self._init_factors(init_user_factors, raters)
        n, m = matrix.shape
        i_u, i_n, f_n = np.zeros(n), np.zeros(m), np.zeros(m)
        mu = float(users.rating_sum.sum() / max(n_ratings, 1.0))
        self.n_iter_ = 0
        for _ in range(self.max_iter if n_ratings else 0):
            self.n_iter_ += 1
            old = i_n.copy()
            i_n, f_n, _ = items.solve(mu, i_u, f_u, *lam_n)
            i_u, f_u, sum_f_n = users.solve(mu, i_n, f_n, *lam_u)
            mu = self._mu(users, items, i_u, i_n, f_u @ sum_f_n, lam_mu)
            shift = _balanced_centre(f_u[raters])
            f_u, i_n = np.where(raters, f_u - shift, 0.0), i_n + shift * f_n  # re-centre
            f_u, f_n = _balance(f_u, f_n, lam_u[1], lam_n[1])
            mu, i_u, i_n = _balance_intercepts(
                mu, i_u, i_n, raters, kept, lam_u[0], lam_n[0], lam_mu
            )
            if np.abs(i_n - old).max(initial=0.0) < self.tol:
                break
        self._store(matrix, items, kept, mu, i_u, f_u, i_n, f_n)
        return self

    def _penalties(
        self, n_ratings: float, n_raters: int, n_statements: int
    ) -> tuple[tuple[float, float], tuple[float, float], float]:
        """Community Notes' mean-scaled penalties as ridge weights on the summed loss.

        Multiplying the loss by N ratings turns ``λ·mean_u(x_u²)`` into ``λ·N/n_u · Σ x_u²``.
        Returns (λ_i, λ_f) for the rater side, for the statement side, and μ's weight.
        """
        per_rater = n_ratings / max(n_raters, 1)
        per_statement = n_ratings / max(n_statements, 1)
        return (
            (self.lambda_i * per_rater, self.lambda_f * per_rater),
            (self.lambda_i * per_statement, self.lambda_f * per_statement),
            self.lambda_i * n_ratings,
        )

    @staticmethod
    def _init_factors(init: np.ndarray | None, raters: np.ndarray) -> np.ndarray:
        if init is None or not np.std(init) > 0:  # also catches NaN
            init = np.random.default_rng(0).standard_normal(len(raters))
        scale = np.std(init) or 1.0  # a single participant has std 0
        return np.where(raters, (init - init.mean()) / scale, 0.0)

    @staticmethod
    def _mu(
        users: _Side,
        items: _Side,
        i_u: np.ndarray,
        i_n: np.ndarray,
        interaction: float,
        lam_mu: float,
    ) -> float:
        """Closed-form μ: Σ(r − i_u − i_n − f_u·f_n) / (n_ratings + λ_μ)."""
        total = users.rating_sum.sum() - users.counts @ i_u - items.counts @ i_n - interaction
        return float(total / (users.counts.sum() + lam_mu)) if users.counts.sum() else 0.0

    def _store(
        self,
        matrix: VoteMatrix,
        items: _Side,
        kept: np.ndarray,
        mu: float,
        i_u: np.ndarray,
        f_u: np.ndarray,
        i_n: np.ndarray,
        f_n: np.ndarray,
    ) -> None:
        self.mu_, self.user_intercepts_, self.user_factors_ = mu, i_u, f_u
        self.statement_intercepts_, self.statement_factors_ = i_n, f_n
        self.intercept_ = np.where(kept, i_n, np.nan)  # (m,)
        self.typical_rater_ = float(i_u[self.rater_kept_].mean()) if self.rater_kept_.any() else 0.0
        centre = mu + self.typical_rater_ + i_n  # (m,) an average-leniency rater at f_u = 0
        self.score_ = np.where(kept, np.clip(centre, 0.0, 1.0), np.nan)  # (m,)
        self.n_raters_ = np.rint(items.counts).astype(np.int64)  # (m,)
        n_pos = np.rint(items.ones((f_u > 0).astype(np.float64)))  # (m,) raters with f_u > 0
        self.side_votes_ = np.stack([items.counts - n_pos, n_pos]).astype(np.int64)  # (2, m)
        self.passes_gate_ = (
            kept
            & (np.abs(f_n) < self.factor_gate)
            & (self.side_votes_.min(axis=0) >= self.min_side_votes)
        )
        self.helpful_ = kept & (i_n >= self.helpful_intercept) & (np.abs(f_n) < self.factor_gate)
        self.reason_ = np.array(
            [self._reason(j, matrix, kept) for j in range(len(kept))], dtype=object
        )

    def _reason(self, j: int, matrix: VoteMatrix, kept: np.ndarray) -> str | None:
        if kept[j]:
            return None
        if matrix.moderated_out[j]:
            return REASON_MODERATED
        return (
            f"fewer than {self.min_raters_per_statement} raters with at least "
            f"{self.min_ratings_per_rater} votes"
        )
