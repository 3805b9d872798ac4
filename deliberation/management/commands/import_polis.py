"""python manage.py import_polis <export-dir> --slug <slug>"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deliberation.polis_io import polis_import
from kernel.errors import ApplicationError


class Command(BaseCommand):
    help = "Load a Polis export folder (comments.csv + votes.csv and/or participants-votes.csv)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder")
        parser.add_argument("--slug", required=True)
        parser.add_argument("--topic", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = polis_import(
                folder=options["folder"], slug=options["slug"], topic=options["topic"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            "Imported {statements} statements, {participants} participants, {votes} votes "
            "({vote_events} vote events) into {conversation}".format(**summary)
        )
        for note in summary["notes"]:
            self.stdout.write(f"note: {note}")
