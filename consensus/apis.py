"""Consensus endpoints: the latest snapshot, and a button to recompute now."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consensus import scheduling, selectors
from deliberation import roles
from deliberation.apis import JobSerializer, conversation_or_404
from deliberation.errors import NotFoundError, PermissionDeniedError


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    k = serializers.IntegerField()
    n_participants = serializers.IntegerField()
    n_votes = serializers.IntegerField()
    duration_s = serializers.FloatField()
    result = serializers.JSONField()


class SnapshotLatestApi(APIView):
    """The latest consensus snapshot (groups, map, metrics); 404 before the first one."""

    @extend_schema(responses=SnapshotSerializer)
    def get(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        snapshot = selectors.snapshot_latest(conversation_id=conversation.pk)
        if snapshot is None:
            raise NotFoundError("No consensus snapshot yet: it appears after the first votes.")
        return Response(SnapshotSerializer(snapshot).data)


class RecomputeApi(APIView):
    @extend_schema(request=None, responses={202: JobSerializer})
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        if not roles.can_read_all(request.user, conversation):
            raise PermissionDeniedError("Only moderators and researchers may start a recompute.")
        job = scheduling.recompute_enqueue(conversation_id=conversation.pk, user=request.user)
        return Response(JobSerializer(job).data, status=202)
