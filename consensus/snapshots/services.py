"""Run the consensus math for a conversation and store the result as a snapshot.

This is the only place that knows both worlds: it loads votes from the database into the
Django-free `VoteMatrix`, calls `pipeline.run` with the previous snapshot's carried state (so
group ids stay stable and Polis' sticky rules apply), and saves one `Snapshot` row.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Max

from consensus.demographics import demographic_breakdown
from consensus.matrix import VoteMatrix
from consensus.pipeline import (
    ConsensusConfig,
    PipelineState,
    run,
    state_from_history,
    statement_priorities,
)
from consensus.snapshots.models import Snapshot
from consensus.snapshots.selectors import snapshot_latest
from deliberation.models import (
    Conversation,
    DemographicAnswer,
    Participant,
    Statement,
    Vote,
    VoteEvent,
)
from kernel import jobs, realtime
from kernel.errors import ApplicationError, NotFoundError
from kernel.models import Job

_MATH_STATES = (Statement.Moderation.ACCEPTED, Statement.Moderation.REJECTED)
# A busy conversation gets a snapshot every few seconds; keep the recent ones and any that a
# constitution was built from (its provenance), drop the rest.
SNAPSHOTS_KEPT = 20


def vote_matrix_for(*, conversation_id: int) -> VoteMatrix:
    """Current votes on accepted and rejected statements (rejected ones are zeroed, as Polis).

    Only statements with votes become columns, as in Polis' named matrix: an unvoted column
    would still count in each participant's sparsity scaling.
    """
    statements = Statement.objects.filter(
        conversation_id=conversation_id, moderation__in=_MATH_STATES
    )
    rejected = statements.filter(moderation=Statement.Moderation.REJECTED).values_list(
        "pk", flat=True
    )
    rows = Vote.objects.filter(statement__in=statements).values_list(
        "participant_id", "statement_id", "value"
    )
    votes = np.array(list(rows.iterator(chunk_size=20000)), dtype=np.int64).reshape(-1, 3)  # (n, 3)
    return VoteMatrix.from_votes(
        votes[:, 0], votes[:, 1], votes[:, 2], moderated_out=list(rejected)
    )


def _state_from_vote_history(conversation_id: int, cfg: ConsensusConfig) -> PipelineState:
    """The first snapshot of a conversation (an import, or the first votes) starts from the
    in-conversation set Polis' sticky rule admitted over its vote history, as the CLI does for
    an export with votes.csv (docs/consensus.md); later snapshots carry their own state."""
    rows = VoteEvent.objects.filter(
        statement__conversation_id=conversation_id, statement__moderation__in=_MATH_STATES
    ).values_list("participant_id", "statement_id", "created_at")
    events = list(rows.iterator(chunk_size=20000))
    if not events:
        return PipelineState()
    pids, tids, times = zip(*events, strict=True)
    ms = np.fromiter((int(t.timestamp() * 1000) for t in times), np.int64, len(times))
    return state_from_history(np.asarray(pids), np.asarray(tids), ms, config=cfg)


def _demographics(conversation_id: int) -> dict[int, dict[str, str]]:
    answers: dict[int, dict[str, str]] = {}
    rows = DemographicAnswer.objects.filter(
        participant__conversation_id=conversation_id,
        participant__demographics_consent_at__isnull=False,
    ).values_list("participant_id", "question", "answer")
    for pid, question, answer in rows:
        answers.setdefault(pid, {})[question] = answer
    return answers


def _config_for(overrides: dict[str, Any] | None) -> ConsensusConfig:
    try:
        return ConsensusConfig(**(overrides or {}))
    except TypeError as exc:
        raise ApplicationError(f"Unknown consensus option: {exc}") from exc
    except ValueError as exc:
        raise ApplicationError(str(exc)) from exc


def snapshot_compute(
    *, conversation_id: int, job: Job | None = None, config: dict[str, Any] | None = None
) -> Snapshot:
    """Recompute groups and every metric for a conversation; returns the saved snapshot."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFoundError(f"Conversation {conversation_id} does not exist.")
    started = time.perf_counter()
    watermark = (
        VoteEvent.objects.filter(statement__conversation_id=conversation_id).aggregate(m=Max("id"))[
            "m"
        ]
        or 0
    )
    matrix = vote_matrix_for(conversation_id=conversation_id)
    previous = snapshot_latest(conversation_id=conversation_id)
    cfg = _config_for(config)
    if previous and previous.state:
        state = PipelineState.from_dict(previous.state)
    else:
        state = _state_from_vote_history(conversation_id, cfg)
    result = run(matrix, config=cfg, state=state)
    payload = result.to_json()
    payload["demographics"] = demographic_breakdown(matrix, _demographics(conversation_id))
    return _snapshot_save(conversation, job, cfg, result, payload, watermark, started)


