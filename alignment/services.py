"""Constitutions and training runs: the Django side of the alignment library.

Builds constitutions from the latest consensus snapshot (texts joined from the database, since
the math only knows ids), stores them as immutable versions, and runs the CAI → SFT → DPO/KTO
chain for a `TrainingRun`, recording status, progress and loss curves as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alignment import constitution as const
from alignment.cai_data import prompts_from_rows
from alignment.config import AlignmentError, ChainConfig, GenerationSettings
from alignment.models import ConstitutionVersion, TrainingRun
from consensus.snapshots.models import Snapshot
from consensus.snapshots.selectors import snapshot_latest
from deliberation.models import Conversation, Statement
from kernel import jobs
from kernel.errors import ApplicationError, NotFoundError
from kernel.models import Job
from kernel.taskqueue import job_requeue

PIPELINE_KIND = "alignment.pipeline"
# Selection rules as the pages name them (the same words as frontend/strings.py).
_RULE_WORDS: dict[str, Any] = {
    "mea": "MEA",
    "gic": "GIC",
    "bridging": gettext_lazy("bridging"),
    "manual": gettext_lazy("hand-picked"),
}
# A run's status as a word in the request's language (the training page's own words).
_STATUS_WORDS: dict[str, Any] = {
    TrainingRun.Status.QUEUED: gettext_lazy("queued"),
    TrainingRun.Status.RUNNING: gettext_lazy("running"),
    TrainingRun.Status.SUCCEEDED: gettext_lazy("succeeded"),
    TrainingRun.Status.FAILED: gettext_lazy("failed"),
    TrainingRun.Status.INTERRUPTED: gettext_lazy("interrupted (resumable)"),
}
_PROGRESS_WRITE_S = 1.0


def _latest_snapshot(conversation: Conversation) -> Snapshot:
    snapshot = snapshot_latest(conversation_id=conversation.pk)
    if snapshot is None:
        raise ApplicationError(
            _("This conversation has no consensus snapshot yet: recompute consensus first."),
            code="no_snapshot",
        )
    return snapshot


def consensus_result_with_texts(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot's result with each statement's text and language joined in."""
    result = dict(snapshot.result)
    rows = Statement.objects.filter(conversation_id=snapshot.conversation_id).values_list(
        "pk", "text", "language", "polis_tid"
    )
    joined = {
        pk: {"text": t, "language": lang or None, "polis_tid": tid} for pk, t, lang, tid in rows
    }
    empty = {"text": "", "language": None, "polis_tid": None}
    result["statements"] = [
        {**row, **joined.get(int(row["id"]), empty)} for row in result.get("statements", [])
    ]
    return result


def _source(conversation: Conversation, snapshot: Snapshot) -> dict[str, Any]:
    return {"conversation": conversation.slug, "snapshot_id": snapshot.pk}


# Every rule's score is a rate in [0, 1]; a threshold outside (0, 1] would admit statements the
# groups rejected (a threshold of -1 let every statement in).
THRESHOLD_RANGE = {"mea": (0.0, 1.0), "gic": (0.0, 1.0), "bridging": (0.0, 1.0)}


def _threshold_check(rule: str, threshold: float | None) -> None:
    bounds = THRESHOLD_RANGE.get(rule)
    if threshold is None or bounds is None:
        return
    low, high = bounds
    if not (low < threshold <= high):
        raise ApplicationError(
            _("The threshold for rule %(rule)s must be greater than %(low)s and at most %(high)s.")
            % {"rule": rule, "low": f"{low:g}", "high": f"{high:g}"},
            code="bad_threshold",
            extra={"low": low, "high": high},
        )


