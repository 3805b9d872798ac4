"""A deliberately slow background job, so the crash test can kill a worker in the middle of it."""

from __future__ import annotations

import time

from django_tasks import task

from kernel import jobs

SLOW_KIND = "test.slow"


@task()
def slow_job(job_id: int) -> None:
    def work(job):  # type: ignore[no-untyped-def]
        for step in range(20):
            time.sleep(float(job.params.get("step_s", 0.25)))
            jobs.job_progress(job.pk, (step + 1) / 20, f"step {step + 1} of 20")
        return {"steps": 20}

    jobs.job_run(job_id, work)


def enqueue_slow(step_s: float = 0.25) -> int:
    job = jobs.job_create(kind=SLOW_KIND, params={"step_s": step_s})
    slow_job.enqueue(job.pk)
    return job.pk
