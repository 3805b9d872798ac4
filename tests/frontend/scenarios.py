"""Data set-ups for the browser tests, run inside the ASGI server process (see asgi_app.py).

Each scenario goes through the same services the API uses, so seeded statements and computed
snapshots are broadcast to the open pages. They take and return plain JSON values.
"""

from __future__ import annotations

import random
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from deliberation import services
from deliberation.models import Conversation
from deliberation.polis_io import polis_import
from kernel import realtime

__all__ = [
    "conversation_create",
    "user_create",
    "crowd_vote",
    "snapshot_build",
    "polis_load",
    "statement_submit_anonymously",
    "demo_load",
    "statement_seed",
    "votes_batched",
    "training_run_execute",
    "statement_count",
    "constitution_build",
    "training_run_record",
]


def conversation_create(
    *, slug: str, topic: str, statements: list[str], **fields: Any
) -> dict[str, Any]:
    """A conversation with accepted seed statements, in the given order."""
    conversation = services.conversation_create(user=None, slug=slug, topic=topic, **fields)
    ids = [services.statement_seed(conversation=conversation, text=text).pk for text in statements]
    return {"id": conversation.pk, "statement_ids": ids}


def user_create(
    *, username: str, password: str, groups: list[str] | None = None, moderates: str | None = None
) -> dict[str, Any]:
    """A login with the given global groups, optionally moderating one conversation."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.save()
    for name in groups or []:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if moderates:
        Conversation.objects.get(slug=moderates).moderators.add(user)
    return {"id": user.pk}


def crowd_vote(*, slug: str, n: int = 16, seed: int = 7) -> dict[str, Any]:
    """n anonymous participants in two camps: camp A agrees with even statements, camp B odd."""
    conversation = Conversation.objects.get(slug=slug)
    statements = list(conversation.statements.filter(moderation="accepted").order_by("id"))
    rng = random.Random(seed)
    for i in range(n):
        participant = services.participant_join(conversation=conversation)
        for j, statement in enumerate(statements):
            likes = (j % 2 == 0) == (i % 2 == 0) or j == 0  # statement 0 is common ground
            value = 1 if likes else -1
            if rng.random() < 0.15:
                value = 0
            services.vote_cast(participant=participant, statement_id=statement.pk, value=value)
    return {"participants": n}


def snapshot_build(*, slug: str) -> dict[str, Any]:
    """Compute a real consensus snapshot (as the worker does) and push the "snapshot" event."""
    from consensus.snapshots.services import snapshot_compute

    conversation = Conversation.objects.get(slug=slug)
    snapshot = snapshot_compute(conversation_id=conversation.pk)
    realtime.broadcast_now(conversation.pk, "snapshot", {"id": snapshot.pk})
    return {"id": snapshot.pk, "k": snapshot.k}


def polis_load(*, folder: str, slug: str) -> dict[str, Any]:
    """What `manage.py import_polis <folder> --slug <slug>` does."""
    return polis_import(folder=folder, slug=slug)


def statement_submit_anonymously(*, slug: str, text: str) -> dict[str, Any]:
    """A new anonymous participant submits a statement (pending under strict moderation)."""
    participant = services.participant_join(conversation=Conversation.objects.get(slug=slug))
    statement = services.statement_submit(participant=participant, text=text)
    return {"id": statement.pk, "moderation": statement.moderation}


def statement_seed(*, slug: str, text: str) -> dict[str, Any]:
    statement = services.statement_seed(conversation=Conversation.objects.get(slug=slug), text=text)
    return {"id": statement.pk}


def demo_load() -> dict[str, Any]:
    """The demo conversation and logins from fixtures/ (what `make demo` loads)."""
    from deliberation.demo import demo_load as load

    return {"slug": load().slug}


def votes_batched() -> dict[str, Any]:
    """How many votes this server cast through the batched vote view so far."""
    from deliberation import vote_batching

    return {"votes": vote_batching._batcher.served}


def training_run_execute(*, run_id: int) -> dict[str, Any]:
    """What the worker does with a queued run, synchronously in the server process.

    A failing run is recorded as failed by the service (which then re-raises); the page shows it,
    so the failure is returned here rather than turned into a 500.
    """
    from alignment.models import TrainingRun
    from alignment.services import training_run_execute as execute

    try:
        execute(run_id=run_id)
    except Exception:  # noqa: BLE001 - the row holds the error for the page
        pass
    run = TrainingRun.objects.get(pk=run_id)
    return {"status": run.status, "error": run.error, "points": len(run.loss_curve)}


def statement_count(*, slug: str) -> dict[str, Any]:
    """How many statements the conversation holds (to check a refusal stored nothing)."""
    return {"count": Conversation.objects.get(slug=slug).statements.count()}


def constitution_build(
    *, slug: str, rule: str = "manual", statement_ids: list[int]
) -> dict[str, Any]:
    """A collective constitution version from the latest snapshot (what the build form does)."""
    from alignment.services import constitution_build as build

    conversation = Conversation.objects.get(slug=slug)
    version = build(conversation=conversation, rule=rule, statement_ids=statement_ids)
    return {"id": version.pk, "version": version.version}


def training_run_record(*, slug: str, constitution_id: int | None, **fields: Any) -> dict[str, Any]:
    """A training run as the worker leaves it (status, stage, loss curve, metrics, evaluation).

    Running the chain takes minutes; pages that only show a run's record are tested on the record
    (test_alignment_pages.py runs a real one).
    """
    from alignment.models import TrainingRun

    run = TrainingRun.objects.create(
        conversation=Conversation.objects.get(slug=slug),
        constitution_id=constitution_id,
        model_spec="tiny",
        out_dir="",
        **fields,
    )
    return {"id": run.pk}
