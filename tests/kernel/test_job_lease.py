"""The job lease: only the runner that holds a job can record its outcome, and it keeps the job
by beating. A stale runner (an orphaned work horse, a paused process) records nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from consensus.snapshots.models import Snapshot
from consensus.snapshots.services import snapshot_compute
from kernel import jobs
from kernel.models import Job
from tests.factories import JobFactory, ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db


def _go_stale(job: Job) -> None:
    """Its runner stopped beating long ago (as when its process was killed)."""
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)


def test_a_claim_hands_out_a_lease_numbered_by_the_attempt(conversation):
    job = JobFactory(conversation=conversation)
    lease = jobs.job_claim(job.pk)
    assert lease == jobs.Lease(job.pk, 1)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.runner == jobs.runner_name()
    assert jobs.job_claim(job.pk) is None


def test_a_stale_runner_cannot_record_over_a_newer_attempt(
    conversation, django_capture_on_commit_callbacks
):
    job = JobFactory(conversation=conversation)
    stale = jobs.job_claim(job.pk)
    _go_stale(job)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.jobs_recover_stale(requeue=lambda j: None)
    current = jobs.job_claim(job.pk)
    assert current is not None and current.epoch == 2
    assert not jobs.job_succeed(job.pk, {"from": "orphan"}, lease=stale)
    assert not jobs.job_fail(job.pk, "orphan error", lease=stale)
    assert jobs.job_succeed(job.pk, {"from": "current"}, lease=current)
    job.refresh_from_db()
    assert (job.status, job.result, job.error) == (Job.Status.SUCCEEDED, {"from": "current"}, "")


def test_a_failed_job_never_flips_to_succeeded(conversation, django_capture_on_commit_callbacks):
    job = JobFactory(conversation=conversation, attempts=jobs.MAX_ATTEMPTS - 1)
    last = jobs.job_claim(job.pk)
    _go_stale(job)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.jobs_recover_stale(requeue=lambda j: None)  # gives up: out of attempts
    assert not jobs.job_succeed(job.pk, "finished at last", lease=last)
    assert not jobs.job_succeed(job.pk, "finished at last")  # nor without a lease
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.result is None
    assert "gave up after 3 attempts" in job.error


def test_an_ended_job_cannot_be_failed_afterwards(conversation):
    job = JobFactory(conversation=conversation)
    lease = jobs.job_claim(job.pk)
    jobs.job_succeed(job.pk, "ok", lease=lease)
    assert not jobs.job_fail(job.pk, "late error")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.error == ""


def test_a_snapshot_from_a_runner_that_lost_its_lease_is_not_saved(
    conversation, django_capture_on_commit_callbacks
):
    statement = StatementFactory(conversation=conversation)
    for _ in range(3):
        ParticipantFactory(conversation=conversation).votes.create(statement=statement, value=1)
    job = JobFactory(conversation=conversation, kind="consensus.recompute")
    jobs.job_claim(job.pk)
    claimed = Job.objects.get(pk=job.pk)  # what the runner holds
    _go_stale(job)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.jobs_recover_stale(requeue=lambda j: None)  # ...while it was still computing
    with pytest.raises(jobs.JobLeaseLost):
        snapshot_compute(conversation_id=conversation.pk, job=claimed)
    assert not Snapshot.objects.filter(conversation=conversation).exists()


def test_job_run_drops_the_outcome_of_work_that_lost_its_lease(
    conversation, django_capture_on_commit_callbacks
):
    job = JobFactory(conversation=conversation)

    def work(_job: Job) -> str:
        _go_stale(_job)
        with django_capture_on_commit_callbacks(execute=True):
            jobs.jobs_recover_stale(requeue=lambda j: None)
        jobs.job_claim(_job.pk)  # a newer attempt took it over meanwhile
        return "stale result"

    jobs.job_run(job.pk, work)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (Job.Status.RUNNING, 2, None)


@pytest.mark.django_db(transaction=True)
def test_a_running_job_keeps_beating_while_its_work_is_silent(conversation, settings):
    settings.CONCORD_JOB_STALE_S = 0.4  # beats every 0.1 s
    job = JobFactory(conversation=conversation)
    beats = []

    def silent_work(_job: Job) -> str:
        deadline = time.monotonic() + 30
        while len(set(beats)) < 3 and time.monotonic() < deadline:
            beats.append(Job.objects.get(pk=_job.pk).heartbeat_at)
            time.sleep(0.05)
        return "done"

    assert jobs.job_run(job.pk, silent_work) == "done"
    assert len(set(beats)) >= 3  # the heartbeat moved on its own, three times at least
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
