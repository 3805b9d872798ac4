"""Shared fixtures: personas for the role matrix and test-speed settings."""

from __future__ import annotations

import pytest

from tests.factories import ConversationFactory, ParticipantFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):  # type: ignore[no-untyped-def]
    """On SQLite, test in a file as production does, not in Django's shared-cache memory database.

    The live-server tests send concurrent requests: in a file each server thread has its own
    connection and WAL + the busy timeout serialise writers, whereas the in-memory database
    shares one connection across threads and answers "database table is locked" at once.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test_file = tmp_path_factory.mktemp("sqlite") / "test_concord.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_file)
    _embedded_channel_layer_beside(tmp_path_factory.mktemp("channels") / "channels.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's test database, dropped cleanly on PostgreSQL.

    Django drops it at the end after closing its own pool, but a connection another thread still
    holds (a live server's, a group-commit batcher's, a channels consumer's) made the DROP fail
    with "being accessed by other users" and left `test_postgres` behind for the next run. So
    before the drop, every other session on the test database is ended.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    name = connection.settings_dict["NAME"]
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )


def _embedded_channel_layer_beside(path):  # type: ignore[no-untyped-def]
    """The embedded layer's file belongs to this test session, not to the developer's db.sqlite3.

    Otherwise broadcasts from the tests would land in the file a running `make run` polls.
    """
    from channels.layers import channel_layers
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"] == "kernel.channel_layer.SQLiteChannelLayer":
        layer["CONFIG"]["path"] = str(path)
        channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _rate_limit_clock_inside_a_window(monkeypatch):  # type: ignore[no-untyped-def]
    """Pin the limiter's clock 30 s into a minute, an hour and a day: a test's requests then
    never straddle a window edge, where a fixed window rightly starts counting afresh (a
    4-request test on a busy machine crossed a minute boundary and saw no 429)."""
    from kernel import ratelimit

    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_030.0)


@pytest.fixture(autouse=True)
def _fresh_broadcast_throttle():  # type: ignore[no-untyped-def]
    """Vote-count pushes are throttled per statement id; ids repeat between tests."""
    from kernel import realtime

    realtime._last_sent.clear()


@pytest.fixture
def conversation(db):  # type: ignore[no-untyped-def]
    return ConversationFactory()


@pytest.fixture
def moderator(conversation):  # type: ignore[no-untyped-def]
    user = UserFactory(username="mona-moderator")
    conversation.moderators.add(user)
    return user


@pytest.fixture
def researcher(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="rhea-researcher", groups=["researchers"])


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="ada-admin", is_superuser=True, is_staff=True)


@pytest.fixture
def participant(conversation):  # type: ignore[no-untyped-def]
    return ParticipantFactory(conversation=conversation)


@pytest.fixture(autouse=True)
def _forget_recent_recomputes():  # type: ignore[no-untyped-def]
    """The recompute debounce and the push throttle remember per process: start each test afresh."""
    from consensus.snapshots import scheduling
    from kernel import realtime

    scheduling._recently_queued.clear()
    realtime._last_sent.clear()
    yield
    scheduling._recently_queued.clear()
    realtime._last_sent.clear()
