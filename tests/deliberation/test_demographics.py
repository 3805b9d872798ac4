"""demographics_set / demographics_revoke: explicit consent, known questions, full deletion."""

from __future__ import annotations

import pytest

from deliberation import services
from deliberation.models import Conversation, DemographicAnswer
from kernel.errors import ApplicationError
from tests.factories import ConversationFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"key": "age", "label": "Age", "choices": ["18-29", "30-49", "50+"]},
    {"key": "region", "label": "Region", "choices": []},
]


@pytest.fixture
def respondent(db):  # type: ignore[no-untyped-def]
    return ParticipantFactory(conversation=ConversationFactory(demographic_questions=QUESTIONS))


def test_it_stores_answers_given_with_consent(respondent):
    services.demographics_set(participant=respondent, answers={"age": "30-49"}, consent=True)
    respondent.refresh_from_db()
    assert respondent.demographics_consent_at is not None
    assert dict(respondent.demographic_answers.values_list("question", "answer")) == {
        "age": "30-49"
    }


@pytest.mark.parametrize("consent", [False, None, "true", 1])
def test_it_rejects_answers_without_explicit_consent(respondent, consent):
    with pytest.raises(ApplicationError, match="explicit consent"):
        services.demographics_set(participant=respondent, answers={"age": "18-29"}, consent=consent)
    respondent.refresh_from_db()
    assert respondent.demographics_consent_at is None
    assert not DemographicAnswer.objects.exists()


def test_it_rejects_questions_the_conversation_does_not_ask(respondent):
    with pytest.raises(ApplicationError, match="Unknown demographic question 'income'"):
        services.demographics_set(participant=respondent, answers={"income": "high"}, consent=True)
    assert not DemographicAnswer.objects.exists()


def test_it_rejects_answers_outside_the_choices(respondent):
    with pytest.raises(ApplicationError, match="Answer to 'age' must be one of"):
        services.demographics_set(participant=respondent, answers={"age": "12"}, consent=True)
    assert not DemographicAnswer.objects.exists()


def test_a_question_without_choices_takes_free_text(respondent):
    services.demographics_set(participant=respondent, answers={"region": "Lagos"}, consent=True)
    assert DemographicAnswer.objects.get().answer == "Lagos"


def test_new_answers_replace_earlier_ones(respondent):
    services.demographics_set(
        participant=respondent, answers={"age": "18-29", "region": "Lyon"}, consent=True
    )
    services.demographics_set(participant=respondent, answers={"age": "50+"}, consent=True)
    assert dict(DemographicAnswer.objects.values_list("question", "answer")) == {"age": "50+"}


def test_revoking_consent_deletes_every_answer(respondent):
    services.demographics_set(
        participant=respondent, answers={"age": "18-29", "region": "Lyon"}, consent=True
    )
    other = ParticipantFactory(conversation=respondent.conversation)
    services.demographics_set(participant=other, answers={"age": "50+"}, consent=True)
    assert services.demographics_revoke(participant=respondent) == 2
    respondent.refresh_from_db()
    assert respondent.demographics_consent_at is None
    assert list(DemographicAnswer.objects.values_list("participant_id", flat=True)) == [other.pk]


@pytest.mark.parametrize(
    ("questions", "word"),
    [
        ([{"key": "k" * 81, "choices": []}], "key"),
        ([{"key": "", "choices": []}], "key"),
        ([{"key": "age", "choices": ["x" * 201]}], "choices"),
        ([{"key": "age", "choices": [18, 30]}], "choices"),
    ],
)
def test_it_rejects_questions_whose_answers_could_not_be_stored(admin_user, questions, word):
    with pytest.raises(ApplicationError, match=word):
        services.conversation_create(user=admin_user, topic="T", demographic_questions=questions)
    assert not Conversation.objects.exists()


def test_it_rejects_a_free_text_answer_too_long_to_store(respondent):
    with pytest.raises(ApplicationError, match="201 characters; at most 200"):
        services.demographics_set(
            participant=respondent, answers={"region": "x" * 201}, consent=True
        )
    assert not DemographicAnswer.objects.exists()


def test_the_longest_key_and_answer_that_fit_are_stored(admin_user):
    key = "k" * 80
    conversation = services.conversation_create(
        user=admin_user, topic="T", demographic_questions=[{"key": key, "choices": []}]
    )
    respondent = ParticipantFactory(conversation=conversation)
    services.demographics_set(participant=respondent, answers={key: "a" * 200}, consent=True)
    assert DemographicAnswer.objects.get().question == key
