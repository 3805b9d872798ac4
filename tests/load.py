"""Vote load benchmark (a script, not a test).

Usage: `python -m tests.load [--participants 200] [--rate 1000] [--seconds 20]`.

Starts the real server (uvicorn) on loopback against its own PostgreSQL database (Redis for the
channel layer, so several server processes share websocket groups), then runs simulated
participants — each joins, reads its first statement, then votes, each vote's answer carrying
the next statement — plus websocket listeners. Reports sustained votes/s, p50/p99 latency and
errors, then checks that every acknowledged vote is in the database exactly once. Only
127.0.0.1 is contacted.

`--rate` is the vote rate the crowd offers in all (votes/s): each participant starts a cycle
every `participants / rate` seconds, as people who read a statement before they vote do, so the
latencies are those of a server keeping up with that rate. `--rate 0` is a closed loop instead:
every participant votes again the moment an answer arrives, which measures the most the server
can take (and, by Little's law, turns any shortfall into queueing latency).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from tests.resilience.servers import Platform

SLUG = "load"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    next_latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acked: dict[tuple[int, int], int] = field(default_factory=dict)
    ws_messages: int = 0
    cpu_ms_per_vote: dict[str, float] = field(default_factory=dict)


def _seed(platform: Platform, n_statements: int) -> None:
    code = (
        "from deliberation import services;"
        f"c = services.conversation_create(user=None, slug='{SLUG}', topic='Load test');"
        f"[services.statement_seed(conversation=c, text=f'Load statement {{i}}') "
        f"for i in range({n_statements})]"
    )
    platform.manage("shell", "-c", code)


class _Client:
    """One participant's keep-alive HTTP/1.1 connection, in a few lines of asyncio.

    Why not aiohttp here: the load generator shares the two cores with the server it measures,
    and aiohttp's client costs about twice as much CPU per request as this does (61 % vs 28 % of
    a core at 1,000 votes/s), CPU the server then lacks. Only what the benchmark sends is
    supported: JSON bodies with a Content-Length, no redirects, no cookies (participants
    identify by token).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, token: str = "", body: object = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if token:
            head += f"X-Participant-Token: {token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding":
                raise RuntimeError("chunked responses are not expected here")
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _join(port: int, base: str) -> tuple[_Client, dict]:
    client = _Client("127.0.0.1", port)
    status, body = await client.request("POST", f"{base}/participants/", body={})
    assert status == 201, (status, body[:200])
    return client, json.loads(body)


async def _participant(
    client: _Client,
    me: dict,
    current: dict | None,
    base: str,
    stats: Stats,
    stop: float,
    period: float,
) -> None:
    """One voter, shown `current` (its first statement, read before the clock started): one
    request per vote, whose answer carries the next statement (as the participant page does)."""
    token = me["token"]
    rng = random.Random(me["id"])
    slot = time.monotonic() + rng.random() * period  # spread the crowd over one period
    try:
        while time.monotonic() < stop and current is not None:
            if period:
                await asyncio.sleep(max(0.0, slot - time.monotonic()))
                slot += period
            vote = {"statement_id": current["id"], "value": rng.choice([-1, 0, 1])}
            started = time.perf_counter()
            try:
                status, body = await client.request(
                    "POST", f"{base}/votes/", token=token, body=vote
                )
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                stats.errors.append(f"vote: {exc!r}")  # unacknowledged: not in `acked`
                client.close()
                continue
            if status != 200:
                stats.errors.append(f"vote: {status} {body[:200]!r}")
                continue
            stats.latencies_ms.append((time.perf_counter() - started) * 1000)
            stats.acked[(me["id"], vote["statement_id"])] = vote["value"]
            current = json.loads(body)["next"]
            if current is None:
                return
    finally:
        client.close()


async def _first_statement(client: _Client, base: str, token: str, stats: Stats) -> dict | None:
    started = time.perf_counter()
    try:
        status, body = await client.request("GET", f"{base}/next/", token=token)
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        stats.errors.append(f"next: {exc!r}")
        client.close()
        return None
    if status != 200:
        if status != 204:
            stats.errors.append(f"next: {status} {body[:200]!r}")
        return None
    stats.next_latencies_ms.append((time.perf_counter() - started) * 1000)
    return json.loads(body)


async def _listener(url: str, origin: str, stats: Stats, stop: float) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(url, origin=origin) as ws:
        while time.monotonic() < stop:
            try:
                await asyncio.wait_for(ws.receive(), timeout=max(0.1, stop - time.monotonic()))
                stats.ws_messages += 1
            except TimeoutError:
                break


