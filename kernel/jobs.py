"""Background job bookkeeping: what users read through /api/v1/jobs/.

The queue (django-tasks) only knows "run this function"; a Job row records status, progress and
the outcome so a killed worker leaves a visible trace and can be recovered (`jobs_recover_stale`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from kernel.models import Job

MAX_ATTEMPTS = 3
STALE_AFTER = timedelta(seconds=90)


def job_create(
    *, kind: str, conversation_id: int | None = None, params: dict | None = None, user: Any = None
) -> Job:
    creator = user if getattr(user, "is_authenticated", False) else None
    return Job.objects.create(
        kind=kind, conversation_id=conversation_id, params=params or {}, created_by=creator
    )


def job_claim(job_id: int) -> bool:
    """Move a queued job to running; False when another worker got it or it already ended."""
    now = timezone.now()
    # One conditional UPDATE: the attempt is counted in the same statement that claims the job,
    # so a worker killed right after claiming still used up an attempt.
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        progress=0.0,
        attempts=F("attempts") + 1,
    )
    return claimed == 1


def job_progress(job_id: int, progress: float, message: str = "") -> None:
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        progress=max(0.0, min(1.0, progress)), message=message[:500], heartbeat_at=timezone.now()
    )


def job_succeed(job_id: int, result: Any = None) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.SUCCEEDED, progress=1.0, result=result, finished_at=timezone.now()
    )


def job_fail(job_id: int, error: str) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED, error=error[:10000], finished_at=timezone.now()
    )


def job_run(job_id: int, work: Callable[[Job], Any]) -> Any:
    """Run `work` under the job's status protocol: claim, run, succeed or fail — never half."""
    if not job_claim(job_id):
        return None
    job = Job.objects.get(pk=job_id)
    try:
        result = work(job)
    except Exception as exc:  # the job row must say why it failed, whatever failed
        job_fail(job_id, f"{type(exc).__name__}: {exc}")
        raise
    job_succeed(job_id, result)
    return result


def jobs_recover_stale(
    *, requeue: Callable[[Job], None], older_than: timedelta = STALE_AFTER
) -> list[int]:
    """After a crash: retry jobs left "running" without a recent heartbeat, or fail them.

    Called when a worker starts, so an interrupted job is never left "running" for ever. A lone
    worker passes older_than=0: nothing else can be running what it finds "running".
    """
    cutoff = timezone.now() - older_than
    stale = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lte=cutoff)
    return [job.pk for job in stale if _recover_one(job, stale, requeue)]


@transaction.atomic
def _recover_one(job: Job, stale: QuerySet[Job], requeue: Callable[[Job], None]) -> bool:
    """Requeue or fail one stale job; False when its worker finished it since it was listed.

    The update is conditional on the job still being stale, so a slow worker's result is never
    overwritten and a finished job is never run twice.
    """
    still_stale = stale.filter(pk=job.pk)
    if job.attempts >= MAX_ATTEMPTS:
        error = f"Worker died; gave up after {job.attempts} attempts."
        now = timezone.now()
        return still_stale.update(status=Job.Status.FAILED, error=error, finished_at=now) == 1
    message = "requeued after a worker crash"
    if still_stale.update(status=Job.Status.QUEUED, message=message) != 1:
        return False
    transaction.on_commit(lambda: requeue(job))
    return True
