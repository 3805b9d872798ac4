"""`kernel.db_retry`: work runs again once after its connection was lost, never after a commit.

The connection is really dropped by the server: the test asks PostgreSQL to terminate the
backend of Django's own connection (`pg_terminate_backend`, waiting until it is gone), at a
chosen point of the work. SQLite has no server that could drop a connection, so those tests run
only on PostgreSQL; the rule that an ordinary error is never retried is checked on both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import F

from kernel.db_retry import repeatable_writes, retried_once_if_lost
from kernel.models import RateLimitCounter

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="dropping a connection from the server side needs PostgreSQL (pg_terminate_backend)",
)


def _dropped_by_the_server() -> None:
    """Terminate the backend behind Django's connection; returns once it is gone."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres"
    ) as admin:
        admin.autocommit = True
        # The timeout makes pg_terminate_backend wait for the backend to exit (PostgreSQL 14+).
        assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone() == (True,)


def _counter(key: str) -> RateLimitCounter:
    return RateLimitCounter(key=key, count=0, expires_at=time.time() + 60)


def _calls(work: Callable[[int], object]) -> tuple[Callable[[], object], list[int]]:
    """`work(n)` as a no-argument callable that records each call (n = 1, 2, ...)."""
    calls: list[int] = []

    def run() -> object:
        calls.append(len(calls) + 1)
        return work(len(calls))

    return run, calls


def _rows() -> list[tuple[str, int]]:
    connection.close()  # a connection the test left broken; the request cycle does this
    return list(RateLimitCounter.objects.order_by("key").values_list("key", "count"))


@postgres_only
def test_a_read_whose_connection_was_dropped_runs_again_once() -> None:
    def work(n: int) -> int:
        if n == 1:
            _dropped_by_the_server()
        return RateLimitCounter.objects.count()

    run, calls = _calls(work)
    assert retried_once_if_lost(run) == 0
    assert calls == [1, 2]


@postgres_only
def test_a_transaction_the_dropped_connection_took_with_it_runs_again_and_counts_once() -> None:
    def work(n: int) -> None:
        with transaction.atomic():
            RateLimitCounter.objects.bulk_create([_counter("votes")])
            if n == 1:
                _dropped_by_the_server()
            RateLimitCounter.objects.filter(key="votes").update(count=F("count") + 1)

    run, calls = _calls(work)
    retried_once_if_lost(run)
    assert calls == [1, 2]
    assert _rows() == [("votes", 1)]


@postgres_only
def test_work_is_not_run_again_once_a_write_of_it_committed() -> None:
    def work(n: int) -> int:
        with transaction.atomic():
            RateLimitCounter.objects.bulk_create([_counter("in-a-transaction")])
        RateLimitCounter.objects.bulk_create([_counter("autocommit")])
        _dropped_by_the_server()
        return RateLimitCounter.objects.count()

    run, calls = _calls(work)
    with pytest.raises(OperationalError):
        retried_once_if_lost(run)
    assert calls == [1]
    assert _rows() == [("autocommit", 0), ("in-a-transaction", 0)]


@postgres_only
def test_a_transaction_committed_before_the_loss_stops_a_re_run() -> None:
    def work(n: int) -> int:
        with transaction.atomic():
            RateLimitCounter.objects.bulk_create([_counter("committed")])
        _dropped_by_the_server()
        return RateLimitCounter.objects.count()

    run, calls = _calls(work)
    with pytest.raises(OperationalError):
        retried_once_if_lost(run)
    assert calls == [1]
    assert _rows() == [("committed", 0)]


@postgres_only
def test_a_commit_that_failed_is_never_run_again() -> None:
    """The connection dies as COMMIT is sent: a client cannot know whether it committed."""

    def work(n: int) -> None:
        with transaction.atomic():
            RateLimitCounter.objects.bulk_create([_counter("unknown")])
            _dropped_by_the_server()  # the next statement is the COMMIT

    run, calls = _calls(work)
    with pytest.raises(OperationalError):
        retried_once_if_lost(run)
    assert calls == [1]


@postgres_only
def test_writes_marked_repeatable_do_not_stop_a_re_run() -> None:
    def work(n: int) -> int:
        with repeatable_writes():
            RateLimitCounter.objects.bulk_create([_counter(f"hit-{n}")])
        if n == 1:
            _dropped_by_the_server()
        return RateLimitCounter.objects.count()

    run, calls = _calls(work)
    assert retried_once_if_lost(run) == 2  # the counter write was repeated, as it may be
    assert calls == [1, 2]


def test_an_error_on_a_live_connection_is_raised_as_it_was() -> None:
    def work(n: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    run, calls = _calls(work)
    with pytest.raises(DatabaseError):
        retried_once_if_lost(run)
    assert calls == [1]
