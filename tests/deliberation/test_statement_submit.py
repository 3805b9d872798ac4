"""statement_submit / statement_seed: text rules, duplicates, moderation, closed conversations."""

from __future__ import annotations

import pytest

from deliberation import services
from deliberation.models import Statement
from kernel.errors import (
    ApplicationError,
    ConflictError,
    ConversationClosedError,
    PermissionDeniedError,
)
from tests.factories import ConversationFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

ORIGINAL = "AI should explain its reasoning."


def submit(participant, text=ORIGINAL):  # type: ignore[no-untyped-def]
    return services.statement_submit(participant=participant, text=text)


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\u200b\u200d", " \u200b \ufeff "])
def test_it_rejects_empty_or_invisible_text(participant, text):
    with pytest.raises(ApplicationError, match="empty"):
        submit(participant, text)
    assert not Statement.objects.exists()


def test_it_rejects_text_over_the_length_limit(participant):
    with pytest.raises(ApplicationError, match="1001 characters long; the limit is 1000") as info:
        submit(participant, "x" * 1001)
    assert info.value.extra == {"max_length": 1000}
    assert not Statement.objects.exists()


def test_it_accepts_text_exactly_at_the_limit(participant):
    assert len(submit(participant, "x" * 1000).text) == 1000


def test_it_measures_the_limit_after_trimming_whitespace(participant):
    assert submit(participant, "  " + "y" * 1000 + "\n").text == "y" * 1000


@pytest.mark.parametrize("text", ["nul\x00byte", "bell\x07", "\x1b[31mred\x1b[0m"])
def test_it_rejects_control_characters(participant, text):
    with pytest.raises(ApplicationError, match="control characters"):
        submit(participant, text)
    assert not Statement.objects.exists()


def test_it_keeps_line_breaks_and_tabs(participant):
    assert submit(participant, "First line.\n\tSecond line.").text == "First line.\n\tSecond line."


def test_it_rejects_text_that_is_not_a_string(participant):
    with pytest.raises(ApplicationError, match="must be a string"):
        submit(participant, 42)


@pytest.mark.parametrize(
    "copy",
    [
        ORIGINAL,
        ORIGINAL.upper(),
        "  ai   should explain its  reasoning.  ",
        "AI should explain its reasoning\uff0e",  # fullwidth full stop, NFKC -> "."
        "\uff21I should explain its reasoning.",  # fullwidth "A"
        "AI sho\u200buld explain its rea\u200dsoning.",  # zero-width space and joiner
        "\ufeffAI should explain its reasoning.",
    ],
)
def test_it_rejects_duplicates_after_normalisation(participant, copy):
    original = submit(participant)
    other = ParticipantFactory(conversation=participant.conversation)
    with pytest.raises(ConflictError, match="duplicates an existing") as info:
        submit(other, copy)
    assert info.value.extra == {"statement_id": original.pk}
    assert Statement.objects.count() == 1


def test_a_duplicate_of_a_seed_is_rejected(participant, moderator):
    services.statement_seed(conversation=participant.conversation, text=ORIGINAL, user=moderator)
    with pytest.raises(ConflictError):
        submit(participant, ORIGINAL.lower())
    assert Statement.objects.count() == 1


def test_the_same_text_is_allowed_in_another_conversation(participant):
    submit(participant)
    submit(ParticipantFactory())
    assert Statement.objects.count() == 2


def test_it_keeps_the_display_text_but_keys_duplicates_on_the_normal_form(participant):
    statement = submit(participant, "  Ｆairness   Matters ")
    assert statement.text == "Ｆairness   Matters"
    assert statement.text_key == "fairness matters"


def test_strict_moderation_makes_a_statement_pending(participant):
    statement = submit(participant)
    assert statement.moderation == Statement.Moderation.PENDING
    assert statement.author == participant and not statement.is_seed


def test_without_strict_moderation_a_statement_is_accepted_at_once():
    participant = ParticipantFactory(conversation=ConversationFactory(strict_moderation=False))
    assert submit(participant).moderation == Statement.Moderation.ACCEPTED


def test_it_rejects_statements_in_closed_conversations():
    participant = ParticipantFactory(conversation=ConversationFactory(is_open=False))
    with pytest.raises(ConversationClosedError, match="closed"):
        submit(participant)
    assert not Statement.objects.exists()


def test_it_rejects_participant_statements_when_the_conversation_disallows_them():
    conversation = ConversationFactory(participant_statements_allowed=False)
    with pytest.raises(PermissionDeniedError, match="does not accept participant statements"):
        submit(ParticipantFactory(conversation=conversation))
    assert not Statement.objects.exists()


def test_it_caps_statements_per_participant(participant, settings):
    settings.CONCORD_MAX_STATEMENTS_PER_PARTICIPANT = 2
    submit(participant, "first")
    submit(participant, "second")
    with pytest.raises(ApplicationError, match="limit of 2 statements"):
        submit(participant, "third")
    assert Statement.objects.count() == 2


def test_a_seed_is_accepted_and_marked_as_seed(conversation, moderator):
    seed = services.statement_seed(conversation=conversation, text=ORIGINAL, user=moderator)
    assert seed.is_seed and seed.moderation == Statement.Moderation.ACCEPTED
    assert seed.moderated_by == moderator and seed.author is None


def test_a_seed_follows_the_same_text_rules(conversation, moderator):
    with pytest.raises(ApplicationError, match="empty"):
        services.statement_seed(conversation=conversation, text=" ", user=moderator)
    assert not Statement.objects.exists()
