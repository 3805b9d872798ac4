from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment"

    def ready(self) -> None:
        from kernel.taskqueue import job_task_register
        from kernel.worker import periodic_register

        job_task_register("alignment.pipeline", "alignment.tasks.run_pipeline_task")
        # A run whose worker was killed says "interrupted" within a sweep, not "running".
        periodic_register("alignment.services.training_runs_mark_interrupted")
