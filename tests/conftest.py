"""Shared fixtures: personas for the role matrix and test-speed settings."""

from __future__ import annotations

import pytest

from tests.factories import ConversationFactory, ParticipantFactory, UserFactory


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
def _fresh_broadcast_throttle():  # type: ignore[no-untyped-def]
    """Vote-count pushes are throttled per statement id; ids repeat between tests."""
    from deliberation import realtime

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
    """The debounce memo is per process; a test must not inherit another test's window."""
    from consensus import scheduling

    scheduling._recently_queued.clear()
    yield
    scheduling._recently_queued.clear()
