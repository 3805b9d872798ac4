"""Tiny tasks for the worker tests: real django-tasks tasks run under `jobs.job_run`.

They stand in for the consensus recompute, whose work lives in another module; what the worker
tests check is the queue and the job status protocol, not the math.
"""

from __future__ import annotations

from typing import Any

from django_tasks import task

from kernel import jobs
from kernel.models import Job

ECHO_KIND = "tests.echo"


def _echo(job: Job) -> dict[str, Any]:
    return {"echo": job.params.get("say", "")}


def _fail(job: Job) -> None:
    raise RuntimeError(f"job {job.pk} was asked to fail")


@task()
def echo_job(job_id: int) -> None:
    jobs.job_run(job_id, _echo)


@task()
def failing_job(job_id: int) -> None:
    jobs.job_run(job_id, _fail)
