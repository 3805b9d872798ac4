"""An embedded cross-process channel layer: a small SQLite file the processes on one machine share.

Why: the worker computes snapshots in its own process, and Channels' in-memory layer only
reaches consumers of the process that sends, so on the defaults a `snapshot` broadcast never
reached an open page. Redis fixes that but is an extra server; this layer needs none. Every
process that uses the same database uses the same file (settings derive the path from the
database), sends by inserting rows, and each process that holds websocket consumers polls for
the rows addressed to its own channels (every `poll_interval` seconds, 50 ms by default) and
deletes them as it delivers them. Expired messages and group memberships are swept as it goes.

The file is separate from the application database on purpose: a long write there (an import)
must not hold up live updates, and on PostgreSQL there is no SQLite database to share. For
several machines set `REDIS_URL` (channels_redis).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import msgpack
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    body BLOB NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS message_channel ON message (channel, id);
CREATE TABLE IF NOT EXISTS membership (
    grp TEXT NOT NULL,
    channel TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (grp, channel)
);
"""


class _Store:
    """The SQLite file: one connection per thread (sqlite3 connections are not shareable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode; writes open BEGIN IMMEDIATE themselves so writers queue on the
            # busy timeout instead of failing on a lock upgrade.
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def write(self, sql_and_params: list[tuple[str, tuple[Any, ...]]]) -> None:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in sql_and_params:
                conn.execute(sql, params)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def send(self, channel: str, body: bytes, expires: float, capacity: int) -> bool:
        """Insert one message unless the channel already holds `capacity` live ones."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            (held,) = conn.execute(
                "SELECT count(*) FROM message WHERE channel = ? AND expires > ?",
                (channel, time.time()),
            ).fetchone()
            if held >= capacity:
                conn.execute("ROLLBACK")
                return False
            conn.execute(
                "INSERT INTO message (channel, body, expires) VALUES (?, ?, ?)",
                (channel, body, expires),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return True

    def group_send(self, group: str, body: bytes, expires: float) -> int:
        """One row per live member, in one transaction; returns how many members there were."""
        conn = self.connection()
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            members = [
                row[0]
                for row in conn.execute(
                    "SELECT channel FROM membership WHERE grp = ? AND expires > ?", (group, now)
                )
            ]
            conn.executemany(
                "INSERT INTO message (channel, body, expires) VALUES (?, ?, ?)",
                [(channel, body, expires) for channel in members],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return len(members)

    def take(self, prefix: str) -> list[tuple[str, bytes]]:
        """Remove and return the live messages for channels starting with `prefix`, oldest first."""
        conn = self.connection()
        # A cheap read first: most polls find nothing and then take no write lock at all.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        probe = "SELECT 1 FROM message WHERE channel >= ? AND channel < ? LIMIT 1"
        if conn.execute(probe, (prefix, upper)).fetchone() is None:
            return []
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                "SELECT id, channel, body, expires FROM message"
                " WHERE channel >= ? AND channel < ? ORDER BY id",
                (prefix, upper),
            ).fetchall()
            conn.executemany("DELETE FROM message WHERE id = ?", [(row[0],) for row in rows])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return [(channel, body) for _, channel, body, expires in rows if expires > now]

    def sweep(self) -> None:
        """Drop expired messages and memberships (a crashed process leaves both behind)."""
        now = time.time()
        self.write(
            [
                ("DELETE FROM message WHERE expires <= ?", (now,)),
                ("DELETE FROM membership WHERE expires <= ?", (now,)),
            ]
        )


class SQLiteChannelLayer(BaseChannelLayer):
    """A channel layer over a shared SQLite file (see the module docstring for why).

    Channels created here are process-specific (`<prefix>!<id>`), so each process polls only
    for its own prefix. Groups are rows of (group, channel) with an expiry, as in channels_redis.
    """

    extensions = ["groups", "flush"]

    def __init__(
        self,
        path: str | Path,
        expiry: int = 60,
        group_expiry: int = 86400,
        capacity: int = 100,
        channel_capacity: dict[str, int] | None = None,
        poll_interval: float = 0.05,
        sweep_interval: float = 30.0,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
        self.group_expiry = group_expiry
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.store = _Store(Path(path))
        self.prefix = f"sqlite.{uuid.uuid4().hex}!"
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        # When each queue last had no receiver waiting on it: a queue nobody has waited on for
        # `expiry` seconds belongs to a consumer that has gone, and is dropped with its messages.
        self._idle_since: dict[str, float] = {}
        self._poller: asyncio.Task[None] | None = None

    # Sending -----------------------------------------------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        body = msgpack.packb(message, use_bin_type=True)
        capacity = self.get_capacity(channel)
        sent = await asyncio.to_thread(
            self.store.send, channel, body, time.time() + self.expiry, capacity
        )
        if not sent:
            raise ChannelFull(channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        body = msgpack.packb(message, use_bin_type=True)
        await asyncio.to_thread(self.store.group_send, group, body, time.time() + self.expiry)

    # Groups ------------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        sql = "INSERT OR REPLACE INTO membership (grp, channel, expires) VALUES (?, ?, ?)"
        params = (group, channel, time.time() + self.group_expiry)
        await asyncio.to_thread(self.store.write, [(sql, params)])

    async def group_discard(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        sql = "DELETE FROM membership WHERE grp = ? AND channel = ?"
        await asyncio.to_thread(self.store.write, [(sql, (group, channel))])

    # Receiving ---------------------------------------------------------------------------

    async def new_channel(self, prefix: str = "specific") -> str:
        return f"{self.prefix}{prefix}.{uuid.uuid4().hex}"

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on one of this process's channels."""
        self.require_valid_channel_name(channel)
        if not channel.startswith(self.prefix):
            raise ValueError(f"{channel!r} was not created by this process's layer")
        queue = self._queues.setdefault(channel, asyncio.Queue())
        self._idle_since.pop(channel, None)
        self._ensure_poller()
        try:
            return await queue.get()
        except asyncio.CancelledError:
            # The consumer went away: forget its queue unless messages are still waiting.
            if queue.empty() and self._queues.get(channel) is queue:
                del self._queues[channel]
            raise
        finally:
            if channel in self._queues:
                self._idle_since[channel] = time.monotonic()

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        """Deliver this process's rows to the waiting queues while any consumer listens."""
        next_sweep = time.monotonic()
        while self._queues:
            for channel, body in await asyncio.to_thread(self.store.take, self.prefix):
                message = msgpack.unpackb(body, raw=False)
                if channel not in self._queues:
                    self._queues[channel] = asyncio.Queue()
                    self._idle_since[channel] = time.monotonic()
                self._queues[channel].put_nowait(message)
            self._drop_abandoned_queues()
            if time.monotonic() >= next_sweep:
                await asyncio.to_thread(self.store.sweep)
                next_sweep = time.monotonic() + self.sweep_interval
            await asyncio.sleep(self.poll_interval)

    def _drop_abandoned_queues(self) -> None:
        cutoff = time.monotonic() - self.expiry
        for channel, since in list(self._idle_since.items()):
            if since < cutoff:
                self._queues.pop(channel, None)
                del self._idle_since[channel]

    # Flush -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Forget every message and group (tests)."""
        self._queues.clear()
        self._idle_since.clear()
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("DELETE FROM message", ()),
            ("DELETE FROM membership", ()),
        ]
        await asyncio.to_thread(self.store.write, statements)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
