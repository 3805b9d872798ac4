"""Hostile input under /api/ is answered with the API's JSON error shape, never a 500 or HTML.

Each case reproduces a report: 1,500-deep JSON (3 KB) on join, auth/token and votes overflowed
the JSON parser's recursion (500); 10 MB bodies got Django's HTML page; `jobs/?conversation=%00`
reached PostgreSQL, which refuses NUL in text (500); Django's own 404/405/500 pages were HTML.
"""

from __future__ import annotations

import pytest
from django.http import Http404, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.http import require_POST

from kernel.middleware import json_depth

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"message", "code", "extra"}
DEEP = ("[" * 1500 + "]" * 1500).encode()  # 3 KB


def _api_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    return body


def _targets(conversation) -> list[str]:  # type: ignore[no-untyped-def]
    c = f"/api/v1/conversations/{conversation.slug}/"
    return [c + "participants/", "/api/v1/auth/token/", c + "votes/", c + "statements/"]


def test_deeply_nested_json_is_refused_with_400_on_every_write(conversation):
    client = Client()
    for url in _targets(conversation):
        body = _api_error(client.post(url, DEEP, content_type="application/json"), 400)
        assert body["code"] == "too_deep"


def test_nesting_inside_json_strings_does_not_count():
    assert json_depth(b'{"text": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[[[["}') == 1
    assert json_depth(b'[{"a": [1, {"b": []}]}]') == 5


def test_a_10_mb_body_gets_413_in_the_api_shape(conversation):
    big = b'{"text": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    for url in _targets(conversation):
        body = _api_error(Client().post(url, big, content_type="application/json"), 413)
        assert body["code"] == "payload_too_large"


def test_a_large_form_body_is_refused_by_its_declared_length(conversation):
    big = {"text": "x" * (2 * 1024 * 1024)}
    url = _targets(conversation)[0]
    _api_error(Client().post(url, big), 413)


def test_a_nul_byte_in_a_query_parameter_is_a_400_not_a_database_error():
    for url in ("/api/v1/jobs/?conversation=%00", "/api/v1/conversations/?is_open=%00"):
        _api_error(Client().get(url), 400)


def test_a_nul_character_in_a_json_body_is_refused(conversation):
    url = f"/api/v1/conversations/{conversation.slug}/participants/"
    body = b'{"external_id": "a\\u0000b"}'
    _api_error(Client().post(url, body, content_type="application/json"), 400)


def test_django_errors_under_api_are_json():
    _api_error(Client().get("/api/v1/no-such-endpoint/"), 404)
    _api_error(Client(HTTP_HOST="evil.example").get("/api/v1/conversations/"), 400)


def _boom(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("an unexpected bug")


def _missing(request):  # type: ignore[no-untyped-def]
    raise Http404("plain Django 404")


urlpatterns = [
    path("api/boom/", _boom),
    path("api/missing/", _missing),
    path("api/post-only/", require_POST(_missing)),
    path("api/csrf/", lambda request: HttpResponse("ok")),
]


def test_plain_django_views_under_api_answer_json_errors(settings):
    settings.ROOT_URLCONF = __name__
    _api_error(Client().get("/api/missing/"), 404)
    _api_error(Client().get("/api/post-only/"), 405)
    _api_error(Client(enforce_csrf_checks=True).post("/api/csrf/"), 403)


def test_an_unhandled_exception_under_api_is_a_json_500(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/api/boom/")
    assert _api_error(response, 500)["code"] == "internal_server_error"


def test_a_bad_content_length_is_a_400(conversation):
    url = f"/api/v1/conversations/{conversation.slug}/participants/"
    response = Client().post(url, b"{}", content_type="application/json", CONTENT_LENGTH="x")
    _api_error(response, 400)


def test_pages_outside_the_api_are_left_alone():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_an_integer_the_database_cannot_hold_is_a_400(conversation, moderator):
    """Schema-valid integers past bigint (10^25) reached the database: a 500 on both backends."""
    client = Client()
    client.force_login(moderator)
    url = f"/api/v1/conversations/{conversation.slug}/statements/{10**25}/moderate/"
    huge = {"state": "accepted", "statement_ids": [10**25]}
    bulk = f"/api/v1/conversations/{conversation.slug}/statements/moderate/"
    response = client.post(bulk, huge, content_type="application/json")
    assert response.status_code in (400, 404), response.content
    assert set(response.json()) == ERROR_KEYS
    assert client.post(url, {"state": "accepted"}).status_code in (400, 404)


def test_a_nul_byte_in_a_form_body_is_refused(conversation):
    url = f"/api/v1/conversations/{conversation.slug}/participants/"
    _api_error(Client().post(url, {"external_id": "a\x00b"}), 400)
