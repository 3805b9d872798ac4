"""Constitutions you can trust: thresholds in range, drafts until published, no duplicates."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from alignment import services
from alignment.models import ConstitutionVersion
from kernel.errors import ApplicationError
from tests.factories import SnapshotFactory, UserFactory, constitution_document

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("threshold", [-1.0, 0.0, 1.5])
@pytest.mark.parametrize("rule", ["mea", "gic", "bridging"])
def test_a_threshold_outside_the_metrics_range_is_refused(conversation, rule, threshold):
    SnapshotFactory(conversation=conversation)
    with pytest.raises(ApplicationError, match="must be greater than 0 and at most 1") as refused:
        services.constitution_build(conversation=conversation, rule=rule, threshold=threshold)
    assert refused.value.code == "bad_threshold"
    assert not ConstitutionVersion.objects.exists()


def test_importing_identical_content_twice_makes_one_version(conversation):
    document = constitution_document()
    first = services.constitution_import(conversation=conversation, document=document)
    exported = {**first.document, "content_hash": first.content_hash}
    again = services.constitution_import(conversation=conversation, document=exported)
    assert again.pk == first.pk and ConstitutionVersion.objects.count() == 1
    other = services.constitution_import(
        conversation=conversation, document=constitution_document(text="AI should be kind.")
    )
    assert other.version == 2


def test_an_export_with_integral_floats_reimports_unchanged(conversation):
    """The page sends the downloaded text as is: `-1.0` stays a float, so the hash matches."""
    first = services.constitution_import(
        conversation=conversation, document=constitution_document()
    )
    text = json.dumps({**first.document, "content_hash": first.content_hash})
    again = services.constitution_import(conversation=conversation, document=json.loads(text))
    assert again.pk == first.pk


def test_drafts_are_for_builders_until_published(conversation, moderator):
    draft = services.constitution_import(
        conversation=conversation, document=constitution_document()
    )
    anonymous, builder = APIClient(), APIClient()
    builder.force_authenticate(moderator)
    url = f"/api/v1/conversations/{conversation.slug}/constitutions/"
    assert anonymous.get(url).json()["count"] == 0
    assert builder.get(url).json()["count"] == 1
    assert anonymous.get(f"/api/v1/constitutions/{draft.pk}/").status_code == 404

    published = builder.post(f"/api/v1/constitutions/{draft.pk}/publish/").json()
    assert published["published_at"]
    assert anonymous.get(url).json()["results"][0]["id"] == draft.pk
    again = services.constitution_publish(version=draft, user=UserFactory())
    assert again.published_at.isoformat().startswith(published["published_at"][:19])
