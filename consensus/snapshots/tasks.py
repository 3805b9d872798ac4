"""Worker entry points for consensus work (thin: the work is in services)."""

from __future__ import annotations

from django_tasks import task

from kernel import jobs


@task()
def recompute_conversation(job_id: int) -> None:
    from consensus.snapshots.services import snapshot_compute

    def work(job):  # type: ignore[no-untyped-def]
        config = job.params.get("config") or None
        snapshot = snapshot_compute(conversation_id=job.conversation_id, job=job, config=config)
        return {"snapshot_id": snapshot.pk, "k": snapshot.k, "duration_s": snapshot.duration_s}

    jobs.job_run(job_id, work)
