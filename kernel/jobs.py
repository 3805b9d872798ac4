"""Background job bookkeeping: what users read through /api/v1/jobs/, and the rules that make a
job run once in effect whatever dies underneath it.

The queue (django-tasks) only knows "run this function"; the Job row is the truth:

* **claim** — one conditional UPDATE moves queued → running and adds one to `attempts`. The
  value claimed with is the runner's *lease* (a fencing token, `Lease`).
* **heartbeat** — while the work runs, a thread refreshes `heartbeat_at` under the lease. A
  runner whose process died (worker killed, work horse OOM-killed) stops beating, and the
  worker's periodic sweep (`jobs_recover_stale`) re-queues the job after `CONCORD_JOB_STALE_S`,
  or fails it after MAX_ATTEMPTS claims.
* **outcome** — succeed and fail only land under the lease, so a stale runner (an orphaned
  RQ work horse, a process that was paused) cannot overwrite what a newer run or the recovery
  decided: a failed job never flips to succeeded. Work that writes results itself (a snapshot)
  checks the lease inside its own transaction with `job_lease_hold`.
* **transient database errors** (SQLite "database is locked", a dropped PostgreSQL
  connection) are retried around the claim and the outcome, so one blip does not strand a job.

Jobs whose *task* the queue lost while they were still queued are found by
`kernel.taskqueue.jobs_requeue_lost`, which needs the queue backend.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from kernel.models import Job, WorkerBeat

MAX_ATTEMPTS = 3
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
logger = logging.getLogger("concord.jobs")
T = TypeVar("T")


class JobLeaseLost(Exception):
    """The job was re-queued or ended by someone else: this runner must record nothing."""


@dataclass(frozen=True)
class Lease:
    """A runner's right to a job: valid while the row is running with this many attempts."""

    job_id: int
    epoch: int

    def rows(self) -> QuerySet[Job]:
        return Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.epoch)


def stale_after() -> timedelta:
    """How long a running job may go without a heartbeat before it is taken to be dead."""
    return timedelta(seconds=settings.CONCORD_JOB_STALE_S)


def heartbeat_interval_s() -> float:
    """A quarter of the stale time: three beats may be missed before a job counts as dead."""
    return max(settings.CONCORD_JOB_STALE_S / 4, 0.05)


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def with_db_retry(call: Callable[[], T], *, tries: int = 6, first_wait_s: float = 0.2) -> T:
    """Call `call`, retrying transient database errors with back-off (6 tries ≈ 6 s).

    Outside a transaction the broken connection is closed first, so the retry opens a new one
    (a terminated PostgreSQL backend stays broken otherwise).
    """
    for attempt in range(tries):
        try:
            return call()
        except TRANSIENT_DB_ERRORS as exc:
            if attempt == tries - 1 or connection.in_atomic_block:
                raise
            logger.warning("transient database error (%s); retrying", exc)
            connection.close()
            time.sleep(first_wait_s * 2**attempt)
    raise AssertionError("unreachable")


def job_create(
    *, kind: str, conversation_id: int | None = None, params: dict | None = None, user: Any = None
) -> Job:
    creator = user if getattr(user, "is_authenticated", False) else None
    return Job.objects.create(
        kind=kind, conversation_id=conversation_id, params=params or {}, created_by=creator
    )


def _claim_once(job_id: int) -> Lease | None:
    queued = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED)
    attempts = queued.values_list("attempts", flat=True).first()
    if attempts is None:
        return None
    now = timezone.now()
    claimed = queued.filter(attempts=attempts).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        progress=0.0,
        attempts=attempts + 1,
        runner=runner_name(),
    )
    return Lease(job_id, attempts + 1) if claimed == 1 else None


def job_claim(job_id: int) -> Lease | None:
    """Move a queued job to running under a new lease; None when another runner got it or it ended.

    The attempt is counted by the claiming UPDATE itself (conditional on the attempts read just
    before), so a worker killed right after claiming has still used up an attempt and a job that
    kills its worker cannot loop for ever.
    """
    return with_db_retry(lambda: _claim_once(job_id))


def job_progress(job_id: int, progress: float, message: str = "") -> None:
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        progress=max(0.0, min(1.0, progress)), message=message[:500], heartbeat_at=timezone.now()
    )


def job_succeed(job_id: int, result: Any = None, *, lease: Lease | None = None) -> bool:
    """Record success; False (nothing written) unless the job is running under `lease`."""
    rows = lease.rows() if lease else Job.objects.filter(pk=job_id, status=Job.Status.RUNNING)
    now = timezone.now()
    done = rows.update(status=Job.Status.SUCCEEDED, progress=1.0, result=result, finished_at=now)
    return done == 1


