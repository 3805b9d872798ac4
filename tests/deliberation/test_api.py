"""The HTTP API end to end: happy paths, error shape, pagination, filters and the three auths."""

from __future__ import annotations

import json

import pytest
import yaml
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from deliberation import services
from deliberation.models import Conversation, DemographicAnswer, Statement, Vote
from kernel.models import Job
from tests.factories import (
    JobFactory,
    ParticipantFactory,
    SnapshotFactory,
    StatementFactory,
    UserFactory,
    VoteFactory,
)

pytestmark = pytest.mark.django_db

QUESTIONS = [{"key": "age", "label": "Age", "choices": ["18-29", "30-49", "50+"]}]


def url(conversation, tail=""):  # type: ignore[no-untyped-def]
    return f"/api/v1/conversations/{conversation.slug}/{tail}"


def assert_error(response, status, *words):  # type: ignore[no-untyped-def]
    """Every failure is a 4xx JSON body {"message", "code", "extra"} naming the problem."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "code", "extra"}, body
    for word in words:
        assert word in body["message"], body
    return body


@pytest.fixture
def api():  # type: ignore[no-untyped-def]
    return APIClient()


@pytest.fixture
def as_moderator(api, moderator):  # type: ignore[no-untyped-def]
    api.force_authenticate(moderator)
    return api


@pytest.fixture
def as_participant(api, participant):  # type: ignore[no-untyped-def]
    api.credentials(HTTP_X_PARTICIPANT_TOKEN=services.participant_token(participant))
    return api


@pytest.fixture
def statement(conversation):  # type: ignore[no-untyped-def]
    return StatementFactory(conversation=conversation)


# --- conversations ------------------------------------------------------------------------------


def test_anyone_lists_conversations_with_limit_and_offset(api):
    for i in range(5):
        Conversation.objects.create(slug=f"c-{i}", topic=f"Topic {i}")
    page = api.get("/api/v1/conversations/?limit=2&offset=1").json()
    assert page["count"] == 5 and len(page["results"]) == 2
    assert page["next"] and page["previous"]


def test_the_conversation_list_filters_on_is_open(api):
    Conversation.objects.create(slug="open", topic="Open")
    Conversation.objects.create(slug="closed", topic="Closed", is_open=False)
    results = api.get("/api/v1/conversations/?is_open=false").json()["results"]
    assert [c["slug"] for c in results] == ["closed"]


def test_a_moderator_creates_a_conversation_and_moderates_it(api):
    creator = UserFactory(groups=["moderators"])
    api.force_authenticate(creator)
    response = api.post(
        "/api/v1/conversations/",
        {"topic": "Values for AI", "languages": ["en", "ar"], "demographic_questions": QUESTIONS},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "values-for-ai"
    assert Conversation.objects.get(slug="values-for-ai").moderators.filter(pk=creator.pk).exists()


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({}, 400, ["topic"]),
        ({"topic": "   "}, 400, ["topic"]),
        ({"topic": "T", "slug": "not a slug!"}, 400, ["slug"]),
        ({"topic": "T", "demographic_questions": [{"label": "no key"}]}, 400, ["key"]),
        ({"topic": "T", "demographic_questions": "age"}, 400, ["demographic_questions"]),
        ({"topic": "T", "languages": "en"}, 400, ["languages"]),
    ],
)
def test_it_rejects_bad_conversations(api, admin_user, payload, status, words):
    api.force_authenticate(admin_user)
    assert_error(api.post("/api/v1/conversations/", payload, format="json"), status, *words)
    assert not Conversation.objects.exists()


def test_it_rejects_a_taken_slug(api, admin_user, conversation):
    api.force_authenticate(admin_user)
    response = api.post("/api/v1/conversations/", {"topic": "T", "slug": conversation.slug})
    assert_error(response, 409, conversation.slug)


def test_anyone_reads_a_conversation(api, conversation):
    assert api.get(url(conversation)).json()["topic"] == conversation.topic


def test_an_unknown_conversation_is_a_json_404(api):
    assert_error(api.get("/api/v1/conversations/nope/"), 404)
    assert_error(api.get("/api/v1/conversations/nope/statements/"), 404)


def test_a_moderator_closes_a_conversation(as_moderator, conversation):
    response = as_moderator.patch(url(conversation), {"is_open": False}, format="json")
    assert response.status_code == 200 and response.json()["is_open"] is False
    conversation.refresh_from_db()
    assert conversation.is_open is False


@pytest.mark.parametrize(
    ("payload", "word"),
    [
        ({"topic": ""}, "topic"),
        ({"is_open": "maybe"}, "is_open"),
        ({"demographic_questions": [1]}, "key"),
    ],
)
def test_it_rejects_bad_conversation_updates(as_moderator, conversation, payload, word):
    assert_error(as_moderator.patch(url(conversation), payload, format="json"), 400, word)


def test_moderators_read_live_stats(as_moderator, conversation, statement):
    VoteFactory(statement=statement, participant__conversation=conversation)
    stats = as_moderator.get(url(conversation, "stats/")).json()
    assert stats["votes"] == 1 and stats["participants"] == 1 and stats["statements_accepted"] == 1


# --- statements ---------------------------------------------------------------------------------


def test_a_participant_submits_a_statement_that_waits_for_moderation(as_participant, conversation):
    response = as_participant.post(url(conversation, "statements/"), {"text": "AI must be honest."})
    assert response.status_code == 201 and response.json()["moderation"] == "pending"
    assert as_participant.get(url(conversation, "statements/")).json()["count"] == 0


def test_a_moderators_statement_is_an_accepted_seed(as_moderator, conversation):
    response = as_moderator.post(url(conversation, "statements/"), {"text": "AI must be honest."})
    assert response.status_code == 201
    assert response.json()["is_seed"] is True and response.json()["moderation"] == "accepted"


@pytest.mark.parametrize(
    ("text", "status", "word"),
    [
        ("", 400, "blank"),  # the schema says so too (pattern \S)
        ("  \u200b ", 400, "empty"),
        ("x" * 1001, 400, "limit is 1000"),
        ("x" * 20001, 400, "text"),
        ("nul\x00byte", 400, "NUL"),  # refused before parsing (kernel/middleware.py)
    ],
)
def test_it_rejects_bad_statements(as_participant, conversation, text, status, word):
    response = as_participant.post(url(conversation, "statements/"), {"text": text}, format="json")
    assert_error(response, status, word)
    assert not Statement.objects.exists()


def test_it_rejects_a_duplicate_statement_naming_the_original(
    as_participant, conversation, statement
):
    response = as_participant.post(
        url(conversation, "statements/"), {"text": statement.text.upper()}
    )
    body = assert_error(response, 409, "duplicates")
    assert body["code"] == "conflict" and body["extra"] == {"statement_id": statement.pk}


def test_it_rejects_statements_in_a_closed_conversation(as_participant, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(is_open=False)
    response = as_participant.post(url(conversation, "statements/"), {"text": "Late."})
    assert assert_error(response, 409, "closed")["code"] == "conversation_closed"


def test_it_rejects_statements_when_participants_may_not_write(as_participant, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(participant_statements_allowed=False)
    assert_error(as_participant.post(url(conversation, "statements/"), {"text": "Hi."}), 403)


def test_moderators_filter_statements_by_moderation(as_moderator, conversation, statement):
    pending = StatementFactory(conversation=conversation, moderation="pending")
    results = as_moderator.get(url(conversation, "statements/?moderation=pending")).json()[
        "results"
    ]
    assert [s["id"] for s in results] == [pending.pk]
    assert "n_agree" in results[0]


def test_statements_page_with_limit_and_offset(api, conversation):
    ids = [StatementFactory(conversation=conversation).pk for _ in range(5)]
    page = api.get(url(conversation, "statements/?limit=2&offset=2")).json()
    assert page["count"] == 5 and [s["id"] for s in page["results"]] == ids[2:4]


def test_the_public_never_sees_pending_or_rejected_statements(api, conversation, statement):
    StatementFactory(conversation=conversation, moderation="pending")
    StatementFactory(conversation=conversation, moderation="rejected")
    results = api.get(url(conversation, "statements/?moderation=pending")).json()["results"]
    assert results == []
    assert [s["id"] for s in api.get(url(conversation, "statements/")).json()["results"]] == [
        statement.pk
    ]


def test_it_rejects_an_unknown_moderation_filter_with_a_json_400(as_moderator, conversation):
    response = as_moderator.get(url(conversation, "statements/?moderation=bogus"))
    assert_error(response, 400, "moderation", "bogus")


def test_statements_filter_on_is_seed(api, conversation, statement):
    seed = StatementFactory(conversation=conversation, is_seed=True)
    results = api.get(url(conversation, "statements/?is_seed=true")).json()["results"]
    assert [s["id"] for s in results] == [seed.pk]


BAD_PAGES = ["limit=abc", "limit=0", "offset=-3", "offset=zz", "offset=null", "limit=1001"]
HUGE = ["limit=100000000000000000000", "offset=100000000000000000000", "limit=%00"]


@pytest.mark.parametrize("query", BAD_PAGES + HUGE)
def test_a_bad_page_parameter_is_refused_with_400_not_guessed(
    as_moderator, conversation, statement, query
):
    """`offset=null` used to mean 0 and `10^20` overflowed PostgreSQL's bigint (a 500)."""
    page = as_moderator.get(url(conversation, f"statements/?{query}"))
    assert page.status_code == 400, page.content
    assert set(page.json()) == {"message", "code", "extra"}


