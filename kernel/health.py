"""GET /api/v1/health/ — is the database answering and is a worker alive?

For monitors and for people: without a worker nothing recomputes and no training run starts,
yet the site looks fine. A worker counts as alive while its sweep's heartbeat row is younger
than `CONCORD_JOB_STALE_S`. Public and cheap (two small queries), like a load balancer's check.
"""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from kernel.jobs import stale_after, worker_last_beat


def worker_status() -> dict[str, object]:
    """{"alive": bool, "last_beat_s": seconds since any worker's last beat, or None}."""
    beat = worker_last_beat()
    age = (timezone.now() - beat).total_seconds() if beat else None
    return {"alive": age is not None and age < stale_after().total_seconds(), "last_beat_s": age}


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        worker = worker_status()
    except DatabaseError as exc:
        body = {"database": "error", "detail": str(exc)[:200], "worker": None, "status": "down"}
        return JsonResponse(body, status=503)
    status = "ok" if worker["alive"] else "degraded"
    return JsonResponse({"database": "ok", "worker": worker, "status": status})
