"""python manage.py run_pipeline <slug> --model <id|path|tiny|smollm2> --out <dir>

The whole chain in one command: consensus snapshot (computed if missing) → constitution →
CAI data → SFT → DPO/KTO → evaluation, with every artifact and run.json written to --out and the
run recorded in the database like one started from the UI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alignment import services
from consensus.snapshots.selectors import snapshot_latest
from consensus.snapshots.services import snapshot_compute
from deliberation.models import Conversation
from kernel.errors import ApplicationError


class Command(BaseCommand):
    help = "Run constitution → CAI data → SFT → DPO/KTO → evaluation for a conversation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--model", default="smollm2", help="smollm2, tiny, a path or an id")
        parser.add_argument("--out", required=True, help="output folder")
        parser.add_argument("--method", choices=["dpo", "kto"], default="dpo")
        parser.add_argument("--rule", choices=["mea", "gic", "bridging"], default="mea")
        parser.add_argument("--threshold", type=float, default=None)
        parser.add_argument("--sft-steps", type=int, default=None)
        parser.add_argument("--pref-steps", type=int, default=None)
        parser.add_argument("--max-prompts", type=int, default=None)
        parser.add_argument("--max-heldout", type=int, default=None)
        parser.add_argument("--lora", action="store_true")
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
        parser.add_argument(
            "--critic-model", default=None, help="critic/reviser (default: the student)"
        )
        parser.add_argument("--judge-model", default=None, help="judge (default: the student)")
        parser.add_argument("--judge-check", choices=["warn", "refuse", "off"], default=None)
        parser.add_argument("--prompt-set", choices=["conversation", "generic"], default=None)
        parser.add_argument("--config", default=None, help="JSON file of ChainConfig fields")

    def _config(self, options: dict[str, Any]) -> dict[str, Any]:
        config = json.loads(Path(options["config"]).read_text()) if options["config"] else {}
        pairs = {
            "rule": options["rule"],
            "threshold": options["threshold"],
            "sft_steps": options["sft_steps"],
            "pref_steps": options["pref_steps"],
            "max_prompts": options["max_prompts"],
            "max_heldout": options["max_heldout"],
            "device": options["device"],
            "use_lora": options["lora"] or None,
            "critic_model": options["critic_model"],
            "judge_model": options["judge_model"],
            "judge_check": options["judge_check"],
            "prompt_set": options["prompt_set"],
        }
        return config | {k: v for k, v in pairs.items() if v is not None}

    def handle(self, *args: Any, **options: Any) -> None:
        conversation = Conversation.objects.filter(slug=options["slug"]).first()
        if conversation is None:
            raise CommandError(f"No conversation with slug {options['slug']!r}.")
        if snapshot_latest(conversation_id=conversation.pk) is None:
            self.stdout.write("No consensus snapshot yet: computing one.")
            snapshot_compute(conversation_id=conversation.pk)
        config = self._config(options)
        try:
            constitution = services.constitution_build(
                conversation=conversation,
                rule=config.pop("rule", "mea"),
                threshold=config.pop("threshold", None),
            )
            run = services.training_run_create(
                conversation=conversation,
                model=options["model"],
                method=options["method"],
                constitution=constitution,
                config=config,
                out_dir=str(Path(options["out"]).resolve()),
            )
            run = services.training_run_execute(run_id=run.pk)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except Exception as exc:
            raise CommandError(f"Training run failed ({type(exc).__name__}): {exc}") from exc
        self.stdout.write(
            f"Run {run.pk} {run.status}: constitution v{constitution.version} "
            f"({constitution.n_principles} principles); outputs in {run.out_dir}"
        )
