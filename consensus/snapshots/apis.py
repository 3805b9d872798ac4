"""Consensus endpoints: the latest snapshot, and a button to recompute now."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consensus.snapshots import scheduling, selectors
from deliberation.apis import JobSerializer, conversation_or_404
from kernel import roles
from kernel.errors import NotFoundError, PermissionDeniedError


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


PROJECTION_CHOICES = [("pca", "PCA"), ("umap", "UMAP")]  # one OpenAPI enum (settings)


class RecomputeInputSerializer(serializers.Serializer):
    with_umap = serializers.BooleanField(default=False, help_text="also compute the UMAP map")
    projection = serializers.ChoiceField(choices=PROJECTION_CHOICES, required=False)
    cluster_on = serializers.ChoiceField(choices=PROJECTION_CHOICES, required=False)
    pass_handling = serializers.ChoiceField(choices=["count", "exclude"], required=False)


class RecomputeApi(APIView):
    @extend_schema(request=RecomputeInputSerializer, responses={202: JobSerializer})
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        if not roles.can_read_all(request.user, conversation):
            raise PermissionDeniedError("Only moderators and researchers may start a recompute.")
        data = RecomputeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = {k: v for k, v in data.validated_data.items() if v}
        job = scheduling.recompute_enqueue(
            conversation_id=conversation.pk, user=request.user, config=config or None
        )
        return Response(JobSerializer(job).data, status=202)
