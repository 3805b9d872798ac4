"""factory_boy factories for the deliberation rows (tests build data here, not in fixtures)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from deliberation.models import Conversation, Participant, Statement, Vote


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

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
