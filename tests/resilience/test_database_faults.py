"""A database connection that dies in the middle of a request: the request is answered anyway.

The pool checks a connection as it hands it out (see `tests/api/test_live_http.py`), but a
connection PostgreSQL terminates *while a request uses it* (a failover, an administrator's
`pg_terminate_backend`, an idle killer) used to fail that request with a 500. Now a read is run
again once on a fresh connection, and so is a vote batch whose transaction had not committed
(`kernel/db_retry.py`).

To terminate a connection at a known point, with no timing: the test locks a table the request
needs, waits until PostgreSQL shows the server's backend waiting for that lock, terminates that
backend, then releases the lock. pg_terminate_backend exists only on PostgreSQL; SQLite has no
server that could drop a connection, so these tests run only when DATABASE_URL is PostgreSQL.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from tests.resilience.servers import Platform

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="terminating a connection mid-request needs PostgreSQL (pg_terminate_backend); "
    "SQLite has no server to drop one",
)

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "database-fault-tests-" + "k" * 48,
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DB_POOL_MAX": "4",
}
WAIT_S = 60.0  # generous: the condition is met in well under a second on an idle machine


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("db-faults")
    platform = Platform(workdir=workdir, env_extra={**PRODUCTION, "CONCORD_DATA_DIR": str(workdir)})
    try:
        platform.manage("migrate", "--noinput", "-v0")
        out = platform.manage("shell", "-c", "from tests.api import live_seed; live_seed.main()")
        credentials = json.loads(out.strip().splitlines()[-1])
        platform.start_server()
        yield platform, credentials
    finally:
        platform.destroy()


def _send(url: str, body: dict | None = None, **headers: str) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=WAIT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _backend_waiting_for_a_lock(platform: Platform, answer: Future) -> int:
    """The pid of the server's backend once it waits on the test's lock (polled, not timed)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert not answer.done(), f"answered before it reached the lock: {answer.result()}"
        rows = platform.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if rows:
            assert len(rows) == 1, rows
            return int(rows[0][0])
        time.sleep(0.05)  # polling interval of a condition, not a synchronisation
    raise AssertionError("the request never waited for the locked table")


def _terminated_mid_request(
    platform: Platform, table: str, request: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run `request` while `table` is locked; terminate its connection while it waits."""
    import psycopg

    with psycopg.connect(platform.database_url) as blocker, ThreadPoolExecutor(1) as pool:
        blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        answer = pool.submit(request)
        pid = _backend_waiting_for_a_lock(platform, answer)
        assert platform.query(f"SELECT pg_terminate_backend({pid})") == [(True,)]
        blocker.commit()  # the lock goes; a retry on a fresh connection can proceed
        return answer.result(timeout=WAIT_S)


def test_a_read_whose_connection_is_terminated_mid_request_is_answered(live):  # type: ignore[no-untyped-def]
    """Before: the statements list answered 500 when its connection died under it."""
    platform, who = live
    url = f"{platform.url}/api/v1/conversations/{who['slug']}/statements/"
    status, body = _terminated_mid_request(platform, "deliberation_statement", lambda: _send(url))
    assert status == 200, body
    assert sorted(row["text"] for row in body["results"]) == ["Seed 0", "Seed 1", "Seed 2"]


def test_a_vote_batch_whose_connection_is_terminated_before_commit_is_cast_once(live):  # type: ignore[no-untyped-def]
    """Before: the batch failed (503) when its connection died inside the vote transaction.

    Now it is run again on a fresh connection: the vote is answered, stored once, with one
    vote event (the first transaction died uncommitted, so nothing of it counts)."""
    platform, who = live
    slug, token = who["slug"], who["participant"]
    statement_id = platform.query(
        "SELECT s.id FROM deliberation_statement s JOIN deliberation_conversation c "
        f"ON c.id = s.conversation_id WHERE c.slug = '{slug}' ORDER BY s.id LIMIT 1"
    )[0][0]
    url = f"{platform.url}/api/v1/conversations/{slug}/votes/"
    status, body = _terminated_mid_request(
        platform,
        "deliberation_vote",
        lambda: _send(url, {"statement_id": statement_id, "value": 1}, X_Participant_Token=token),
    )
    assert status == 200, body
    assert (body["statement_id"], body["value"]) == (statement_id, 1)
    votes = platform.query(
        f"SELECT participant_id, value FROM deliberation_vote WHERE statement_id = {statement_id}"
    )
    events = platform.query(
        f"SELECT participant_id FROM deliberation_voteevent WHERE statement_id = {statement_id}"
    )
    assert len(votes) == 1 and votes[0][1] == 1
    assert events == [(votes[0][0],)]