async def _run(platform: Platform, args: argparse.Namespace, stats: Stats) -> float:
    base = f"/api/v1/conversations/{SLUG}"
    ws_url = f"ws://127.0.0.1:{platform.port}/ws/conversations/{SLUG}/"
    period = args.participants / args.rate if args.rate else 0.0
    # Everyone joins and reads a first statement first (as the page does when it opens; all
    # at once, as a room does), so the clock measures voting alone and every cycle is a vote.
    crowd = await asyncio.gather(*(_join(platform.port, base) for _ in range(args.participants)))
    firsts = await asyncio.gather(
        *(_first_statement(client, base, me["token"], stats) for client, me in crowd)
    )
    stop = time.monotonic() + args.seconds
    listeners = [
        asyncio.create_task(_listener(ws_url, platform.url, stats, stop))
        for _ in range(args.listeners)
    ]
    started, cpu_before = time.perf_counter(), _cpu_seconds(platform)
    await asyncio.gather(
        *(
            _participant(client, me, first, base, stats, stop, period)
            for (client, me), first in zip(crowd, firsts, strict=True)
        )
    )
    elapsed, cpu_after = time.perf_counter() - started, _cpu_seconds(platform)
    votes = max(1, len(stats.latencies_ms))
    stats.cpu_ms_per_vote = {
        part: round((cpu_after[part] - cpu_before[part]) * 1000 / votes, 3) for part in cpu_after
    }
    await asyncio.gather(*listeners, return_exceptions=True)
    return elapsed


def _cpu_seconds(platform: Platform) -> dict[str, float]:
    """CPU seconds used so far by the server's processes, by PostgreSQL's backends serving this
    platform's database, and by this load generator.

    Why: on a shared 2-core machine votes/s also measures whatever else runs; CPU per vote,
    per part, says what each part costs and where a faster vote must come from."""
    assert platform.server is not None
    server = psutil.Process(platform.server.pid)
    database = platform.database_url.rsplit("/", 1)[-1]
    parts = {"server": 0.0, "postgres": 0.0, "client": 0.0}
    for proc in [server, *server.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            parts["server"] += sum(proc.cpu_times()[:2])
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] == "postgres" and database in " ".join(proc.info["cmdline"]):
                parts["postgres"] += sum(proc.cpu_times()[:2])
    parts["client"] = sum(psutil.Process().cpu_times()[:2])
    return parts


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else float("nan")


def _verify(platform: Platform, stats: Stats) -> dict[str, object]:
    rows = platform.query("SELECT participant_id, statement_id, value FROM deliberation_vote")
    stored = {(p, s): v for p, s, v in rows}
    events = platform.query("SELECT COUNT(*) FROM deliberation_voteevent")[0][0]
    return {
        "acknowledged": len(stats.acked),
        "stored": len(rows),
        "all_acknowledged_stored_once": stored == stats.acked and len(rows) == len(stored),
        "vote_events": events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1000, help="offered votes/s; 0: closed loop")
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--statements", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument(
        "--no-batching", action="store_true", help="one commit per vote (the DRF view), to compare"
    )
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_PG)
    workdir = Path(tempfile.mkdtemp(prefix="concord-load-"))
    env = {
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5"),
        "CONCORD_RATE_LIMIT_SCALE": "1000",  # 200 simulated people share one loopback IP
        "CONCORD_RECOMPUTE_DEBOUNCE_S": "2",
        "DB_CONN_MAX_AGE": "60",
        # production settings, as a live session runs (HTTPS is a proxy's job on loopback)
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "load-benchmark-only-" + "x" * 40,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "CONCORD_VOTE_BATCHING": "0" if args.no_batching else "1",
    }
    platform = Platform(workdir=workdir, env_extra=env)
    try:
        platform.manage("migrate", "--noinput", "-v0")
        _seed(platform, args.statements)
        platform.start_server("--workers", str(args.server_workers), "--no-access-log")
        stats = Stats()
        elapsed = asyncio.run(_run(platform, args, stats))
        report = {
            "participants": args.participants,
            "offered_votes_per_s": args.rate or "closed loop",
            "listeners": args.listeners,
            "server_workers": args.server_workers,
            "path": "one commit per vote" if args.no_batching else "group commit",
            "seconds": round(elapsed, 2),
            # Acknowledged votes per second of the offered window (every vote is sent within
            # it); the other figure also counts the time the last answers took to come back.
            "votes_per_s": round(len(stats.latencies_ms) / args.seconds, 1),
            "votes_per_s_incl_drain": round(len(stats.latencies_ms) / elapsed, 1),
            "vote_p50_ms": round(_percentile(stats.latencies_ms, 50), 1),
            "vote_p99_ms": round(_percentile(stats.latencies_ms, 99), 1),
            "next_p50_ms": round(_percentile(stats.next_latencies_ms, 50), 1),
            "next_p99_ms": round(_percentile(stats.next_latencies_ms, 99), 1),
            "errors": len(stats.errors),
            "first_errors": stats.errors[:3],
            "ws_messages": stats.ws_messages,
            "cpu_ms_per_vote": stats.cpu_ms_per_vote,
            "load_average_1min": round(os.getloadavg()[0], 2),
            **_verify(platform, stats),
        }
        print(json.dumps(report, indent=2))
    finally:
        platform.destroy()


if __name__ == "__main__":
    main()
