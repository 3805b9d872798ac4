"""Worker entry points for consensus work (thin: the work is in services)."""

from __future__ import annotations

from django_tasks import task

from kernel import jobs
from kernel.db_retry import retried_once_if_lost


@task()
def recompute_conversation(job_id: int) -> None:
    from consensus.snapshots.services import snapshot_compute

    def compute(job):  # type: ignore[no-untyped-def]
        config = job.params.get("config") or None
        snapshot = snapshot_compute(conversation_id=job.conversation_id, job=job, config=config)
        return {"snapshot_id": snapshot.pk, "k": snapshot.k, "duration_s": snapshot.duration_s}

    def work(job):  # type: ignore[no-untyped-def]
        # A connection the database dropped mid-read (before the snapshot's one save commits)
        # costs a second computation, not a failed job and a stale snapshot until the next vote.
        return retried_once_if_lost(lambda: compute(job))

    jobs.job_run(job_id, work)
