"""A participant's own record: withdraw a vote (through votes_cast) and "delete my data"."""

from __future__ import annotations

import csv

import pytest

from deliberation import selectors, services
from deliberation.models import AuditEvent, Participant, Statement, Vote, VoteEvent
from deliberation.polis_io import polis_export
from kernel.errors import ApplicationError, ConversationClosedError, PermissionDeniedError
from tests.factories import ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def statements(conversation):  # type: ignore[no-untyped-def]
    return StatementFactory.create_batch(3, conversation=conversation)


def test_a_withdrawn_vote_is_gone_and_the_statement_comes_back_to_vote_on(participant, statements):
    services.vote_cast(participant=participant, statement_id=statements[0].pk, value=1)
    withdrawn = services.vote_withdraw(participant=participant, statement_id=statements[0].pk)
    assert withdrawn.changed and withdrawn.value is None
    assert not Vote.objects.filter(participant=participant).exists()
    assert selectors.participant_progress(participant)["voted"] == 0
    again = services.vote_withdraw(participant=participant, statement_id=statements[0].pk)
    assert not again.changed  # withdrawing twice changes nothing


def test_withdrawing_then_voting_again_in_one_batch_keeps_the_new_vote(participant, statements):
    services.vote_cast(participant=participant, statement_id=statements[0].pk, value=1)
    pid, cid, sid = participant.pk, participant.conversation_id, statements[0].pk
    services.votes_cast(
        [
            services.VoteRequest(pid, cid, sid, services.WITHDRAW),
            services.VoteRequest(pid, cid, sid, -1),
        ]
    )
    assert Vote.objects.get(participant=participant).value == -1
    assert list(VoteEvent.objects.values_list("value", flat=True)) == [1, -1]


def test_a_vote_on_a_since_rejected_statement_can_still_be_withdrawn(
    participant, statements, moderator
):
    services.vote_cast(participant=participant, statement_id=statements[0].pk, value=1)
    services.statement_moderate(
        statement=statements[0], state="rejected", reason="off topic", user=moderator
    )
    assert services.vote_withdraw(participant=participant, statement_id=statements[0].pk).changed


def test_a_closed_conversation_keeps_its_votes(participant, statements, conversation):
    services.vote_cast(participant=participant, statement_id=statements[0].pk, value=1)
    conversation.is_open = False
    conversation.save()
    with pytest.raises(ConversationClosedError):
        services.vote_withdraw(participant=participant, statement_id=statements[0].pk)


def test_a_statement_elsewhere_cannot_be_withdrawn(participant):
    with pytest.raises(ApplicationError):
        services.vote_withdraw(participant=participant, statement_id=StatementFactory().pk)


def _exported_participants(tmp_path, slug):  # type: ignore[no-untyped-def]
    polis_export(slug=slug, folder=tmp_path)
    with (tmp_path / "votes.csv").open() as votes:
        return {row["voter-id"] for row in csv.DictReader(votes)}


@pytest.mark.parametrize("choice", ["detach", "delete"])
def test_delete_my_data_removes_everything_and_later_exports_hold_nothing_of_it(
    conversation, statements, tmp_path, choice
):
    conversation.erased_statements = choice
    conversation.demographic_questions = [{"key": "age", "choices": ["young", "old"]}]
    conversation.save()
    leaving, staying = (
        ParticipantFactory(conversation=conversation),
        ParticipantFactory(conversation=conversation),
    )
    mine = services.statement_submit(participant=leaving, text="My own idea.")
    services.statement_moderate(statement=mine, state="accepted")
    for person in (leaving, staying):
        for statement in [*statements, mine]:
            services.vote_cast(participant=person, statement_id=statement.pk, value=1)
    services.demographics_set(participant=leaving, consent=True, answers={"age": "old"})
    token = services.participant_token(leaving)
    assert len(_exported_participants(tmp_path / "before", conversation.slug)) == 2

    leaving_id = leaving.pk
    counts = services.participant_erase(participant=leaving)

    assert counts == {"votes": 4, "demographics": 1, "statements": 1}
    assert not Participant.objects.filter(pk=leaving_id).exists()
    assert not VoteEvent.objects.filter(participant_id=leaving_id).exists()
    assert not Vote.objects.filter(participant_id=leaving_id).exists()
    assert Statement.objects.filter(pk=mine.pk).exists() == (choice == "detach")
    if choice == "detach":
        assert Statement.objects.get(pk=mine.pk).author is None
    with pytest.raises(PermissionDeniedError):
        services.participant_from_token(conversation=conversation, token=token)
    assert len(_exported_participants(tmp_path / "after", conversation.slug)) == 1
    event = AuditEvent.objects.get(action="participant.erase")
    assert event.details["statements_were"] == choice and str(leaving_id) not in event.target
