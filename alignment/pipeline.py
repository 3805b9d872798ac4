"""The whole chain — consensus → constitution → CAI data → SFT → DPO/KTO → evaluation — in one call.

Why one pure function (CONVENTIONS habit 3): the Django worker only loads the consensus result,
calls `run_chain`, and records what the callbacks report; the CLI calls the same function. Every
artefact lands in `out_dir`, and `run.json` is rewritten atomically after each step, so the run's
state survives a crash: it says "running" while working, "finished" only when every output
exists, and "failed" with the error otherwise (the exception is re-raised). Rerunning on the same
`out_dir` resumes generation (by prompt id) and training (from the last checkpoint).

A run stopped from outside (KeyboardInterrupt, SIGTERM, a cancel raised from a callback that
derives from `RunInterrupted`) is recorded `interrupted` and `resumable`, not `failed`; one
killed outright (SIGKILL) leaves "running", which `mark_interrupted` (called by the Django
layer when it finds the run's job dead) turns into `interrupted`. A resumed run keeps the first
`started_at`, counts `attempts`, and rebuilds each stage's loss curve from the checkpoint's full
log history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import subprocess
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from alignment import constitution as const
from alignment import datasets_io as dio
from alignment.cai_data import (
    Prompt,
    Roles,
    fixture_prompts,
    generate_cai,
    load_prompts,
    prompts_from_rows,
    read_records,
    write_prompts,
)
from alignment.calibration import calibrate_judge, judge_verdict, load_calibration
from alignment.config import ChainConfig, ConfigError, preference_config_class
from alignment.engines import attach_selected
from alignment.evaluate import (
    EvalSettings,
    aggregate_seeds,
    evaluate_models,
    heldout_statements,
)
from alignment.generation import model_scenario_writer
from alignment.grounding import build_conversation_prompts
from alignment.modeling import (
    LoadedModel,
    load_model,
    make_group_readable,
    resolve_model_path,
    weights_sha256,
)
from alignment.stats import fmt_ci
from alignment.train import train_preference, train_sft

StepCallback = Callable[[str, str, dict[str, Any]], None]  # (step, "started"|"finished", info)
ProgressCallback = Callable[[str, int, int, dict[str, Any]], None]  # (step, done, total, logs)
STEPS = (
    "constitution",
    "load_model",
    "calibrate_judge",
    "prompts",
    "generate",
    "generate_heldout",
    "datasets",
    "sft",
    "preference",
    "evaluate",
    "seeds",
    "card",
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "tokenizers")


class RunInterrupted(Exception):  # noqa: N818 - a stop, not an error
    """Raise (or subclass) from a callback to stop a run as `interrupted` (resumable)."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temp file + rename, so readers never see half a file (mode 0644)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def environment() -> dict[str, Any]:
    """Library versions, Python and the code commit, so a run can be reproduced."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "libraries": versions, "code": code_commit()}


def code_commit() -> dict[str, Any]:
    """{"commit", "dirty"} of the checkout this library runs from (None outside git)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", "alignment")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def mark_interrupted(out_dir: Path | str, reason: str = "the worker stopped") -> bool:
    """Turn a run.json left "running" (its process was killed) into "interrupted".

    Returns whether it changed anything. Safe to call on a finished or missing run.
    """
    path = Path(out_dir) / "run.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if state.get("status") != "running":
        return False
    step = state.get("current_step")
    if step and step in state.get("steps", {}):
        state["steps"][step]["status"] = "interrupted"
    state |= {
        "status": "interrupted",
        "resumable": True,
        "interrupted_at": _now(),
        "error": {"type": "Interrupted", "message": reason, "step": step, "traceback": None},
    }
    write_json_atomic(path, state)
    return True


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (what a worker gets on shutdown) raises RunInterrupted while the chain runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise RunInterrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Run:
    """run.json bookkeeping plus callback fan-out; no domain logic."""

    def __init__(
        self,
        out_dir: Path,
        state: dict[str, Any],
        on_step: StepCallback | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.path, self.state = out_dir / "run.json", state
        self.on_step, self.on_progress = on_step, on_progress
        self.save()

    def save(self) -> None:
        write_json_atomic(self.path, self.state)

    def start(self, step: str) -> None:
        self.state["current_step"] = step
        self.state["steps"][step] = {"status": "running", "started_at": _now()}
        self.save()
        if self.on_step:
            self.on_step(step, "started", {})

    def finish(self, step: str, info: Mapping[str, Any] | None = None) -> None:
        self.state["steps"][step] |= {
            "status": "finished",
            "finished_at": _now(),
            "info": dict(info or {}),
        }
        self.state["current_step"] = None
        self.save()
        if self.on_step:
            self.on_step(step, "finished", dict(info or {}))

    def progress(self, step: str) -> Callable[..., None]:
        def report(done: int, total: int, logs: Mapping[str, Any] | None = None) -> None:
            if self.on_progress:
                self.on_progress(step, done, total, dict(logs or {}))
            if logs and "loss" in logs:
                self.state.setdefault("loss_curves", {}).setdefault(step, []).append(
                    {"step": done, "loss": logs["loss"]}
                )

        return report

    def warn(self, message: str) -> None:
        """Record a warning in run.json (and the model card) once."""
        warnings = self.state.setdefault("warnings", [])
        if message not in warnings:
            warnings.append(message)
            self.save()


def _initial_state(
    model: str, method: str, config: ChainConfig, source: Mapping, out: Path
) -> dict:
    previous = _previous_state(out)
    return {
        "status": "running",
        "started_at": previous.get("started_at") or _now(),
        "attempt_started_at": _now(),
        "attempts": int(previous.get("attempts") or 0) + 1,
        "resumed_from_status": previous.get("status"),
        "finished_at": None,
        "error": None,
        "model": model,
        "roles": {
            "student": model,
            "critic": config.critic_model or model,
            "judge": config.judge_model or model,
        },
        "method": method,
        "config": config.to_dict(),
        "source": dict(source),
        "environment": environment(),
        "steps": {},
        "current_step": None,
        "metrics": {},
        "evaluation": None,
        "provenance": {},
        "outputs": {},
        "warnings": [],
    }


def _previous_state(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _constitution_step(
    run: _Run,
    out: Path,
    result: Mapping,
    source: Mapping,
    config: ChainConfig,
    given: const.Constitution | None,
) -> const.Constitution:
    run.start("constitution")
    constitution = given or const.build_constitution(
        result,
        source=source,
        rule=config.rule,
        threshold=config.threshold,
        statement_ids=config.statement_ids or None,
        dedup=config.dedup,
        circumstances=config.circumstances,
    )
    (out / "constitution.json").write_text(const.to_json(constitution), encoding="utf-8")
    (out / "constitution.md").write_text(const.to_markdown(constitution), encoding="utf-8")
    run.state["provenance"] |= {
        "conversation": source.get("conversation"),
        "snapshot_id": source.get("snapshot_id"),
        "constitution_version": constitution.version,
        "constitution_hash": constitution.content_hash,
    }
    run.finish(
        "constitution",
        {"principles": len(constitution.principles), "version": constitution.version},
    )
    return constitution


def _generate_step(
    run: _Run,
    step: str,
    roles: Roles,
    constitution: const.Constitution,
    prompts_path: Path,
    limit: int | None,
    path: Path,
    config: ChainConfig,
) -> list[Prompt]:
    run.start(step)
    prompts = load_prompts(prompts_path, limit=limit)
    stats = generate_cai(
        *roles.student,
        constitution,
        prompts,
        path,
        settings=config.generation,
        progress=run.progress(step),
        model_name=roles.names.get("student", ""),
        roles=roles,
    )
    run.state["provenance"].setdefault("prompts", {})[step] = {
        "path": str(prompts_path),
        "sha256": dio.file_sha256(prompts_path),
        "n": len(prompts),
    }
    run.state["metrics"][step] = vars(stats)
    run.finish(step, vars(stats))
    return prompts


def _datasets_step(run: _Run, out: Path, method: str, config: ChainConfig) -> dict[str, Path]:
    run.start("datasets")
    records = read_records(out / "cai.jsonl")
    source = config.resolved_preference_source()
    margin = config.pair_margin if source == "ai_feedback" else 0.0
    build = dio.dpo_rows if method == "dpo" else dio.kto_rows
    preference = build(records, source=source, margin=margin)  # type: ignore[arg-type]
    summary = dio.preference_summary(records, margin) | {"source": source}
    run.state["metrics"]["preference_pairs"] = summary
    if not preference and source == "ai_feedback":
        raise dio.TrainingError(
            f"no preference pair clears the judge margin {margin} ({summary['judged']} judged, "
            f"labels {summary['min_label']}..{summary['max_label']}): use a stronger judge, "
            "lower pair_margin, or preference_source='revision'"
        )
    if not preference:
        rejected = sum(
            bool(rec.get("rounds")) and all(r.get("revision_rejected") for r in rec["rounds"])
            for rec in records
        )
        raise dio.TrainingError(
            f"no preference pair: in all {len(records)} records the final answer equals the "
            f"initial one ({rejected} had every revision rejected by cleaning, see "
            "cai.jsonl rounds[].cleaning): use more prompts, more max_new_tokens or a "
            "stronger critic_model"
        )
    rows = {"sft.jsonl": dio.sft_rows(records), f"{method}.jsonl": preference}
    hashes = {name: dio.write_jsonl(r, out / name) for name, r in rows.items()}
    run.state["provenance"]["datasets"] = hashes
    run.finish("datasets", {name: len(r) for name, r in rows.items()})
    return {name: out / name for name in rows}


def _train_steps(
    run: _Run, out: Path, model_path: Path, data: dict[str, Path], method: str, config: ChainConfig
) -> Path:
    run.start("sft")
    sft = train_sft(
        model_path,
        data["sft.jsonl"],
        config.stage_config("sft", out / "sft"),
        progress=run.progress("sft"),
    )
    run.state["metrics"]["sft"] = sft.metrics
    run.state.setdefault("loss_curves", {})["sft"] = _curve(sft.log_history)
    run.finish("sft", sft.to_dict())
    run.start("preference")
    pref = train_preference(
        sft.model_dir,
        data[f"{method}.jsonl"],
        config.stage_config(method, out / method),
        method=method,
        progress=run.progress("preference"),
    )
    run.state["metrics"][method] = pref.metrics
    run.state["loss_curves"]["preference"] = _curve(pref.log_history)
    run.state["outputs"] |= {"sft_model": sft.model_dir, "model": pref.model_dir}
    run.state["provenance"]["weights"] |= {
        "sft_model": weights_sha256(sft.model_dir),
        "model": weights_sha256(pref.model_dir),
    }
    run.finish("preference", pref.to_dict())
    return Path(pref.model_dir)


def _curve(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every logged loss of a stage, pre-resume steps included (from the checkpoint state)."""
    return [{"step": e.get("step"), "loss": e["loss"]} for e in log_history if "loss" in e]


def _evaluate_step(
    run: _Run,
    model_path: Path,
    tuned: Path,
    constitution: const.Constitution,
    heldout: list[Prompt],
    out: Path,
    config: ChainConfig,
    result: Mapping[str, Any],
) -> None:
    run.start("evaluate")
    inputs = _evaluation_inputs(out, result, constitution, config)
    evaluation = _evaluate(
        model_path, tuned, constitution, heldout, inputs, config, run.progress("evaluate")
    )
    evaluation["training_seed"] = config.training_seeds()[0]
    evaluation["judge_calibration"] = run.state.get("judge_calibration")
    evaluation["warnings"] = list(run.state.get("warnings") or [])
    run.state["evaluation"] = evaluation
    write_json_atomic(out / "evaluation.json", evaluation)
    run.finish("evaluate", {"win_rate": evaluation["pairwise"]["win_rate"]})


EvalInputs = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _evaluation_inputs(
    out: Path, result: Mapping[str, Any], constitution: const.Constitution, config: ChainConfig
) -> EvalInputs:
    """The held-out preference pairs and held-out statements every evaluation of a run uses
    (the main model's and each further training seed's)."""
    rows = dio.dpo_rows(read_records(out / "heldout_cai.jsonl"))
    statements = (
        heldout_statements(result, constitution, share=config.heldout_statements)
        if result.get("statements")
        else []
    )
    return rows, statements


def _evaluate(
    model_path: Path,
    tuned: Path | str,
    constitution: const.Constitution,
    heldout: list[Prompt],
    inputs: EvalInputs,
    config: ChainConfig,
    progress: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Base against `tuned` with the run's judge, engine, device and evaluation settings."""
    rows, statements = inputs
    return evaluate_models(
        model_path,
        tuned,
        constitution,
        heldout,
        preference_rows=rows,
        judge_path=_judge_path(config),
        settings=EvalSettings(
            max_new_tokens=config.generation.max_new_tokens,
            batch_size=config.generation.batch_size,
            seed=config.seed,
            n_boot=config.bootstrap,
            engine=config.generation.engine,
        ),
        device=_device(config),
        progress=progress,
        statements=statements,
    )


def _seeds_step(
    run: _Run,
    out: Path,
    model_path: Path,
    data: dict[str, Path],
    method: str,
    config: ChainConfig,
    constitution: const.Constitution,
    heldout: list[Prompt],
    result: Mapping[str, Any],
) -> None:
    """Train and evaluate once more per further training seed; aggregate over all seeds.

    Same data, base model, judge and evaluation seed as the main model: only the training seed
    (data order, LoRA init) changes, so the spread is training noise. Each seed has its own
    folder `seeds/seed-N/` (sft/, <method>/, evaluation.json) and resumes like the main one.
    """
    run.start("seeds")
    seeds = config.training_seeds()
    if len(seeds) < 2:
        run.finish("seeds", {"skipped": True, "seeds": list(seeds)})
        return
    evaluations = [run.state["evaluation"]]
    inputs = _evaluation_inputs(out, result, constitution, config)
    report = run.progress("seeds")
    for done, seed in enumerate(seeds[1:], 1):
        folder = out / "seeds" / f"seed-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        sft = train_sft(
            model_path, data["sft.jsonl"], config.stage_config("sft", folder / "sft", seed=seed)
        )
        pref = train_preference(
            sft.model_dir,
            data[f"{method}.jsonl"],
            config.stage_config(method, folder / method, seed=seed),
            method=method,
        )
        saved = folder / "evaluation.json"
        evaluation = _previous_evaluation(saved, pref.model_dir)
        if evaluation is None:
            tuned = pref.model_dir
            evaluation = _evaluate(model_path, tuned, constitution, heldout, inputs, config)
            evaluation["training_seed"] = seed
            write_json_atomic(saved, evaluation)
        evaluations.append(evaluation)
        run.state.setdefault("seed_runs", {})[str(seed)] = {
            "folder": str(folder),
            "model": pref.model_dir,
            "evaluation": str(saved),
            "metrics": {"sft": sft.metrics, method: pref.metrics},
        }
        run.state.setdefault("loss_curves", {}).update(
            {
                f"sft@seed{seed}": _curve(sft.log_history),
                f"preference@seed{seed}": _curve(pref.log_history),
            }
        )
        run.state["provenance"]["weights"][f"model@seed{seed}"] = weights_sha256(pref.model_dir)
        run.save()
        report(done, len(seeds) - 1)
    summary = aggregate_seeds(evaluations, seeds)
    run.state["evaluation"]["across_seeds"] = summary
    write_json_atomic(out / "evaluation.json", run.state["evaluation"])
    run.finish("seeds", {"seeds": list(seeds), "win_rate": summary["metrics"]["win_rate"]})


def _previous_evaluation(path: Path, model_dir: str) -> dict[str, Any] | None:
    """A seed's stored evaluation when it is of this very model folder (a resumed run)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if data.get("tuned_model") == str(model_dir) else None


def _judge_path(config: ChainConfig) -> Path | None:
    if config.judge_model is None:
        return None
    return resolve_model_path(config.judge_model, cache_dir=_cache(config))


def run_chain(
    consensus_result: Mapping[str, Any],
    *,
    source: Mapping[str, Any],
    model: str = "smollm2",
    out_dir: Path | str,
    method: str = "dpo",
    config: ChainConfig | None = None,
    constitution: const.Constitution | None = None,
    on_step: StepCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run every step into `out_dir`; returns the final run.json content.

    `source` = {"conversation": slug, "snapshot_id": id}; pass `constitution` to train on an
    already published one instead of building it from `consensus_result`. `on_step(step,
    status, info)` fires when a step starts/finishes; `on_progress(step, done, total, logs)`
    for generation prompts, training steps (logs hold the loss) and evaluation phases.
    """
    config = config or ChainConfig()
    preference_config_class(method)  # validate early: ConfigError lists the choices
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    make_group_readable(out)
    run = _Run(out, _initial_state(model, method, config, source, out), on_step, on_progress)
    try:
        with _sigterm_interrupts():
            _chain(run, out, consensus_result, source, model, method, config, constitution)
    except BaseException as exc:
        _record_stop(run, exc)
        raise
    finally:
        make_group_readable(out)
    run.state |= {"status": "finished", "finished_at": _now(), "current_step": None}
    run.save()
    return run.state


def is_interruption(exc: BaseException) -> bool:
    """A stop from outside (Ctrl-C, SIGTERM, a cancel), as opposed to an error."""
    return isinstance(exc, RunInterrupted | KeyboardInterrupt | SystemExit)


def _record_stop(run: _Run, exc: BaseException) -> None:
    status = "interrupted" if is_interruption(exc) else "failed"
    run.state |= {
        "status": status,
        "resumable": status == "interrupted" or not getattr(exc, "permanent", False),
        "finished_at": _now(),
        "error": {
            "type": type(exc).__name__,
            "message": str(exc),
            "step": run.state.get("current_step"),
            "traceback": traceback.format_exc(limit=5),
        },
    }
    if run.state.get("current_step"):
        run.state["steps"][run.state["current_step"]]["status"] = status
    run.save()


def _cache(config: ChainConfig) -> Path | None:
    return Path(config.cache_dir) if config.cache_dir else None


def _device(config: ChainConfig) -> str | None:
    return None if config.device == "auto" else config.device


def _load_roles(run: _Run, model: str, config: ChainConfig) -> Roles:
    """Student, critic and judge; a role without its own spec shares the student's weights."""
    run.start("load_model")
    loaded: dict[str, LoadedModel] = {}
    by_spec: dict[str, LoadedModel] = {}
    specs = {"student": model, "critic": config.critic_model, "judge": config.judge_model}
    for role, spec in specs.items():
        if role != "student" and (spec is None or spec == model):
            continue  # shares the student's weights
        key = spec or model
        if key not in by_spec:  # a critic that is also the judge is loaded once
            by_spec[key] = load_model(key, cache_dir=_cache(config), device=_device(config))
        loaded[role] = by_spec[key]
    run.state["model_path"] = str(loaded["student"].path)
    paths = {role: str(lm.path) for role, lm in loaded.items()}
    engines = {
        role: attach_selected(
            lm.model, lm.path, config.generation.engine, device=_device(config), seed=config.seed
        )
        for role, lm in loaded.items()
        if role != "judge" or lm is loaded["student"]  # a separate judge only scores
    }
    run.state["engines"] = engines
    run.state["provenance"]["weights"] = {
        f"{role}_base": weights_sha256(lm.path) for role, lm in loaded.items()
    }
    if config.judge_model is None:
        run.warn(
            "No judge_model: the student labels its own preferences and judges its own "
            "evaluation (it grades its own homework)."
        )

    def pair(role: str) -> tuple[Any, Any]:
        lm = loaded.get(role, loaded["student"])
        return lm.model, lm.tokenizer

    names = {role: (specs[role] or model) for role in specs}
    run.finish("load_model", {"paths": paths, "engines": engines})
    return Roles(pair("student"), pair("critic"), pair("judge"), names)


def _calibrate_step(run: _Run, roles: Roles, config: ChainConfig) -> None:
    """Score the judge on the calibration set; warn loudly or refuse below the threshold."""
    run.start("calibrate_judge")
    if config.judge_check == "off":
        run.finish("calibrate_judge", {"skipped": True})
        return
    report = calibrate_judge(
        *roles.judge,
        load_calibration(limit=config.calibration_limit),
        batch_size=config.generation.batch_size,
        n_boot=config.bootstrap,
        seed=config.seed,
    )
    report.pop("items")
    run.state["judge_calibration"] = report | {"min_accuracy": config.min_judge_accuracy}
    verdict = judge_verdict(report, config.min_judge_accuracy)
    if verdict and config.judge_check == "refuse":
        raise ConfigError(verdict + " (judge_check='refuse')")
    if verdict:
        run.warn(verdict)
    run.finish("calibrate_judge", {"accuracy": report["accuracy"]["value"]})


def _prompts_step(
    run: _Run,
    out: Path,
    source: Mapping,
    config: ChainConfig,
    constitution: const.Constitution,
    roles: Roles,
) -> tuple[Path, Path]:
    """The training and held-out prompt files: uploaded, given paths, grounded or generic."""
    run.start("prompts")
    train_path = Path(config.prompts_path) if config.prompts_path else None
    heldout_path = Path(config.heldout_path) if config.heldout_path else None
    kind = "file"
    if config.prompts:
        train_path = write_prompts(prompts_from_rows(config.prompts), out / "prompts.jsonl")
        kind = "uploaded"
    if config.prompt_set == "conversation" and (train_path is None or heldout_path is None):
        languages = config.languages or tuple(source.get("languages") or ()) or ("en",)
        sets = build_conversation_prompts(
            constitution,
            languages=languages,
            topic=config.topic or source.get("topic"),
            writer=model_scenario_writer(*roles.critic) if config.model_scenarios else None,
        )
        if train_path is None:
            train_path, kind = write_prompts(sets.train, out / "prompts.jsonl"), "conversation"
        if heldout_path is None:
            heldout_path = write_prompts(sets.heldout, out / "heldout_prompts.jsonl")
    train_path = train_path or fixture_prompts("train")
    heldout_path = heldout_path or fixture_prompts("heldout")
    info = {"kind": kind, "train": str(train_path), "heldout": str(heldout_path)}
    run.state["provenance"]["prompt_set"] = info
    run.finish("prompts", info)
    return train_path, heldout_path


def _chain(
    run: _Run,
    out: Path,
    result: Mapping,
    source: Mapping,
    model: str,
    method: str,
    config: ChainConfig,
    given: const.Constitution | None,
) -> None:
    constitution = _constitution_step(run, out, result, source, config, given)
    roles = _load_roles(run, model, config)
    _calibrate_step(run, roles, config)
    train_prompts, heldout_prompts = _prompts_step(run, out, source, config, constitution, roles)
    _generate_step(
        run,
        "generate",
        roles,
        constitution,
        train_prompts,
        config.max_prompts,
        out / "cai.jsonl",
        config,
    )
    heldout = _generate_step(
        run,
        "generate_heldout",
        roles,
        constitution,
        heldout_prompts,
        config.max_heldout,
        out / "heldout_cai.jsonl",
        config,
    )
    del roles  # free the generation copies before training loads its own
    data = _datasets_step(run, out, method, config)
    tuned = _train_steps(run, out, Path(run.state["model_path"]), data, method, config)
    _evaluate_step(
        run, Path(run.state["model_path"]), tuned, constitution, heldout, out, config, result
    )
    _seeds_step(
        run,
        out,
        Path(run.state["model_path"]),
        data,
        method,
        config,
        constitution,
        heldout,
        result,
    )
    run.start("card")
    (out / "README.md").write_text(model_card(run.state, constitution), encoding="utf-8")
    run.finish("card")


# ------------------------------------------------------------------------------ model card

HONESTY = (
    "**What this model is worth.** Unless the roles above name other models, the critiques, "
    "revisions and (A)/(B) preference labels were produced by the base model itself. With "
    "SmolLM2-135M (the default) critiques often invent quotes, revisions are often "
    "incoherent, and (A)/(B) judgements are close to pure position bias (cai.md). This run "
    "proves the pipeline from the conversation's votes to a trained model; it does not show "
    "that the model now holds the constitution's values. Use a larger model (any local folder "
    "or cached Hugging Face id) for outputs worth studying."
)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _group_lines(groups: Mapping[str, Any] | None) -> list[str]:
    """Per-group representativeness lines for the card (base → tuned, with intervals)."""
    if not groups:
        return ["- Per-group representativeness: no held-out statements with group votes"]
    base, tuned = groups["base"], groups["tuned"]
    lines = [
        f"- Per-group representativeness on {groups['n_statements']} held-out statements "
        f"(1 − |P(agree) − group agree rate|, OpinionQA-style):"
    ]
    for gid in sorted(tuned["groups"]):
        lines.append(
            f"  - group {gid}: base {fmt_ci(base['groups'].get(gid))} → tuned "
            f"{fmt_ci(tuned['groups'][gid])}"
        )
    lines.append(
        f"  - collective: base {fmt_ci(base['collective'])} → tuned {fmt_ci(tuned['collective'])}"
    )
    lines.append(f"  - least represented (tuned): group {tuned['least_represented']}")
    return lines


def _check_lines(ev: Mapping[str, Any]) -> list[str]:
    checks = ev.get("checks") or {}
    if not checks:
        return []
    return [
        f"- Capability (multiple choice, {checks['capability_items']} items): base "
        f"{fmt_ci(checks['capability_base'])} → tuned {fmt_ci(checks['capability_tuned'])}",
        f"- Bias (BBQ-style, {checks['bias_items']} items) accuracy: base "
        f"{fmt_ci(checks['bias_accuracy_base'])} → tuned {fmt_ci(checks['bias_accuracy_tuned'])};"
        f" stereotyped answer on ambiguous items: base {fmt_ci(checks['bias_stereotyped_base'])}"
        f" → tuned {fmt_ci(checks['bias_stereotyped_tuned'])}",
    ]


def _seed_lines(ev: Mapping[str, Any]) -> list[str]:
    """The tuned model's figures over training seeds (mean and t interval) for the card."""
    summary = ev.get("across_seeds")
    if not summary:
        return []
    lines = [
        "",
        f"### Over {summary['n_seeds']} training seeds {summary['seeds']} "
        f"({summary['interval']}; base model figures do not depend on the seed)",
        "",
        "| tuned-model figure | mean [95% interval] | per seed | base |",
        "| --- | --- | --- | --- |",
    ]
    for name, ci in summary["metrics"].items():
        per_seed = ", ".join(f"{v:.3f}" for v in ci["values"]) or "n/a"
        lines.append(
            f"| {name} | {fmt_ci(ci)} | {per_seed} | {_fmt(summary['base'].get(name, ''))} |"
        )
    return lines


def _calibration_lines(state: Mapping[str, Any]) -> list[str]:
    cal = state.get("judge_calibration")
    if not cal:
        return ["- Judge calibration: not run"]
    return [
        f"- Judge calibration ({cal['n_pairs']} pairs): accuracy {fmt_ci(cal['accuracy'])}, "
        f"decisive {fmt_ci(cal['decisiveness'])}, position bias "
        f"{fmt_ci(cal['position_bias'])} (threshold {cal['min_accuracy']})"
    ]


def model_card(state: Mapping[str, Any], constitution: const.Constitution) -> str:
    """README.md for the trained model folder set: provenance, metrics, honest limitations."""
    ev = state.get("evaluation") or {}
    pw, cap, rw = ev.get("pairwise") or {}, ev.get("capability") or {}, ev.get("reward") or {}
    tiny = state.get("model") == "tiny"
    roles, env = state.get("roles") or {}, state.get("environment") or {}
    warnings = state.get("warnings") or []
    lines = [
        f"# Concord CAI model — {constitution.source.get('conversation', '?')}",
        "",
        f"- Base model: `{state.get('model')}` ({state.get('model_path')})"
        + (" — random weights, a plumbing test only" if tiny else ""),
        f"- Constitution: version {constitution.version}, hash `{constitution.content_hash}`, "
        f"{len(constitution.principles)} principles, rule `{constitution.rule}`",
        f"- Conversation: {constitution.source.get('conversation')} · snapshot "
        f"{constitution.source.get('snapshot_id')}",
        f"- Roles: student `{roles.get('student')}`, critic `{roles.get('critic')}`, "
        f"judge `{roles.get('judge')}`",
        f"- Training: SFT on final revisions, then {state.get('method', '').upper()}",
        f"- Datasets (sha256): {json.dumps(state.get('provenance', {}).get('datasets', {}))}",
        f"- Code: {json.dumps(env.get('code'))}; libraries: {json.dumps(env.get('libraries'))}",
        "",
        *(["## Warnings", "", *[f"- **{w}**" for w in warnings], ""] if warnings else []),
        "## Evaluation (held-out prompts and statements; 95% bootstrap intervals)",
        "",
        *_calibration_lines(state),
        f"- Win rate of tuned over base, judged against relevant principles by "
        f"`{ev.get('judge')}` in both orders: {fmt_ci(pw.get('win_rate_ci'))} "
        f"({pw.get('wins')} wins / {pw.get('ties')} ties / {pw.get('losses')} losses)",
        f"- Implicit reward accuracy on held-out pairs: "
        f"{fmt_ci(rw.get('implicit_reward_accuracy_ci'))}",
        *_group_lines(ev.get("groups")),
        *_check_lines(ev),
        f"- Perplexity base → tuned: {_fmt(cap.get('perplexity_base'))} → "
        f"{_fmt(cap.get('perplexity_tuned'))}; facts base/tuned: {_fmt(cap.get('facts_base'))}"
        f"/{_fmt(cap.get('facts_tuned'))}",
        *_seed_lines(ev),
        "",
        "## Limitations",
        "",
        HONESTY,
        "",
        "## Principles",
        "",
        *[
            f"{n}. {p.text} — original: “{p.statement}” (statements "
            f"{', '.join(p.statement_ids)}{'; flags: ' + ', '.join(p.flags) if p.flags else ''})"
            for n, p in enumerate(constitution.principles, 1)
        ],
        "",
    ]
    return "\n".join(lines)
