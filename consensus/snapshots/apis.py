"""Consensus endpoints: the latest snapshot, and a button to recompute now."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consensus import schema
from consensus.snapshots import scheduling, selectors
from deliberation.apis import JobSerializer, conversation_or_404, participant_for_request
from kernel import roles
from kernel.errors import ApplicationError, NotFoundError, PermissionDeniedError


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    k = serializers.IntegerField()
    n_participants = serializers.IntegerField()
    n_votes = serializers.IntegerField()
    duration_s = serializers.FloatField()
    result = serializers.JSONField()


TIERS = ("public", "participant", "full")


class SnapshotLatestApi(APIView):
    """The latest consensus snapshot; 404 before the first one.

    The result is tiered by audience (consensus/schema.py): moderators and researchers get the
    full result (`tier: "full"`, with participant ids and demographic breakdowns), a participant
    their own view (`"participant"`: the public summary plus their point and group), anyone
    else the public summary (`"public"`: groups, rankings, counts and a bounded map sample with
    no participant ids). `?tier=public` or `?tier=participant` asks for less than one may see.
    """

    @extend_schema(
        responses=SnapshotSerializer,
        parameters=[
            OpenApiParameter("tier", enum=["public", "participant", "full"], required=False)
        ],
    )
    def get(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        snapshot = selectors.snapshot_latest(conversation_id=conversation.pk)
        if snapshot is None:
            raise NotFoundError("No consensus snapshot yet: it appears after the first votes.")
        data = SnapshotSerializer(snapshot).data
        data["result"] = snapshot_for_audience(request, conversation, snapshot)
        return Response(data)


def snapshot_for_audience(request: Request, conversation: Any, snapshot: Any) -> dict[str, Any]:
    wanted = request.query_params.get("tier", "full")
    if wanted not in TIERS:
        raise ApplicationError(f"tier must be one of {', '.join(TIERS)}.")
    if wanted == "full" and roles.can_read_all(request.user, conversation):
        return {**snapshot.result, "tier": "full"}
    try:
        participant = participant_for_request(request, conversation, required=False)
    except PermissionDeniedError:  # a token of another conversation: reading stays public
        participant = None
    if wanted != "public" and participant is not None:
        return dict(schema.participant_view(snapshot.result, participant.pk, seed=snapshot.pk))
    return dict(schema.public_summary(snapshot.result, seed=snapshot.pk))


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
