from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment"

    def ready(self) -> None:
        from kernel.taskqueue import job_task_register

        job_task_register("alignment.pipeline", "alignment.tasks.run_pipeline_task")
