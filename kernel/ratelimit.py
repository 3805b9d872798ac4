"""Fixed-window rate limits on the write endpoints, counted where every server process sees them.

`CONCORD_RATE_LIMIT_STORE` picks the counters: Redis when `REDIS_URL` is set (one client per
thread, see `_redis`), else the database (`RateLimitCounter`, shared by every process on the same
database, so `uvicorn --workers 4` without Redis still enforces one limit, not four), or
`memory` (Django's local-memory cache, per process: the `kernel.W001` check warns about it).
A whole classroom may vote from one NAT address, so per-IP limits are generous and
per-participant limits are the tight ones. The client address comes from `client_ip`, which
trusts exactly `CONCORD_TRUSTED_PROXIES` hops of `X-Forwarded-For`.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F

from kernel.db_retry import repeatable_writes
from kernel.errors import RateLimitedError
from kernel.models import RateLimitCounter


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_s: int


def _now() -> float:
    """The limiter's clock. Tests pin it inside a window: several requests that straddle a
    window edge would start a fresh count halfway through (fixed windows do that, by design)."""
    return time.time()


def _limits() -> dict[str, Limit]:
    configured = getattr(settings, "CONCORD_RATE_LIMITS", {})
    return {name: Limit(name, *configured[name]) for name in configured}


_local_lock = threading.Lock()


_clients = threading.local()


def _redis(url: str) -> redis.Redis:
    """One client per thread, kept for the thread's life. Not one per request (Django's ASGI
    handler runs views in a thread whose cache objects are new each request, which opened a
    connection per vote), and not one shared by threads: under load, the lean vote path's
    batch threads and Django's view thread sharing one client's pool saw sockets closed
    under them (redis-py 8, `Bad file descriptor` during connect)."""
    client = getattr(_clients, "client", None)
    if client is None or _clients.url != url:
        client, _clients.url = redis.Redis.from_url(url), url
        _clients.client = client
    return client


def _count_redis(keys: Sequence[tuple[str, int]]) -> list[int]:
    pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
    for key, ttl in keys:
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
    return [int(n) for n in pipe.execute()[::2]]


def _count_local(keys: Sequence[tuple[str, int]]) -> list[int]:
    counts = []
    with _local_lock:  # add + incr are two steps in the local-memory cache
        for key, ttl in keys:
            cache.add(key, 0, timeout=ttl)
            try:
                counts.append(cache.incr(key))
            except ValueError:  # expired between add and incr: start the window again
                cache.set(key, 1, timeout=ttl)
                counts.append(1)
    return counts


_PRUNE_EVERY_S = 60.0
_last_pruned = [0.0]


def _count_database(keys: Sequence[tuple[str, int]]) -> list[int]:
    """`_count_database_rows`, as writes a re-run may repeat: a request or vote batch run again
    after its connection was lost (`kernel.db_retry`) counts its hits twice, which errs on the
    strict side and must not stop the re-run that saves its votes."""
    with repeatable_writes():
        return _count_database_rows(keys)


def _count_database_rows(keys: Sequence[tuple[str, int]]) -> list[int]:
    """Count every hit of a batch in four statements, whatever its size: create the missing
    counters, lock them (in key order, so two processes cannot deadlock), add each key's
    hits, and number the hits from the locked values, so concurrent counters never overlap."""
    now = _now()  # the windows' clock, so expiry and windows agree
    if now - _last_pruned[0] > _PRUNE_EVERY_S:  # old windows are never read again
        _last_pruned[0] = now
        RateLimitCounter.objects.filter(expires_at__lt=now).delete()
    hits = Counter(key for key, _ in keys)
    ttl = dict(keys)
    with transaction.atomic():
        RateLimitCounter.objects.bulk_create(
            [RateLimitCounter(key=k, count=0, expires_at=now + ttl[k]) for k in hits],
            ignore_conflicts=True,
        )
        rows = RateLimitCounter.objects.filter(key__in=list(hits)).order_by("key")
        if connection.features.has_select_for_update:
            rows = rows.select_for_update()
        before = dict(rows.values_list("key", "count"))
        by_increment: dict[int, list[str]] = defaultdict(list)
        for key, n in hits.items():
            by_increment[n].append(key)
        for n, group in by_increment.items():
            RateLimitCounter.objects.filter(key__in=group).update(count=F("count") + n)
    seen: Counter[str] = Counter()
    counts = []
    for key, _ in keys:
        seen[key] += 1
        counts.append(before[key] + seen[key])
    return counts


def _counter() -> Any:
    store = getattr(settings, "CONCORD_RATE_LIMIT_STORE", "memory")
    if store == "redis" and settings.REDIS_URL:
        return _count_redis
    return _count_database if store == "database" else _count_local


def rate_limits_hit(hits: Sequence[tuple[str, str | int | None]]) -> list[RateLimitedError | None]:
    """Count one hit on each (limit name, subject); the error to raise for each one over its limit.

    Many hits at once cost one Redis round trip, which is what lets the lean vote path check
    the limits of a whole batch of votes without a round trip per vote.
    """
    limits = _limits()
    now = _now()
    counted: list[tuple[int, Limit, int]] = []  # (index into hits, limit, window)
    keys: list[tuple[str, int]] = []
    for i, (name, subject) in enumerate(hits):
        limit = limits.get(name)
        if limit is None or subject is None or subject == "":
            continue
        window = int(now // limit.window_s)
        counted.append((i, limit, window))
        keys.append((f"rl:{limit.name}:{subject}:{window}", limit.window_s + 1))
    results: list[RateLimitedError | None] = [None] * len(hits)
    if not keys:
        return results
    for (i, limit, window), used in zip(counted, _counter()(keys), strict=True):
        if used > limit.count:
            wait = max(1, int((window + 1) * limit.window_s - now) + 1)
            results[i] = RateLimitedError(
                f"Too many requests ({limit.count} per {limit.window_s}s allowed for "
                f"{limit.name}); try again in {wait}s.",
                retry_after=wait,
            )
    return results


def rate_limit(name: str, subject: str | int | None) -> None:
    """Raise RateLimitedError (HTTP 429 with Retry-After) when `subject` exceeds limit `name`."""
    error = rate_limits_hit([(name, subject)])[0]
    if error is not None:
        raise error


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(meta: dict) -> str:
    """The client's address: `CONCORD_TRUSTED_PROXIES` hops from the right of X-Forwarded-For.

    Each trusted proxy appends the address it was connected from, so with N proxies the Nth
    entry from the right is the one the first proxy saw: the client. Entries further left are
    whatever the client wrote and are never read (trusting the leftmost one let one client
    appear as 1,000 participants). With no proxies, or too few entries to be a request that came
    through them all, the peer address is the answer.
    """
    peer = meta.get("REMOTE_ADDR", "") or "unknown"
    hops = int(getattr(settings, "CONCORD_TRUSTED_PROXIES", 0))
    if hops <= 0:
        return peer
    entries = [e for e in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if e.strip()]
    if len(entries) < hops:
        return peer
    return _valid_ip(entries[-hops]) or peer


@checks.register(checks.Tags.security)
def rate_limit_store_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn at startup when limits are counted per process (several workers multiply them)."""
    if getattr(settings, "CONCORD_RATE_LIMIT_STORE", "") != "memory" or settings.DEBUG:
        return []
    return [
        checks.Warning(
            "Rate limits are counted per server process (CONCORD_RATE_LIMIT_STORE=memory): "
            "with several workers each one allows the full limit.",
            hint="Set REDIS_URL or CONCORD_RATE_LIMIT_STORE=database.",
            id="kernel.W001",
        )
    ]
