"""A deliberately slow background job, so the fault tests can kill a worker in the middle of it."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from kernel import jobs
from kernel.taskqueue import job_enqueue

SLOW_KIND = "test.slow"


@task()
def slow_job(job_id: int) -> None:
    def work(job):  # type: ignore[no-untyped-def]
        for step in range(20):
            time.sleep(float(job.params.get("step_s", 0.25)))
            jobs.job_progress(job.pk, (step + 1) / 20, f"step {step + 1} of 20")
        return {"steps": 20}

    jobs.job_run(job_id, work)


def enqueue_slow(step_s: float = 0.25, delay_s: float = 0.0) -> int:
    """Queue a slow job as the platform queues its own (job_enqueue), optionally delayed."""
    job = jobs.job_create(kind=SLOW_KIND, params={"step_s": step_s})
    runner = slow_job
    if delay_s:
        runner = slow_job.using(run_after=timezone.now() + timedelta(seconds=delay_s))
    job_enqueue(runner, job)
    return job.pk