@pytest.mark.parametrize("query", HUGE)
def test_public_lists_refuse_huge_page_parameters_too(api, conversation, statement, query):
    for path in (url(conversation, "statements/"), "/api/v1/conversations/", "/api/v1/jobs/"):
        assert api.get(f"{path}?{query}").status_code == 400


def test_a_page_holds_at_most_the_maximum_page_size(as_moderator, conversation, settings):
    settings.CONCORD_API_MAX_PAGE_SIZE = 2
    for i in range(3):
        StatementFactory(conversation=conversation, text=f"row {i}")
    assert as_moderator.get(url(conversation, "statements/?limit=3")).status_code == 400
    page = as_moderator.get(url(conversation, "statements/?limit=2")).json()
    assert len(page["results"]) == 2 and page["next"]


def test_a_moderator_accepts_and_rejects_with_a_reason(as_moderator, conversation):
    first, second = (
        StatementFactory(conversation=conversation, moderation="pending") for _ in "ab"
    )
    accepted = as_moderator.post(
        url(conversation, f"statements/{first.pk}/moderate/"), {"state": "accepted"}
    )
    assert accepted.status_code == 200 and accepted.json()["moderation"] == "accepted"
    rejected = as_moderator.post(
        url(conversation, f"statements/{second.pk}/moderate/"),
        {"state": "rejected", "reason": "Spam"},
    )
    assert rejected.status_code == 200
    second.refresh_from_db()
    assert second.moderation == "rejected" and second.moderation_reason == "Spam"


