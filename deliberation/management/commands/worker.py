"""python manage.py worker — recover jobs a crash left "running", then process the queue.

Uses django-tasks-db's `db_worker` by default and RQ's worker when REDIS_URL is set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from kernel.jobs import STALE_AFTER, jobs_recover_stale
from kernel.taskqueue import job_requeue


class Command(BaseCommand):
    help = "Run the background worker (recovers interrupted jobs first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--shared",
            action="store_true",
            help="Other workers may be running: only recover jobs with a stale heartbeat.",
        )
        parser.add_argument("--batch", action="store_true", help="Exit when the queue is empty.")
        parser.add_argument("--interval", type=float, default=0.5)

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = STALE_AFTER if options["shared"] else timedelta(0)
        recovered = jobs_recover_stale(requeue=job_requeue, older_than=older_than)
        if recovered:
            self.stdout.write(f"Recovered interrupted jobs: {recovered}")
        if settings.REDIS_URL:
            # django-tasks-rq's Job class runs the Task object; RQ's own would try to call it.
            call_command(
                "rqworker",
                "default",
                burst=options["batch"],
                with_scheduler=True,
                job_class="django_tasks_rq.Job",
            )
            return
        # call_command takes the option's dest: "startup_delay" (--no-startup-delay stores False).
        call_command(
            "db_worker",
            interval=options["interval"],
            batch=options["batch"],
            startup_delay=False,
            reload=False,  # a code reload would re-run recovery under a live job
        )
