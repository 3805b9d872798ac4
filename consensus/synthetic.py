"""Synthetic conversations with planted opinion groups, generated sparse and fast.

Each participant belongs to one of ``n_groups`` planted groups (unequal sizes). Statement j has
a base agree propensity plus a group term of strength ``divisive`` that is low-rank (groups on
a circle in a 2-D opinion space), so the groups are recoverable from the top two components.
Participants vote on a random subset of statements (Poisson-distributed count,
popularity-skewed choice), pass with probability
``pass_rate``, and otherwise agree with their group's probability. Duplicate (participant,
statement) draws collapse to one cell, so the realised vote count is slightly below the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from consensus.matrix import VoteMatrix

__all__ = ["SyntheticConversation", "planted_conversation"]


@dataclass(frozen=True)
class SyntheticConversation:
    """The vote matrix and each row's planted group (``planted[i]`` for matrix row i)."""

    matrix: VoteMatrix
    planted: np.ndarray  # (n,) int64
    agree_prob: np.ndarray  # (n_groups, m) planted agree probability (given not passing)


def _group_profiles(rng: np.random.Generator, n_groups: int, m: int, divisive: float
                    ) -> np.ndarray:
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


def _draw_cells(rng: np.random.Generator, n: int, m: int, n_votes: int
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
    csr = sp.csr_matrix((codes, cols.astype(np.int32), indptr),
                        shape=(n_participants, n_statements))
    matrix = VoteMatrix(csr, np.arange(n_participants, dtype=np.int64),
                        np.arange(n_statements, dtype=np.int64),
                        np.zeros(n_statements, bool), np.zeros(n_statements, bool))
    return SyntheticConversation(matrix, planted.astype(np.int64), profiles)
