"""statement_moderate and friends: accept, reject, correct any decision, in bulk, seed in bulk."""

from __future__ import annotations

import pytest

from deliberation import services
from deliberation.models import AuditEvent, Statement
from kernel.errors import ApplicationError, NotFoundError
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


@pytest.mark.parametrize("state", ["approved", ""])
def test_it_rejects_unknown_moderation_states(pending, moderator, state):
    with pytest.raises(ApplicationError, match="must be one of"):
        services.statement_moderate(statement=pending, state=state, user=moderator)
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.PENDING


def test_a_moderator_can_reverse_a_decision_giving_a_reason(pending, moderator):
    services.statement_moderate(statement=pending, state="rejected", reason="spam", user=moderator)
    services.statement_moderate(
        statement=pending, state="accepted", reason="Not spam after all.", user=moderator
    )
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.ACCEPTED
    assert pending.moderation_reason == "Not spam after all."


@pytest.mark.parametrize(
    ("first", "then"),
    [("accepted", "rejected"), ("accepted", "pending"), ("rejected", "accepted"),
     ("rejected", "pending")],
)  # fmt: skip
def test_every_decision_can_be_corrected_and_each_change_is_audited(
    pending, moderator, first, then
):
    services.statement_moderate(statement=pending, state=first, reason="first", user=moderator)
    services.statement_moderate(statement=pending, state=then, reason="second", user=moderator)
    pending.refresh_from_db()
    assert pending.moderation == then
    events = AuditEvent.objects.filter(target=f"statement:{pending.pk}").order_by("id")
    assert [(e.action, e.details["from"], e.details["reason"]) for e in events] == [
        (f"statement.{first}", "pending", "first"),
        (f"statement.{then}", first, "second"),
    ]


def test_overturning_a_decision_without_a_reason_is_refused(pending, moderator):
    services.statement_moderate(statement=pending, state="accepted", user=moderator)
    with pytest.raises(ApplicationError, match="needs a reason") as refused:
        services.statement_moderate(statement=pending, state="pending", user=moderator)
    assert refused.value.code == "reason_needed"
    pending.refresh_from_db()
    assert pending.moderation == Statement.Moderation.ACCEPTED


def test_bulk_moderation_changes_all_or_none(conversation, moderator):
    statements = StatementFactory.create_batch(3, conversation=conversation, moderation="pending")
    ids = [s.pk for s in statements]
    services.statements_moderate(
        conversation=conversation, statement_ids=ids, state="rejected", reason="off", user=moderator
    )
    assert set(Statement.objects.filter(pk__in=ids).values_list("moderation", flat=True)) == {
        "rejected"
    }
    elsewhere = StatementFactory(moderation="pending")  # another conversation's statement
    with pytest.raises(NotFoundError):
        services.statements_moderate(
            conversation=conversation,
            statement_ids=[*ids, elsewhere.pk],
            state="accepted",
            reason="back",
            user=moderator,
        )
    assert set(Statement.objects.filter(pk__in=ids).values_list("moderation", flat=True)) == {
        "rejected"
    }


def test_bulk_seeding_reports_each_line_and_keeps_the_ones_that_worked(conversation, moderator):
    StatementFactory(conversation=conversation, text="Already here.")
    lines = services.statements_seed(
        conversation=conversation,
        texts=["First new one.", "already  HERE.", "", "Second new one."],
        user=moderator,
    )
    assert [line.added for line in lines] == [True, False, False, True]
    assert [line.code for line in lines] == ["", "conflict", lines[2].code, ""]
    assert lines[2].code and lines[2].line == 3
    seeded = conversation.statements.filter(is_seed=True).order_by("id")
    assert list(seeded.values_list("text", flat=True)) == ["First new one.", "Second new one."]
