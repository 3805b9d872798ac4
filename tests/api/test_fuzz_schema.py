"""API fuzzing: schemathesis drives every operation of our own OpenAPI schema, in process.

Bounded example count so CI stays fast. Checks: no 5xx, and every response (status code,
content type, body) matches the schema — error bodies included (config/openapi.py). Not checked:
"schema-valid data must be accepted", because business rules (wrong password, whitespace-only
statement, duplicate) rightly refuse some schema-valid requests with a documented 4xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from deliberation import services
from tests.factories import ConversationFactory, UserFactory

SCHEMA_PATH = "/api/schema/?format=json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(db):  # type: ignore[no-untyped-def]
    """A conversation with statements, so generated requests reach real code paths."""
    conversation = ConversationFactory(slug="fuzz")
    moderator = UserFactory(username="fuzz-moderator")
    conversation.moderators.add(moderator)
    for i in range(3):
        services.statement_seed(conversation=conversation, text=f"Seed {i}", user=moderator)
    return conversation


def _fuzz(operation) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(checks=CHECKS)

    check()


@pytest.mark.django_db(transaction=True)
def test_api_never_errors_and_matches_its_schema(seeded):
    from config.wsgi import application

    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        _fuzz(operation)
