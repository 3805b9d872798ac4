"""Participant tokens expire, and can be revoked by the participant and by moderators.

Before: a token was valid forever and nothing could take it back (a leaked token voted forever).
"""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from deliberation import services
from deliberation.models import AuditEvent
from kernel.errors import PermissionDeniedError
from tests.factories import ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db


def _me(conversation, token: str) -> int:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_X_PARTICIPANT_TOKEN=token)
    return client.get(f"/api/v1/conversations/{conversation.slug}/me/").status_code


def test_a_token_older_than_the_ttl_is_refused(participant, settings, monkeypatch):
    settings.CONCORD_PARTICIPANT_TOKEN_TTL = 60
    token = services.participant_token(participant)
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 61)  # the signer reads time.time()
    with pytest.raises(PermissionDeniedError, match="expired"):
        services.participant_from_token(conversation=participant.conversation, token=token)


def test_a_token_within_the_ttl_works(participant, settings):
    settings.CONCORD_PARTICIPANT_TOKEN_TTL = 3600
    assert _me(participant.conversation, services.participant_token(participant)) == 200


def test_signing_out_everywhere_revokes_every_token_and_session(conversation):
    phone, laptop = APIClient(), APIClient()
    joined = phone.post(f"/api/v1/conversations/{conversation.slug}/participants/").json()
    laptop.credentials(HTTP_X_PARTICIPANT_TOKEN=joined["token"])
    me = f"/api/v1/conversations/{conversation.slug}/me/"
    assert phone.get(me).status_code == 200 and laptop.get(me).status_code == 200
    signed_out = laptop.post(f"/api/v1/conversations/{conversation.slug}/me/signout/")
    assert signed_out.status_code == 200 and signed_out.json() == {
        "id": joined["id"],
        "revoked": True,
    }
    assert laptop.get(me).status_code == 403
    assert "revoked" in laptop.get(me).json()["message"]
    assert phone.get(me).status_code == 403  # the session made before is gone too


def test_joining_again_after_signing_out_gives_a_working_token(conversation):
    client = APIClient()
    first = client.post(f"/api/v1/conversations/{conversation.slug}/participants/").json()
    client.post(f"/api/v1/conversations/{conversation.slug}/me/signout/")
    again = client.post(f"/api/v1/conversations/{conversation.slug}/participants/").json()
    assert again["token"] != first["token"]
    assert _me(conversation, again["token"]) == 200
    assert _me(conversation, first["token"]) == 403


def test_a_moderator_revokes_a_participants_tokens_and_it_is_audited(conversation, moderator):
    victim = ParticipantFactory(conversation=conversation)
    token = services.participant_token(victim)
    client = APIClient()
    client.force_authenticate(moderator)
    url = f"/api/v1/conversations/{conversation.slug}/participants/{victim.pk}/revoke/"
    assert client.post(url).status_code == 200
    assert _me(conversation, token) == 403
    event = AuditEvent.objects.get(action="participant.tokens_revoke")
    assert event.actor == moderator and event.target == f"participant:{victim.pk}"
    victim.refresh_from_db()
    assert _me(conversation, services.participant_token(victim)) == 200  # a new token works


def test_only_moderators_may_revoke_and_only_in_their_conversation(conversation):
    victim = ParticipantFactory(conversation=conversation)
    client = APIClient()
    client.credentials(HTTP_X_PARTICIPANT_TOKEN=services.participant_token(victim))
    url = f"/api/v1/conversations/{conversation.slug}/participants/{victim.pk}/revoke/"
    assert client.post(url).status_code == 403
    other = ParticipantFactory()
    elsewhere = f"/api/v1/conversations/{conversation.slug}/participants/{other.pk}/revoke/"
    assert APIClient().post(elsewhere).status_code == 403


def test_a_revoked_token_cannot_vote(conversation):
    statement = StatementFactory(conversation=conversation)
    client = APIClient()
    token = client.post(f"/api/v1/conversations/{conversation.slug}/participants/").json()["token"]
    voter = APIClient()
    voter.credentials(HTTP_X_PARTICIPANT_TOKEN=token)
    votes = f"/api/v1/conversations/{conversation.slug}/votes/"
    vote = {"statement_id": statement.pk, "value": 1}
    assert voter.post(votes, vote, format="json").status_code == 200
    assert voter.post(f"/api/v1/conversations/{conversation.slug}/me/signout/").status_code == 200
    refused = voter.post(votes, {**vote, "value": -1}, format="json")
    assert refused.status_code == 403 and "revoked" in refused.json()["message"]
