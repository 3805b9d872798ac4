"""statement_moderate: accept or reject (with a reason) and who did it."""

from __future__ import annotations

import pytest

from deliberation import services
from deliberation.models import Statement
from kernel.errors import ApplicationError
from tests.factories import StatementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(conversation, participant):  # type: ignore[no-untyped-def]
    return StatementFactory(
        conversation=conversation, author=participant, moderation=Statement.Moderation.PENDING
    )


def test_a_moderator_accepts_a_pending_statement(pending, moderator):
    statement = services.statement_moderate(statement=pending, state="accepted", user=moderator)
    statement.refresh_from_db()
    assert statement.moderation == Statement.Moderation.ACCEPTED
    assert statement.moderated_by == moderator and statement.moderated_at is not None


def test_a_rejection_stores_its_reason(pending, moderator):
    services.statement_moderate(
        statement=pending, state="rejected", reason="  Off topic.  ", user=moderator
    )
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.REJECTED
    assert pending.moderation_reason == "Off topic."


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_rejects_a_rejection_without_a_reason(pending, moderator, reason):
    with pytest.raises(ApplicationError, match="needs a reason"):
        services.statement_moderate(
            statement=pending, state="rejected", reason=reason, user=moderator
        )
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.PENDING


@pytest.mark.parametrize("state", ["pending", "approved", ""])
def test_it_rejects_unknown_moderation_states(pending, moderator, state):
    with pytest.raises(ApplicationError, match="must be one of"):
        services.statement_moderate(statement=pending, state=state, user=moderator)
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.PENDING


def test_a_moderator_can_reverse_a_decision(pending, moderator):
    services.statement_moderate(statement=pending, state="rejected", reason="spam", user=moderator)
    services.statement_moderate(statement=pending, state="accepted", user=moderator)
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.ACCEPTED
    assert pending.moderation_reason == ""
