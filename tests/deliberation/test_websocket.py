"""The conversation websocket: who can subscribe and what reaches a connected client.

Every test runs three times: on the in-memory channel layer, on the embedded SQLite-file layer
(the default, kernel/channel_layer.py; a fresh file per test) and on channels_redis against the
local Redis (a fresh key prefix per test, so parallel runs cannot hear each other). Broadcasts leave
on transaction commit, hence the transactional database.
"""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from deliberation import services
from deliberation.models import Conversation
from tests.factories import ConversationFactory, ParticipantFactory, StatementFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

REDIS_LAYER_URL = "redis://127.0.0.1:6379/14"
ORIGIN = [(b"origin", b"http://testserver")]


@pytest.fixture(params=["in-memory", "embedded", "redis"], autouse=True)
def channel_layer(request, settings, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "embedded":
        config = {"path": str(tmp_path / "channels.sqlite3")}
        backend = {"BACKEND": "kernel.channel_layer.SQLiteChannelLayer", "CONFIG": config}
    elif request.param == "redis":
        config = {"hosts": [REDIS_LAYER_URL], "prefix": f"concord-test-{uuid.uuid4().hex}"}
        backend = {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": config}
    else:
        backend = {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    settings.CHANNEL_LAYERS = {"default": backend}
    return request.param


@database_sync_to_async
def world() -> tuple:  # type: ignore[type-arg]
    conversation = ConversationFactory()
    moderator = UserFactory()
    conversation.moderators.add(moderator)
    return conversation, moderator, ParticipantFactory(conversation=conversation)


async def subscribe(slug: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, f"/ws/conversations/{slug}/", headers=ORIGIN)
    connected, _ = await socket.connect(timeout=3)
    assert connected
    hello = await socket.receive_json_from(timeout=3)
    assert hello["event"] == "hello"
    return socket


async def next_event(socket: WebsocketCommunicator) -> dict:  # type: ignore[type-arg]
    return await socket.receive_json_from(timeout=3)


async def test_it_closes_a_connection_to_an_unknown_conversation():
    socket = WebsocketCommunicator(application, "/ws/conversations/nope/", headers=ORIGIN)
    connected, code = await socket.connect(timeout=3)
    assert not connected and code == 4404


async def test_it_refuses_a_foreign_origin():
    conversation, _, _ = await world()
    socket = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation.slug}/",
        headers=[(b"origin", b"http://evil.example")],
    )
    connected, _ = await socket.connect(timeout=3)
    assert not connected


async def test_a_moderators_seed_is_pushed(channel_layer):
    conversation, moderator, _ = await world()
    socket = await subscribe(conversation.slug)
    seed = await database_sync_to_async(services.statement_seed)(
        conversation=conversation, text="AI should cite its sources.", user=moderator
    )
    event = await next_event(socket)
    assert event["event"] == "statement"
    assert event["payload"]["id"] == seed.pk and event["payload"]["text"] == seed.text
    await socket.disconnect()


async def test_a_pending_statement_is_not_pushed_as_a_statement(channel_layer):
    conversation, _, participant = await world()
    socket = await subscribe(conversation.slug)
    pending = await database_sync_to_async(services.statement_submit)(
        participant=participant, text="Something a moderator has not seen yet."
    )
    event = await next_event(socket)
    assert event == {"event": "moderation", "payload": {"id": pending.pk, "moderation": "pending"}}
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_an_accepted_moderation_is_pushed_as_a_statement(channel_layer):
    conversation, moderator, participant = await world()
    pending = await database_sync_to_async(StatementFactory)(
        conversation=conversation, author=participant, moderation="pending"
    )
    socket = await subscribe(conversation.slug)
    await database_sync_to_async(services.statement_moderate)(
        statement=pending, state="accepted", user=moderator
    )
    event = await next_event(socket)
    assert event["event"] == "statement"
    assert event["payload"]["id"] == pending.pk and event["payload"]["moderation"] == "accepted"
    await socket.disconnect()


async def test_a_rejection_is_pushed_without_the_text(channel_layer):
    conversation, moderator, participant = await world()
    pending = await database_sync_to_async(StatementFactory)(
        conversation=conversation, author=participant, moderation="pending"
    )
    socket = await subscribe(conversation.slug)
    await database_sync_to_async(services.statement_moderate)(
        statement=pending, state="rejected", reason="Abusive", user=moderator
    )
    event = await next_event(socket)
    assert event == {"event": "moderation", "payload": {"id": pending.pk, "moderation": "rejected"}}
    await socket.disconnect()


async def test_a_vote_pushes_the_new_counts(channel_layer, monkeypatch):
    monkeypatch.setattr(services, "COUNTS_INTERVAL_S", 0.0)
    conversation, _, participant = await world()
    statement = await database_sync_to_async(StatementFactory)(conversation=conversation)
    socket = await subscribe(conversation.slug)
    cast = database_sync_to_async(services.vote_cast)
    await cast(participant=participant, statement_id=statement.pk, value=1)
    assert (await next_event(socket)) == {
        "event": "votes",
        "payload": {"statement_id": statement.pk, "agree": 1, "disagree": 0, "pass": 0},
    }
    await cast(participant=participant, statement_id=statement.pk, value=-1)
    assert (await next_event(socket))["payload"] == {
        "statement_id": statement.pk,
        "agree": 0,
        "disagree": 1,
        "pass": 0,
    }
    await socket.disconnect()


async def test_a_burst_on_one_statement_pushes_its_counts_once_per_interval(
    channel_layer, monkeypatch
):
    monkeypatch.setattr(services, "COUNTS_INTERVAL_S", 60.0)
    conversation, _, participant = await world()
    statement = await database_sync_to_async(StatementFactory)(conversation=conversation)
    socket = await subscribe(conversation.slug)
    cast = database_sync_to_async(services.vote_cast)
    for value in (1, -1, 0):
        await cast(participant=participant, statement_id=statement.pk, value=value)
    assert (await next_event(socket))["payload"]["agree"] == 1
    assert await socket.receive_nothing(timeout=0.1)
    await socket.disconnect()


async def test_a_burst_across_statements_pushes_once_per_interval(channel_layer, monkeypatch):
    monkeypatch.setattr(services, "COUNTS_INTERVAL_S", 60.0)
    conversation, _, participant = await world()
    make = database_sync_to_async(StatementFactory)
    statements = [await make(conversation=conversation) for _ in range(3)]
    socket = await subscribe(conversation.slug)
    cast = database_sync_to_async(services.vote_cast)
    for statement in statements:
        await cast(participant=participant, statement_id=statement.pk, value=1)
    assert (await next_event(socket))["payload"]["statement_id"] == statements[0].pk
    assert await socket.receive_nothing(timeout=0.1)
    await socket.disconnect()


async def test_a_retried_vote_pushes_nothing(channel_layer):
    conversation, _, participant = await world()
    statement = await database_sync_to_async(StatementFactory)(conversation=conversation)
    cast = database_sync_to_async(services.vote_cast)
    await cast(participant=participant, statement_id=statement.pk, value=0)
    socket = await subscribe(conversation.slug)
    await cast(participant=participant, statement_id=statement.pk, value=0)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_closing_the_conversation_is_pushed(channel_layer):
    conversation, moderator, _ = await world()
    socket = await subscribe(conversation.slug)
    await database_sync_to_async(services.conversation_update)(
        conversation=conversation, data={"is_open": False}, user=moderator
    )
    assert (await next_event(socket)) == {"event": "conversation", "payload": {"is_open": False}}
    await socket.disconnect()


async def test_events_stay_in_their_conversation(channel_layer):
    conversation, moderator, _ = await world()
    other = await database_sync_to_async(ConversationFactory)()
    socket = await subscribe(other.slug)
    await database_sync_to_async(services.statement_seed)(
        conversation=conversation, text="Only for the first room.", user=moderator
    )
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_a_rolled_back_write_pushes_nothing(channel_layer):
    conversation, moderator, _ = await world()
    socket = await subscribe(conversation.slug)

    def seed_then_fail() -> None:
        from django.db import transaction

        with transaction.atomic():
            services.statement_seed(
                conversation=conversation, text="Never committed.", user=moderator
            )
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await database_sync_to_async(seed_then_fail)()
    assert await socket.receive_nothing(timeout=0.3)
    assert not await database_sync_to_async(
        Conversation.objects.filter(pk=conversation.pk, statements__isnull=False).exists
    )()
    await socket.disconnect()


async def test_the_socket_answers_pings_and_ignores_writes(channel_layer):
    conversation, _, _ = await world()
    socket = await subscribe(conversation.slug)
    await socket.send_json_to({"type": "vote", "statement_id": 1, "value": 1})
    assert await socket.receive_nothing(timeout=0.2)
    await socket.send_json_to({"type": "ping"})
    assert (await next_event(socket))["event"] == "pong"
    await socket.disconnect()


async def test_the_layer_under_test_is_the_one_configured(channel_layer):
    from channels.layers import get_channel_layer

    expected = {
        "in-memory": "InMemoryChannelLayer",
        "embedded": "SQLiteChannelLayer",
        "redis": "RedisChannelLayer",
    }[channel_layer]
    assert type(get_channel_layer()).__name__ == expected
