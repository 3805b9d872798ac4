"""Load the demo conversation and demo accounts from fixtures/ (idempotent)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from deliberation import services
from deliberation.models import Conversation, Statement, Vote

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
def demo_load(path: Path = DEMO_FILE, *, crowd: bool = True) -> Conversation:
    """The demo conversation, its logins and (unless `crowd` is False) its simulated voters."""
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
    if crowd and data.get("simulated_crowd"):
        demo_crowd_vote(conversation, data["statements"], data["simulated_crowd"])
    return conversation


def demo_crowd_vote(
    conversation: Conversation, statements: list[dict[str, Any]], spec: dict[str, Any]
) -> int:
    """Votes of the fixture's simulated crowd; returns how many votes changed.

    Why a crowd at all: a conversation nobody voted on has no groups, no map and no common
    ground, so a first look at the platform would show empty pages. The voters are plainly
    labelled (external ids `demo-voter-NNN`), seeded, and idempotent: a second load finds the
    same participants with the same votes and changes nothing.
    """
    rng = random.Random(spec["seed"])
    ids = dict(conversation.statements.values_list("text", "id"))
    statement_ids = [ids[item["text"]] for item in statements]
    requests, n = [], 0
    for group, size in enumerate(spec["group_sizes"]):
        for _ in range(size):
            n += 1
            voter = services.participant_join(
                conversation=conversation, external_id=f"demo-voter-{n:03d}"
            )
            for sid, agree in zip(statement_ids, spec["agree"], strict=True):
                if rng.random() < spec["skip_rate"]:
                    continue
                draw = rng.random()
                value = (
                    1
                    if draw < agree[group]
                    else 0
                    if draw < agree[group] + spec["pass_rate"]
                    else -1
                )
                requests.append(services.VoteRequest(voter.pk, conversation.pk, sid, value))
    outcomes = services.votes_cast(requests)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    if errors:
        raise errors[0]
    return sum(1 for o in outcomes if isinstance(o, services.VoteCast) and o.changed)


def demo_summary(conversation: Conversation) -> dict[str, Any]:
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    seeds = conversation.statements.filter(moderation=Statement.Moderation.ACCEPTED).count()
    return {
        "slug": conversation.slug,
        "statements": seeds,
        "participants": conversation.participants.count(),
        "votes": Vote.objects.filter(statement__conversation=conversation).count(),
        "logins": [(u["username"], u["password"]) for u in data["users"]],
    }
