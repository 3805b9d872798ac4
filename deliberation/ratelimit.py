"""Fixed-window rate limits on the write endpoints, kept in Django's cache.

Counters live in Redis when `REDIS_URL` is set (shared by every server process; one process-wide
client, since Django's cache objects are per thread and ASGI runs each request in a new thread,
which would open a Redis connection per request), else in Django's local-memory cache (one
server process in `make run`). A whole classroom may vote from one NAT address, so per-IP limits
are generous and per-participant limits are the tight ones.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache as memoize

import redis
from django.conf import settings
from django.core.cache import cache

from deliberation.errors import RateLimitedError


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_s: int


def _limits() -> dict[str, Limit]:
    configured = getattr(settings, "CONCORD_RATE_LIMITS", {})
    return {name: Limit(name, *configured[name]) for name in configured}


_local_lock = threading.Lock()


@memoize
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _count_redis(key: str, ttl: int) -> int:
    pipe = _redis(settings.REDIS_URL).pipeline()
    pipe.incr(key)
    pipe.expire(key, ttl, nx=True)
    return int(pipe.execute()[0])


def _count_local(key: str, ttl: int) -> int:
    with _local_lock:  # add + incr are two steps in the local-memory cache
        cache.add(key, 0, timeout=ttl)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: start the window again
            cache.set(key, 1, timeout=ttl)
            return 1


def _hit(limit: Limit, subject: str) -> int | None:
    """Count one hit; return seconds to wait when over the limit, else None."""
    window = int(time.time() // limit.window_s)
    key = f"rl:{limit.name}:{subject}:{window}"
    count = _count_redis if settings.REDIS_URL else _count_local
    used = count(key, limit.window_s + 1)
    if used <= limit.count:
        return None
    return max(1, int((window + 1) * limit.window_s - time.time()) + 1)


def rate_limit(name: str, subject: str | int | None) -> None:
    """Raise RateLimitedError (HTTP 429 with Retry-After) when `subject` exceeds limit `name`."""
    if subject is None or subject == "":
        return
    limit = _limits().get(name)
    if limit is None:
        return
    wait = _hit(limit, str(subject))
    if wait is not None:
        raise RateLimitedError(
            f"Too many requests ({limit.count} per {limit.window_s}s allowed for {name}); "
            f"try again in {wait}s.",
            retry_after=wait,
        )


def client_ip(meta: dict) -> str:
    """The peer address; behind a proxy set CONCORD_TRUST_X_FORWARDED_FOR=1."""
    if getattr(settings, "CONCORD_TRUST_X_FORWARDED_FOR", False):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return meta.get("REMOTE_ADDR", "") or "unknown"
