"""factory_boy factories for the deliberation rows (tests build data here, not in fixtures)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from consensus.snapshots.models import Snapshot
from deliberation.models import Conversation, Participant, Statement, Vote
from kernel.models import Job


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        self.set_password(extracted or "pw-for-tests")
        if create:
            self.save()

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    slug = factory.Sequence(lambda n: f"conversation-{n}")
    topic = "What values should an AI assistant hold?"
    strict_moderation = True


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    conversation = factory.SubFactory(ConversationFactory)


class StatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Statement

    conversation = factory.SubFactory(ConversationFactory)
    text = factory.Sequence(lambda n: f"Statement number {n} about AI values.")
    text_key = factory.LazyAttribute(lambda o: o.text.casefold())
    moderation = Statement.Moderation.ACCEPTED


class VoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vote

    participant = factory.SubFactory(ParticipantFactory)
    statement = factory.SubFactory(StatementFactory)
    value = 1


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = "tests.echo"
    conversation = factory.SubFactory(ConversationFactory)


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Snapshot

    conversation = factory.SubFactory(ConversationFactory)
    k = 2
    n_participants = 10
    n_votes = 40
    result = factory.LazyFunction(lambda: {"groups": [], "participants": []})


def constitution_document(statement_id: int = 1, text: str = "AI should be honest.") -> dict:
    """A real constitution document (built by the library) for rows that need one."""
    from alignment import constitution as const

    result = {
        "statements": [
            {
                "id": statement_id,
                "text": text,
                "gic": 0.9,
                "mea": 0.8,
                "groups": {"0": {"n_agree": 9, "n_disagree": 1, "n_pass": 0, "n_votes": 10}},
            }
        ],
        "groups": [{"id": 0, "size": 10, "repness": []}],
    }
    built = const.build_constitution(
        result,
        source={"conversation": "x", "snapshot_id": None},
        rule="manual",
        statement_ids=[statement_id],
        dedup="none",
    )
    return const.to_dict(built)
