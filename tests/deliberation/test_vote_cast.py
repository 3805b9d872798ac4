"""vote_cast: validation, one current vote, history of changes, retries counted once."""

from __future__ import annotations

import pytest

from deliberation import services
from deliberation.models import Statement, Vote, VoteEvent
from kernel.errors import (
    ApplicationError,
    ConflictError,
    ConversationClosedError,
    NotFoundError,
)
from tests.factories import StatementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def statement(conversation):  # type: ignore[no-untyped-def]
    return StatementFactory(conversation=conversation)


def test_it_records_a_vote_and_its_event(participant, statement):
    cast = services.vote_cast(participant=participant, statement_id=statement.pk, value=1)
    assert cast.changed and cast.value == 1
    assert Vote.objects.get(participant=participant, statement=statement).value == 1
    assert VoteEvent.objects.filter(participant=participant).count() == 1


def test_a_retried_identical_vote_counts_once(participant, statement):
    for _ in range(3):
        services.vote_cast(participant=participant, statement_id=statement.pk, value=-1)
    assert Vote.objects.filter(statement=statement).count() == 1
    assert VoteEvent.objects.filter(statement=statement).count() == 1


def test_a_changed_vote_keeps_its_history(participant, statement):
    for value in (1, -1, 0):
        services.vote_cast(participant=participant, statement_id=statement.pk, value=value)
    assert Vote.objects.get(statement=statement).value == 0
    assert list(VoteEvent.objects.filter(statement=statement).values_list("value", flat=True)) == [
        1,
        -1,
        0,
    ]


@pytest.mark.parametrize("value", [2, -2, "1", 1.0, True, None, [1]])
def test_it_rejects_values_other_than_minus_one_zero_one(participant, statement, value):
    with pytest.raises(ApplicationError, match="Vote value"):
        services.vote_cast(participant=participant, statement_id=statement.pk, value=value)
    assert not Vote.objects.exists()


@pytest.mark.parametrize("state", [Statement.Moderation.REJECTED, Statement.Moderation.PENDING])
def test_it_rejects_votes_on_statements_not_accepted(participant, conversation, state):
    statement = StatementFactory(conversation=conversation, moderation=state)
    with pytest.raises(ConflictError, match=state):
        services.vote_cast(participant=participant, statement_id=statement.pk, value=1)


def test_it_rejects_votes_on_unknown_statements(participant):
    with pytest.raises(NotFoundError):
        services.vote_cast(participant=participant, statement_id=999999, value=1)


def test_it_rejects_votes_on_another_conversations_statement(participant):
    other = StatementFactory()
    with pytest.raises(NotFoundError):
        services.vote_cast(participant=participant, statement_id=other.pk, value=1)


def test_it_rejects_votes_in_closed_conversations(participant, statement, conversation):
    conversation.is_open = False
    conversation.save()
    with pytest.raises(ConversationClosedError):
        services.vote_cast(participant=participant, statement_id=statement.pk, value=1)
    assert not Vote.objects.exists()


def test_a_vote_asks_for_a_debounced_recompute(
    participant, statement, django_capture_on_commit_callbacks
):
    from kernel.models import Job

    with django_capture_on_commit_callbacks(execute=True):
        services.vote_cast(participant=participant, statement_id=statement.pk, value=1)
    jobs = Job.objects.filter(conversation=statement.conversation, kind="consensus.recompute")
    assert jobs.count() == 1 and jobs.get().status == "queued"
