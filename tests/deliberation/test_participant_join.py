"""participant_join and participant tokens: one participant per account or external id."""

from __future__ import annotations

import pytest
from django.core import signing

from deliberation import services
from deliberation.models import Participant
from kernel.errors import ApplicationError, PermissionDeniedError
from tests.factories import ConversationFactory, ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_joining_twice_with_an_account_returns_the_same_participant(conversation):
    user = UserFactory()
    first = services.participant_join(conversation=conversation, user=user)
    again = services.participant_join(conversation=conversation, user=user)
    assert first.pk == again.pk and first.user == user
    assert Participant.objects.count() == 1


def test_one_account_gets_one_participant_per_conversation(conversation):
    user = UserFactory()
    here = services.participant_join(conversation=conversation, user=user)
    there = services.participant_join(conversation=ConversationFactory(), user=user)
    assert here.pk != there.pk


def test_joining_twice_with_an_external_id_returns_the_same_participant(conversation):
    first = services.participant_join(conversation=conversation, external_id="site-42")
    again = services.participant_join(conversation=conversation, external_id=" site-42 ")
    assert first.pk == again.pk and first.external_id == "site-42"
    assert Participant.objects.count() == 1


@pytest.mark.parametrize("external_id", ["", "   ", "x" * 201])
def test_it_rejects_blank_or_over_long_external_ids(conversation, external_id):
    with pytest.raises(ApplicationError, match="external_id must be 1 to 200 characters"):
        services.participant_join(conversation=conversation, external_id=external_id)
    assert not Participant.objects.exists()


def test_anonymous_joins_are_separate_people(conversation):
    first = services.participant_join(conversation=conversation)
    second = services.participant_join(conversation=conversation)
    assert first.pk != second.pk


def test_a_token_round_trips_to_its_participant(participant):
    token = services.participant_token(participant)
    found = services.participant_from_token(conversation=participant.conversation, token=token)
    assert found == participant


def test_it_rejects_a_token_of_another_conversation(participant):
    other = ParticipantFactory()
    token = services.participant_token(other)
    with pytest.raises(PermissionDeniedError, match="belongs to another conversation"):
        services.participant_from_token(conversation=participant.conversation, token=token)


def test_it_rejects_a_tampered_token(participant):
    token = services.participant_token(participant)
    with pytest.raises(PermissionDeniedError, match="Invalid participant token"):
        services.participant_from_token(
            conversation=participant.conversation, token=token[:-2] + "xx"
        )


def test_it_rejects_a_token_signed_for_another_purpose(participant):
    token = signing.dumps({"c": participant.conversation_id, "p": participant.pk})
    with pytest.raises(PermissionDeniedError, match="Invalid participant token"):
        services.participant_from_token(conversation=participant.conversation, token=token)


def test_it_rejects_a_token_of_a_deleted_participant(participant):
    conversation = participant.conversation
    token = services.participant_token(participant)
    participant.delete()
    with pytest.raises(PermissionDeniedError, match="Unknown participant"):
        services.participant_from_token(conversation=conversation, token=token)
