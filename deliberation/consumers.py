"""Websocket per conversation: authenticate, subscribe, forward. Never writes (one write path).

Every open socket also gets a server ping (`{"event": "ping"}`) each `CONCORD_WS_HEARTBEAT_S`
seconds: a quiet conversation must not look like a dead connection to a proxy, a NAT or the
browser, and a socket whose peer has vanished fails at the next ping and is cleaned up.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from deliberation.models import Conversation
from kernel.realtime import conversation_group


@database_sync_to_async
def _conversation_id(slug: str) -> int | None:
    return Conversation.objects.filter(slug=slug).values_list("pk", flat=True).first()


class ConversationConsumer(AsyncJsonWebsocketConsumer):
    """Pushes accepted statements, vote counts, moderation events and consensus snapshots."""

    heartbeat: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        conversation_id = await _conversation_id(self.scope["url_route"]["kwargs"]["slug"])
        if conversation_id is None:
            await self.close(code=4404)
            return
        self.group = conversation_group(conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"event": "hello", "payload": {"conversation_id": conversation_id}})
        self.heartbeat = asyncio.create_task(self._beat(float(settings.CONCORD_WS_HEARTBEAT_S)))

    async def _beat(self, every_s: float) -> None:
        while every_s > 0:
            await asyncio.sleep(every_s)
            await self.send_json({"event": "ping", "payload": {}})

    async def disconnect(self, code: int) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a ping to a closed peer
                await self.heartbeat
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Votes and statements come in over HTTP only; the socket just answers pings.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong", "payload": {}})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Group events go straight to the socket. Why: channels closes stale database
        connections before every message (a thread hop per event per socket: about 6 % of the
        event loop's time under a voting crowd with 20 listeners open); forwarding an event
        touches no database, so only the other messages (connect, receive, disconnect) pay."""
        if message["type"] == "conversation.event":
            await self.conversation_event(message)
        else:
            await super().dispatch(message)

    async def conversation_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "payload": message["payload"]})
