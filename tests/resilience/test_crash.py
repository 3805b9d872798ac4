"""Crash safety: SIGKILL the server mid-burst and the worker mid-job, restart, lose nothing.

Runs the real server (uvicorn) and worker as subprocesses against their own database —
SQLite by default, PostgreSQL when DATABASE_URL says so.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Iterator

import pytest

from tests.resilience.servers import Platform, call_json

SLUG = "ai-values"
N_PARTICIPANTS = 16


@pytest.fixture
def platform(tmp_path) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    extra = {"CONCORD_EXTRA_JOB_TASKS": "test.slow=tests.resilience.slow_tasks.slow_job"}
    platform = Platform(workdir=tmp_path, env_extra=extra)
    platform.manage("migrate", "--noinput", "-v0")
    platform.manage("load_demo", "--no-crowd")
    try:
        yield platform
    finally:
        platform.destroy()


def _call(url: str, *, data: dict | None = None, token: str = "") -> tuple[int, dict]:
    return call_json(url, data=data, token=token, timeout=10)


class RetryLater(Exception):
    """A 503: the server says nothing was stored and to try again (a database that is
    restarting or busy past its timeout, as under a loaded machine)."""


# Every way a transport can fail while the server dies: refused/reset connections and timeouts
# (all OSError, URLError included), and a response cut between headers and body
# (http.client.IncompleteRead, RemoteDisconnected: HTTPException); and the server's own "try
# again" (503).
TRANSPORT_ERRORS = (OSError, http.client.HTTPException, RetryLater)


def _retrying(call, deadline: float):  # type: ignore[no-untyped-def]
    """Retry while the server is down, dies mid-answer or asks to: what a real client does."""
    while time.monotonic() < deadline:
        try:
            status, body = call()
            if status == 503:
                raise RetryLater(body)
            return status, body
        except TRANSPORT_ERRORS:
            time.sleep(0.05)
    raise TimeoutError("server did not come back")


class Voter(threading.Thread):
    """One participant voting once on every statement; remembers what the server acknowledged."""

    def __init__(self, base: str, statements: list[int], seed: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.base, self.statements, self.deadline = base, statements, deadline
        self.rng = random.Random(seed)
        self.acked: dict[tuple[int, int], int] = {}
        self.errors: list[tuple[int, dict]] = []

    def run(self) -> None:
        url = f"{self.base}/api/v1/conversations/{SLUG}"
        status, me = _retrying(lambda: _call(f"{url}/participants/", data={}), self.deadline)
        assert status == 201, me
        for statement_id in self.statements:
            vote = {"statement_id": statement_id, "value": self.rng.choice([-1, 0, 1])}
            status, body = _retrying(
                lambda v=vote: _call(f"{url}/votes/", data=v, token=me["token"]), self.deadline
            )
            if status != 200:
                self.errors.append((status, body))
                continue
            self.acked[(me["id"], statement_id)] = vote["value"]


def _statement_ids(platform: Platform) -> list[int]:
    status, page = _call(f"{platform.url}/api/v1/conversations/{SLUG}/statements/?limit=200")
    assert status == 200
    return [row["id"] for row in page["results"]]


def test_no_acknowledged_vote_is_lost_or_doubled_when_the_server_is_killed(platform):
    platform.start_server()
    statements = _statement_ids(platform)
    deadline = time.monotonic() + 120
    voters = [Voter(platform.url, statements, seed, deadline) for seed in range(N_PARTICIPANTS)]
    for voter in voters:
        voter.start()
    total = N_PARTICIPANTS * len(statements)
    while sum(len(v.acked) for v in voters) < total // 3:
        time.sleep(0.01)
    platform.kill(platform.server)  # mid-burst, no warning
    killed_at = sum(len(v.acked) for v in voters)
    time.sleep(0.5)
    platform.start_server()
    for voter in voters:
        voter.join(timeout=120)
    acked = {key: value for v in voters for key, value in v.acked.items()}
    assert [e for v in voters for e in v.errors] == []
    assert 0 < killed_at < total and len(acked) == total
    stored = platform.query("SELECT participant_id, statement_id, value FROM deliberation_vote")
    assert {(p, s): v for p, s, v in stored} == acked
    assert len(stored) == total  # a retried vote whose first answer was lost is not doubled
    events = platform.query(
        "SELECT participant_id, statement_id, COUNT(*) FROM deliberation_voteevent "
        "GROUP BY participant_id, statement_id"
    )
    assert len(events) == total and {count for _, _, count in events} == {1}


def _job(platform: Platform, job_id: int) -> tuple[str, int, float]:
    rows = platform.query(
        f"SELECT status, attempts, progress FROM deliberation_job WHERE id = {job_id}"
    )
    return rows[0]


def _wait_for(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_interrupted_by_a_killed_worker_is_retried_not_left_running(platform):
    out = platform.manage(
        "shell",
        "-c",
        "from tests.resilience.slow_tasks import enqueue_slow; print(enqueue_slow(0.2))",
    )
    job_id = int(out.strip().splitlines()[-1])
    platform.start_worker()
    _wait_for(lambda: _job(platform, job_id)[0] == "running" and _job(platform, job_id)[2] > 0)
    platform.kill(platform.worker)
    status, attempts, progress = _job(platform, job_id)
    assert (status, attempts) == ("running", 1) and progress < 1  # the crash left it mid-way
    platform.start_worker()  # recovery on start: re-queued, then run to the end
    _wait_for(lambda: _job(platform, job_id)[0] in {"succeeded", "failed"}, timeout=90)
    assert _job(platform, job_id)[:2] == ("succeeded", 2)
