"""Server-rendered pages: each view checks who may see it, then renders one template.

The pages talk to the JSON API from small per-page scripts; the views only hand them what the
first paint needs (the conversation, the translated strings, the URLs), so there is still one
write path: the API and its services.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language

from deliberation import services
from deliberation.models import Conversation
from deliberation.polis_io import polis_export
from frontend import strings
from frontend.forms import ConversationNewForm
from kernel import roles
from kernel.errors import ApplicationError


def _conversation(slug: str) -> Conversation:
    return get_object_or_404(Conversation, slug=slug)


def _page(
    request: HttpRequest,
    template: str,
    conversation: Conversation | None,
    page_strings: dict[str, Any],
    **extra: Any,
) -> HttpResponse:
    """Render a page with its JS string catalog and the config its script reads."""
    config = {"slug": conversation.slug if conversation else None, **extra.pop("config", {})}
    context = {
        "conversation": conversation,
        "js_strings": {key: str(value) for key, value in page_strings.items()},
        "js_config": config,
        **extra,
    }
    return render(request, template, context)


def _require_reader(request: HttpRequest, conversation: Conversation) -> None:
    """Reports and exports show every vote pattern: researchers and moderators only."""
    if not roles.can_read_all(request.user, conversation):
        raise PermissionDenied


def home(request: HttpRequest) -> HttpResponse:
    """Every conversation, with the links the visitor's role allows."""
    conversations = list(Conversation.objects.all()[:100])
    admin, researcher = roles.is_admin(request.user), roles.is_researcher(request.user)
    moderated = roles.moderated_ids(request.user)  # one query, not one per conversation
    for conversation in conversations:  # the template reads these beside the model's fields
        can_moderate = admin or conversation.pk in moderated
        can_report = researcher or can_moderate
        setattr(conversation, "can_moderate", can_moderate)  # noqa: B010
        setattr(conversation, "can_report", can_report)  # noqa: B010
        # training runs need the same role as the report; constitutions are public
        setattr(conversation, "can_train", can_report)  # noqa: B010
    context = {
        "conversations": conversations,
        "can_create": roles.can_create_conversation(request.user),
    }
    return render(request, "frontend/home.html", context)


def _questions_in(language: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each demographic question with its label and choices in `language` where translated;
    the submitted value stays the untranslated choice."""
    shown = []
    for question in questions:
        labels = question.get("labels") or {}
        names = (question.get("choice_labels") or {}).get(language) or []
        choices = question.get("choices") or []
        shown.append(
            {
                "key": question["key"],
                "label": labels.get(language) or question.get("label") or question["key"],
                "choices": [
                    {"value": c, "label": names[i] if i < len(names) and names[i] else c}
                    for i, c in enumerate(choices)
                ],
            }
        )
    return shown


def participate(request: HttpRequest, slug: str) -> HttpResponse:
    """The participant page: joining happens from the script, so a link is all one needs."""
    conversation = _conversation(slug)
    config = {
        "questions": conversation.demographic_questions,
        "is_open": conversation.is_open,
        "max_length": settings.CONCORD_STATEMENT_MAX_LENGTH,
    }
    questions = _questions_in(get_language() or "en", conversation.demographic_questions)
    return _page(
        request,
        "frontend/participate.html",
        conversation,
        strings.participant(),
        config=config,
        questions=questions,
    )


@login_required
def moderate(request: HttpRequest, slug: str) -> HttpResponse:
    conversation = _conversation(slug)
    if not roles.is_moderator(request.user, conversation):
        raise PermissionDenied
    questions = json.dumps(conversation.demographic_questions, ensure_ascii=False, indent=1)
    config = {
        "is_open": conversation.is_open,
        "questions": conversation.demographic_questions,
        # the languages a question can be translated into (the UI's, English is the default)
        "question_languages": [[code, str(name)] for code, name in settings.LANGUAGES[1:]],
    }
    return _page(
        request,
        "frontend/moderate.html",
        conversation,
        strings.moderator(),
        config=config,
        questions_json=questions,
    )


@login_required
def report(request: HttpRequest, slug: str) -> HttpResponse:
    conversation = _conversation(slug)
    _require_reader(request, conversation)
    return _page(request, "frontend/report.html", conversation, strings.report())


def constitution(request: HttpRequest, slug: str) -> HttpResponse:
    """Constitutions are the public's outcome: everyone reads; readers/moderators build."""
    conversation = _conversation(slug)
    can_build = roles.can_read_all(request.user, conversation)
    return _page(
        request,
        "frontend/constitution.html",
        conversation,
        strings.constitution(),
        config={"can_build": can_build},
        can_build=can_build,
    )


@login_required
def training(request: HttpRequest, slug: str) -> HttpResponse:
    """Start training runs on the conversation's constitution and watch them (readers only)."""
    conversation = _conversation(slug)
    _require_reader(request, conversation)
    return _page(request, "frontend/training.html", conversation, strings.training())


def constitution_export_json(request: HttpRequest, slug: str, constitution_id: int) -> HttpResponse:
    """One constitution version's document as a JSON download, re-importable as is."""
    from alignment.models import ConstitutionVersion  # alignment builds on deliberation

    conversation = _conversation(slug)
    row = get_object_or_404(ConstitutionVersion, pk=constitution_id, conversation=conversation)
    if row.published_at is None and not roles.can_read_all(request.user, conversation):
        raise Http404  # drafts are for moderators and researchers until published
    document = dict(row.document)
    if not document.get("content_hash"):
        document["content_hash"] = row.content_hash
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True),
        content_type="application/json; charset=utf-8",
    )
    group = f"-group-{row.group_id}" if row.group_id is not None else ""
    filename = f"{conversation.slug}-constitution{group}-v{row.version}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def conversation_new(request: HttpRequest) -> HttpResponse:
    """Create a conversation through the same service the API uses; its creator moderates it."""
    if not roles.can_create_conversation(request.user):
        raise PermissionDenied
    form = ConversationNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            conversation = services.conversation_create(user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("moderate", slug=conversation.slug)
    return render(request, "frontend/new.html", {"form": form})


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@login_required
def export_polis(request: HttpRequest, slug: str) -> HttpResponse:
    """The conversation as a Polis export (CSV files) in one zip, written to a temp dir first."""
    conversation = _conversation(slug)
    _require_reader(request, conversation)
    with tempfile.TemporaryDirectory(prefix="concord-export-") as tmp:
        polis_export(slug=conversation.slug, folder=tmp)
        payload = _zip_folder(Path(tmp))
    response = HttpResponse(payload, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{conversation.slug}-polis.zip"'
    return response


@login_required
def export_snapshot(request: HttpRequest, slug: str) -> HttpResponse:
    """The latest consensus snapshot as a JSON download (same shape as the API's)."""
    from consensus.snapshots.selectors import snapshot_latest  # consensus builds on deliberation

    conversation = _conversation(slug)
    _require_reader(request, conversation)
    snapshot = snapshot_latest(conversation_id=conversation.pk)
    if snapshot is None:
        return HttpResponse(status=404, content="No consensus snapshot yet.")
    body = {
        "conversation": conversation.slug,
        "id": snapshot.pk,
        "created_at": snapshot.created_at.isoformat(),
        "k": snapshot.k,
        "n_participants": snapshot.n_participants,
        "n_votes": snapshot.n_votes,
        "duration_s": snapshot.duration_s,
        "result": snapshot.result,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{conversation.slug}-snapshot.json"'
    return response
