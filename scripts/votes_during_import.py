"""Does voting keep flowing while a big Polis conversation is imported?

    .venv/bin/python scripts/votes_during_import.py [--folder ../shared/data/polis/vtaiwan.uberx]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord .venv/bin/python scripts/...

Starts a fresh installation (its own SQLite file, or a new PostgreSQL database next to the one
DATABASE_URL names, dropped afterwards), the real server (uvicorn config.asgi:application) and the
worker as their own processes, then runs `manage.py import_polis` while `--voters` clients vote
continuously on the demo conversation, each waiting for its answer before the next vote (they
flip their votes, so every vote is a real write). Prints the worst and p99 vote latency during
the import, the errors, and whether the worker stayed alive (its process and /api/v1/health/).
The README ("Background work") quotes its output.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.resilience.servers import Platform, call_json  # noqa: E402

SLUG = "ai-values"


def _call(url: str, data: dict | None = None, token: str = "") -> tuple[int, dict]:
    return call_json(url, data=data, token=token, timeout=60)


class Voter(threading.Thread):
    """One participant voting back to back: (start time, latency, status) of every vote."""

    def __init__(self, base: str, statements: list[int], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.statements, self.stop = base, statements, stop
        self.samples: list[tuple[float, float, int | str]] = []

    def run(self) -> None:
        url = f"{self.base}/api/v1/conversations/{SLUG}"
        status, me = _call(f"{url}/participants/", data={})
        assert status == 201, me
        i = 0
        while not self.stop.is_set():
            statement = self.statements[i % len(self.statements)]
            value = 1 if (i // len(self.statements)) % 2 == 0 else -1  # every vote changes a row
            started = time.monotonic()
            try:
                status, _ = _call(
                    f"{url}/votes/", {"statement_id": statement, "value": value}, me["token"]
                )
                outcome: int | str = status
            except OSError as error:
                outcome = type(error).__name__
            self.samples.append((started, time.monotonic() - started, outcome))
            i += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", default=str(Path("../shared/data/polis/vtaiwan.uberx")))
    parser.add_argument("--voters", type=int, default=4)
    parser.add_argument("--slug", default="vtaiwan")
    parser.add_argument("--no-worker", action="store_true", help="to tell its writes from ours")
    parser.add_argument(
        "--reimport", action="store_true", help="import once first, measure the re-import"
    )
    args = parser.parse_args()
    folder = str(Path(args.folder).resolve())

    with tempfile.TemporaryDirectory() as workdir:
        env = {"CONCORD_RATE_LIMIT_SCALE": "1000"}  # the voters vote faster than people do
        platform = Platform(workdir=Path(workdir), env_extra=env)
        try:
            platform.manage("migrate", "--noinput", "-v0")
            platform.manage("load_demo", "--no-crowd")
            if args.reimport:
                platform.manage("import_polis", folder, "--slug", args.slug, timeout=900)
            platform.start_server()
            if not args.no_worker:
                platform.start_worker()
            _, page = _call(f"{platform.url}/api/v1/conversations/{SLUG}/statements/?limit=200")
            statements = [row["id"] for row in page["results"]]
            stop = threading.Event()
            voters = [Voter(platform.url, statements, stop) for _ in range(args.voters)]
            for voter in voters:
                voter.start()
            time.sleep(3)  # voting under way before the import starts
            began = time.monotonic()
            print(platform.manage("import_polis", folder, "--slug", args.slug, timeout=900).strip())
            ended = time.monotonic()
            time.sleep(2)
            stop.set()
            for voter in voters:
                voter.join(timeout=120)
            worker_alive = platform.worker.poll() is None if platform.worker else None
            _, health = _call(f"{platform.url}/api/v1/health/")
        finally:
            platform.destroy()

    during = [s for v in voters for s in v.samples if began <= s[0] <= ended]
    latencies = sorted(latency for _, latency, _ in during)
    errors = [outcome for _, _, outcome in during if outcome != 200]
    database = "PostgreSQL" if platform.database_url.startswith("postgres") else "SQLite"
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    print(
        json.dumps(
            {
                "database": database,
                "reimport": args.reimport,
                "import_s": round(ended - began, 1),
                "votes_during_import": len(during),
                "worst_vote_ms": round(1000 * latencies[-1]) if latencies else None,
                "p99_vote_ms": round(1000 * p99),
                "p50_vote_ms": round(1000 * latencies[len(latencies) // 2]) if latencies else None,
                "errors": errors,
                "slowest_at_s": [
                    [round(start - began, 2), round(1000 * latency)]
                    for start, latency, _ in sorted(during, key=lambda s: -s[1])[:5]
                ],
                "worker_process_alive": worker_alive,
                "health": health,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
