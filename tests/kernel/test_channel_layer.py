"""The embedded channel layer carries messages between processes that share its file.

Two layer instances stand for two processes (each has its own channel prefix and poller); one
test uses a real second process, as the worker is one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import subprocess
import sys
import textwrap
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from kernel.channel_layer import SQLiteChannelLayer


def own_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop in its own thread.

    Why not pytest-asyncio here: the browser tests' sync Playwright keeps an event loop
    running in the main thread for the whole session, and these tests run after them.
    """

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, test(*args, **kwargs)).result()

    return run


@own_loop
async def test_a_group_send_from_one_process_reaches_a_member_in_another(tmp_path: Path) -> None:
    server, worker = SQLiteChannelLayer(tmp_path / "c"), SQLiteChannelLayer(tmp_path / "c")
    channel = await server.new_channel()
    await server.group_add("conversation.1", channel)
    await worker.group_send("conversation.1", {"type": "conversation.event", "event": "snapshot"})
    message = await asyncio.wait_for(server.receive(channel), timeout=10)
    assert message == {"type": "conversation.event", "event": "snapshot"}
    await server.close()


@own_loop
async def test_a_discarded_member_hears_nothing_and_others_still_do(tmp_path: Path) -> None:
    layer = SQLiteChannelLayer(tmp_path / "c")
    gone, stays = await layer.new_channel(), await layer.new_channel()
    for channel in (gone, stays):
        await layer.group_add("g", channel)
    await layer.group_discard("g", gone)
    await layer.group_send("g", {"type": "x", "n": 1})
    assert await asyncio.wait_for(layer.receive(stays), timeout=10) == {"type": "x", "n": 1}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(gone), timeout=0.5)
    await layer.close()


@own_loop
async def test_messages_keep_their_order_and_bytes(tmp_path: Path) -> None:
    layer = SQLiteChannelLayer(tmp_path / "c")
    channel = await layer.new_channel()
    for n in range(5):
        await layer.send(channel, {"type": "x", "n": n, "raw": b"\x00\xff"})
    got = [await asyncio.wait_for(layer.receive(channel), timeout=10) for _ in range(5)]
    assert [m["n"] for m in got] == [0, 1, 2, 3, 4]
    assert got[0]["raw"] == b"\x00\xff"
    await layer.close()


@own_loop
async def test_a_full_channel_refuses_more(tmp_path: Path) -> None:
    from channels.exceptions import ChannelFull

    layer = SQLiteChannelLayer(tmp_path / "c", capacity=2)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "x"})
    await layer.send(channel, {"type": "x"})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "x"})


@own_loop
async def test_expired_messages_are_not_delivered(tmp_path: Path) -> None:
    layer = SQLiteChannelLayer(tmp_path / "c", expiry=1)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "old"})
    await asyncio.sleep(1.2)
    await layer.send(channel, {"type": "new"})
    assert (await asyncio.wait_for(layer.receive(channel), timeout=10))["type"] == "new"
    await layer.close()


@own_loop
async def test_a_separate_process_sends_to_a_group_this_process_listens_to(tmp_path: Path) -> None:
    path = tmp_path / "c"
    layer = SQLiteChannelLayer(path)
    channel = await layer.new_channel()
    await layer.group_add("conversation.7", channel)
    script = textwrap.dedent(
        f"""
        import asyncio
        from kernel.channel_layer import SQLiteChannelLayer
        layer = SQLiteChannelLayer({str(path)!r})
        asyncio.run(layer.group_send("conversation.7", {{"type": "e", "from": "worker"}}))
        """
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=60)
    message = await asyncio.wait_for(layer.receive(channel), timeout=10)
    assert message == {"type": "e", "from": "worker"}
    await layer.close()