@pytest.mark.parametrize(
    ("payload", "word"),
    [({}, "state"), ({"state": "maybe"}, "state"), ({"state": "rejected"}, "reason")],
)
def test_it_rejects_bad_moderation(as_moderator, conversation, payload, word):
    pending = StatementFactory(conversation=conversation, moderation="pending")
    response = as_moderator.post(url(conversation, f"statements/{pending.pk}/moderate/"), payload)
    assert_error(response, 400, word)
    pending.refresh_from_db()
    assert pending.moderation == "pending"


def test_moderating_a_statement_of_another_conversation_is_a_404(as_moderator, conversation):
    elsewhere = StatementFactory(moderation="pending")
    response = as_moderator.post(
        url(conversation, f"statements/{elsewhere.pk}/moderate/"), {"state": "accepted"}
    )
    assert_error(response, 404)


# --- participants -------------------------------------------------------------------------------


def test_joining_returns_a_token_that_identifies_the_participant(api, conversation, statement):
    joined = api.post(url(conversation, "participants/"))
    assert joined.status_code == 201
    body = joined.json()
    assert body["total"] == 1 and body["voted"] == 0 and body["demographics_consent"] is False
    other = APIClient()
    other.credentials(HTTP_X_PARTICIPANT_TOKEN=body["token"])
    assert other.get(url(conversation, "me/")).json()["id"] == body["id"]


def test_joining_again_in_the_same_session_is_idempotent(api, conversation):
    first = api.post(url(conversation, "participants/")).json()
    assert api.post(url(conversation, "participants/")).json()["id"] == first["id"]