def _store(
    conversation: Conversation,
    document: const.Constitution,
    snapshot: Snapshot | None,
    parent: ConstitutionVersion | None,
    user: Any,
) -> ConstitutionVersion:
    """Store a new version, unless one with the same content exists: that one is returned.

    The content hash leaves out version bookkeeping and the timestamp, so rebuilding the same
    rule on the same snapshot, or re-importing an unedited download, makes no new version.
    """
    group = document.group_id
    same = ConstitutionVersion.objects.filter(
        conversation=conversation,
        group_id=int(group) if group is not None else None,
        content_hash=document.content_hash,
    ).first()
    if same is not None:
        return same
    return ConstitutionVersion.objects.create(
        conversation=conversation,
        group_id=int(group) if group is not None else None,
        version=document.version,
        parent=parent,
        snapshot=snapshot,
        rule=document.rule,
        document=const.to_dict(document),
        content_hash=document.content_hash,
        n_principles=len(document.principles),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def _latest_version(conversation: Conversation, group_id: int | None) -> ConstitutionVersion | None:
    return (
        ConstitutionVersion.objects.select_for_update()
        .filter(conversation=conversation, group_id=group_id)
        .order_by("-version")
        .first()
    )


@transaction.atomic
def constitution_build(
    *,
    conversation: Conversation,
    rule: str = "mea",
    threshold: float | None = None,
    statement_ids: list[Any] | None = None,
    dedup: str = "tfidf",
    user: Any = None,
) -> ConstitutionVersion:
    """A new collective constitution version (a draft) from the latest snapshot."""
    _threshold_check(rule, threshold)
    snapshot = _latest_snapshot(conversation)
    parent = _latest_version(conversation, None)
    try:
        document = const.build_constitution(
            consensus_result_with_texts(snapshot),
            source=_source(conversation, snapshot),
            rule=rule,
            threshold=threshold,
            statement_ids=statement_ids,
            dedup=dedup,
            parent=const.from_dict(parent.document) if parent else None,
        )
    except const.NothingPassesError as exc:
        raise ApplicationError(
            _(
                "no statement passes rule '%(rule)s' at threshold %(threshold)s"
                " (best score: %(best)s)"
            )
            % {
                "rule": _RULE_WORDS.get(exc.rule, exc.rule),
                "threshold": f"{exc.threshold:g}",
                "best": "–" if exc.best is None else f"{exc.best:.3f}",
            },
            code="nothing_passes",
        ) from exc
    except (AlignmentError, ValueError) as exc:
        raise ApplicationError(str(exc)) from exc
    return _store(conversation, document, snapshot, parent, user)


@transaction.atomic
def constitution_build_groups(
    *, conversation: Conversation, dedup: str = "tfidf", user: Any = None
) -> list[ConstitutionVersion]:
    """One new version per opinion group: what each group endorses (pluralistic training)."""
    snapshot = _latest_snapshot(conversation)
    try:
        documents = const.build_group_constitutions(
            consensus_result_with_texts(snapshot),
            source=_source(conversation, snapshot),
            dedup=dedup,
        )
    except (AlignmentError, ValueError) as exc:
        raise ApplicationError(str(exc)) from exc
    stored = []
    for gid, document in documents.items():
        parent = _latest_version(conversation, int(gid))
        version = parent.version + 1 if parent else 1
        document = const.from_dict(
            {
                **const.to_dict(document),
                "version": version,
                "parent_version": parent.version if parent else None,
            }
        )
        stored.append(_store(conversation, document, snapshot, parent, user))
    return stored


@transaction.atomic
def constitution_import(
    *, conversation: Conversation, document: Mapping[str, Any], user: Any = None
) -> ConstitutionVersion:
    """Import an exported constitution JSON as the next collective version."""
    try:
        parsed = const.from_dict(document)
    except (AlignmentError, ValueError, KeyError, TypeError) as exc:
        raise ApplicationError(
            _("Not a valid constitution document: %(problem)s") % {"problem": exc},
            code="bad_document",
        ) from exc
    parent = _latest_version(conversation, None)
    version = parent.version + 1 if parent else 1
    parsed = const.from_dict(
        {
            **const.to_dict(parsed),
            "version": version,
            "parent_version": parent.version if parent else None,
            "group_id": None,
        }
    )
    return _store(conversation, parsed, None, parent, user)


@transaction.atomic
def constitution_publish(*, version: ConstitutionVersion, user: Any = None) -> ConstitutionVersion:
    """Make a draft the public constitution (publishing twice keeps the first time)."""
    ConstitutionVersion.objects.filter(pk=version.pk, published_at__isnull=True).update(
        published_at=timezone.now(),
        published_by=user if getattr(user, "is_authenticated", False) else None,
    )
    version.refresh_from_db(fields=["published_at", "published_by"])
    return version


def constitution_visible(version: ConstitutionVersion, *, can_read_drafts: bool) -> bool:
    """Anonymous visitors and participants see published versions only."""
    return can_read_drafts or version.published_at is not None


def constitution_diff(old: ConstitutionVersion, new: ConstitutionVersion) -> dict[str, Any]:
    return const.diff(const.from_dict(old.document), const.from_dict(new.document)).to_dict()


# --- training runs --------------------------------------------------------------------------


def chain_config(data: Mapping[str, Any] | None) -> ChainConfig:
    """A ChainConfig from JSON, with a clear error for unknown or invalid fields."""
    data = dict(data or {})
    try:
        generation = GenerationSettings(**data.pop("generation", {}) or {})
        config = ChainConfig(generation=generation, **data)
        if config.prompts:
            prompts_from_rows(config.prompts, where="config.prompts")
        return config
    except TypeError as exc:
        raise ApplicationError(
            _("Invalid training configuration: %(problem)s") % {"problem": exc}, code="bad_config"
        ) from exc
    except (AlignmentError, ValueError) as exc:
        raise ApplicationError(str(exc)) from exc


def _run_dir(run: TrainingRun) -> str:
    return str(Path(settings.CONCORD_DATA_DIR) / "runs" / f"run-{run.pk}")


@transaction.atomic
def training_run_create(
    *,
    conversation: Conversation,
    model: str = "smollm2",
    method: str = "dpo",
    constitution: ConstitutionVersion | None = None,
    config: Mapping[str, Any] | None = None,
    out_dir: str | None = None,
    user: Any = None,
) -> TrainingRun:
    if method not in ("dpo", "kto"):
        raise ApplicationError(
            _("The preference method must be DPO or KTO, not %(method)s.") % {"method": method},
            code="bad_method",
        )
    if not str(model).strip():
        raise ApplicationError(
            _("Name a model: smollm2, tiny, a local path or a model id."), code="no_model"
        )
    chain_config(config)  # validate now, not in the worker
    _latest_snapshot(conversation)
    if constitution is not None and constitution.conversation_id != conversation.pk:
        raise ApplicationError(_("That constitution belongs to another conversation."))
    run = TrainingRun.objects.create(
        conversation=conversation,
        constitution=constitution,
        model_spec=str(model).strip(),
        method=method,
        config=dict(config or {}),
        out_dir=out_dir or "",
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if not out_dir:
        run.out_dir = _run_dir(run)
        run.save(update_fields=["out_dir"])
    return run


def training_run_start(**kwargs: Any) -> TrainingRun:
    """Create a run and queue it for the worker (the request never trains)."""
    with transaction.atomic():
        run = training_run_create(**kwargs)
        job = jobs.job_create(
            kind=PIPELINE_KIND,
            conversation_id=run.conversation_id,
            params={"run_id": run.pk},
            user=kwargs.get("user"),
        )
        TrainingRun.objects.filter(pk=run.pk).update(job=job)
        transaction.on_commit(lambda: job_requeue(job))
    run.refresh_from_db()
    return run


class _Recorder:
    """Chain callbacks → TrainingRun row: stage, progress and loss curve, written at most 1/s."""

    def __init__(self, run: TrainingRun, job_id: int | None) -> None:
        self.run, self.job_id, self.last_write = run, job_id, 0.0

    def on_step(self, step: str, status: str, info: dict[str, Any]) -> None:
        self.run.stage = step if status == "started" else self.run.stage
        self._write(force=True)

    def on_progress(self, step: str, done: int, total: int, logs: dict[str, Any]) -> None:
        self.run.progress = done / total if total else 0.0
        if "loss" in logs:
            self.run.loss_curve.append({"stage": step, "step": done, "loss": float(logs["loss"])})
        self._write(force=False)

    def _write(self, *, force: bool) -> None:
        if not force and time.monotonic() - self.last_write < _PROGRESS_WRITE_S:
            return
        self.last_write = time.monotonic()
        TrainingRun.objects.filter(pk=self.run.pk).update(
            stage=self.run.stage, progress=self.run.progress, loss_curve=self.run.loss_curve
        )
        if self.job_id:
            jobs.job_progress(self.job_id, self.run.progress, f"{self.run.stage}")


def _run_constitution(run: TrainingRun) -> ConstitutionVersion:
    """The run's constitution, or a new version built by the rule in the run's config."""
    if run.constitution is not None:
        return run.constitution
    cfg = chain_config(run.config)
    constitution = constitution_build(
        conversation=run.conversation,
        rule=cfg.rule,
        threshold=cfg.threshold,
        statement_ids=list(cfg.statement_ids) or None,
        dedup=cfg.dedup,
        user=run.created_by,
    )
    TrainingRun.objects.filter(pk=run.pk).update(constitution=constitution)
    return constitution


def training_run_execute(*, run_id: int, job_id: int | None = None) -> TrainingRun:
    """Run the whole chain for a run (in the worker or the CLI). Failure → status failed."""
    from alignment.pipeline import run_chain  # heavy (torch, transformers): import on use

    run = TrainingRun.objects.select_related("conversation").filter(pk=run_id).first()
    if run is None:
        raise NotFoundError(_("Training run %(id)s does not exist.") % {"id": run_id})
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.RUNNING, started_at=timezone.now(), error="", loss_curve=[]
    )
    run.loss_curve = []
    recorder = _Recorder(run, job_id)
    try:
        constitution = _run_constitution(run)
        state = run_chain(
            _heldout_result(constitution),
            source=_chain_source(run, constitution),
            model=run.model_spec,
            out_dir=run.out_dir,
            method=run.method,
            config=chain_config(run.config),
            constitution=const.from_dict(constitution.document),
            on_step=recorder.on_step,
            on_progress=recorder.on_progress,
        )
    except BaseException as exc:
        _finish(run, status=_stop_status(exc), error=f"{type(exc).__name__}: {exc}")
        raise
    return _finish(run, status=TrainingRun.Status.SUCCEEDED, state=state)


def _stop_status(exc: BaseException) -> str:
    """`interrupted` for a stop from outside (resumable), `failed` for an error."""
    from alignment.pipeline import is_interruption

    interrupted = is_interruption(exc)
    return TrainingRun.Status.INTERRUPTED if interrupted else TrainingRun.Status.FAILED


def _chain_source(run: TrainingRun, constitution: ConstitutionVersion) -> dict[str, Any]:
    """The constitution's source plus the conversation's languages and topic (for prompts)."""
    conversation = run.conversation
    return dict(constitution.document.get("source", {})) | {
        "languages": list(conversation.languages or []),
        "topic": conversation.topic,
    }


def _heldout_result(constitution: ConstitutionVersion) -> dict[str, Any]:
    """The snapshot's statements with votes, for the per-group stance evaluation ({} if none).

    The chain evaluates on the statements that are not behind any principle.
    """
    if constitution.snapshot is None:
        return {}
    return consensus_result_with_texts(constitution.snapshot)


def training_runs_mark_interrupted() -> list[int]:
    """Runs left "running" whose job is no longer running (worker killed) → `interrupted`.

    Why: a SIGKILLed worker cannot record anything, so its run said "running" for ever (issue
    12). Call this where the worker recovers stale jobs; the run folder's run.json is corrected
    too, and a rerun of the same run resumes from it.
    """
    from alignment.pipeline import mark_interrupted

    stale = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).exclude(
        job__status=Job.Status.RUNNING
    )
    marked = []
    for run in stale:
        done = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.INTERRUPTED, error="Interrupted: the worker stopped."
        )
        if done:
            mark_interrupted(run.out_dir)
            marked.append(run.pk)
    return marked


