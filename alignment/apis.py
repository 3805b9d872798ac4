"""Constitution and training-run endpoints (validate → one service call → serialize)."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment import constitution as const
from alignment import services
from alignment.models import ConstitutionVersion, TrainingRun
from deliberation.apis import conversation_or_404, require_reader
from deliberation.models import Conversation
from kernel import roles
from kernel.errors import PermissionDeniedError

EXPORT_SKIP_SUFFIXES = (".pt", ".bin")  # optimizer states and pickles stay on the server


class ConstitutionSerializer(serializers.ModelSerializer):
    conversation: serializers.SlugRelatedField[Conversation] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ConstitutionVersion
        fields = [
            "id",
            "conversation",
            "group_id",
            "version",
            "parent",
            "snapshot",
            "rule",
            "content_hash",
            "n_principles",
            "document",
            "created_at",
            "published_at",
        ]


def _can_read_drafts(request: Request, conversation: Any) -> bool:
    return roles.can_read_all(request.user, conversation)


def _visible_or_404(request: Request, constitution_id: int) -> ConstitutionVersion:
    """A version this request may see: drafts only for moderators, researchers and admins."""
    row = get_object_or_404(ConstitutionVersion, pk=constitution_id)
    drafts = _can_read_drafts(request, row.conversation)
    if not services.constitution_visible(row, can_read_drafts=drafts):
        raise Http404
    return row


def _require_builder(request: Request, conversation: Any) -> None:
    if not roles.is_moderator(request.user, conversation) and not roles.is_researcher(request.user):
        raise PermissionDeniedError(
            _("Only moderators, researchers and admins build constitutions.")
        )


class ConstitutionBuildSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=["mea", "gic", "bridging", "manual"], default="mea")
    threshold = serializers.FloatField(required=False, allow_null=True, default=None)
    statement_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    dedup = serializers.ChoiceField(choices=["tfidf", "embeddings", "none"], default="tfidf")
    per_group = serializers.BooleanField(default=False)
    document = serializers.JSONField(required=False, help_text="import an exported constitution")


class ConstitutionListApi(generics.ListAPIView):
    """Every constitution version of a conversation (public: they are the public's outcome)."""

    serializer_class = ConstitutionSerializer
    filterset_fields = ["group_id", "rule"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return ConstitutionVersion.objects.none()
        conversation = conversation_or_404(self.kwargs["slug"])
        rows = conversation.constitutions.all()
        if not _can_read_drafts(self.request, conversation):
            rows = rows.filter(published_at__isnull=False)
        return rows

    @extend_schema(
        request=ConstitutionBuildSerializer, responses={201: ConstitutionSerializer(many=True)}
    )
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        _require_builder(request, conversation)
        data = ConstitutionBuildSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        if "document" in options:
            built = [
                services.constitution_import(
                    conversation=conversation, document=options["document"], user=request.user
                )
            ]
        elif options.pop("per_group"):
            built = services.constitution_build_groups(
                conversation=conversation, dedup=options["dedup"], user=request.user
            )
        else:
            built = [
                services.constitution_build(conversation=conversation, user=request.user, **options)
            ]
        return Response(ConstitutionSerializer(built, many=True).data, status=201)


class ConstitutionDetailApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("export", str, enum=["json", "md"])],
        responses=ConstitutionSerializer,
    )
    def get(self, request: Request, constitution_id: int) -> Response | HttpResponse:
        row = _visible_or_404(request, constitution_id)
        if request.query_params.get("export") == "md":
            text = const.to_markdown(const.from_dict(row.document))
            response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="constitution-v{row.version}.md"'
            )
            return response
        return Response(ConstitutionSerializer(row).data)


class ConstitutionDiffApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, constitution_id: int, other_id: int) -> Response:
        old = _visible_or_404(request, constitution_id)
        new = _visible_or_404(request, other_id)
        return Response(services.constitution_diff(old, new))


class ConstitutionPublishApi(APIView):
    """Publish a draft: from now on it is what everyone sees."""

    @extend_schema(request=None, responses=ConstitutionSerializer)
    def post(self, request: Request, constitution_id: int) -> Response:
        row = get_object_or_404(ConstitutionVersion, pk=constitution_id)
        _require_builder(request, row.conversation)
        row = services.constitution_publish(version=row, user=request.user)
        return Response(ConstitutionSerializer(row).data)


