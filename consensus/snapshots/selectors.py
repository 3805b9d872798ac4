"""Read-side access to consensus snapshots."""

from __future__ import annotations

from collections.abc import Mapping

from consensus.snapshots.models import Snapshot


def snapshot_latest(*, conversation_id: int) -> Snapshot | None:
    return (
        Snapshot.objects.filter(conversation_id=conversation_id)
        .order_by("-created_at", "-id")
        .first()
    )


def snapshot_priorities(*, conversation_id: int) -> Mapping[int, float]:
    """Routing priority per statement id from the latest snapshot ({} before the first one)."""
    row = (
        Snapshot.objects.filter(conversation_id=conversation_id)
        .order_by("-created_at", "-id")
        .values_list("priorities", flat=True)
        .first()
    )
    return {int(k): float(v) for k, v in (row or {}).items()}


def participant_groups(*, conversation_id: int) -> dict[int, int | None]:
    """Participant id -> group id in the latest snapshot."""
    snapshot = snapshot_latest(conversation_id=conversation_id)
    if snapshot is None:
        return {}
    return {int(p["id"]): p.get("group") for p in snapshot.result.get("participants", [])}
