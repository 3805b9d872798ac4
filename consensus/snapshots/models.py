"""Consensus snapshots: the stored output of one run of the math for one conversation."""

from __future__ import annotations

from django.db import models

from deliberation.models import Conversation
from kernel.models import Job


class Snapshot(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="snapshots"
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    config = models.JSONField(default=dict)
    # The pipeline's carried state (sticky in-conv set, base clusters, k buffer, group ids) so
    # the next snapshot continues where this one stopped, as Polis' math worker does.
    state = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    priorities = models.JSONField(default=dict, help_text="statement id -> routing priority")
    n_participants = models.PositiveIntegerField(default=0)
    n_statements = models.PositiveIntegerField(default=0)
    n_votes = models.PositiveIntegerField(default=0)
    k = models.PositiveSmallIntegerField(default=0)
    last_vote_event_id = models.BigIntegerField(default=0)
    duration_s = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "-created_at"])]
