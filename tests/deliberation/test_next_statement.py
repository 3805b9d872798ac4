"""statement_next_for: seeds first, never own or voted statements, fresh before prioritised."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from deliberation import selectors
from deliberation.models import Statement
from tests.factories import ParticipantFactory, SnapshotFactory, StatementFactory, VoteFactory

pytestmark = pytest.mark.django_db


def make(conversation, n=1, **fields):  # type: ignore[no-untyped-def]
    return [StatementFactory(conversation=conversation, **fields) for _ in range(n)]


def next_for(participant, priorities=None, seed=0):  # type: ignore[no-untyped-def]
    return selectors.statement_next_for(
        participant, priorities={} if priorities is None else priorities, rng=random.Random(seed)
    )


def test_seeds_come_first_in_seeding_order(conversation, participant):
    make(conversation, 2)
    first_seed, second_seed = make(conversation, 2, is_seed=True)
    assert next_for(participant) == first_seed
    VoteFactory(participant=participant, statement=first_seed)
    assert next_for(participant) == second_seed


def test_it_never_serves_a_statement_already_voted_on(conversation, participant):
    voted, open_ = make(conversation, 2)
    VoteFactory(participant=participant, statement=voted, value=0)
    assert next_for(participant) == open_


def test_it_never_serves_the_participants_own_statement(conversation, participant):
    make(conversation, author=participant)
    other = make(conversation)[0]
    assert next_for(participant) == other


@pytest.mark.parametrize("state", [Statement.Moderation.PENDING, Statement.Moderation.REJECTED])
def test_it_never_serves_statements_not_accepted(conversation, participant, state):
    make(conversation, moderation=state)
    assert next_for(participant) is None


def test_it_never_serves_another_conversations_statements(participant):
    StatementFactory()
    assert next_for(participant) is None


def test_it_returns_none_when_everything_is_voted_on(conversation, participant):
    for statement in make(conversation, 3):
        VoteFactory(participant=participant, statement=statement)
    assert next_for(participant) is None


def test_fresh_statements_come_before_prioritised_ones_oldest_first(conversation, participant):
    scored, fresh_old, fresh_new = make(conversation, 3)
    assert next_for(participant, {scored.pk: 100.0}) == fresh_old
    VoteFactory(participant=participant, statement=fresh_old)
    assert next_for(participant, {scored.pk: 100.0}) == fresh_new


def test_the_weighted_draw_follows_the_priorities(conversation, participant):
    likely, unlikely, never = make(conversation, 3)
    priorities = {likely.pk: 3.0, unlikely.pk: 1.0, never.pk: 0.0}
    rng = random.Random(1234)
    draws = Counter(
        selectors.statement_next_for(participant, priorities=priorities, rng=rng).pk
        for _ in range(400)
    )
    assert draws[never.pk] == 0
    assert 0.65 < draws[likely.pk] / 400 < 0.85
    assert draws[likely.pk] + draws[unlikely.pk] == 400


def test_the_draw_is_reproducible_with_a_seeded_rng(conversation, participant):
    statements = make(conversation, 5)
    priorities = {s.pk: float(i + 1) for i, s in enumerate(statements)}
    assert [next_for(participant, priorities, seed=7) for _ in range(3)] == [
        next_for(participant, priorities, seed=7)
    ] * 3


def test_without_priorities_it_reads_the_latest_snapshot(conversation, participant):
    low, high = make(conversation, 2)
    SnapshotFactory(conversation=conversation, priorities={str(low.pk): 1e-6, str(high.pk): 1e6})
    chosen = selectors.statement_next_for(participant, rng=random.Random(0))
    assert chosen == high


def test_the_queue_is_per_participant(conversation, participant):
    statement = make(conversation)[0]
    VoteFactory(participant=participant, statement=statement)
    assert next_for(ParticipantFactory(conversation=conversation)) == statement


def test_statements_in_the_participants_language_come_first(conversation):
    """A bilingual conversation: an Arabic speaker sees the Arabic statements first, then the
    rest; someone whose language no statement is in sees the usual order."""
    english = make(conversation, 2, language="en")
    arabic = make(conversation, 2, language="ar")
    reader = ParticipantFactory(conversation=conversation, language="ar-EG")
    served = []
    for _ in range(4):
        statement = next_for(reader)
        served.append(statement)
        VoteFactory(participant=reader, statement=statement)
    assert set(served[:2]) == set(arabic) and set(served[2:]) == set(english)
    stranger = ParticipantFactory(conversation=conversation, language="fa")
    assert next_for(stranger) in english + arabic
