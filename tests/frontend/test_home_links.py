"""The home page offers each visitor only the links their role allows (no browser needed)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _links(user) -> set[str]:  # type: ignore[no-untyped-def]
    client = Client()
    if user is not None:
        client.force_login(user)
    html = client.get("/").content.decode()
    return {
        path
        for path in (
            "/c/mine/moderate/",
            "/c/mine/report/",
            "/c/theirs/moderate/",
            "/c/theirs/report/",
        )
        if f'href="{path}"' in html
    }


def test_each_role_sees_only_its_links():
    mine = ConversationFactory(slug="mine")
    ConversationFactory(slug="theirs")
    moderator = UserFactory(username="mod")
    mine.moderators.add(moderator)
    assert _links(None) == set()
    assert _links(moderator) == {"/c/mine/moderate/", "/c/mine/report/"}
    assert _links(UserFactory(username="res", groups=["researchers"])) == {
        "/c/mine/report/",
        "/c/theirs/report/",
    }
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert len(_links(admin)) == 4
