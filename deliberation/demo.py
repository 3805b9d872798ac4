"""Load the demo conversation and demo accounts from fixtures/ (idempotent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from deliberation import services
from deliberation.models import Conversation, Statement

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo_conversation.json"
_CONVERSATION_KEYS = (
    "description",
    "languages",
    "strict_moderation",
    "participant_statements_allowed",
    "demographic_questions",
)


def _demo_user(spec: dict[str, Any]) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=spec["username"])
    user.set_password(spec["password"])
    user.is_superuser = user.is_staff = bool(spec.get("superuser"))
    user.save()
    for name in spec.get("groups", []):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@transaction.atomic
def demo_load(path: Path = DEMO_FILE) -> Conversation:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    users = [(_demo_user(spec), spec) for spec in data["users"]]
    conversation = Conversation.objects.filter(slug=data["slug"]).first()
    if conversation is None:
        fields = {k: data[k] for k in _CONVERSATION_KEYS if k in data}
        conversation = services.conversation_create(
            user=None, slug=data["slug"], topic=data["topic"], **fields
        )
    moderators = [user for user, spec in users if spec.get("moderates")]
    services.moderators_add(conversation=conversation, users=moderators)
    known = set(conversation.statements.values_list("text", flat=True))
    for item in data["statements"]:
        if item["text"] not in known:
            services.statement_seed(
                conversation=conversation, text=item["text"], language=item["language"]
            )
    return conversation


def demo_summary(conversation: Conversation) -> dict[str, Any]:
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    seeds = conversation.statements.filter(moderation=Statement.Moderation.ACCEPTED).count()
    return {
        "slug": conversation.slug,
        "statements": seeds,
        "logins": [(u["username"], u["password"]) for u in data["users"]],
    }