def test_joining_with_an_external_id_is_idempotent_across_clients(conversation):
    ids = {
        APIClient().post(url(conversation, "participants/"), {"external_id": "crm-7"}).json()["id"]
        for _ in range(2)
    }
    assert len(ids) == 1


def test_joining_as_an_account_is_idempotent_across_sessions(conversation):
    user = UserFactory()
    ids = set()
    for _ in range(2):
        client = APIClient()
        client.force_authenticate(user)
        ids.add(client.post(url(conversation, "participants/")).json()["id"])
    assert len(ids) == 1


@pytest.mark.parametrize("external_id", ["", "   ", "x" * 201])
def test_it_rejects_bad_external_ids(api, conversation, external_id):
    response = api.post(
        url(conversation, "participants/"), {"external_id": external_id}, format="json"
    )
    assert_error(response, 400, "external_id")


def test_it_rejects_a_forged_participant_token(api, conversation):
    api.credentials(HTTP_X_PARTICIPANT_TOKEN="forged")
    assert_error(api.get(url(conversation, "me/")), 403, "Invalid participant token")


def test_it_rejects_a_token_of_another_conversation(api, conversation):
    api.credentials(HTTP_X_PARTICIPANT_TOKEN=services.participant_token(ParticipantFactory()))
    assert_error(api.get(url(conversation, "me/")), 403, "another conversation")


def test_me_without_joining_asks_to_join_first(api, conversation):
    assert_error(api.get(url(conversation, "me/")), 403, "Join the conversation first")


# --- next statement and votes ---------------------------------------------------------------------


def test_next_serves_a_statement_then_204_when_done(as_participant, conversation, statement):
    served = as_participant.get(url(conversation, "next/"))
    assert served.status_code == 200 and served.json()["id"] == statement.pk
    as_participant.post(
        url(conversation, "votes/"), {"statement_id": statement.pk, "value": 1}, format="json"
    )
    assert as_participant.get(url(conversation, "next/")).status_code == 204


def test_a_participant_votes_and_changes_the_vote(
    as_participant, conversation, statement, participant
):
    cast = as_participant.post(
        url(conversation, "votes/"), {"statement_id": statement.pk, "value": 1}, format="json"
    )
    assert cast.status_code == 200 and cast.json() == {
        "statement_id": statement.pk,
        "value": 1,
        "changed": True,
        "next": None,  # the answer carries what to vote on next: nothing left here
        "progress": {"voted": 1, "total": 1, "remaining": 0},
    }
    again = as_participant.post(
        url(conversation, "votes/"), {"statement_id": statement.pk, "value": 1}, format="json"
    )
    assert again.json()["changed"] is False
    changed = as_participant.post(
        url(conversation, "votes/"), {"statement_id": statement.pk, "value": -1}, format="json"
    )
    assert changed.json()["changed"] is True
    assert Vote.objects.get(participant=participant).value == -1


@pytest.mark.parametrize(
    ("payload", "status", "word"),
    [
        ({"value": 1}, 400, "statement_id"),
        ({"statement_id": 1}, 400, "value"),
        ({"statement_id": "1", "value": 1}, 400, "statement_id must be an integer"),
        ({"statement_id": None, "value": 1}, 400, "statement_id"),
        ({"statement_id": 10**30, "value": 1}, 404, "does not exist"),
        ({"statement_id": -1, "value": 1}, 404, "does not exist"),
        ({"statement_id": 1, "value": 2}, 400, "Vote value"),
        ({"statement_id": 1, "value": "agree"}, 400, "Vote value"),
        ({"statement_id": 1, "value": True}, 400, "Vote value"),
    ],
)
def test_it_rejects_bad_votes(as_participant, conversation, payload, status, word):
    StatementFactory(conversation=conversation)
    response = as_participant.post(url(conversation, "votes/"), payload, format="json")
    assert_error(response, status, word)
    assert not Vote.objects.exists()


def test_it_rejects_a_non_json_body(as_participant, conversation):
    response = as_participant.generic(
        "POST", url(conversation, "votes/"), "{not json", content_type="application/json"
    )
    assert_error(response, 400, "JSON")


