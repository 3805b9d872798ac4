"""The worker's sweep and the faults it repairs: a claim that hits a database error, a task the
queue never got, a runner that stopped beating — found while the worker runs, not at its start.

The database error is a real one raised at the driver boundary (`connection.execute_wrapper`)
into the real claim, run by the real `manage.py worker` (django-tasks-db's db_worker).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from consensus.snapshots import scheduling
from consensus.snapshots.models import Snapshot
from deliberation.models import Vote, VoteEvent
from kernel import jobs, taskqueue
from kernel.models import Job, WorkerBeat
from kernel.worker import Sweeper
from tests.factories import JobFactory, ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db(transaction=True)
NO_GRACE = timedelta(0)


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """db_worker installs SIGINT/SIGTERM handlers; give pytest its own back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@contextmanager
def claims_fail() -> Iterator[list[str]]:
    """Every claim of a job (the UPDATE that marks it running) fails, as when the database
    drops the connection or stays locked just as a recompute starts."""
    refused: list[str] = []

    def refuse(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.startswith("UPDATE") and "deliberation_job" in sql and "runner" in sql:
            refused.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield refused


def _voted_conversation(conversation):  # type: ignore[no-untyped-def]
    statements = [StatementFactory(conversation=conversation) for _ in range(3)]
    for _ in range(4):
        voter = ParticipantFactory(conversation=conversation)
        for statement in statements:
            voter.votes.create(statement=statement, value=1)
    return conversation


def test_a_recompute_whose_claim_failed_is_requeued_and_runs(conversation):
    _voted_conversation(conversation)
    job = scheduling.recompute_enqueue(conversation_id=conversation.pk)
    with claims_fail() as refused:
        call_command("worker", batch=True)
    assert refused  # the fault really hit the claim (retried, then the task gave up)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.attempts == 0
    assert DBTaskResult.objects.get(pk=job.task_id).status == "FAILED"
    assert taskqueue.jobs_requeue_lost(grace=NO_GRACE) == [job.pk]  # the sweep finds it
    call_command("worker", batch=True)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 1)
    assert Snapshot.objects.filter(conversation=conversation, job=job).exists()


def test_a_transient_error_on_the_claim_is_retried_in_place(conversation):
    job = scheduling.recompute_enqueue(conversation_id=_voted_conversation(conversation).pk)
    failures = []

    def fail_twice(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "runner" in sql and sql.startswith("UPDATE") and len(failures) < 2:
            failures.append(sql)
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_twice):
        call_command("worker", batch=True)
    job.refresh_from_db()
    assert len(failures) == 2 and (job.status, job.attempts) == (Job.Status.SUCCEEDED, 1)


def test_votes_never_fold_into_a_recompute_that_cannot_run(conversation, settings):
    settings.CONCORD_JOB_STALE_S = 0  # no grace: a lost task counts as lost at once
    _voted_conversation(conversation)
    dead = scheduling.recompute_enqueue(conversation_id=conversation.pk)
    with claims_fail():
        call_command("worker", batch=True)
    scheduling._recently_queued.clear()
    fresh = scheduling.recompute_request(conversation.pk)
    assert fresh is not None and fresh.pk != dead.pk
    dead.refresh_from_db()
    assert dead.status == Job.Status.FAILED and "Superseded" in dead.error
    assert scheduling.recompute_request(conversation.pk) is None  # the new one absorbs again


def test_a_job_whose_enqueue_never_happened_is_handed_over_by_the_sweep(conversation):
    job = JobFactory(conversation=conversation, kind=scheduling.RECOMPUTE_KIND)
    assert not job.task_id  # committed, then the process died before its on_commit enqueue
    assert taskqueue.jobs_requeue_lost(grace=NO_GRACE) == [job.pk]
    job.refresh_from_db()
    assert job.task_id and DBTaskResult.objects.filter(pk=job.task_id, status="READY").exists()


def test_a_job_still_waiting_in_the_queue_is_left_alone(conversation):
    job = scheduling.recompute_enqueue(conversation_id=conversation.pk, delay_s=60)
    assert taskqueue.jobs_requeue_lost(grace=NO_GRACE) == []
    job.refresh_from_db()
    assert DBTaskResult.objects.filter(task_path__endswith="recompute_conversation").count() == 1


def test_the_periodic_sweep_recovers_a_dead_runner_without_a_restart(conversation, settings):
    settings.CONCORD_JOB_STALE_S = 1
    job = scheduling.recompute_enqueue(conversation_id=_voted_conversation(conversation).pk)
    jobs.job_claim(job.pk)  # ...and the process that claimed it was OOM-killed
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=5))
    assert Sweeper().sweep() == [job.pk]  # a sweep, not a worker start
    call_command("worker", batch=True)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 2)


def test_the_sweep_gives_an_unsnapshotted_conversation_its_first_snapshot(conversation):
    _voted_conversation(conversation)  # votes written as an import writes them: no recompute
    for vote in Vote.objects.filter(statement__conversation=conversation):
        VoteEvent.objects.create(
            participant_id=vote.participant_id,
            statement_id=vote.statement_id,
            value=vote.value,
            created_at=timezone.now(),
        )
    Sweeper().sweep()
    recomputes = Job.objects.filter(conversation=conversation, kind=scheduling.RECOMPUTE_KIND)
    assert recomputes.count() == 1
    Sweeper().sweep()  # the queued one is enough
    assert recomputes.count() == 1


def test_health_says_whether_a_worker_is_alive():
    client = APIClient()
    body = client.get("/api/v1/health/").json()
    assert body == {
        "database": "ok",
        "worker": {"alive": False, "last_beat_s": None},
        "status": "degraded",
    }
    Sweeper().sweep()  # a worker's sweep beats
    body = client.get("/api/v1/health/").json()
    assert body["status"] == "ok" and body["worker"]["alive"] is True
    assert WorkerBeat.objects.get().name == jobs.runner_name()
