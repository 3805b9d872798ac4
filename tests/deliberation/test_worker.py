"""The background worker end to end: votes queue one recompute, and queued jobs really run.

Default settings use the database queue (django-tasks-db) and `manage.py worker` runs its
db_worker. The RQ tests point django-tasks at `django_tasks_rq.RQBackend` on the local Redis
(a dedicated database, emptied before and after) and run an in-process burst worker.
"""

from __future__ import annotations

import signal
import uuid

import django_rq
import pytest
import redis
from django.core.management import call_command
from django_tasks import task_backends
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient
from rq import SimpleWorker

from deliberation import services
from kernel import jobs
from kernel.models import Job
from tests.deliberation.tasks_for_tests import ECHO_KIND, echo_job, failing_job
from tests.factories import StatementFactory

pytestmark = pytest.mark.django_db(transaction=True)

RQ_REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(autouse=True)
def _restore_signal_handlers():  # type: ignore[no-untyped-def]
    """The workers install SIGINT/SIGTERM handlers; give pytest its own back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def queue_job(task, say="hello", conversation=None):  # type: ignore[no-untyped-def]
    job = jobs.job_create(
        kind=ECHO_KIND, conversation_id=conversation and conversation.pk, params={"say": say}
    )
    result = task.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    return job


def job_status(job_id, user):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/jobs/{job_id}/")
    assert response.status_code == 200
    return response.json()


# --- database queue (default settings) ------------------------------------------------------------


def test_a_burst_of_votes_over_http_queues_one_recompute(conversation):
    statements = [StatementFactory(conversation=conversation) for _ in range(4)]
    for _ in range(3):
        client = APIClient()
        client.post(f"/api/v1/conversations/{conversation.slug}/participants/")
        for statement in statements:
            body = {"statement_id": statement.pk, "value": 1}
            response = client.post(
                f"/api/v1/conversations/{conversation.slug}/votes/", body, format="json"
            )
            assert response.status_code == 200
    recomputes = Job.objects.filter(conversation=conversation, kind="consensus.recompute")
    assert recomputes.count() == 1 and recomputes.get().status == Job.Status.QUEUED
    assert DBTaskResult.objects.filter(task_path__endswith="recompute_conversation").count() == 1


def test_the_worker_command_runs_queued_jobs(conversation, researcher):
    done = queue_job(echo_job, "first", conversation)
    failed = queue_job(failing_job, "second", conversation)
    call_command("worker", batch=True)
    success = job_status(done.pk, researcher)
    assert success["status"] == "succeeded" and success["result"] == {"echo": "first"}
    assert success["progress"] == 1.0 and success["attempts"] == 1
    failure = job_status(failed.pk, researcher)
    assert failure["status"] == "failed"
    assert failure["error"] == f"RuntimeError: job {failed.pk} was asked to fail"
    statuses = dict(DBTaskResult.objects.values_list("task_path", "status"))
    assert statuses == {
        "tests.deliberation.tasks_for_tests.echo_job": "SUCCESSFUL",
        "tests.deliberation.tasks_for_tests.failing_job": "FAILED",
    }


def test_the_worker_recovers_jobs_a_crash_left_running(conversation, monkeypatch):
    from kernel import taskqueue

    monkeypatch.setitem(
        taskqueue.TASKS_BY_KIND, ECHO_KIND, "tests.deliberation.tasks_for_tests.echo_job"
    )
    job = jobs.job_create(kind=ECHO_KIND, conversation_id=conversation.pk, params={"say": "again"})
    jobs.job_claim(job.pk)  # ...and the worker that claimed it died
    call_command("worker", batch=True)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"echo": "again"}
    assert job.attempts == 2


def test_the_worker_starts_at_once_in_batch_mode(monkeypatch):
    import time

    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    call_command("worker", batch=True)
    assert slept == []


# --- RQ queue on Redis ----------------------------------------------------------------------------


@pytest.fixture
def rq_backend(settings):  # type: ignore[no-untyped-def]
    """django-tasks on RQ, on a Redis database of its own."""
    connection = redis.Redis.from_url(RQ_REDIS_URL)
    connection.flushdb()
    settings.REDIS_URL = RQ_REDIS_URL
    settings.RQ_QUEUES = {"default": {"URL": RQ_REDIS_URL, "DEFAULT_TIMEOUT": 60}}
    settings.RQ = {"WORKER_CLASS": "rq.SimpleWorker"}  # no fork: the test database is ours
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    assert type(task_backends["default"]).__name__ == "RQBackend"
    yield connection
    connection.flushdb()


def test_an_rq_burst_worker_runs_a_job_and_the_api_reports_it(rq_backend, conversation, researcher):
    job = queue_job(echo_job, f"rq-{uuid.uuid4().hex[:6]}", conversation)
    assert job_status(job.pk, researcher)["status"] == "queued"
    worker = django_rq.get_worker(
        "default", job_class="django_tasks_rq.Job", worker_class=SimpleWorker
    )
    assert worker.work(burst=True)
    status = job_status(job.pk, researcher)
    assert status["status"] == "succeeded" and status["result"] == {"echo": job.params["say"]}
    job.refresh_from_db()
    assert echo_job.get_result(job.task_id).status == "SUCCESSFUL"


def test_the_worker_command_runs_rq_jobs_when_redis_is_configured(
    rq_backend, conversation, researcher
):
    done = queue_job(echo_job, "via rqworker", conversation)
    failed = queue_job(failing_job, "", conversation)
    call_command("worker", batch=True)
    assert job_status(done.pk, researcher)["status"] == "succeeded"
    assert job_status(failed.pk, researcher)["error"].startswith("RuntimeError: job ")


def test_a_vote_queues_its_recompute_on_rq(rq_backend, conversation, participant):
    statement = StatementFactory(conversation=conversation)
    services.vote_cast(participant=participant, statement_id=statement.pk, value=1)
    job = Job.objects.get(conversation=conversation, kind="consensus.recompute")
    scheduled = django_rq.get_queue("default").scheduled_job_registry.get_job_ids()
    assert job.task_id and scheduled == [job.task_id]