def training_run_resume(*, run: TrainingRun, user: Any = None) -> TrainingRun:
    """Queue an interrupted or failed run again on its own folder (it resumes there)."""
    resumable = (TrainingRun.Status.INTERRUPTED, TrainingRun.Status.FAILED)
    if run.status not in resumable:
        raise ApplicationError(
            _("Only interrupted or failed runs resume; this one is %(status)s.")
            % {"status": _STATUS_WORDS.get(run.status, run.status)},
            code="not_resumable",
        )
    with transaction.atomic():
        job = jobs.job_create(
            kind=PIPELINE_KIND,
            conversation_id=run.conversation_id,
            params={"run_id": run.pk, "resume": True},
            user=user,
        )
        TrainingRun.objects.filter(pk=run.pk).update(job=job, status=TrainingRun.Status.QUEUED)
        transaction.on_commit(lambda: job_requeue(job))
    run.refresh_from_db()
    return run


def _loss_curve(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every stage's whole loss curve from run.json (pre-resume steps included)."""
    curves = state.get("loss_curves") or {}
    return [
        {"stage": stage, "step": point["step"], "loss": float(point["loss"])}
        for stage, points in curves.items()
        for point in points
    ]


def _json_safe(value: Any) -> Any:
    """Model output may hold NUL characters, which PostgreSQL's jsonb refuses: replace them."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _finish(
    run: TrainingRun, *, status: str, state: Mapping[str, Any] | None = None, error: str = ""
) -> TrainingRun:
    state = state or {}
    TrainingRun.objects.filter(pk=run.pk).update(
        status=status,
        error=_json_safe(error[:10000]),
        finished_at=timezone.now(),
        progress=1.0 if status == TrainingRun.Status.SUCCEEDED else run.progress,
        loss_curve=_loss_curve(state) or run.loss_curve,
        metrics=_json_safe(state.get("metrics") or {}),
        evaluation=_json_safe(state.get("evaluation") or {}),
        artifacts={k: str(v) for k, v in (state.get("outputs") or {}).items()},
    )
    run.refresh_from_db()
    return run
