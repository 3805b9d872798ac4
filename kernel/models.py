"""The kernel's models: a background job users can follow, and the worker's heartbeat."""

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
    # Each claim adds one; the value a runner claimed with is its lease (fencing token): its
    # heartbeats and its outcome only count while the row still holds that value and "running".
    attempts = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the job was last handed to the queue: a queued job whose task ended or vanished
    # since then was lost by the queue (a failed claim, RQ dropping it) and is re-queued.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    runner = models.CharField(max_length=100, blank=True, default="")  # "host:pid" that claimed it

    class Meta:
        ordering = ["-created_at"]
        # The table keeps its name from when jobs lived in deliberation: no data migration.
        db_table = "deliberation_job"


class RateLimitCounter(models.Model):
    """One fixed-window rate-limit counter, for deployments without Redis.

    In the database so that every server process counts against the same limit; the key names
    the limit, the subject and the window, and rows whose window has passed are pruned.
    """

    key = models.CharField(max_length=255, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.FloatField(db_index=True, help_text="Unix time after which it is unused")


class WorkerBeat(models.Model):
    """A worker process's last sign of life, written by its sweep; /api/v1/health/ reads it.

    One row per process ("host:pid"), so a restarted worker shows up as a new row and a dead
    one as a row whose beat stopped.
    """

    name = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
