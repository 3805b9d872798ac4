"""Fixed-window rate limits on the write endpoints, kept in Django's cache.

Counters live in Redis when `REDIS_URL` is set (shared by every server process; one client per
thread, see `_redis`), else in Django's local-memory cache (one server process in `make run`).
A whole classroom may vote from one NAT address, so per-IP limits are generous and
per-participant limits are the tight ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

from kernel.errors import RateLimitedError


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_s: int


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


def rate_limits_hit(hits: Sequence[tuple[str, str | int | None]]) -> list[RateLimitedError | None]:
    """Count one hit on each (limit name, subject); the error to raise for each one over its limit.

    Many hits at once cost one Redis round trip, which is what lets the lean vote path check
    the limits of a whole batch of votes without a round trip per vote.
    """
    limits = _limits()
    now = time.time()
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
    count = _count_redis if settings.REDIS_URL else _count_local
    for (i, limit, window), used in zip(counted, count(keys), strict=True):
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


def client_ip(meta: dict) -> str:
    """The peer address; behind a proxy set CONCORD_TRUST_X_FORWARDED_FOR=1."""
    if getattr(settings, "CONCORD_TRUST_X_FORWARDED_FOR", False):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return meta.get("REMOTE_ADDR", "") or "unknown"