def test_it_rejects_votes_on_pending_statements(as_participant, conversation):
    pending = StatementFactory(conversation=conversation, moderation="pending")
    response = as_participant.post(
        url(conversation, "votes/"), {"statement_id": pending.pk, "value": 1}, format="json"
    )
    assert_error(response, 409, "pending")


def test_it_rejects_votes_in_a_closed_conversation(as_participant, conversation, statement):
    Conversation.objects.filter(pk=conversation.pk).update(is_open=False)
    response = as_participant.post(
        url(conversation, "votes/"), {"statement_id": statement.pk, "value": 1}, format="json"
    )
    assert_error(response, 409, "closed")


def test_moderators_list_votes_filtered_by_statement(as_moderator, conversation, statement):
    other = StatementFactory(conversation=conversation)
    wanted = [
        VoteFactory(statement=statement, participant__conversation=conversation).pk for _ in "ab"
    ]
    VoteFactory(statement=other, participant__conversation=conversation)
    page = as_moderator.get(url(conversation, f"votes/?statement={statement.pk}")).json()
    assert page["count"] == 2 and [v["id"] for v in page["results"]] == wanted
    assert as_moderator.get(url(conversation, "votes/?limit=1")).json()["next"]


def test_a_bad_vote_filter_is_a_json_400(as_moderator, conversation):
    assert_error(as_moderator.get(url(conversation, "votes/?statement=abc")), 400, "statement")


# --- demographics -------------------------------------------------------------------------------


@pytest.fixture
def asks_age(conversation):  # type: ignore[no-untyped-def]
    Conversation.objects.filter(pk=conversation.pk).update(demographic_questions=QUESTIONS)


def test_a_participant_answers_with_consent_then_revokes(as_participant, conversation, asks_age):
    answered = as_participant.put(
        url(conversation, "me/demographics/"),
        {"consent": True, "answers": {"age": "50+"}},
        format="json",
    )
    assert answered.status_code == 200 and answered.json()["answers"] == {"age": "50+"}
    assert as_participant.get(url(conversation, "me/")).json()["demographics_consent"] is True
    revoked = as_participant.delete(url(conversation, "me/demographics/"))
    assert revoked.json() == {"consent": False, "deleted": 1}
    assert not DemographicAnswer.objects.exists()


@pytest.mark.parametrize(
    ("payload", "word"),
    [
        ({"answers": {"age": "50+"}}, "consent"),
        ({"consent": False, "answers": {"age": "50+"}}, "explicit consent"),
        ({"consent": True, "answers": {"income": "high"}}, "income"),
        ({"consent": True, "answers": {"age": "12"}}, "must be one of"),
        ({"consent": True, "answers": ["50+"]}, "answers"),
    ],
)
def test_it_rejects_bad_demographics(as_participant, conversation, asks_age, payload, word):
    response = as_participant.put(url(conversation, "me/demographics/"), payload, format="json")
    assert_error(response, 400, word)
    assert not DemographicAnswer.objects.exists()


# --- jobs and consensus -------------------------------------------------------------------------


def test_a_moderator_starts_a_recompute_and_follows_its_job(as_moderator, conversation):
    response = as_moderator.post(url(conversation, "consensus/recompute/"))
    assert response.status_code == 202 and response.json()["status"] == "queued"
    job_id = response.json()["id"]
    assert as_moderator.get(f"/api/v1/jobs/{job_id}/").json()["kind"] == "consensus.recompute"
    listed = as_moderator.get(
        f"/api/v1/jobs/?conversation={conversation.slug}&status=queued"
    ).json()
    assert [j["id"] for j in listed["results"]] == [job_id]


def test_jobs_page_and_filter(api, researcher, conversation):
    api.force_authenticate(researcher)
    JobFactory(conversation=conversation, status=Job.Status.FAILED)
    for _ in range(3):
        JobFactory(conversation=conversation)
    assert api.get("/api/v1/jobs/?status=failed").json()["count"] == 1
    assert len(api.get("/api/v1/jobs/?limit=2").json()["results"]) == 2
    assert_error(api.get("/api/v1/jobs/?status=exploded"), 400, "status")


def test_an_unknown_job_is_a_json_404(api, researcher):
    api.force_authenticate(researcher)
    assert assert_error(api.get("/api/v1/jobs/999999/"), 404)["message"] == "Not found."


