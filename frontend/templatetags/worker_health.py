"""`{% worker_health conversation %}`: one line on the moderator and researcher pages saying
whether a worker is alive and how old the conversation's last snapshot is — so "Recompute now"
staying "queued" has a visible reason."""

from __future__ import annotations

from typing import Any

from django import template

from consensus.snapshots.models import Snapshot
from kernel.health import worker_status

register = template.Library()


@register.inclusion_tag("frontend/_worker_health.html")
def worker_health(conversation: Any) -> dict[str, Any]:
    latest = Snapshot.objects.filter(conversation_id=conversation.pk).order_by("-created_at")
    return {
        "worker_alive": worker_status()["alive"],
        "snapshot_at": latest.values_list("created_at", flat=True).first(),  # not the result blob
    }
