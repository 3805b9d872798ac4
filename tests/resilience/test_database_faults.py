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

from tests.resilience.servers import Platform, seeded_platform

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
    with seeded_platform(workdir, {**PRODUCTION, "CONCORD_DATA_DIR": str(workdir)}) as seeded:
        yield seeded


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


def _backend_waiting_for_a_lock(platform: Platform, *pending: Future) -> int:
    """The pid of the one backend waiting on the test's lock, once it waits (polled, not timed);
    none of `pending` may have finished by then."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        done = [answer.result() for answer in pending if answer.done()]
        assert not done, f"finished before it reached the lock: {done}"
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


def test_a_burst_of_votes_survives_every_connection_being_terminated(live):  # type: ignore[no-untyped-def]
    """Twelve voters vote at once; one batch waits on the locked votes table, and then every
    connection the server holds is terminated. Every vote is answered 200 and stored once."""
    import psycopg

    platform, who = live
    base = f"{platform.url}/api/v1/conversations/{who['slug']}"
    statements = [row["id"] for row in _send(f"{base}/statements/")[1]["results"]]
    joined = [_send(f"{base}/participants/", {}) for _ in range(12)]
    assert {status for status, _ in joined} == {201}
    voters = [body for _, body in joined]

    def vote_all(voter: dict[str, Any], value: int) -> list[int]:
        return [
            _send(
                f"{base}/votes/",
                {"statement_id": statement_id, "value": value},
                X_Participant_Token=voter["token"],
            )[0]
            for statement_id in statements
        ]

    values = [(-1, 0, 1)[i % 3] for i in range(len(voters))]
    with psycopg.connect(platform.database_url) as blocker, ThreadPoolExecutor(12) as pool:
        blocker.execute("LOCK TABLE deliberation_vote IN ACCESS EXCLUSIVE MODE")
        bursts = [pool.submit(vote_all, v, value) for v, value in zip(voters, values, strict=True)]
        _backend_waiting_for_a_lock(platform, *bursts)
        terminated = platform.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            f"AND pid <> {blocker.info.backend_pid}"
        )
        assert terminated and all(ok for (ok,) in terminated)
        blocker.commit()
        statuses = [burst.result(timeout=WAIT_S) for burst in bursts]

    assert statuses == [[200] * len(statements)] * len(voters)
    ids = ",".join(str(v["id"]) for v in voters)
    stored = platform.query(
        f"SELECT participant_id, statement_id, value FROM deliberation_vote "
        f"WHERE participant_id IN ({ids})"
    )
    expected = {
        (v["id"], statement_id): value
        for v, value in zip(voters, values, strict=True)
        for statement_id in statements
    }
    assert len(stored) == len(expected)
    assert {(p, s): value for p, s, value in stored} == expected
    events = platform.query(
        "SELECT participant_id, statement_id, COUNT(*) FROM deliberation_voteevent "
        f"WHERE participant_id IN ({ids}) GROUP BY participant_id, statement_id"
    )
    assert len(events) == len(expected) and {n for _, _, n in events} == {1}


SEED_VOTES = """
from consensus.snapshots import scheduling
from deliberation import services
from deliberation.models import Conversation
c = Conversation.objects.get(slug="fuzz")
statements = list(c.statements.order_by("id"))
for i in range(6):
    p = services.participant_join(conversation=c)
    for j, s in enumerate(statements):
        services.vote_cast(participant=p, statement_id=s.pk, value=1 if (i + j) % 2 else -1)
print(scheduling.recompute_enqueue(conversation_id=c.pk).pk)
"""


def _job_status(platform: Platform, job_id: int) -> str:
    return str(platform.query(f"SELECT status FROM deliberation_job WHERE id = {job_id}")[0][0])


def _job_ended(platform: Platform, job_id: int) -> str:
    deadline = time.monotonic() + WAIT_S
    while (status := _job_status(platform, job_id)) not in {"succeeded", "failed"}:
        assert time.monotonic() < deadline, f"job {job_id} still {status}"
        time.sleep(0.1)  # polling interval of a condition, not a synchronisation
    return status


def test_a_recompute_whose_connection_is_terminated_still_writes_its_snapshot(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The worker's connection is terminated while the recompute reads the votes.

    Before (issue 13): a database error as a recompute started left its job queued for good and
    every later request folded into it; then, a connection lost mid-read failed the job, and
    the snapshot stayed stale until the next vote asked for another. Now the computation runs
    again on a fresh connection (nothing of it had committed) and the same job writes the
    snapshot of every vote."""
    import psycopg

    workdir = tmp_path_factory.mktemp("recompute-fault")
    extra = {**PRODUCTION, "CONCORD_DATA_DIR": str(workdir)}
    platform = Platform(workdir=workdir, env_extra=extra)
    try:
        platform.manage("migrate", "--noinput", "-v0")
        platform.manage("shell", "-c", "from tests.api import live_seed; live_seed.main()")
        job_id = int(platform.manage("shell", "-c", SEED_VOTES).strip().splitlines()[-1])
        with psycopg.connect(platform.database_url) as blocker, ThreadPoolExecutor(1) as pool:
            blocker.execute("LOCK TABLE deliberation_vote IN ACCESS EXCLUSIVE MODE")
            platform.start_worker()
            job = pool.submit(_job_ended, platform, job_id)
            pid = _backend_waiting_for_a_lock(platform, job)
            assert platform.query(f"SELECT pg_terminate_backend({pid})") == [(True,)]
            blocker.commit()
            assert job.result(timeout=WAIT_S) == "succeeded"
        attempts = platform.query(f"SELECT attempts FROM deliberation_job WHERE id = {job_id}")
        assert attempts == [(1,)]  # the same attempt, not a re-queue
        snapshot = platform.query(
            f"SELECT n_participants, n_votes FROM consensus_snapshot WHERE job_id = {job_id}"
        )
        assert snapshot == [(6, 18)]
    finally:
        platform.destroy()
