"""Many clients at once over real HTTP: every acknowledged vote stored once, never twice.

These run against pytest-django's live server (a threaded WSGI server) with real transactions,
on SQLite by default and on PostgreSQL when DATABASE_URL points there.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from deliberation import services
from deliberation.models import Participant, Statement, Vote, VoteEvent
from tests.factories import ConversationFactory, ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16


def call(url: str, body: dict | None = None, token: str = "") -> tuple[int, dict]:  # type: ignore[type-arg]
    data = json.dumps(body or {}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Participant-Token"] = token
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def conversation(db):  # type: ignore[no-untyped-def]
    return ConversationFactory(slug="crowd")


@pytest.fixture
def api(live_server, conversation):  # type: ignore[no-untyped-def]
    return f"{live_server.url}/api/v1/conversations/{conversation.slug}"


def test_thirty_two_participants_voting_at_once_are_all_stored(api, conversation):
    statements = [StatementFactory(conversation=conversation).pk for _ in range(6)]

    def participate(n: int) -> list[int]:
        status, me = call(f"{api}/participants/")
        assert status == 201, me
        value = (-1, 0, 1)[n % 3]
        return [
            call(f"{api}/votes/", {"statement_id": s, "value": value}, me["token"])[0]
            for s in statements
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for result in pool.map(participate, range(32)) for s in result]
    assert statuses == [200] * (32 * 6)
    assert Participant.objects.filter(conversation=conversation).count() == 32
    assert Vote.objects.filter(statement__conversation=conversation).count() == 32 * 6
    assert VoteEvent.objects.filter(statement__conversation=conversation).count() == 32 * 6
    for statement_id in statements:
        counts = services.statement_vote_counts(statement_id=statement_id)
        assert counts == {"agree": 10, "disagree": 11, "pass": 11}


def test_a_vote_retried_concurrently_is_stored_once(api, conversation):
    statement = StatementFactory(conversation=conversation)
    participant = ParticipantFactory(conversation=conversation)
    token = services.participant_token(participant)
    start = Barrier(10)

    def retry(_: int) -> tuple[int, dict]:  # type: ignore[type-arg]
        start.wait()
        return call(f"{api}/votes/", {"statement_id": statement.pk, "value": 1}, token)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(retry, range(10)))
    assert [status for status, _ in answers] == [200] * 10
    assert sum(body["changed"] for _, body in answers) == 1
    assert Vote.objects.get(participant=participant).value == 1
    assert VoteEvent.objects.filter(participant=participant).count() == 1


def test_racing_first_votes_with_different_values_leave_one_vote(api, conversation):
    statement = StatementFactory(conversation=conversation)
    participant = ParticipantFactory(conversation=conversation)
    token = services.participant_token(participant)
    values = [(-1, 0, 1)[i % 3] for i in range(9)]
    start = Barrier(len(values))

    def vote(value: int) -> int:
        start.wait()
        return call(f"{api}/votes/", {"statement_id": statement.pk, "value": value}, token)[0]

    with ThreadPoolExecutor(len(values)) as pool:
        assert list(pool.map(vote, values)) == [200] * len(values)
    vote_row = Vote.objects.get(participant=participant, statement=statement)
    events = list(VoteEvent.objects.filter(participant=participant).values_list("value", flat=True))
    assert events and events[-1] == vote_row.value
    assert all(a != b for a, b in zip(events, events[1:], strict=False))


def test_joining_at_once_with_one_external_id_makes_one_participant(api, conversation):
    start = Barrier(8)

    def join(_: int) -> tuple[int, dict]:  # type: ignore[type-arg]
        start.wait()
        return call(f"{api}/participants/", {"external_id": "crm-42"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(join, range(8)))
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    assert Participant.objects.filter(conversation=conversation).count() == 1


def test_the_same_statement_submitted_at_once_is_stored_once(api, conversation):
    tokens = [
        services.participant_token(ParticipantFactory(conversation=conversation)) for _ in range(8)
    ]
    start = Barrier(len(tokens))

    def submit(token: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        start.wait()
        return call(f"{api}/statements/", {"text": "AI should say when it is unsure."}, token)

    with ThreadPoolExecutor(len(tokens)) as pool:
        answers = list(pool.map(submit, tokens))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (len(tokens) - 1), answers
    original = Statement.objects.get(conversation=conversation)
    assert all(body["extra"] == {"statement_id": original.pk} for s, body in answers if s == 409)