def test_the_latest_snapshot_is_public_and_404_before_the_first(api, conversation):
    assert_error(api.get(url(conversation, "consensus/")), 404, "No consensus snapshot yet")
    SnapshotFactory(conversation=conversation, k=3)
    snapshot = api.get(url(conversation, "consensus/")).json()
    assert snapshot["k"] == 3 and snapshot["result"]["tier"] == "public"
    assert snapshot["result"]["groups"] == [] and snapshot["result"]["participants"] == []


# --- authentication -----------------------------------------------------------------------------


def test_a_script_gets_a_token_and_uses_it(api, conversation, researcher):
    response = api.post(
        "/api/v1/auth/token/", {"username": researcher.username, "password": "pw-for-tests"}
    )
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=researcher).key
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert script.get(url(conversation, "stats/")).status_code == 200


def test_a_wrong_password_gets_no_token(api, researcher):
    response = api.post(
        "/api/v1/auth/token/", {"username": researcher.username, "password": "nope"}
    )
    assert_error(response, 400, "Unable to log in")


def test_a_bad_token_is_refused_with_a_plain_message(api, conversation):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    # 403, not 401: DRF answers 403 when the first authenticator (session) sends no challenge.
    body = assert_error(api.get(url(conversation)), 403)
    assert body == {"message": "Invalid token.", "code": "authentication_failed", "extra": {}}


def test_a_signed_in_session_authenticates(conversation, researcher):
    browser = APIClient(enforce_csrf_checks=True)
    assert browser.login(username=researcher.username, password="pw-for-tests")
    assert browser.get(url(conversation, "stats/")).status_code == 200


def test_a_session_write_needs_the_csrf_token(conversation, moderator):
    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username=moderator.username, password="pw-for-tests")
    assert_error(browser.patch(url(conversation), {"is_open": False}, format="json"), 403, "CSRF")


def test_a_joined_session_identifies_the_participant_without_a_token(api, conversation, statement):
    participant_id = api.post(url(conversation, "participants/")).json()["id"]
    api.post(url(conversation, "votes/"), {"statement_id": statement.pk, "value": 0}, format="json")
    assert Vote.objects.get().participant_id == participant_id


# --- schema -------------------------------------------------------------------------------------


def test_the_schema_is_a_valid_openapi_document(api):
    from drf_spectacular.validation import validate_schema

    response = api.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert "/api/v1/conversations/{slug}/votes/" in schema["paths"]
    assert json.dumps(api.get("/api/schema/?format=json").json())


def test_the_api_docs_render(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200 and b"swagger" in response.content.lower()


def test_a_question_key_too_long_to_answer_is_refused_up_front(api, admin_user):
    api.force_authenticate(admin_user)
    questions = [{"key": "k" * 81, "label": "Long", "choices": ["a"]}]
    response = api.post(
        "/api/v1/conversations/", {"topic": "T", "demographic_questions": questions}, format="json"
    )
    assert_error(response, 400, "key")


def test_next_statement_in_a_closed_conversation_is_a_409(conversation):
    from tests.factories import StatementFactory

    StatementFactory(conversation=conversation)
    client = APIClient()
    client.post(f"/api/v1/conversations/{conversation.slug}/participants/")
    conversation.is_open = False
    conversation.save()
    response = client.get(f"/api/v1/conversations/{conversation.slug}/next/")
    assert response.status_code == 409 and response.json()["code"] == "conversation_closed"


def test_session_participants_need_the_csrf_token_to_write(conversation):
    from tests.factories import StatementFactory

    statement = StatementFactory(conversation=conversation)
    client = APIClient(enforce_csrf_checks=True)
    client.get(f"/c/{conversation.slug}/")  # the page sets the csrftoken cookie
    joined = client.post(f"/api/v1/conversations/{conversation.slug}/participants/")
    assert joined.status_code == 201  # joining writes nothing of anyone else's: no token needed
    url = f"/api/v1/conversations/{conversation.slug}/votes/"
    vote = {"statement_id": statement.pk, "value": 1}
    forged = client.post(url, vote, format="json")
    assert forged.status_code == 403 and "CSRF" in forged.json()["message"]
    token = client.cookies["csrftoken"].value
    assert client.post(url, vote, format="json", HTTP_X_CSRFTOKEN=token).status_code == 200
