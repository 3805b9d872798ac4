"""Synthetic conversations with planted opinion groups, generated sparse and fast.

Each participant belongs to one of ``n_groups`` planted groups (unequal sizes). Statement j has
a base agree propensity plus a group term of strength ``divisive`` that is low-rank (groups on
a circle in a 2-D opinion space), so the groups are recoverable from the top two components.
Participants vote on a random subset of statements (Poisson-distributed count,
popularity-skewed choice), pass with probability
``pass_rate``, and otherwise agree with their group's probability. Duplicate (participant,
statement) draws collapse to one cell, so the realised vote count is slightly below the target.

:func:`realistic_conversation` instead resamples every distribution from real exports
(:class:`RealProfile`, built by :func:`profile_from_exports` from shared/data/polis): real
conversations have 3–59 % of participants with fewer than 7 votes and a tail up to hundreds,
a Poisson count has neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from consensus.matrix import VoteMatrix

__all__ = [
    "RealProfile",
    "SyntheticConversation",
    "planted_conversation",
    "profile_from_exports",
    "realistic_conversation",
]


@dataclass(frozen=True)
class SyntheticConversation:
    """The vote matrix and each row's planted group (``planted[i]`` for matrix row i)."""

    matrix: VoteMatrix
    planted: np.ndarray  # (n,) int64
    agree_prob: np.ndarray  # (n_groups, m) planted agree probability (given not passing)


def _group_profiles(rng: np.random.Generator, n_groups: int, m: int, divisive: float) -> np.ndarray:
    """(g, m) agree probabilities: a shared base plus a low-rank group term.

    Groups sit on a circle in a 2-D opinion space (angles 2πg/k); statement j has a loading
    w_j in that space, so agree_gj = base_j + divisive·(c_g · w_j): the group differences span
    two dimensions, as in real conversations with one or two main divides.
    """
    base = rng.uniform(0.3, 0.8, m)  # (m,) shared propensity
    angles = 2 * np.pi * np.arange(n_groups) / n_groups
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (g, 2)
    loadings = rng.standard_normal((m, 2))  # (m, 2)
    return np.clip(base[None, :] + divisive * centres @ loadings.T, 0.03, 0.97)


