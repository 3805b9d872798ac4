"""Who may call what: every (endpoint or page, method) against every role, as one table.

The tables below are the README's role table as data; `test_the_tables_cover_every_route`
walks the whole URL conf, so a new endpoint or page without a row fails the suite.

Roles: anonymous, participant of this conversation / of another (identified by their participant
token), moderator of this conversation / of another (both in the global "moderators" group, so
both may create conversations), researcher ("researchers" group) and admin (superuser).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from alignment.models import ConstitutionVersion, TrainingRun
from deliberation import services
from tests.factories import (
    ConversationFactory,
    JobFactory,
    ParticipantFactory,
    SnapshotFactory,
    StatementFactory,
    UserFactory,
    constitution_document,
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
    ("post", C + "statements/moderate/", {"statement_ids": ["{pending}"], **ACCEPT},
     (403, 403, 403, 200, 403, 403, 200)),
    ("post", C + "statements/seed/", {"texts": ["Seeded in bulk."]},
     (403, 403, 403, 200, 403, 403, 200)),
    ("post", C + "participants/", None, (201, 201, 403, 201, 201, 201, 201)),
    ("post", C + "participants/{participant}/revoke/", None, (403, 403, 403, 200, 403, 403, 200)),
    ("get", C + "me/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "me/votes/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("delete", C + "me/votes/{accepted}/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("post", C + "me/signout/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("put", C + "me/demographics/", ANSWERS, (403, 200, 403, 403, 403, 403, 403)),
    ("delete", C + "me/demographics/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "next/", None, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "votes/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("post", C + "votes/", VOTE, (403, 200, 403, 403, 403, 403, 403)),
    ("get", C + "audit/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("get", "/api/v1/health/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/jobs/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/jobs/{job}/", None, (404, 404, 404, 200, 404, 200, 200)),
    ("get", C + "consensus/", None, (200, 200, 200, 200, 200, 200, 200)),
    ("post", C + "consensus/recompute/", None, (403, 403, 403, 202, 403, 202, 202)),
    ("get", C + "constitutions/", None, (200, 200, 200, 200, 200, 200, 200)),
    # allowed roles get past the permission check to a clear 400 (this snapshot has no groups)
    ("post", C + "constitutions/", {"rule": "gic"}, (403, 403, 403, 400, 403, 400, 400)),
    ("get", "/api/v1/constitutions/{constitution}/", None, (200, 200, 200, 200, 200, 200, 200)),
    # a draft is for its builders until published
    ("get", "/api/v1/constitutions/{draft}/", None, (404, 404, 404, 200, 404, 200, 200)),
    ("post", "/api/v1/constitutions/{draft}/publish/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("get", "/api/v1/constitutions/{constitution}/diff/{constitution}/", None,
     (200, 200, 200, 200, 200, 200, 200)),
    ("get", C + "training-runs/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("post", C + "training-runs/", {"model": "tiny"}, (403, 403, 403, 202, 403, 202, 202)),
    ("get", "/api/v1/training-runs/{run}/", None, (403, 403, 403, 200, 403, 200, 200)),
    ("get", "/api/v1/training-runs/{run}/export/", None, (403, 403, 403, 200, 403, 200, 200)),
    # the world's run is queued, not interrupted: those who may resume it hear why they cannot
    ("post", "/api/v1/training-runs/{run}/resume/", None, (403, 403, 403, 400, 403, 400, 400)),
    ("get", "/api/v1/constitutions/{constitution}/prompts/", None,
     (200, 200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/constitutions/{draft}/prompts/", None, (404, 404, 404, 200, 404, 200, 200)),
]  # fmt: skip

P = "/c/{slug}/"
# Pages (session auth): 302 = sent to the login page.
#            anon  ptpt  other  mod  o-mod  res  admin
PAGES = [
    ("get", "/", (200, 200, 200, 200, 200, 200, 200)),
    ("get", "/new/", (302, 302, 302, 200, 200, 403, 200)),
    ("get", P, (200, 200, 200, 200, 200, 200, 200)),
    ("get", P + "moderate/", (302, 302, 302, 200, 403, 403, 200)),
    ("get", P + "report/", (302, 302, 302, 200, 403, 200, 200)),
    ("get", P + "export/polis.zip", (302, 302, 302, 200, 403, 200, 200)),
    ("get", P + "export/snapshot.json", (302, 302, 302, 200, 403, 200, 200)),
    # constitutions are public (build/import controls only show for the roles the API allows)
    ("get", P + "constitution/", (200, 200, 200, 200, 200, 200, 200)),
    ("get", P + "constitution/{constitution}.json", (200, 200, 200, 200, 200, 200, 200)),
    ("get", P + "constitution/{draft}.json", (404, 404, 404, 200, 404, 200, 200)),
    ("get", P + "training/", (302, 302, 302, 200, 403, 200, 200)),
]  # fmt: skip
# Framework routes outside the role model: Django admin (staff only), login/logout and password
# views, the language switcher, the OpenAPI schema/docs and the token endpoint (public).
FRAMEWORK_PREFIXES = (
    "admin/",
    "accounts/",
    "i18n/",
    "api/schema/",
    "api/docs/",
    "api/v1/auth/token/",
    "^api/",
)

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
        "participant": ParticipantFactory(conversation=conversation).pk,
        "job": JobFactory(conversation=conversation).pk,
        "snapshot": SnapshotFactory(conversation=conversation).pk,
        "constitution": _constitution(conversation, version=1, published=True),
        "draft": _constitution(conversation, version=2, published=False),
        "run": TrainingRun.objects.create(
            conversation=conversation, model_spec="tiny", out_dir="/nonexistent"
        ).pk,
    }


def _constitution(conversation, *, version: int, published: bool) -> int:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    document = constitution_document()
    return ConstitutionVersion.objects.create(
        conversation=conversation,
        version=version,
        rule="manual",
        document=document,
        content_hash=str(version) * 64,
        published_at=timezone.now() if published else None,
    ).pk


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
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CASES)
def test_role_matrix(world, method, path, body, role, expected):
    client = client_as(role, world)
    response = getattr(client, method)(path.format(**world), _fill(body, world), format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) == {"message", "code", "extra"}


PAGE_CASES = [
    pytest.param(method, path, role, expected, id=f"page {method} {path} as {role}")
    for method, path, statuses in PAGES
    for role, expected in zip(ROLES, statuses, strict=True)
]


def page_client_as(role, world):  # type: ignore[no-untyped-def]
    """Pages use sessions: participants join through the API in the same browser session."""
    from django.test import Client

    client = Client()
    if role in ("participant", "other_participant"):
        slug = world["slug"] if role == "participant" else world["other"].slug
        client.post(f"/api/v1/conversations/{slug}/participants/")
    elif role != "anonymous":
        api = client_as(role, world)
        client.force_login(api.handler._force_user)
    return client


@pytest.mark.parametrize(("method", "path", "role", "expected"), PAGE_CASES)
def test_page_role_matrix(world, method, path, role, expected):
    client = page_client_as(role, world)
    response = getattr(client, method)(path.format(**world))
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/")


def _routes(resolver, prefix=""):  # type: ignore[no-untyped-def]
    from django.urls import URLResolver

    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, route)
        else:
            yield route


def _as_route(path: str) -> str:
    return (
        path.lstrip("/")
        .replace("{slug}", "<slug:slug>")
        .replace("{pending}", "<int:statement_id>")
        .replace("{accepted}", "<int:statement_id>")
        .replace("{draft}", "<int:constitution_id>")
        .replace("{job}", "<int:job_id>")
        .replace("{participant}", "<int:participant_id>")
        .replace("{run}", "<int:run_id>")
        .replace("diff/{constitution}", "diff/<int:other_id>")
        .replace("{constitution}", "<int:constitution_id>")
    )


def test_the_tables_cover_every_route():
    from django.urls import get_resolver

    routed = {r for r in _routes(get_resolver()) if not r.startswith(FRAMEWORK_PREFIXES)}
    tabled = {_as_route(path) for _, path, _, _ in TABLE} | {_as_route(p) for _, p, _ in PAGES}
    assert routed == tabled


@pytest.mark.parametrize("role", ["anonymous", "participant", "other_moderator"])
def test_outsiders_see_no_jobs_in_the_list(world, role):
    assert client_as(role, world).get("/api/v1/jobs/").json()["count"] == 0


@pytest.mark.parametrize("role", ["anonymous", "participant", "other_moderator"])
def test_outsiders_see_only_accepted_statements(world, role):
    results = client_as(role, world).get(C.format(**world) + "statements/").json()["results"]
    assert [s["id"] for s in results] == [world["accepted"]]


def _snapshot_with_people(world):  # type: ignore[no-untyped-def]
    """A snapshot naming two participants (one of them this role's), with demographics."""
    from consensus.snapshots.models import Snapshot

    mine = ParticipantFactory(conversation=world["conversation"])
    people = [
        {"id": mine.pk, "group": 0, "x": 0.5, "y": -0.25, "n_votes": 3, "in_conv": True},
        {
            "id": world["participant"],
            "group": 1,
            "x": -1.0,
            "y": 0.75,
            "n_votes": 4,
            "in_conv": True,
        },
    ]
    Snapshot.objects.filter(pk=world["snapshot"]).update(
        result={
            "participants": people,
            "groups": [{"id": 0, "size": 1, "center": [0.5, -0.25], "repness": []}],
            "statements": [],
            "demographics": {"age": {"30+": {"0": 1}}},
        }
    )
    return mine


TIER_BY_ROLE = {
    "anonymous": "public",
    "participant": "participant",
    "other_participant": "public",
    "moderator": "full",
    "other_moderator": "public",
    "researcher": "full",
    "admin": "full",
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_its_snapshot_tier(world, role):
    """Participant ids, coordinates by id and demographics only for moderators and researchers;
    a participant sees their own point and group, anyone else the public summary."""
    mine = _snapshot_with_people(world)
    client = client_as(role, world)
    if role == "participant":  # the participant whose point is in the snapshot
        client.credentials(HTTP_X_PARTICIPANT_TOKEN=services.participant_token(mine))
    result = client.get(C.format(**world) + "consensus/").json()["result"]
    assert result["tier"] == TIER_BY_ROLE[role]
    if result["tier"] == "full":
        assert "demographics" in result and {p["id"] for p in result["participants"]} >= {mine.pk}
        return
    assert "demographics" not in result
    assert all("id" not in point for point in result["participants"])
    assert result["map"] == {"points_total": 2, "grouped": 2}
    if result["tier"] == "participant":
        assert result["me"] == {"group": 0, "in_conv": True, "x": 0.5, "y": -0.25}


def test_a_participant_may_ask_for_less_but_not_more(world):
    mine = _snapshot_with_people(world)
    client = APIClient()
    client.credentials(HTTP_X_PARTICIPANT_TOKEN=services.participant_token(mine))
    url = C.format(**world) + "consensus/"
    assert client.get(url + "?tier=full").json()["result"]["tier"] == "participant"
    assert client.get(url + "?tier=public").json()["result"]["tier"] == "public"
    assert client.get(url + "?tier=everything").status_code == 400