@transaction.atomic
def _snapshot_save(
    conversation: Conversation,
    job: Job | None,
    cfg: ConsensusConfig,
    result: Any,
    payload: dict[str, Any],
    watermark: int,
    started: float,
) -> Snapshot:
    if job is not None:  # a runner that lost its lease (an orphan, a re-queued job) saves nothing
        jobs.job_lease_hold(job)
    meta = payload.get("meta", {})
    snapshot = Snapshot.objects.create(
        conversation=conversation,
        job=job,
        config=asdict(cfg),
        state=result.state.to_dict(),
        result=payload,
        priorities={str(k): float(v) for k, v in statement_priorities(result).items()},
        n_participants=meta.get("n_participants", 0),
        n_statements=meta.get("n_statements", 0),
        n_votes=meta.get("n_votes", 0),
        k=meta.get("k") or 0,
        last_vote_event_id=watermark,
        duration_s=time.perf_counter() - started,
    )
    _snapshots_prune(conversation.pk)
    realtime.broadcast(
        conversation.pk,
        "snapshot",
        {
            "id": snapshot.pk,
            "k": snapshot.k,
            "n_participants": snapshot.n_participants,
            "n_votes": snapshot.n_votes,
        },
    )
    return snapshot


def _snapshots_prune(conversation_id: int) -> int:
    recent = Snapshot.objects.filter(conversation_id=conversation_id).order_by("-created_at", "-id")
    keep = list(recent.values_list("pk", flat=True)[:SNAPSHOTS_KEPT])
    stale = Snapshot.objects.filter(
        conversation_id=conversation_id, constitutionversion__isnull=True
    )
    return stale.exclude(pk__in=keep).delete()[0]


def snapshot_export_json(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot result with Polis ids where rows came from a Polis import.

    Participants and statements keep our id as `concord_id`; `id` becomes the Polis pid / tid
    when there is one, so results compare directly with the original Polis export.
    """
    conversation_id = snapshot.conversation_id
    pids = dict(
        Participant.objects.filter(
            conversation_id=conversation_id, polis_pid__isnull=False
        ).values_list("pk", "polis_pid")
    )
    tids = dict(
        Statement.objects.filter(
            conversation_id=conversation_id, polis_tid__isnull=False
        ).values_list("pk", "polis_tid")
    )
    result = dict(snapshot.result)
    result["participants"] = [
        {**p, "concord_id": p["id"], "id": pids.get(p["id"], p["id"])}
        for p in result["participants"]
    ]
    result["statements"] = [
        {**s, "concord_id": s["id"], "id": tids.get(s["id"], s["id"])} for s in result["statements"]
    ]

    def polis_tid(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "statement_id": tids.get(row["statement_id"], row["statement_id"])}

    result["groups"] = [
        {**g, "repness": [polis_tid(r) for r in g.get("repness", [])]} for g in result["groups"]
    ]
    result["consensus"] = {
        side: [polis_tid(r) for r in rows] for side, rows in result.get("consensus", {}).items()
    }
    return result
