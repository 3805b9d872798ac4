"""Out-of-sample (cross-fitted) consensus: no vote both defines a group and scores with it.

In-sample GIC and MEA are circular: the groups are fitted on the very votes that then rank the
statements, so a statement that splits opinion can carve out its own group (a 65/35 split
becomes "its" group agreeing 100 %) and the ranking partly restates the clustering.
Cross-fitting (as in double machine learning) breaks the loop:

1. each participant's votes are dealt at random into ``folds`` parts (stratified per
   participant, so everyone keeps most of their votes in every training set);
2. for each fold f, the groups are fitted (PCA, in-conv, base and group k-means) on all votes
   *except* fold f, and every held-out vote in fold f is counted for the group its voter got
   from that fit;
3. each fold's groups are mapped onto the full-data groups by majority overlap of members, so
   the counts add up over folds: every vote is counted exactly once, under a group fitted
   without it. GIC and MEA are then computed on these counts, on the same scale as in-sample.

Cost: ``folds`` extra recomputes of the projection and groups (bridging is not refitted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from consensus.approval import MeaScores
from consensus.matrix import VoteMatrix
from consensus.repness import GroupCounts, label_counts

__all__ = ["CrossFit", "cross_fitted_counts", "vote_folds"]


@dataclass(frozen=True)
class CrossFit:
    """Held-out group counts (k, m) in the full result's group order, the fold count, how many
    votes were counted (votes of participants a fold left unclustered are not), and the
    out-of-sample scores computed from the counts (``gic`` dict and ``mea`` MeaScores, filled
    by the pipeline)."""

    counts: GroupCounts
    folds: int
    n_votes_counted: int
    gic: dict[str, np.ndarray] | None = None
    mea: MeaScores | None = None


def vote_folds(matrix: VoteMatrix, folds: int, random_state: int | None = 0) -> np.ndarray:
    """(nnz,) fold of every stored vote, in CSR order: a random round-robin per participant."""
    codes = matrix.codes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(codes.indptr))  # (nnz,)
    keys = np.random.default_rng(random_state).random(len(rows))
    order = np.lexsort((keys, rows))  # by participant, random within
    rank = np.arange(len(rows)) - codes.indptr[rows[order]]  # position within the participant
    start = np.random.default_rng(random_state).integers(0, folds, matrix.shape[0])
    fold = np.empty(len(rows), np.int64)
    fold[order] = (rank + start[rows[order]]) % folds
    return fold


def _subset(matrix: VoteMatrix, keep: np.ndarray) -> VoteMatrix:
    """The votes where ``keep`` (nnz,) holds, with every row and column of ``matrix``."""
    codes = matrix.codes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(codes.indptr))[keep]
    return VoteMatrix.from_votes(
        matrix.participant_ids[rows],
        matrix.statement_ids[codes.indices[keep]],
        codes.data[keep].astype(np.int64) - 2,
        participants=matrix.participant_ids,
        statements=matrix.statement_ids,
        moderated_out=matrix.statement_ids[matrix.moderated_out],
        meta=matrix.statement_ids[matrix.is_meta],
    )


def _map_groups(fold_group: np.ndarray, full_label: np.ndarray, k: int) -> np.ndarray:
    """(n,) full-data label for every row via its fold group's majority full label (-1: none)."""
    out = np.full(len(fold_group), -1, np.int64)
    placed = (fold_group >= 0) & (full_label >= 0)
    for g in np.unique(fold_group[fold_group >= 0]):
        members = fold_group == g
        votes = np.bincount(full_label[members & placed], minlength=k)
        if votes.sum():
            out[members] = int(np.argmax(votes))
    return out


def cross_fitted_counts(
    matrix: VoteMatrix,
    full_label: np.ndarray,
    k: int,
    *,
    fit_groups: Callable[[VoteMatrix], np.ndarray],
    random_state: int | None,
    folds: int = 5,
) -> CrossFit:
    """Held-out counts per full-data group (labels (n,) in [0, k), -1 = unclustered).

    `fit_groups` clusters a training matrix and returns each participant's group id (n,);
    the pipeline passes its own run, so this module needs nothing of the pipeline.
    """
    fold_of = vote_folds(matrix, folds, random_state)
    agree = np.zeros((k, matrix.shape[1]), np.int64)
    disagree, seen = agree.copy(), agree.copy()
    for f in range(folds):
        trained = fit_groups(_subset(matrix, fold_of != f))
        labels = _map_groups(trained, full_label, k)  # rows align: same participants
        held = label_counts(_subset(matrix, fold_of == f), labels, k)
        agree, disagree, seen = agree + held.agree, disagree + held.disagree, seen + held.seen
    counts = GroupCounts(agree, disagree, seen)
    return CrossFit(counts, folds, int(seen.sum()))
