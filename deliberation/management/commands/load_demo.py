"""python manage.py load_demo — the demo conversation and demo logins (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from deliberation.demo import demo_load, demo_summary


class Command(BaseCommand):
    help = "Create the demo conversation about AI values and the demo accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo_summary(demo_load())
        self.stdout.write(
            f"Demo conversation '{summary['slug']}' with {summary['statements']} statements."
        )
        for username, password in summary["logins"]:
            self.stdout.write(f"  login: {username} / {password}")
