"""Mapping from job kinds to the task that runs them, so a recovered job can be re-queued.

Apps register their kinds with `job_task_register` when Django starts.

`CONCORD_EXTRA_JOB_TASKS` ("kind=dotted.path,kind2=...") registers more kinds without code
changes; the crash test uses it for a deliberately slow job.
"""

from __future__ import annotations

import os
from typing import Any

from django.utils.module_loading import import_string

from kernel.models import Job

TASKS_BY_KIND: dict[str, str] = {}


def job_task_register(kind: str, task_path: str) -> None:
    """Apps name the task behind each of their job kinds (from AppConfig.ready); the kernel
    imports no app, so this is how a recovered job finds its task again."""
    TASKS_BY_KIND[kind] = task_path


def _task_paths() -> dict[str, str]:
    extra = os.environ.get("CONCORD_EXTRA_JOB_TASKS", "")
    pairs = (item.split("=", 1) for item in extra.split(",") if "=" in item)
    return TASKS_BY_KIND | {kind.strip(): path.strip() for kind, path in pairs}


def job_requeue(job: Job) -> None:
    path = _task_paths().get(job.kind)
    if path is None:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=f"Cannot retry unknown job kind {job.kind!r}."
        )
        return
    job_enqueue(import_string(path), job)


def job_enqueue(task: Any, job: Job) -> None:
    """Hand a job to the queue; its task id is kept on the job for tracing."""
    result = task.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
