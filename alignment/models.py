"""Constitutions and training runs as database records, with provenance back to the votes.

The documents themselves are built by the Django-free library (`alignment.constitution`,
`alignment.pipeline`); these rows store them immutably and track runs executed by the worker.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from consensus.snapshots.models import Snapshot
from deliberation.models import Conversation
from kernel.models import Job


class ConstitutionVersion(models.Model):
    """One immutable version of a collective (group_id null) or per-group constitution."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="constitutions"
    )
    group_id = models.IntegerField(null=True, blank=True, help_text="null: collective")
    version = models.PositiveIntegerField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    snapshot = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL)
    rule = models.CharField(max_length=20)
    document = models.JSONField(help_text="alignment.constitution.to_dict()")
    content_hash = models.CharField(max_length=64)
    n_principles = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A version is a draft until a moderator or researcher publishes it; only published versions
    # are public. Publishing is the one change a stored version takes (its content never does).
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "version"],
                condition=Q(group_id__isnull=True),
                name="uniq_collective_version",
            ),
            models.UniqueConstraint(
                fields=["conversation", "group_id", "version"],
                condition=Q(group_id__isnull=False),
                name="uniq_group_version",
            ),
        ]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise ValueError("Constitution versions are immutable; build a new version instead.")
        super().save(*args, **kwargs)


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # Stopped from outside (worker shutdown, kill, cancel); the run folder resumes on rerun.
        INTERRUPTED = "interrupted"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="training_runs"
    )
    constitution = models.ForeignKey(
        ConstitutionVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_spec = models.CharField(max_length=300)
    method = models.CharField(max_length=10, default="dpo")
    config = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=40, blank=True, default="")
    progress = models.FloatField(default=0.0)
    loss_curve = models.JSONField(default=list, help_text='[{"stage", "step", "loss"}]')
    metrics = models.JSONField(default=dict)
    evaluation = models.JSONField(default=dict)
    artifacts = models.JSONField(default=dict, help_text="name -> path under out_dir")
    out_dir = models.CharField(max_length=500)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