def job_fail(job_id: int, error: str, *, lease: Lease | None = None) -> bool:
    """Record failure; never touches a job that already ended, nor one another runner holds."""
    unfinished = Job.objects.filter(pk=job_id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
    rows = lease.rows() if lease else unfinished
    now = timezone.now()
    return rows.update(status=Job.Status.FAILED, error=error[:10000], finished_at=now) == 1


def job_lease_hold(job: Job) -> None:
    """Call inside the transaction that writes a job's result: raise unless `job` still holds
    the lease it was claimed with. The row lock (PostgreSQL) keeps the recovery from re-queueing
    the job until that transaction ends; on SQLite the write transaction serialises the same."""
    held = Lease(job.pk, job.attempts).rows().select_for_update()
    if not list(held.values_list("pk", flat=True)):
        raise JobLeaseLost(f"Job {job.pk} is no longer held by attempt {job.attempts}.")


class _Heartbeat(threading.Thread):
    """Refreshes a lease's heartbeat until stopped, on its own connection (closed at the end)."""

    def __init__(self, lease: Lease, interval_s: float) -> None:
        super().__init__(daemon=True, name=f"job-{lease.job_id}-heartbeat")
        self.lease, self.interval_s = lease, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval_s):
                self._beat()
        finally:
            connection.close()

    def _beat(self) -> None:
        try:
            if self.lease.rows().update(heartbeat_at=timezone.now()) == 0:
                logger.warning("job %s: lease %s lost", self.lease.job_id, self.lease.epoch)
                self.stopped.set()
        except DatabaseError as exc:  # a missed beat is harmless; the next one may land
            logger.warning("job %s: heartbeat failed (%s)", self.lease.job_id, exc)
            connection.close()


def job_run(job_id: int, work: Callable[[Job], Any]) -> Any:
    """Run `work` under the job's protocol: claim, heartbeat, then succeed or fail — under the
    lease, so only the current runner's outcome is ever recorded."""
    lease = job_claim(job_id)
    if lease is None:
        return None
    job = with_db_retry(lambda: Job.objects.get(pk=job_id))
    heartbeat = _Heartbeat(lease, heartbeat_interval_s())
    heartbeat.start()
    try:
        result = work(job)
    except JobLeaseLost:
        logger.warning("job %s: attempt %s lost its lease; outcome dropped", job_id, lease.epoch)
        return None
    except Exception as exc:  # the job row must say why it failed, whatever failed
        error = f"{type(exc).__name__}: {exc}"
        with_db_retry(lambda: job_fail(job_id, error, lease=lease))
        raise
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=30)
    if not with_db_retry(lambda: job_succeed(job_id, result, lease=lease)):
        logger.warning("job %s: attempt %s lost its lease; result dropped", job_id, lease.epoch)
    return result


def jobs_recover_stale(
    *, requeue: Callable[[Job], None], older_than: timedelta | None = None
) -> list[int]:
    """Re-queue jobs left "running" without a recent heartbeat, or fail them after MAX_ATTEMPTS.

    The worker calls it when it starts and then periodically, so a job whose runner died is
    never left "running" for long. A lone worker starting up passes older_than=0: nothing else
    can be running what it finds "running".
    """
    cutoff = timezone.now() - (stale_after() if older_than is None else older_than)
    stale = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lte=cutoff)
    return [job.pk for job in stale if _recover_one(job, stale, requeue)]


@transaction.atomic
def _recover_one(job: Job, stale: QuerySet[Job], requeue: Callable[[Job], None]) -> bool:
    """Requeue or fail one stale job; False when its runner finished it since it was listed.

    The update is conditional on the job still being stale under the same attempt, so a slow
    runner's result is never overwritten and a finished job is never run twice.
    """
    still_stale = stale.filter(pk=job.pk, attempts=job.attempts)
    if job.attempts >= MAX_ATTEMPTS:
        error = f"Worker died; gave up after {job.attempts} attempts."
        now = timezone.now()
        return still_stale.update(status=Job.Status.FAILED, error=error, finished_at=now) == 1
    message = "requeued after its worker died"
    # enqueued_at now: the lost-task sweep leaves it alone while the requeue below is on its way.
    requeued = still_stale.update(
        status=Job.Status.QUEUED, message=message, enqueued_at=timezone.now()
    )
    if requeued != 1:
        return False
    transaction.on_commit(lambda: requeue(job))
    return True


def worker_beat(*, name: str, started_at: datetime) -> None:
    """A worker process says it is alive (its sweep calls this); rows silent for a day go."""
    now = timezone.now()
    WorkerBeat.objects.update_or_create(
        name=name,
        defaults={"beat_at": now},
        create_defaults={"beat_at": now, "started_at": started_at},
    )
    WorkerBeat.objects.filter(beat_at__lt=now - timedelta(days=1)).delete()


def worker_last_beat() -> datetime | None:
    """When any worker last said it was alive (None: never)."""
    return WorkerBeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