def _draw_cells(
    rng: np.random.Generator, n: int, m: int, n_votes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique (row, col) cells, ≈ n_votes of them (redraws make up for duplicates)."""
    popularity = rng.pareto(2.5, m) + 1.0  # (m,) some statements are shown more often
    cdf = np.cumsum(popularity) / popularity.sum()
    key = np.zeros(0, np.int64)
    for _ in range(4):
        missing = n_votes - len(key)
        if missing <= n_votes // 200:
            break
        per_row = rng.poisson(missing * 1.05 / n, n)  # (n,)
        rows = np.repeat(np.arange(n, dtype=np.int64), per_row)
        cols = np.searchsorted(cdf, rng.random(len(rows)))
        key = np.union1d(key, rows * m + cols)  # dedup and sort by (row, col)
    return key // m, key % m


def planted_conversation(
    n_participants: int,
    n_statements: int,
    n_votes: int,
    *,
    n_groups: int = 3,
    divisive: float = 0.5,
    pass_rate: float = 0.15,
    random_state: int = 0,
) -> SyntheticConversation:
    """Generate a conversation; the matrix is built directly in CSR (no vote-event arrays)."""
    rng = np.random.default_rng(random_state)
    weights = np.arange(n_groups, 0, -1, dtype=np.float64)  # unequal sizes, e.g. 3:2:1
    planted = rng.choice(n_groups, n_participants, p=weights / weights.sum())  # (n,)
    profiles = _group_profiles(rng, n_groups, n_statements, divisive)  # (g, m)
    rows, cols = _draw_cells(rng, n_participants, n_statements, n_votes)
    u = rng.random(len(rows)).astype(np.float32)  # (nnz,)
    agree = u < profiles[planted[rows], cols] * (1 - pass_rate)
    passed = u >= 1 - pass_rate
    codes = np.where(agree, 3, np.where(passed, 2, 1)).astype(np.int8)  # vote + 2
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_participants))])
    csr = sp.csr_matrix(
        (codes, cols.astype(np.int32), indptr), shape=(n_participants, n_statements)
    )
    matrix = VoteMatrix(
        csr,
        np.arange(n_participants, dtype=np.int64),
        np.arange(n_statements, dtype=np.int64),
        np.zeros(n_statements, bool),
        np.zeros(n_statements, bool),
    )
    return SyntheticConversation(matrix, planted.astype(np.int64), profiles)


# --------------------------------------------------------------------------- resampled from real


@dataclass(frozen=True)
class RealProfile:
    """What :func:`realistic_conversation` resamples, pooled over real conversations.

    ``participant_activity`` (p,): each real participant's vote count divided by their
    conversation's mean (so conversations of any size pool, and the long tail and the many
    one-to-six-vote visitors survive scaling). ``statement_popularity`` (s,): the same for
    statements. ``group_rates`` (s2, 2, 3): for statements of conversations Polis split in two,
    each Polis group's (agree, disagree, pass) rates (Jeffreys-smoothed, statements with ≥ 10
    votes in both groups). ``group_shares`` (c,):
    the larger Polis group's share of grouped participants, per conversation.
    """

    participant_activity: np.ndarray
    statement_popularity: np.ndarray
    group_rates: np.ndarray
    group_shares: np.ndarray


def _relative(counts: np.ndarray) -> np.ndarray:
    counts = counts[counts > 0].astype(np.float64)
    return counts / counts.mean() if len(counts) else counts


def _two_group_rates(matrix: VoteMatrix, groups: np.ndarray) -> np.ndarray:
    """(m, 2, 3) per-group smoothed (agree, disagree, pass) rates of the kept statements."""
    from consensus.repness import label_counts

    counts = label_counts(matrix, groups, 2)
    # Jeffreys' ½ per outcome: light enough not to inflate the rarest outcome (pass)
    cube = np.stack([counts.agree, counts.disagree, counts.passes], axis=-1) + 0.5  # (2, m, 3)
    rates = cube / cube.sum(axis=-1, keepdims=True)
    keep = ~matrix.moderated_out & (counts.seen.min(axis=0) >= 10)
    return rates.transpose(1, 0, 2)[keep]


def profile_from_exports(exports: list[object]) -> RealProfile:
    """Pool the distributions of :class:`RealProfile` from Polis exports (PolisExport)."""
    from consensus.matrix import matrix_from_export

    activity, popularity, rates, shares = [], [], [], []
    for export in exports:
        matrix = matrix_from_export(export)  # type: ignore[arg-type]
        if matrix.n_votes == 0:
            continue
        activity.append(_relative(matrix.votes_per_participant()))
        popularity.append(_relative(np.bincount(matrix.codes.indices, minlength=matrix.shape[1])))
        polis = export.group_ids  # type: ignore[attr-defined]
        ids = sorted({g for g in polis.values() if g is not None})
        if len(ids) != 2:
            continue
        groups = np.array(
            [
                ids.index(polis[p]) if polis.get(p) is not None else -1
                for p in matrix.participant_ids.tolist()
            ]
        )
        rates.append(_two_group_rates(matrix, groups))
        sizes = np.bincount(groups[groups >= 0], minlength=2)
        shares.append(sizes.max() / sizes.sum())
    return RealProfile(
        np.concatenate(activity),
        np.concatenate(popularity),
        np.concatenate(rates),
        np.asarray(shares),
    )


def _resampled_cells(
    rng: np.random.Generator, profile: RealProfile, n: int, m: int, n_votes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique (row, col): per-row counts ∝ resampled activity, columns ∝ popularity.

    Draws with replacement, oversampled, then keeps each row's first ``per_row`` distinct
    columns (one sort of the keys per round); a few rounds top up rows that duplicates left
    short. O(n_votes log n_votes), about a second per 5M votes.
    """
    activity = rng.choice(profile.participant_activity, n)  # (n,)
    per_row = np.clip(np.rint(activity * n_votes / activity.sum()), 1, m).astype(np.int64)
    popularity = rng.choice(profile.statement_popularity, m)  # (m,)
    cdf = np.cumsum(popularity) / popularity.sum()
    key = np.zeros(0, np.int64)
    want = per_row
    for _ in range(4):
        draw = np.ceil(want * 1.25).astype(np.int64) + (want > 0)
        rows = np.repeat(np.arange(n, dtype=np.int64), draw)
        cols = np.minimum(np.searchsorted(cdf, rng.random(len(rows))), m - 1)
        key = _sorted_unique(np.concatenate([key, rows * m + cols]))  # sorted by (row, col)
        key = _first_per_row(key, m, per_row, rng)
        missing = per_row - np.bincount(key // m, minlength=n)
        if missing.sum() <= n_votes // 200 or missing.sum() > 0.8 * want.sum():
            break  # close enough, or the rest are rows asking for nearly every statement
        want = missing
    return key // m, key % m


def _sorted_unique(key: np.ndarray) -> np.ndarray:
    """Sort-based unique (numpy's hash-based ``unique`` is several times slower here)."""
    key = np.sort(key)
    return key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key


def _first_per_row(
    key: np.ndarray, m: int, per_row: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Keep a random ``per_row[r]`` of each row's distinct keys (all of them if fewer)."""
    rows = key // m
    order = np.argsort(rows + rng.random(len(key)))  # by row, random order within each row
    sorted_rows = rows[order]
    rank = np.arange(len(key)) - np.searchsorted(sorted_rows, sorted_rows, side="left")
    return np.sort(key[order][rank < per_row[sorted_rows]])


def realistic_conversation(
    n_participants: int,
    n_statements: int,
    n_votes: int,
    *,
    profile: RealProfile,
    random_state: int = 0,
) -> SyntheticConversation:
    """Two planted groups whose vote counts, vote mix and group split are resampled from
    real conversations (``profile``), rather than drawn from tidy parametric families.

    * group sizes: the larger group's share is drawn from the real Polis splits;
    * who votes how much: each participant's count is a resampled relative activity scaled so
      the total is ``n_votes`` (capped at ``n_statements``), so the share of people with a
      handful of votes and the long tail are those of real conversations;
    * which statements get votes: resampled relative popularity;
    * how each group votes: each synthetic statement takes a real statement's per-group
      (agree, disagree, pass) rates, so the vote mix and how far the groups are apart on each
      statement are real ones. A real statement's two groups map to the planted groups in a
      random order per statement (orientation carries no information across conversations).
    """
    rng = np.random.default_rng(random_state)
    share = float(rng.choice(profile.group_shares))
    planted = (rng.random(n_participants) >= share).astype(np.int64)  # (n,) 0 = larger group
    picks = rng.integers(0, len(profile.group_rates), n_statements)
    rates = profile.group_rates[picks].copy()  # (m, 2, 3)
    flip = rng.random(n_statements) < 0.5
    rates[flip] = rates[flip][:, ::-1]
    rows, cols = _resampled_cells(rng, profile, n_participants, n_statements, n_votes)
    p = rates[cols, planted[rows]]  # (nnz, 3) agree, disagree, pass
    u = rng.random(len(rows))
    codes = np.where(u < p[:, 0], 3, np.where(u < p[:, 0] + p[:, 1], 1, 2)).astype(np.int8)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_participants))])
    csr = sp.csr_matrix(
        (codes, cols.astype(np.int32), indptr), shape=(n_participants, n_statements)
    )
    matrix = VoteMatrix(
        csr,
        np.arange(n_participants, dtype=np.int64),
        np.arange(n_statements, dtype=np.int64),
        np.zeros(n_statements, bool),
        np.zeros(n_statements, bool),
    )
    agree = rates[:, :, 0] / np.maximum(rates[:, :, 0] + rates[:, :, 1], 1e-12)  # (m, 2)
    return SyntheticConversation(matrix, planted, agree.T)
