"""python manage.py worker — process the job queue, with a sweep beside it that keeps jobs
moving when something under them dies; `--supervise` keeps such a worker running.

Uses django-tasks-db's `db_worker` by default and RQ's worker when REDIS_URL is set.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connections

from kernel.processes import children_die_with_parent, scheduler_locks_clear_stale
from kernel.worker import Sweeper, supervise


class Command(BaseCommand):
    help = "Run the background worker (recovers interrupted jobs, then sweeps for lost ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--shared",
            action="store_true",
            help="Other workers may be running: at start only recover jobs with a stale heartbeat.",
        )
        parser.add_argument("--batch", action="store_true", help="Exit when the queue is empty.")
        parser.add_argument("--interval", type=float, default=0.5)
        parser.add_argument(
            "--supervise", action="store_true", help="Run a worker and restart it when it dies."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["supervise"]:
            raise SystemExit(supervise(self._child_argv(options), out=self.stderr))
        sweeper = Sweeper()
        self._recover_at_start(sweeper, shared=options["shared"])
        if not options["batch"]:
            sweeper.start()
        try:
            if settings.REDIS_URL:
                self._run_rq(options)
            else:
                self._run_db(options)
        finally:
            sweeper.stop()

    @staticmethod
    def _child_argv(options: dict[str, Any]) -> list[str]:
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"]
        argv += ["--interval", str(options["interval"])]
        return argv + (["--shared"] if options["shared"] else [])

    def _recover_at_start(self, sweeper: Sweeper, *, shared: bool) -> None:
        # A lone worker knows nothing else runs what it finds "running": no need to wait.
        try:
            recovered = sweeper.sweep(running_older_than=None if shared else timedelta(0))
        except DatabaseError as exc:  # the periodic sweep will do it once the database answers
            self.stderr.write(f"worker: recovery postponed ({exc})")
            return
        if recovered:
            self.stdout.write(f"Recovered interrupted jobs: {recovered}")

    def _run_rq(self, options: dict[str, Any]) -> None:
        import django_rq

        children_die_with_parent()  # the work horse and the scheduler go when this process goes
        scheduler_locks_clear_stale(django_rq.get_connection("default"), ["default"])
        # django-tasks-rq's Job class runs the Task object; RQ's own would try to call it.
        call_command(
            "rqworker",
            "default",
            burst=options["batch"],
            with_scheduler=True,
            job_class="django_tasks_rq.Job",
        )

    def _run_db(self, options: dict[str, Any]) -> None:
        """db_worker, restarted in place after a database error instead of dying on it (a long
        SQLite import can hold the write lock past the busy timeout)."""
        wait_s = 1.0
        while True:
            try:
                # call_command takes the option's dest: "startup_delay" (--no-startup-delay).
                call_command(
                    "db_worker",
                    interval=options["interval"],
                    batch=options["batch"],
                    startup_delay=False,
                    reload=False,  # a code reload would re-run recovery under a live job
                )
                return
            except DatabaseError as exc:
                self.stderr.write(f"worker: database error ({exc}); going on in {wait_s:.0f} s")
                connections.close_all()
                time.sleep(wait_s)
                wait_s = min(wait_s * 2, 30.0)
