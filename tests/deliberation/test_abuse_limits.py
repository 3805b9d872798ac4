"""Rate limits answer 429 with Retry-After; moderator actions land in the audit log."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deliberation import services
from deliberation.models import AuditEvent, Participant, Vote
from tests.factories import StatementFactory

pytestmark = pytest.mark.django_db


def _joined(conversation) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    assert (
        client.post(f"/api/v1/conversations/{conversation.slug}/participants/").status_code == 201
    )
    return client


def test_votes_past_the_per_participant_limit_get_429_with_retry_after(conversation, settings):
    settings.CONCORD_RATE_LIMITS = {"vote_participant": (3, 60)}
    statements = [StatementFactory(conversation=conversation) for _ in range(5)]
    client = _joined(conversation)
    url = f"/api/v1/conversations/{conversation.slug}/votes/"
    codes = [
        client.post(url, {"statement_id": s.pk, "value": 1}, format="json").status_code
        for s in statements
    ]
    assert codes == [200, 200, 200, 429, 429]
    refused = client.post(url, {"statement_id": statements[4].pk, "value": 1}, format="json")
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert refused.json()["code"] == "rate_limited"
    assert Vote.objects.count() == 3


def test_statement_submissions_are_limited_per_participant(conversation, settings):
    settings.CONCORD_RATE_LIMITS = {"statement_participant": (2, 60)}
    client = _joined(conversation)
    url = f"/api/v1/conversations/{conversation.slug}/statements/"
    codes = [
        client.post(url, {"text": f"My own statement {i}"}, format="json").status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


def test_participants_created_per_ip_are_capped(conversation, settings):
    settings.CONCORD_RATE_LIMITS = {"join_ip": (2, 60)}
    url = f"/api/v1/conversations/{conversation.slug}/participants/"
    codes = [APIClient().post(url).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert Participant.objects.count() == 2


def test_rejoining_with_the_same_session_is_not_counted(conversation, settings):
    settings.CONCORD_RATE_LIMITS = {"join_ip": (1, 60)}
    client = APIClient()
    url = f"/api/v1/conversations/{conversation.slug}/participants/"
    assert [client.post(url).status_code for _ in range(3)] == [201, 201, 201]


def test_moderator_actions_are_audited(conversation, moderator):
    statement = services.statement_seed(
        conversation=conversation, text="Be honest.", user=moderator
    )
    services.statement_moderate(
        statement=statement, state="rejected", reason="off topic", user=moderator
    )
    services.conversation_update(conversation=conversation, data={"is_open": False}, user=moderator)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor__username"))
    assert actions == [
        ("statement.seed", "mona-moderator"),
        ("statement.rejected", "mona-moderator"),
        ("conversation.update", "mona-moderator"),
    ]
    client = APIClient()
    client.force_authenticate(moderator)
    listed = client.get(f"/api/v1/conversations/{conversation.slug}/audit/").json()
    assert [row["action"] for row in listed["results"]][0] == "conversation.update"
    assert APIClient().get(f"/api/v1/conversations/{conversation.slug}/audit/").status_code == 403


def test_with_redis_the_counters_are_shared_in_redis(conversation, settings):
    import redis

    settings.REDIS_URL = "redis://127.0.0.1:6379/12"
    settings.CONCORD_RATE_LIMIT_STORE = "redis"  # what settings.py picks when REDIS_URL is set
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    settings.CONCORD_RATE_LIMITS = {"vote_participant": (2, 60)}
    statements = [StatementFactory(conversation=conversation) for _ in range(3)]
    client = _joined(conversation)
    url = f"/api/v1/conversations/{conversation.slug}/votes/"
    codes = [
        client.post(url, {"statement_id": s.pk, "value": 1}, format="json").status_code
        for s in statements
    ]
    assert codes == [200, 200, 429]
    keys = redis.Redis.from_url(settings.REDIS_URL).keys("rl:vote_participant:*")
    assert len(keys) == 1
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
