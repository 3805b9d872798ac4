"""Replay a conversation's votes in time order, updating like Polis' math worker.

Polis recomputes a conversation each time its poller finds new votes, carrying state between
updates (PCA warm start, sticky in-conv set, warm-started base/group k-means, k smoothing), so
its group ids depend on history (shared/reference/polis-math.md §3). A stateless recompute on
the final matrix cannot reproduce that; replaying the vote stream with periodic updates gets
closer. Updates fire every ``every_votes`` votes and/or whenever ``every_ms`` of conversation
time has passed since the last update (timestamps of the votes, not wall-clock time). The final
update always runs the full :func:`consensus.pipeline.run` on all votes.

Limitation: moderation is applied with its *final* status throughout (exports do not record
when a statement was moderated).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from consensus.matrix import VoteMatrix
from consensus.pipeline import ConsensusConfig, ConsensusResult, PipelineState, run, update_state

__all__ = ["ReplayResult", "replay", "update_points"]


@dataclass
class ReplayResult:
    """Final full result plus how many intermediate updates ran."""

    result: ConsensusResult
    n_updates: int


def update_points(timestamps: np.ndarray, *, every_votes: int | None = None,
                  every_ms: int | None = None) -> np.ndarray:
    """Sorted exclusive end indices of each update batch (the last one is always len)."""
    n = len(timestamps)
    if n == 0:
        return np.zeros(0, np.int64)
    ends: list[int] = []
    if every_votes:
        ends.extend(range(every_votes, n, every_votes))
    if every_ms:
        ends.extend(_time_ends(timestamps, every_ms))
    return np.unique(np.asarray(ends + [n], np.int64))


def _time_ends(timestamps: np.ndarray, every_ms: int) -> list[int]:
    """Close a batch at the first vote at least ``every_ms`` after the batch's start."""
    ends, start = [], timestamps[0]
    for i, t in enumerate(timestamps):
        if t - start >= every_ms:
            ends.append(i)
            start = t
    return ends


def replay(
    participant_ids: Iterable[int] | np.ndarray,
    statement_ids: Iterable[int] | np.ndarray,
    votes: Iterable[int] | np.ndarray,
    timestamps: Iterable[int] | np.ndarray,
    *,
    moderated_out: Iterable[int] = (),
    meta: Iterable[int] = (),
    every_votes: int | None = None,
    every_ms: int | None = 600_000,
    config: ConsensusConfig | None = None,
    state: PipelineState | None = None,
) -> ReplayResult:
    """Process vote events in timestamp order with periodic state-carrying updates."""
    pids, tids = np.asarray(participant_ids, np.int64), np.asarray(statement_ids, np.int64)
    values, stamps = np.asarray(votes, np.int64), np.asarray(timestamps, np.int64)
    order = np.argsort(stamps, kind="stable")
    pids, tids, values, stamps = pids[order], tids[order], values[order], stamps[order]
    mod_out, meta_ids = list(moderated_out), list(meta)
    state = state or PipelineState()
    ends = update_points(stamps, every_votes=every_votes, every_ms=every_ms)

    def matrix_until(end: int) -> VoteMatrix:
        return VoteMatrix.from_votes(pids[:end], tids[:end], values[:end],
                                     moderated_out=mod_out, meta=meta_ids)

    for end in ends[:-1]:
        state = update_state(matrix_until(int(end)), config=config, state=state)
    final = run(matrix_until(len(values)), config=config, state=state)
    return ReplayResult(final, len(ends))
