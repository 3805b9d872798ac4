"""Fixed-window rate limits on the write endpoints, kept in Django's cache.

The cache is per process by default (one server process in `make run`) and Redis when
`REDIS_URL` is set, so several server processes share the counters. A whole classroom may vote
from one NAT address, so per-IP limits are generous and per-participant limits are the tight ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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


def _hit(limit: Limit, subject: str) -> int | None:
    """Count one hit; return seconds to wait when over the limit, else None."""
    window = int(time.time() // limit.window_s)
    key = f"rl:{limit.name}:{subject}:{window}"
    cache.add(key, 0, timeout=limit.window_s + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr: start the window again
        cache.set(key, 1, timeout=limit.window_s + 1)
        used = 1
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
