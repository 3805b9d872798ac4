"""The kernel's side of the task queue: which task runs each job kind, handing jobs to the
queue, and finding the jobs whose task the queue lost.

Apps register their kinds with `job_task_register` when Django starts.
`CONCORD_EXTRA_JOB_TASKS` ("kind=dotted.path,kind2=...") registers more kinds without code
changes; the crash tests use it for a deliberately slow job.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import default_task_backend
from django_tasks.base import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from kernel import jobs
from kernel.models import Job

TASKS_BY_KIND: dict[str, str] = {}
logger = logging.getLogger("concord.jobs")


def job_task_register(kind: str, task_path: str) -> None:
    """Apps name the task behind each of their job kinds (from AppConfig.ready); the kernel
    imports no app, so this is how a recovered job finds its task again."""
    TASKS_BY_KIND[kind] = task_path


def _task_paths() -> dict[str, str]:
    extra = os.environ.get("CONCORD_EXTRA_JOB_TASKS", "")
    pairs = (item.split("=", 1) for item in extra.split(",") if "=" in item)
    return TASKS_BY_KIND | {kind.strip(): path.strip() for kind, path in pairs}


def job_requeue(job: Job) -> None:
    """Hand a job to the task its kind is registered with (first time or again): so an app's
    services queue their own jobs without importing their tasks module."""
    path = _task_paths().get(job.kind)
    if path is None:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=f"Cannot retry unknown job kind {job.kind!r}."
        )
        return
    job_enqueue(import_string(path), job)


def job_enqueue(task: Any, job: Job) -> None:
    """Hand a job to the queue and note when; its task id is kept for tracing and for the
    lost-task check.

    A queue that refuses (Redis down) is logged, not raised: this runs after the caller's commit
    (a vote), and the job, left queued with no task, is picked up by `jobs_requeue_lost`.
    """
    try:
        result = task.enqueue(job.pk)
    except Exception:
        logger.exception("job %s: the queue refused it; the worker's sweep will retry", job.pk)
        return
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id), enqueued_at=timezone.now())


def lost_grace() -> timedelta:
    """How long after a hand-over a queued job's task may take to show up and claim it."""
    return timedelta(seconds=jobs.heartbeat_interval_s())


def job_task_lost(job: Job, *, grace: timedelta | None = None) -> bool:
    """Whether a queued job's task can no longer start it.

    Lost: never handed over (the enqueue after commit failed or its process died), or its task
    has left the queue's "ready" state without claiming the job (the claim hit a database error
    and the task failed; RQ dropped or expired it; a killed db_worker left it "running").
    A task still waiting, delayed ones included, is not lost.
    """
    cutoff = timezone.now() - (lost_grace() if grace is None else grace)
    if job.enqueued_at is None or not job.task_id:
        return job.created_at <= cutoff
    if job.enqueued_at > cutoff:
        return False
    try:
        status = default_task_backend.get_result(job.task_id).status
    except TaskResultDoesNotExist:
        return True
    except NotImplementedError:  # a backend that keeps no results (immediate) loses nothing
        return False
    return status != TaskResultStatus.READY


def jobs_requeue_lost(*, grace: timedelta | None = None) -> list[int]:
    """Hand every queued job whose task was lost to the queue again; returns their ids.

    The re-queue is conditional on `enqueued_at` being what was read, so two sweeping workers
    re-queue a job once; a duplicate task would do no harm anyway (the claim is conditional).
    """
    cutoff = timezone.now() - (lost_grace() if grace is None else grace)
    due = Q(enqueued_at__lte=cutoff) | Q(enqueued_at__isnull=True, created_at__lte=cutoff)
    requeued = []
    for job in Job.objects.filter(due, status=Job.Status.QUEUED):
        if not job_task_lost(job, grace=grace):
            continue
        mine = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED, enqueued_at=job.enqueued_at)
        if mine.update(message="requeued: its task was lost", enqueued_at=timezone.now()) == 1:
            job_requeue(job)
            requeued.append(job.pk)
    return requeued


def jobs_sweep(*, running_older_than: timedelta | None = None) -> list[int]:
    """One pass of the worker's sweep: dead runners' jobs and lost tasks go back to the queue."""
    recovered = jobs.jobs_recover_stale(requeue=job_requeue, older_than=running_older_than)
    return recovered + jobs_requeue_lost()
