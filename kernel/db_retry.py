"""Run a request (or a batch) again, once, when its database connection died before anything
of it committed.

Why: the pool checks a connection as it hands it out, but PostgreSQL can drop one while a
request is using it (a failover, an administrator's `pg_terminate_backend`, an idle-connection
killer). That request failed: a read with a 500, a vote batch with a 503. Running it again on a
fresh connection fixes it, but only when the first try cannot have committed anything, or a
vote could count twice. So the work is watched as it runs (an execute wrapper on the
connection), and it is run again only when all of these hold:

* the error is the failure of one of its own statements (not of a COMMIT, whose outcome a
  client cannot know when the connection drops during it);
* the driver had found the connection closed when that statement failed (a lost connection,
  not a lock timeout, a constraint or a syntax error);
* no write of it had committed: a write outside a transaction counts as committed as soon as
  it is sent (even when its answer is lost), a write inside one when that transaction commits;
  a transaction the dying connection took with it never committed;
* nothing encloses it in a transaction (an enclosing `atomic` cannot be resumed on another
  connection).

Writes that may be repeated when the work is run again (rate-limit counters: a re-run counts
its hits twice, on the strict side) can say so with `repeatable_writes()`.

`retried_once_if_lost` wraps a unit of work; `RetryReadsMiddleware` wraps every GET, HEAD and
OPTIONS view (idempotent by HTTP's rules, so their non-database side effects may repeat too);
`kernel.group_commit.GroupCommit` wraps each batch. Only the default database is watched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

T = TypeVar("T")
_READS = ("SELECT", "SHOW", "EXPLAIN")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_local = threading.local()


class _Watch:
    """Execute wrapper: which statement failed, and whether a write may have committed."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None
        self.lost = False  # the connection was closed when the failing statement failed
        self.committed = False
        self.repeatable = 0  # > 0 inside repeatable_writes()

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ):  # type: ignore[no-untyped-def]
        db = context["connection"]
        write = not self.repeatable and not sql.lstrip()[:7].upper().startswith(_READS)
        in_transaction = db.in_atomic_block
        try:
            result = execute(sql, params, many, context)
        except BaseException as exc:
            self.failure = exc
            # Judged now: leaving a transaction, Django may already have opened a new one.
            self.lost = _closed(db.connection)
            if write and not in_transaction:
                self.committed = True  # sent in autocommit mode: it may have committed
            raise
        if write:
            if in_transaction:
                # Runs only if that transaction commits; discarded with a rolled-back one.
                transaction.on_commit(self._commit_seen, using=db.alias)
            else:
                self.committed = True
        return result

    def _commit_seen(self) -> None:
        self.committed = True

    def may_run_again(self, exc: BaseException) -> bool:
        return (
            not self.committed
            and _caused_by(exc, self.failure)
            and self.lost
            and not connection.in_atomic_block
        )


def _caused_by(exc: BaseException, failure: BaseException | None) -> bool:
    """`exc` is `failure`, or was raised while handling it (a wrapper that re-raised)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or failure is None:
            return False
        if seen is failure:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _closed(raw: Any) -> bool:
    """The driver's connection is closed: psycopg marks one the server dropped as closed (BAD)
    as soon as it reports the error. SQLite's connections have no such state."""
    return raw is None or bool(getattr(raw, "closed", False))


@contextmanager
def repeatable_writes() -> Iterator[None]:
    """Writes in this block may be repeated when the watched work is run again (counters
    that only err on the strict side); they do not stop a re-run."""
    watch: _Watch | None = getattr(_local, "watch", None)
    if watch is None:
        yield
        return
    watch.repeatable += 1
    try:
        yield
    finally:
        watch.repeatable -= 1


def retried_once_if_lost(work: Callable[[], T]) -> T:
    """`work()`, run once more on a fresh connection if its connection died before anything
    of it committed (see the module's docstring); any other failure is raised as it was."""
    for attempt in (1, 2):
        watch = _Watch()
        outer = getattr(_local, "watch", None)
        _local.watch = watch
        try:
            with connection.execute_wrapper(watch):
                return work()
        except (OperationalError, InterfaceError) as exc:
            if attempt == 2 or not watch.may_run_again(exc):
                raise
            logger.warning("database connection lost (%s); running the work again once", exc)
            connection.close()  # back to the pool, which discards it; the next query reconnects
        finally:
            _local.watch = outer
    raise AssertionError("unreachable")


class RetryReadsMiddleware:
    """Run a read (GET, HEAD, OPTIONS) view again, once, when its connection died under it.

    Placed last, so every other middleware's `process_view` (CSRF) has run. It calls the view
    itself through `retried_once_if_lost`, on the same thread Django would use (async views
    and other methods are left to Django). Before: a read whose connection PostgreSQL
    terminated mid-request answered 500 (`tests/resilience/test_database_faults.py`).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        # Django adapts `process_view` to the stack's mode; one that matches costs no thread hop.
        self.process_view: Callable[..., Any]
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)
            self.process_view = self._process_view_async
        else:
            self.process_view = self._process_view_sync

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    @staticmethod
    def _ours(request: HttpRequest, view: Callable[..., Any]) -> bool:
        return request.method in SAFE_METHODS and not iscoroutinefunction(view)

    def _process_view_sync(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not self._ours(request, view):
            return None
        return retried_once_if_lost(lambda: view(request, *args, **kwargs))

    async def _process_view_async(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not self._ours(request, view):
            return None
        run = sync_to_async(retried_once_if_lost, thread_sensitive=True)
        return await run(lambda: view(request, *args, **kwargs))
