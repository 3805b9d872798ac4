"""python manage.py load_demo — the demo conversation and demo logins (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from deliberation.demo import demo_load, demo_summary


class Command(BaseCommand):
    help = (
        "Create the demo conversation about AI values, its simulated voters and the demo accounts."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-crowd",
            action="store_true",
            help="leave out the simulated voters (simulated_crowd in the demo fixture)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo_summary(demo_load(crowd=not options["no_crowd"]))
        self.stdout.write(
            f"Demo conversation '{summary['slug']}' with {summary['statements']} statements, "
            f"{summary['participants']} participants and {summary['votes']} votes."
        )
        for username, password in summary["logins"]:
            self.stdout.write(f"  login: {username} / {password}")
