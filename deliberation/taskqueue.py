"""Mapping from job kinds to the task that runs them, so a recovered job can be re-queued."""

from __future__ import annotations

from django.utils.module_loading import import_string

from deliberation.models import Job

TASKS_BY_KIND = {
    "consensus.recompute": "consensus.tasks.recompute_conversation",
    "alignment.pipeline": "alignment.tasks.run_pipeline_task",
}


def job_requeue(job: Job) -> None:
    path = TASKS_BY_KIND.get(job.kind)
    if path is None:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=f"Unknown job kind {job.kind}"
        )
        return
    result = import_string(path).enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
