"""The deliberation data model: conversations, statements, participants, votes.

Rules about these rows (who may vote, what counts as a duplicate, how a vote changes) live in
`services.py`; the models only hold data and the constraints the database can enforce itself, so
that concurrent writers can never break them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Conversation(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    topic = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    languages = models.JSONField(default=list, blank=True, help_text="BCP-47 language codes")
    is_open = models.BooleanField(default=True)
    participant_statements_allowed = models.BooleanField(default=True)
    strict_moderation = models.BooleanField(
        default=True, help_text="Participant statements wait for a moderator before being shown."
    )
    demographic_questions = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"key": "age", "label": "Age", "choices": ["18-29", ...]}]',
    )

    class ErasedStatements(models.TextChoices):
        """What "delete my data" does with a participant's statements (the moderator chooses):
        keep them without an author (others' votes on them stay meaningful) or delete them."""

        DETACH = "detach"
        DELETE = "delete"

    erased_statements = models.CharField(
        max_length=10, choices=ErasedStatements.choices, default=ErasedStatements.DETACH
    )
    moderators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="moderated_conversations", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.slug


class Participant(models.Model):
    """One person in one conversation: anonymous (signed token), an account, or an external id."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    external_id = models.CharField(max_length=200, null=True, blank=True)
    polis_pid = models.IntegerField(
        null=True, blank=True, help_text="Participant id in a Polis import"
    )
    demographics_consent_at = models.DateTimeField(null=True, blank=True)
    # The language the participant's page was in when they joined: statements in it come first.
    language = models.CharField(max_length=16, blank=True, default="")
    # Signed into every token; bumping it revokes every token issued before (sign out everywhere).
    token_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "user"],
                condition=Q(user__isnull=False),
                name="uniq_ptpt_user",
            ),
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=Q(external_id__isnull=False),
                name="uniq_ptpt_xid",
            ),
            models.UniqueConstraint(
                fields=["conversation", "polis_pid"],
                condition=Q(polis_pid__isnull=False),
                name="uniq_ptpt_polis_pid",
            ),
        ]

    def __str__(self) -> str:
        return f"participant {self.pk} in {self.conversation_id}"


class Statement(models.Model):
    class Moderation(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="statements"
    )
    text = models.TextField()
    # NFKC-normalised, case-folded, whitespace-collapsed text: duplicates are refused by the DB.
    text_key = models.TextField()
    language = models.CharField(max_length=20, blank=True, default="")
    author = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="statements"
    )
    is_seed = models.BooleanField(default=False)
    moderation = models.CharField(
        max_length=10, choices=Moderation.choices, default=Moderation.PENDING
    )
    moderation_reason = models.CharField(max_length=500, blank=True, default="")
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    polis_tid = models.IntegerField(null=True, blank=True, help_text="Comment id in a Polis import")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "text_key"], name="uniq_stmt_text"),
            models.UniqueConstraint(
                fields=["conversation", "polis_tid"],
                condition=Q(polis_tid__isnull=False),
                name="uniq_stmt_polis_tid",
            ),
        ]
        indexes = [models.Index(fields=["conversation", "moderation"])]

    def __str__(self) -> str:
        return self.text[:60]


class Vote(models.Model):
    """The current vote of a participant on a statement (exactly one; history in VoteEvent)."""

    AGREE, PASS, DISAGREE = 1, 0, -1
    VALUES = (AGREE, PASS, DISAGREE)

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="votes")
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="votes")
    value = models.SmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "statement"], name="uniq_vote"),
            models.CheckConstraint(condition=Q(value__in=[-1, 0, 1]), name="vote_value_range"),
        ]
        indexes = [models.Index(fields=["statement", "value"])]


class VoteEvent(models.Model):
    """Every distinct vote a participant cast, in order: a changed vote keeps its history."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="vote_events"
    )
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="vote_events")
    value = models.SmallIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(value__in=[-1, 0, 1]), name="vote_event_value_range")
        ]


class DemographicAnswer(models.Model):
    """An answer given with explicit consent; revoking consent deletes every row."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="demographic_answers"
    )
    question = models.CharField(max_length=80)
    answer = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "question"], name="uniq_demo_answer")
        ]


class AuditEvent(models.Model):
    """Who did what to a conversation: every moderator and admin action, append-only."""

    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=120, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
