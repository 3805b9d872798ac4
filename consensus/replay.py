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

Replay needs the time of every vote: an export without votes.csv (the matrix only) has none,
and replaying it would silently equal the stateless run, so :func:`replay` refuses it
(:class:`ReplayError`). Its cost is bounded: at most ``max_updates`` intermediate updates run
(evenly thinned when the schedule asks for more), each costing one PCA + clustering of the
votes so far, so a replay costs at most ``max_updates`` × (one stateless run on the full data).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from consensus.matrix import VoteMatrix
from consensus.pipeline import ConsensusConfig, ConsensusResult, PipelineState, run, update_state

__all__ = ["MAX_UPDATES", "ReplayError", "ReplayResult", "replay", "update_points"]

MAX_UPDATES = 200


class ReplayError(ValueError):
    """The votes cannot be replayed (no timestamps); the message says why."""


@dataclass
class ReplayResult:
    """Final full result plus how many updates ran (and how many the schedule asked for)."""

    result: ConsensusResult
    n_updates: int
    n_scheduled: int = 0


def update_points(
    timestamps: np.ndarray, *, every_votes: int | None = None, every_ms: int | None = None
) -> np.ndarray:
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


def _thin(ends: np.ndarray, max_updates: int) -> np.ndarray:
    """At most ``max_updates`` ends, evenly spaced, always keeping the final one."""
    if len(ends) <= max_updates:
        return ends
    keep = np.linspace(0, len(ends) - 1, max(max_updates, 1)).round().astype(np.int64)
    return np.unique(np.append(ends[keep], ends[-1]))


def _timestamps(timestamps: Iterable[int | None] | np.ndarray) -> np.ndarray:
    raw = timestamps if isinstance(timestamps, np.ndarray) else list(timestamps)
    if any(t is None for t in raw) if not isinstance(raw, np.ndarray) else raw.dtype == object:
        raise ReplayError(
            "cannot replay: some votes have no timestamp (an export without votes.csv holds "
            "only the latest vote per cell); run without replay"
        )
    stamps = np.asarray(raw, np.int64)
    if len(stamps) > 1 and stamps.min() == stamps.max():
        raise ReplayError("cannot replay: every vote has the same timestamp")
    return stamps


def replay(
    participant_ids: Iterable[int] | np.ndarray,
    statement_ids: Iterable[int] | np.ndarray,
    votes: Iterable[int] | np.ndarray,
    timestamps: Iterable[int | None] | np.ndarray,
    *,
    moderated_out: Iterable[int] = (),
    meta: Iterable[int] = (),
    every_votes: int | None = None,
    every_ms: int | None = 600_000,
    config: ConsensusConfig | None = None,
    state: PipelineState | None = None,
    max_updates: int = MAX_UPDATES,
) -> ReplayResult:
    """Process vote events in timestamp order with periodic state-carrying updates.

    Raises :class:`ReplayError` when any vote lacks a timestamp (or all share one).
    """
    stamps = _timestamps(timestamps)
    pids, tids = np.asarray(participant_ids, np.int64), np.asarray(statement_ids, np.int64)
    values = np.asarray(votes, np.int64)
    order = np.argsort(stamps, kind="stable")
    pids, tids, values, stamps = pids[order], tids[order], values[order], stamps[order]
    mod_out, meta_ids = list(moderated_out), list(meta)
    state = state or PipelineState()
    scheduled = update_points(stamps, every_votes=every_votes, every_ms=every_ms)
    ends = _thin(scheduled, max_updates)

    def matrix_until(end: int) -> VoteMatrix:
        return VoteMatrix.from_votes(
            pids[:end], tids[:end], values[:end], moderated_out=mod_out, meta=meta_ids
        )

    for end in ends[:-1]:
        state = update_state(matrix_until(int(end)), config=config, state=state)
    final = run(matrix_until(len(values)), config=config, state=state)
    return ReplayResult(final, len(ends), len(scheduled))
