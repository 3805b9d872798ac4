"""python manage.py consensus <slug> [--projection pca|umap] [--json out.json]

Recomputes a conversation's snapshot in this process (a CLI may take its time; the web server
never does this work itself) and optionally writes the documented JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consensus.snapshots.services import snapshot_compute, snapshot_export_json
from deliberation.models import Conversation


class Command(BaseCommand):
    help = "Recompute groups and consensus metrics for a conversation and store a snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--projection", choices=["pca", "umap"], default=None)
        parser.add_argument("--cluster-on", choices=["pca", "umap"], default=None)
        parser.add_argument("--pass-handling", choices=["count", "exclude"], default=None)
        parser.add_argument("--umap", action="store_true", help="also compute UMAP coordinates")
        parser.add_argument("--json", dest="json_path", default=None, help="write the result here")

    def handle(self, *args: Any, **options: Any) -> None:
        conversation = Conversation.objects.filter(slug=options["slug"]).first()
        if conversation is None:
            raise CommandError(f"No conversation with slug {options['slug']!r}.")
        config = {
            key: options[opt]
            for key, opt in (
                ("projection", "projection"),
                ("cluster_on", "cluster_on"),
                ("pass_handling", "pass_handling"),
            )
            if options[opt]
        }
        if options["umap"]:
            config["with_umap"] = True
        try:
            snapshot = snapshot_compute(conversation_id=conversation.pk, config=config)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["json_path"]:
            Path(options["json_path"]).write_text(
                json.dumps(snapshot_export_json(snapshot), ensure_ascii=False)
            )
        self.stdout.write(
            f"Snapshot {snapshot.pk}: {snapshot.n_participants} participants, k={snapshot.k}, "
            f"{snapshot.n_votes} votes in {snapshot.duration_s:.2f}s"
        )
