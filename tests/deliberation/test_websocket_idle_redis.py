"""A quiet conversation's sockets stay open on both channel layers (the real server, 60 s).

The report: redis-py's 5 s socket timeout equalled channels_redis' 5 s blocking pop, so an idle
consumer's receive raised TimeoutError and the server closed every socket 5-10 s after the last
event (4 of 4 idle listeners dropped within 30 s). The test listens to a real uvicorn on real
Redis for 60 s without any event, then requires that the socket still answers and still
receives a broadcast. It waits on the socket (no sleeps, no timing asserts); it is `slow`.
The same holds on the embedded (SQLite-file) layer used without Redis: both layers are run.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.resilience.servers import Platform

REDIS_URL = "redis://127.0.0.1:6379/0"
IDLE_S = 60

pytestmark = pytest.mark.slow


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture(params=["redis", "embedded"])
def platform(tmp_path, request) -> Iterator[tuple[Platform, str, int]]:  # type: ignore[no-untyped-def]
    """The server on one channel layer; the string is the Redis prefix or the layer's file."""
    if request.param == "redis":
        if not _redis_up():
            pytest.skip("needs Redis on 127.0.0.1:6379")
        prefix = f"idle{uuid.uuid4().hex[:8]}"
        extra = {"REDIS_URL": REDIS_URL, "CHANNELS_PREFIX": prefix}
    else:
        prefix = str(tmp_path / "channels.sqlite3")
        extra = {"CONCORD_CHANNEL_LAYER_PATH": prefix}
    extra["CONCORD_WS_HEARTBEAT_S"] = "20"
    platform = Platform(workdir=tmp_path, env_extra=extra)
    try:
        platform.manage("migrate", "--noinput", "-v0")
        code = (
            "from deliberation import services;"
            "print(services.conversation_create(user=None, slug='quiet', topic='Quiet').pk)"
        )
        conversation_id = int(platform.manage("shell", "-c", code).strip().splitlines()[-1])
        platform.start_server()
        yield platform, prefix, conversation_id
    finally:
        platform.destroy()


def _next_event(ws: ClientConnection, *, skip: set[str], deadline: float) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["event"] not in skip:
            return message


def _broadcast(prefix: str, conversation_id: int) -> None:
    from channels.layers import BaseChannelLayer
    from channels_redis.core import RedisChannelLayer

    from kernel.channel_layer import SQLiteChannelLayer
    from kernel.realtime import conversation_group

    layer: BaseChannelLayer
    if prefix.endswith(".sqlite3"):
        layer = SQLiteChannelLayer(path=prefix)
    else:
        layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    message = {"type": "conversation.event", "event": "statement", "payload": {"id": 1}}
    asyncio.run(layer.group_send(conversation_group(conversation_id), message))


def test_an_idle_socket_stays_open_for_60_seconds(platform):  # type: ignore[no-untyped-def]
    server, prefix, conversation_id = platform
    url = server.url.replace("http://", "ws://") + "/ws/conversations/quiet/"
    with connect(url, origin=server.url, open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["event"] == "hello"
        quiet_until = time.monotonic() + IDLE_S
        pings = 0
        try:
            while time.monotonic() < quiet_until:  # only server heartbeats may arrive
                ws.recv(timeout=max(0.1, quiet_until - time.monotonic()))
                pings += 1
        except TimeoutError:
            pass
        except ConnectionClosed as closed:
            pytest.fail(f"the server closed an idle socket: {closed!r}; see server.log")
        assert pings >= 1  # heartbeats flowed (every 20 s)
        ws.send(json.dumps({"type": "ping"}))
        deadline = time.monotonic() + 30
        assert _next_event(ws, skip={"ping"}, deadline=deadline)["event"] == "pong"
        _broadcast(prefix, conversation_id)
        assert _next_event(ws, skip={"ping", "pong"}, deadline=deadline)["event"] == "statement"
