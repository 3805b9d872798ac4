"""Worker entry point for the training chain (thin: the work is in services)."""

from __future__ import annotations

from django_tasks import task

from kernel import jobs


@task()
def run_pipeline_task(job_id: int) -> None:
    from alignment.services import training_run_execute

    def work(job):  # type: ignore[no-untyped-def]
        run = training_run_execute(run_id=job.params["run_id"], job_id=job.pk)
        return {"run_id": run.pk, "status": run.status}

    jobs.job_run(job_id, work)
