"""Who may call what: every (endpoint, method) against every role, as one table.

Roles: anonymous, participant of this conversation / of another (identified by their participant
token), moderator of this conversation / of another (both in the global "moderators" group, so
both may create conversations), researcher ("researchers" group) and admin (superuser).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deliberation import services
from tests.factories import (
    ConversationFactory,
    JobFactory,
    ParticipantFactory,
    SnapshotFactory,
    StatementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous", "participant", "other_participant", "moderator", "other_moderator",
    "researcher", "admin",
)  # fmt: skip

C = "/api/v1/conversations/{slug}/"
QUESTIONS = [{"key": "age", "choices": ["18-29", "30+"]}]
ACCEPT = {"state": "accepted"}
ANSWERS = {"consent": True, "answers": {"age": "30+"}}
VOTE = {"statement_id": "{accepted}", "value": 1}

# (method, path, body, expected status per role in ROLES order)
#            anon  ptpt  other  mod  o-mod  res  admin
TABLE = [
    ("get", "/api/v1/conversations/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("post", "/api/v1/conversations/", {"topic": "New one"}, (403, 403, 403, 201, 201, 403, 201)),
    ("get", C, None, (200, 200, 200, 200, 200, 200, 200)),
    ("patch", C, {"is_open": False}, (403, 403, 403, 200, 403, 403, 200)),
    ("get", C + "stats/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("get", C + "statements/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("post", C + "statements/", {"text": "A fresh idea."}, (403, 201, 403, 201, 403, 403, 201)),
    ("post", C + "statements/{pending}/moderate/", ACCEPT, (403, 403, 403, 200, 403, 403, 200)),
    ("post", C + "participants/", None, (201, 201, 403, 201, 201, 201, 201)),
    ("get", C + "me/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("put", C + "me/demographics/", ANSWERS, (403, 200, 403, 403, 403, 403, 403)),
    ("delete", C + "me/demographics/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "next/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "votes/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("post", C + "votes/", VOTE, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "audit/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("get", "/api/v1/jobs/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/jobs/{job}/", None, (404, 404, 404, 200, 404, 200, 200)),
    ("get", C + "consensus/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("post", C + "consensus/recompute/", None, (403, 403, 403, 202, 403, 202, 202)),
]  # fmt: skip

CASES = [
    pytest.param(method, path, body, role, expected, id=f"{method} {path} as {role}")
    for method, path, body, statuses in TABLE
    for role, expected in zip(ROLES, statuses, strict=True)
]


@pytest.fixture
def world(conversation):  # type: ignore[no-untyped-def]
    """This conversation with an accepted and a pending statement, a job, a snapshot; another."""
    conversation.demographic_questions = QUESTIONS
    conversation.save()
    other = ConversationFactory()
    return {
        "conversation": conversation,
        "other": other,
        "slug": conversation.slug,
        "accepted": StatementFactory(conversation=conversation).pk,
        "pending": StatementFactory(conversation=conversation, moderation="pending").pk,
        "job": JobFactory(conversation=conversation).pk,
        "snapshot": SnapshotFactory(conversation=conversation).pk,
    }


def client_as(role, world):  # type: ignore[no-untyped-def]
    client = APIClient()
    if role in ("participant", "other_participant"):
        where = world["conversation"] if role == "participant" else world["other"]
        token = services.participant_token(ParticipantFactory(conversation=where))
        client.credentials(HTTP_X_PARTICIPANT_TOKEN=token)
    elif role in ("moderator", "other_moderator"):
        user = UserFactory(groups=["moderators"])
        where = world["conversation"] if role == "moderator" else world["other"]
        where.moderators.add(user)
        client.force_authenticate(user)
    elif role == "researcher":
        client.force_authenticate(UserFactory(groups=["researchers"]))
    elif role == "admin":
        client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    return client


def _fill(value, world):  # type: ignore[no-untyped-def]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CASES)
def test_role_matrix(world, method, path, body, role, expected):
    client = client_as(role, world)
    response = getattr(client, method)(path.format(**world), _fill(body, world), format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) == {"message", "code", "extra"}


def test_the_table_covers_every_routed_endpoint():
    from django.urls import get_resolver

    routed = {
        str(p.pattern)
        for urls in ("deliberation.urls", "consensus.urls")
        for p in get_resolver(urls).url_patterns
    }
    tabled = {
        path.removeprefix("/api/v1/")
        .replace("{slug}", "<slug:slug>")
        .replace("{pending}", "<int:statement_id>")
        .replace("{job}", "<int:job_id>")
        for _, path, _, _ in TABLE
    }
    assert routed == tabled


@pytest.mark.parametrize("role", ["anonymous", "participant", "other_moderator"])
def test_outsiders_see_no_jobs_in_the_list(world, role):
    assert client_as(role, world).get("/api/v1/jobs/").json()["count"] == 0


@pytest.mark.parametrize("role", ["anonymous", "participant", "other_moderator"])
def test_outsiders_see_only_accepted_statements(world, role):
    results = client_as(role, world).get(C.format(**world) + "statements/").json()["results"]
    assert [s["id"] for s in results] == [world["accepted"]]
