"""The kernel's one model: a background job that users can follow through the API."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Job(models.Model):
    """A unit of background work whose status and progress users can read through the API.

    The task queue (django-tasks) runs the work; this row is what people look at, so it stays
    meaningful whichever queue backend is configured.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=60)
    conversation = models.ForeignKey(
        # A lazy reference: the kernel imports no app, but jobs are scoped to a conversation.
        "deliberation.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="jobs",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The table keeps its name from when jobs lived in deliberation: no data migration.
        db_table = "deliberation_job"
