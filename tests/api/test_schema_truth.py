"""The schema promises only what every reader gets (schemathesis ST108 found it promising more).

Anonymous readers and participants get a statement's public fields; moderators, researchers and
admins also get the author and the counts. The list row's schema therefore requires only the
public fields, and blank statement text, which the API refuses, is outside the schema.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import StatementFactory

pytestmark = pytest.mark.django_db
PRIVILEGED = {"author_id", "moderation_reason", "moderated_at", "n_agree", "n_disagree", "n_pass"}


def _schema() -> dict:
    return APIClient().get("/api/schema/?format=json").json()


def test_the_statement_list_row_requires_no_field_anonymous_readers_never_get(conversation):
    row = _schema()["components"]["schemas"]["StatementListItem"]
    assert PRIVILEGED <= set(row["properties"])
    assert not PRIVILEGED & set(row.get("required", []))
    StatementFactory(conversation=conversation)
    got = APIClient().get(f"/api/v1/conversations/{conversation.slug}/statements/").json()
    assert set(got["results"][0]) >= set(row["required"])
    assert not PRIVILEGED & set(got["results"][0])


def test_blank_statement_text_is_outside_the_schema_as_it_is_refused():
    text = _schema()["components"]["schemas"]["StatementInputRequest"]["properties"]["text"]
    assert text["minLength"] == 1 and text["pattern"] == r"\S"


def test_page_parameters_are_bounded_in_the_schema(conversation):
    path = _schema()["paths"]["/api/v1/conversations/{slug}/statements/"]["get"]
    bounds = {p["name"]: p["schema"] for p in path["parameters"]}
    assert bounds["limit"]["maximum"] == 1000 and bounds["offset"]["minimum"] == 0
