"""python manage.py export_polis <slug> <dir>"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deliberation.polis_io import polis_export
from kernel.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Write a conversation as a Polis export (comments.csv, votes.csv, participants-votes.csv)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("folder")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = polis_export(slug=options["slug"], folder=options["folder"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        template = (
            "Exported {statements} statements and {vote_events} vote events of {conversation}"
        )
        self.stdout.write(template.format(**summary))
