"""Limits that hold: the client address cannot be spoofed, and counters are shared by processes.

The report: with CONCORD_TRUST_X_FORWARDED_FOR=1 the leftmost, client-written X-Forwarded-For
entry was trusted (1,000 participants in 19 s from one client); without Redis each server
process counted on its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import close_old_connections
from rest_framework.test import APIClient

from kernel import ratelimit
from kernel.models import RateLimitCounter

ROOT = Path(__file__).resolve().parents[2]


def _meta(forwarded: str | None, peer: str = "10.0.0.1") -> dict[str, str]:
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return meta


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # no proxy configured: the header is ignored
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client wrote 6.6.6.6 itself
        (1, "203.0.113.7", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),  # fewer entries than proxies: did not come through them
        (1, "6.6.6.6, not-an-address", "10.0.0.1"),
        (1, None, "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_entry_that_many_hops_from_the_right(settings, hops, forwarded, expected):
    settings.CONCORD_TRUSTED_PROXIES = hops
    assert ratelimit.client_ip(_meta(forwarded)) == expected


def _settings_in_subprocess(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_old_trust_switch_now_means_one_proxy_not_the_leftmost_entry():
    done = _settings_in_subprocess(
        {"CONCORD_TRUST_X_FORWARDED_FOR": "1"}, "settings.CONCORD_TRUSTED_PROXIES"
    )
    assert done.stdout.strip() == "1", done.stderr


def test_a_bad_proxy_count_fails_at_boot():
    done = _settings_in_subprocess({"CONCORD_TRUSTED_PROXIES": "-1"}, "1")
    assert done.returncode != 0 and "ImproperlyConfigured" in done.stderr


@pytest.mark.django_db
def test_spoofed_forwarded_headers_do_not_mint_participants(conversation, settings):
    settings.CONCORD_TRUSTED_PROXIES = 1
    settings.CONCORD_RATE_LIMITS = {"join_ip": (3, 60)}
    url = f"/api/v1/conversations/{conversation.slug}/participants/"
    codes = [
        APIClient()
        .post(url, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7", REMOTE_ADDR="10.0.0.1")
        .status_code
        for i in range(6)
    ]
    assert codes == [201, 201, 201, 429, 429, 429]


@pytest.mark.django_db
def test_database_counters_count_every_hit_once(settings):
    settings.CONCORD_RATE_LIMIT_STORE = "database"
    settings.CONCORD_RATE_LIMITS = {"vote_ip": (3, 60)}
    errors = [ratelimit.rate_limits_hit([("vote_ip", "203.0.113.7")])[0] for _ in range(5)]
    assert [e is None for e in errors] == [True, True, True, False, False]
    assert RateLimitCounter.objects.get().count == 5


@pytest.mark.django_db
def test_a_batch_counts_repeated_subjects_hit_by_hit(settings):
    """A batch of votes from one classroom address: the fourth and fifth hit are over."""
    settings.CONCORD_RATE_LIMIT_STORE = "database"
    settings.CONCORD_RATE_LIMITS = {"vote_ip": (3, 60), "vote_participant": (1, 60)}
    hits = [("vote_ip", "203.0.113.7"), ("vote_participant", 1)] * 5
    errors = ratelimit.rate_limits_hit(hits)
    assert [e is None for e in errors[0::2]] == [True, True, True, False, False]
    assert [e is None for e in errors[1::2]] == [True, False, False, False, False]
    assert sorted(RateLimitCounter.objects.values_list("count", flat=True)) == [5, 5]


@pytest.mark.django_db(transaction=True)
def test_database_counters_are_shared_by_concurrent_writers(settings):
    """Threads stand in for server processes: each has its own database connection."""
    settings.CONCORD_RATE_LIMIT_STORE = "database"
    settings.CONCORD_RATE_LIMITS = {"join_ip": (1000, 60)}
    start = threading.Barrier(4)
    counted: list[list] = []

    def hit() -> None:
        start.wait()
        try:
            for _ in range(10):
                counted.append(ratelimit.rate_limits_hit([("join_ip", "203.0.113.9")] * 2))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert RateLimitCounter.objects.get().count == 80
    assert len(counted) == 40


def test_per_process_counters_warn_at_startup(settings):
    settings.CONCORD_RATE_LIMIT_STORE = "memory"
    settings.DEBUG = False
    assert [w.id for w in ratelimit.rate_limit_store_check()] == ["kernel.W001"]
    settings.CONCORD_RATE_LIMIT_STORE = "database"
    assert ratelimit.rate_limit_store_check() == []


@pytest.mark.django_db
def test_a_fixed_window_counts_afresh_past_its_edge(settings, monkeypatch):
    """Why the test clock is pinned inside a window (tests/conftest.py): across an edge the
    count restarts, so requests that straddle one are not refused."""
    settings.CONCORD_RATE_LIMIT_STORE = "database"
    settings.CONCORD_RATE_LIMITS = {"vote_ip": (2, 60)}

    def allowed() -> bool:
        return ratelimit.rate_limits_hit([("vote_ip", "203.0.113.7")])[0] is None

    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_059.5)
    assert [allowed() for _ in range(3)] == [True, True, False]
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_060.5)
    assert allowed()
