"""Conversation settings that used to pass unchecked: language codes and translated questions."""

from __future__ import annotations

import pytest

from deliberation import services
from kernel.errors import ApplicationError

pytestmark = pytest.mark.django_db
AGE = {"key": "age", "label": "Age", "choices": ["under 30", "30 or over"]}


def test_an_unknown_language_code_is_refused(conversation):
    with pytest.raises(ApplicationError, match="Unknown language codes: xx") as refused:
        services.conversation_update(conversation=conversation, data={"languages": ["en", "xx"]})
    assert refused.value.code == "bad_language"
    services.conversation_update(conversation=conversation, data={"languages": ["ar", "zh-hans"]})


def test_questions_carry_labels_and_choices_per_language(conversation):
    question = {
        **AGE,
        "labels": {"ar": "العمر"},
        "choice_labels": {"ar": ["أقل من 30", "30 أو أكثر"]},
    }
    services.conversation_update(
        conversation=conversation, data={"demographic_questions": [question]}
    )
    conversation.refresh_from_db()
    assert conversation.demographic_questions[0]["labels"]["ar"] == "العمر"


@pytest.mark.parametrize(
    "bad",
    [
        {"labels": ["العمر"]},
        {"choice_labels": {"ar": ["only one"]}},
        {"labels": {"xx": "Age"}},
    ],
)
def test_malformed_translations_are_refused(conversation, bad):
    with pytest.raises(ApplicationError):
        services.conversation_update(
            conversation=conversation, data={"demographic_questions": [{**AGE, **bad}]}
        )


def test_the_error_speaks_the_active_language(conversation):
    from django.utils import translation

    with translation.override("ar"), pytest.raises(ApplicationError) as refused:
        services.statement_seed(conversation=conversation, text="   ")
    assert refused.value.message == "نص العبارة فارغ."
