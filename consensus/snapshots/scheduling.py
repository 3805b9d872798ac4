"""Debounced recompute: hundreds of votes per second must not mean hundreds of recomputes.

A vote asks for a recompute after it commits. If a recompute job for the conversation is already
queued (not yet started) the request is absorbed by it; otherwise one is queued to start after
`CONCORD_RECOMPUTE_DEBOUNCE_S`. So at most one job waits and one runs per conversation, and a
snapshot is at most one debounce window plus one computation old.

A queued job absorbs requests only while it can still run: one whose task the queue lost (its
claim hit a database error, RQ dropped it) is failed as superseded and a new one is queued, so
the snapshot can never freeze behind a dead job. And the worker's sweep calls
`snapshots_catch_up`, which follows the vote-event watermark: a conversation with votes newer
than its last snapshot and no recompute since (an import, a lost request) gets one.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from deliberation.models import Conversation, VoteEvent
from kernel import jobs
from kernel.models import Job
from kernel.taskqueue import job_enqueue, job_task_lost

RECOMPUTE_KIND = "consensus.recompute"
# Per-process memo: skip the database check for a conversation we queued a job for moments ago.
_recently_queued: dict[int, float] = {}


def _queued_job_exists(conversation_id: int) -> bool:
    """Whether a queued recompute that can still run exists; dead ones are failed on the way."""
    queued = Job.objects.filter(
        conversation_id=conversation_id, kind=RECOMPUTE_KIND, status=Job.Status.QUEUED
    )
    alive = False
    for job in queued:
        if job_task_lost(job):
            jobs.job_fail(job.pk, "Superseded: its task was lost before it could start.")
        else:
            alive = True
    return alive


def recompute_enqueue(
    *, conversation_id: int, delay_s: float = 0.0, user: object = None, config: dict | None = None
) -> Job:
    """Queue a recompute job now (moderator button, management command, first request)."""
    from consensus.snapshots.tasks import recompute_conversation

    params = {"config": config} if config else {}
    job = jobs.job_create(
        kind=RECOMPUTE_KIND, conversation_id=conversation_id, user=user, params=params
    )
    task = recompute_conversation
    if delay_s > 0:
        task = task.using(run_after=timezone.now() + timedelta(seconds=delay_s))
    transaction.on_commit(lambda: job_enqueue(task, job))
    return job


def recompute_request(conversation_id: int) -> Job | None:
    """Called after every committed vote; returns the job it queued, or None if absorbed."""
    if not getattr(settings, "CONCORD_AUTO_RECOMPUTE", True):
        return None
    debounce = settings.CONCORD_RECOMPUTE_DEBOUNCE_S
    now = time.monotonic()
    if now - _recently_queued.get(conversation_id, -1e9) < debounce:
        return None
    _recently_queued[conversation_id] = now
    with transaction.atomic():
        # Other server processes have their own memo: lock the conversation row so that their
        # check-then-queue and ours run one after the other (SQLite: the IMMEDIATE transaction).
        Conversation.objects.select_for_update().filter(pk=conversation_id).exists()
        if _queued_job_exists(conversation_id):
            return None
        return recompute_enqueue(conversation_id=conversation_id, delay_s=debounce)


def snapshots_catch_up() -> list[int]:
    """Request a recompute for every conversation with votes its last snapshot has not seen and
    no recompute job since its last vote; returns their ids. The worker's sweep calls it.

    "No job since" keeps a conversation whose recompute failed from being retried every sweep
    until new votes arrive.
    """
    latest = VoteEvent.objects.values("statement__conversation_id").annotate(
        event=Max("id"), at=Max("created_at")
    )
    requested = []
    for row in latest:
        conversation_id = row["statement__conversation_id"]
        if _caught_up(conversation_id, row["event"], row["at"]):
            continue
        if recompute_request(conversation_id) is not None:
            requested.append(conversation_id)
    return requested


def _caught_up(conversation_id: int, event_id: int, event_at: object) -> bool:
    from consensus.snapshots.models import Snapshot

    seen = Snapshot.objects.filter(conversation_id=conversation_id).aggregate(
        m=Max("last_vote_event_id")
    )["m"]
    if seen is not None and seen >= event_id:
        return True
    recomputes = Job.objects.filter(conversation_id=conversation_id, kind=RECOMPUTE_KIND)
    return recomputes.filter(created_at__gte=event_at).exists()