class TrainingRunSerializer(serializers.ModelSerializer):
    conversation: serializers.SlugRelatedField[Conversation] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "conversation",
            "constitution",
            "job",
            "model_spec",
            "method",
            "config",
            "status",
            "stage",
            "progress",
            "loss_curve",
            "metrics",
            "evaluation",
            "artifacts",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class TrainingRunStartSerializer(serializers.Serializer):
    # Blank reaches the service, which refuses it in the request's language (DRF's own message
    # would be prefixed with the field's English name).
    model = serializers.CharField(max_length=300, default="smollm2", allow_blank=True)
    method = serializers.ChoiceField(choices=["dpo", "kto"], default="dpo")
    constitution = serializers.IntegerField(required=False, allow_null=True)
    config = serializers.JSONField(required=False, default=dict)


class TrainingRunListApi(generics.ListAPIView):
    serializer_class = TrainingRunSerializer
    filterset_fields = ["status", "method"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return TrainingRun.objects.none()
        conversation = conversation_or_404(self.kwargs["slug"])
        require_reader(self.request, conversation)
        return conversation.training_runs.all()

    @extend_schema(request=TrainingRunStartSerializer, responses={202: TrainingRunSerializer})
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        require_reader(request, conversation)
        data = TrainingRunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        cid = options.pop("constitution", None)
        constitution = get_object_or_404(ConstitutionVersion, pk=cid) if cid else None
        run = services.training_run_start(
            conversation=conversation, constitution=constitution, user=request.user, **options
        )
        return Response(TrainingRunSerializer(run).data, status=202)


def _run_or_404(request: Request, run_id: int) -> TrainingRun:
    run = get_object_or_404(TrainingRun.objects.select_related("conversation"), pk=run_id)
    require_reader(request, run.conversation)
    return run


class TrainingRunDetailApi(APIView):
    @extend_schema(responses=TrainingRunSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(TrainingRunSerializer(_run_or_404(request, run_id)).data)


class TrainingRunExportApi(APIView):
    """A zip of the run folder: run.json, model card, constitution, datasets, weights/adapter."""

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request: Request, run_id: int) -> FileResponse:
        run = _run_or_404(request, run_id)
        folder = Path(run.out_dir)
        buffer = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
        # a temporary file, not memory: the trained weights can be hundreds of megabytes
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "training_run.json", json.dumps(TrainingRunSerializer(run).data, default=str)
            )
            for path in sorted(folder.rglob("*")) if folder.exists() else []:
                if (
                    path.is_file()
                    and path.suffix not in EXPORT_SKIP_SUFFIXES
                    and "checkpoint-" not in str(path)
                ):
                    archive.write(path, path.relative_to(folder))
        buffer.seek(0)
        return FileResponse(buffer, as_attachment=True, filename=f"training-run-{run.pk}.zip")


class TrainingRunResumeApi(APIView):
    """Queue an interrupted or failed run again; it resumes in its own folder."""

    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    def post(self, request: Request, run_id: int) -> Response:
        run = services.training_run_resume(run=_run_or_404(request, run_id), user=request.user)
        return Response(TrainingRunSerializer(run).data, status=202)


class ConstitutionPromptSetApi(APIView):
    """The conversation's grounded prompt set for one constitution version, to edit and upload.

    Rows are `{id, prompt, language, tags, principle_ids}`; send an edited list back as the
    training run's `config.prompts` (held-out prompts stay the grounded ones).
    """

    @extend_schema(responses={200: dict})
    def get(self, request: Request, constitution_id: int) -> Response:
        from alignment.grounding import build_conversation_prompts

        row = _visible_or_404(request, constitution_id)
        sets = build_conversation_prompts(
            const.from_dict(row.document),
            languages=list(row.conversation.languages or []) or ["en"],
            topic=row.conversation.topic,
        )
        return Response(
            {
                "constitution": row.pk,
                "train": [p.to_dict() for p in sets.train],
                "heldout": [p.to_dict() for p in sets.heldout],
            }
        )
