"""job_run and jobs_recover_stale: a job always ends with a clear status, even after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kernel import jobs
from kernel.models import Job
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_a_successful_job_records_its_result(conversation):
    job = JobFactory(conversation=conversation)
    assert jobs.job_run(job.pk, lambda j: {"answer": 42}) == {"answer": 42}
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"answer": 42}
    assert job.progress == 1.0 and job.attempts == 1
    assert job.started_at is not None and job.finished_at is not None and job.error == ""


def test_a_failing_job_records_why_and_reraises(conversation):
    job = JobFactory(conversation=conversation)

    def boom(_job):  # type: ignore[no-untyped-def]
        raise ValueError("the matrix is empty")

    with pytest.raises(ValueError):
        jobs.job_run(job.pk, boom)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "ValueError: the matrix is empty" and job.finished_at is not None


@pytest.mark.parametrize("status", [Job.Status.RUNNING, Job.Status.SUCCEEDED, Job.Status.FAILED])
def test_a_job_that_is_not_queued_is_not_run_again(conversation, status):
    job = JobFactory(conversation=conversation, status=status)
    ran = []
    assert jobs.job_run(job.pk, ran.append) is None
    assert ran == []
    job.refresh_from_db()
    assert job.status == status and job.attempts == 0


def test_progress_is_clamped_and_only_moves_a_running_job(conversation):
    job = JobFactory(conversation=conversation)
    jobs.job_progress(job.pk, 0.5, "half")
    assert Job.objects.get(pk=job.pk).progress == 0.0
    jobs.job_claim(job.pk)
    jobs.job_progress(job.pk, 7.0, "done-ish")
    job.refresh_from_db()
    assert job.progress == 1.0 and job.message == "done-ish"


def _running(conversation, *, attempts, heartbeat_age_s):  # type: ignore[no-untyped-def]
    beat = timezone.now() - timedelta(seconds=heartbeat_age_s)
    return JobFactory(
        conversation=conversation,
        status=Job.Status.RUNNING,
        attempts=attempts,
        started_at=beat,
        heartbeat_at=beat,
    )


def test_recovery_requeues_a_stale_job(conversation, django_capture_on_commit_callbacks):
    job = _running(conversation, attempts=1, heartbeat_age_s=600)
    requeued = []
    with django_capture_on_commit_callbacks(execute=True):
        recovered = jobs.jobs_recover_stale(requeue=requeued.append)
    assert recovered == [job.pk] and [j.pk for j in requeued] == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and "requeued" in job.message


def test_recovery_fails_a_job_that_used_up_its_attempts(
    conversation, django_capture_on_commit_callbacks
):
    job = _running(conversation, attempts=jobs.MAX_ATTEMPTS, heartbeat_age_s=600)
    requeued = []
    with django_capture_on_commit_callbacks(execute=True):
        jobs.jobs_recover_stale(requeue=requeued.append)
    job.refresh_from_db()
    assert requeued == []
    assert job.status == Job.Status.FAILED and "gave up after 3 attempts" in job.error


def test_recovery_leaves_a_job_with_a_fresh_heartbeat_alone(conversation):
    job = _running(conversation, attempts=1, heartbeat_age_s=5)
    assert jobs.jobs_recover_stale(requeue=lambda j: None) == []
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING


def test_a_lone_worker_recovers_every_running_job(conversation, django_capture_on_commit_callbacks):
    job = _running(conversation, attempts=1, heartbeat_age_s=1)
    with django_capture_on_commit_callbacks(execute=True):
        recovered = jobs.jobs_recover_stale(requeue=lambda j: None, older_than=timedelta(0))
    assert recovered == [job.pk]


def test_a_requeued_job_runs_again_and_counts_its_attempts(
    conversation, django_capture_on_commit_callbacks
):
    job = _running(conversation, attempts=1, heartbeat_age_s=600)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.jobs_recover_stale(requeue=lambda j: None)
    jobs.job_run(job.pk, lambda j: "ok")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2


def test_requeue_of_an_unknown_kind_fails_the_job(conversation):
    from kernel.taskqueue import job_requeue

    job = JobFactory(conversation=conversation, kind="nobody.knows")
    job_requeue(job)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "nobody.knows" in job.error


def _recovered_first_then(conversation, *, attempts):  # type: ignore[no-untyped-def]
    """Two stale jobs: `first` is reached first (newest), `then` after it."""
    then = _running(conversation, attempts=attempts, heartbeat_age_s=600)
    first = _running(conversation, attempts=1, heartbeat_age_s=600)
    Job.objects.filter(pk=then.pk).update(created_at=timezone.now() - timedelta(hours=1))
    return first, then


def _meanwhile_finish(job):  # type: ignore[no-untyped-def]
    """A requeue callback during which the slow-but-alive worker of `job` finishes it."""
    return lambda requeued: jobs.job_succeed(job.pk, "done")


@pytest.mark.django_db(transaction=True)
def test_recovery_never_requeues_a_job_that_finished_meanwhile(conversation):
    first, then = _recovered_first_then(conversation, attempts=1)
    recovered = jobs.jobs_recover_stale(requeue=_meanwhile_finish(then))
    then.refresh_from_db()
    assert then.status == Job.Status.SUCCEEDED and then.result == "done"
    assert recovered == [first.pk]


@pytest.mark.django_db(transaction=True)
def test_recovery_never_fails_a_job_that_finished_meanwhile(conversation):
    first, then = _recovered_first_then(conversation, attempts=jobs.MAX_ATTEMPTS)
    recovered = jobs.jobs_recover_stale(requeue=_meanwhile_finish(then))
    then.refresh_from_db()
    assert then.status == Job.Status.SUCCEEDED and then.error == ""
    assert recovered == [first.pk]
