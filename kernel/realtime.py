"""Push events to a conversation's websocket group after the transaction that caused them commits.

Sending after commit means a client never hears about a vote or statement that was rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def broadcast_now(conversation_id: int, event: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "conversation.event", "event": event, "payload": payload}
    async_to_sync(layer.group_send)(conversation_group(conversation_id), message)


def broadcast(conversation_id: int, event: str, payload: dict[str, Any]) -> None:
    """Schedule a broadcast for when the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: broadcast_now(conversation_id, event, payload))


_last_sent: dict[Hashable, float] = {}


def throttle_ok(key: Hashable, interval_s: float) -> bool:
    """True at most once per `interval_s` for `key` in this process (monotonic clock)."""
    now = time.monotonic()
    if now - _last_sent.get(key, float("-inf")) < interval_s:
        return False
    _last_sent[key] = now
    return True
