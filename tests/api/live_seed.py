"""Seed a live server's database for the real-HTTP API tests; prints the credentials as JSON.

Run inside the server's environment: `manage.py shell -c "from tests.api import live_seed;
live_seed.main()"`. One conversation with statements and one credential per role.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from deliberation import services


def _user_token(username: str, **fields: object) -> str:
    user = get_user_model().objects.create_user(username=username, password="pw", **fields)
    return Token.objects.create(user=user).key


def main() -> None:
    moderator = get_user_model().objects.create_user(username="live-moderator", password="pw")
    moderator.groups.add(Group.objects.get_or_create(name="moderators")[0])
    conversation = services.conversation_create(user=moderator, slug="fuzz", topic="Fuzz")
    for i in range(3):
        services.statement_seed(conversation=conversation, text=f"Seed {i}", user=moderator)
    researcher = _user_token("live-researcher")
    get_user_model().objects.get(username="live-researcher").groups.add(
        Group.objects.get_or_create(name="researchers")[0]
    )
    participant = services.participant_join(conversation=conversation)
    print(
        json.dumps(
            {
                "slug": conversation.slug,
                "participant": services.participant_token(participant),
                "moderator": Token.objects.create(user=moderator).key,
                "researcher": researcher,
                "admin": _user_token("live-admin", is_superuser=True, is_staff=True),
            }
        )
    )
