"""The whole chain — consensus → constitution → CAI data → SFT → DPO/KTO → evaluation — in one call.

Why one pure function (CONVENTIONS habit 3): the Django worker only loads the consensus result,
calls `run_chain`, and records what the callbacks report; the CLI calls the same function. Every
artefact lands in `out_dir`, and `run.json` is rewritten atomically after each step, so the run's
state survives a crash: it says "running" while working, "finished" only when every output
exists, and "failed" with the error otherwise (the exception is re-raised). Rerunning on the same
`out_dir` resumes generation (by prompt id) and training (from the last checkpoint).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from alignment import constitution as const
from alignment import datasets_io as dio
from alignment.cai_data import Prompt, fixture_prompts, generate_cai, load_prompts, read_records
from alignment.config import ChainConfig, preference_config_class
from alignment.evaluate import EvalSettings, evaluate_models
from alignment.modeling import LoadedModel, load_model, resolve_model_path
from alignment.train import train_preference, train_sft

StepCallback = Callable[[str, str, dict[str, Any]], None]  # (step, "started"|"finished", info)
ProgressCallback = Callable[[str, int, int, dict[str, Any]], None]  # (step, done, total, logs)
STEPS = (
    "constitution",
    "load_model",
    "generate",
    "generate_heldout",
    "datasets",
    "sft",
    "preference",
    "evaluate",
    "card",
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temp file + rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
    os.replace(tmp, path)


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


def _initial_state(model: str, method: str, config: ChainConfig, source: Mapping) -> dict:
    return {
        "status": "running",
        "started_at": _now(),
        "finished_at": None,
        "error": None,
        "model": model,
        "method": method,
        "config": config.to_dict(),
        "source": dict(source),
        "steps": {},
        "current_step": None,
        "metrics": {},
        "evaluation": None,
        "provenance": {},
        "outputs": {},
    }


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
    lm: LoadedModel,
    constitution: const.Constitution,
    prompts_path: Path,
    limit: int | None,
    path: Path,
    config: ChainConfig,
) -> list[Prompt]:
    run.start(step)
    prompts = load_prompts(prompts_path, limit=limit)
    stats = generate_cai(
        lm.model,
        lm.tokenizer,
        constitution,
        prompts,
        path,
        settings=config.generation,
        progress=run.progress(step),
        model_name=lm.spec,
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
    preference = (
        dio.dpo_rows(records, source=config.preference_source)
        if method == "dpo"
        else dio.kto_rows(records)
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
    run.state["outputs"] |= {"sft_model": sft.model_dir, "model": pref.model_dir}
    run.finish("preference", pref.to_dict())
    return Path(pref.model_dir)


def _evaluate_step(
    run: _Run,
    model_path: Path,
    tuned: Path,
    constitution: const.Constitution,
    heldout: list[Prompt],
    out: Path,
    config: ChainConfig,
) -> None:
    run.start("evaluate")
    rows = dio.dpo_rows(read_records(out / "heldout_cai.jsonl"))
    evaluation = evaluate_models(
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
        ),
        device=None if config.device == "auto" else config.device,
        progress=run.progress("evaluate"),
    )
    run.state["evaluation"] = evaluation
    write_json_atomic(out / "evaluation.json", evaluation)
    run.finish("evaluate", {"win_rate": evaluation["pairwise"]["win_rate"]})


def _judge_path(config: ChainConfig) -> Path | None:
    if config.judge_model is None:
        return None
    return resolve_model_path(
        config.judge_model, cache_dir=Path(config.cache_dir) if config.cache_dir else None
    )


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
    run = _Run(out, _initial_state(model, method, config, source), on_step, on_progress)
    try:
        _chain(run, out, consensus_result, source, model, method, config, constitution)
    except BaseException as exc:
        run.state |= {
            "status": "failed",
            "finished_at": _now(),
            "error": {
                "type": type(exc).__name__,
                "message": str(exc),
                "step": run.state.get("current_step"),
                "traceback": traceback.format_exc(limit=5),
            },
        }
        if run.state.get("current_step"):
            run.state["steps"][run.state["current_step"]]["status"] = "failed"
        run.save()
        raise
    run.state |= {"status": "finished", "finished_at": _now(), "current_step": None}
    run.save()
    return run.state


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
    run.start("load_model")
    lm = load_model(
        model,
        cache_dir=Path(config.cache_dir) if config.cache_dir else None,
        device=None if config.device == "auto" else config.device,
    )
    run.state["model_path"] = str(lm.path)
    run.finish("load_model", {"path": str(lm.path)})
    _generate_step(
        run,
        "generate",
        lm,
        constitution,
        Path(config.prompts_path or fixture_prompts("train")),
        config.max_prompts,
        out / "cai.jsonl",
        config,
    )
    heldout = _generate_step(
        run,
        "generate_heldout",
        lm,
        constitution,
        Path(config.heldout_path or fixture_prompts("heldout")),
        config.max_heldout,
        out / "heldout_cai.jsonl",
        config,
    )
    del lm  # free the generation copy before training loads its own
    data = _datasets_step(run, out, method, config)
    tuned = _train_steps(run, out, Path(run.state["model_path"]), data, method, config)
    _evaluate_step(run, Path(run.state["model_path"]), tuned, constitution, heldout, out, config)
    run.start("card")
    (out / "README.md").write_text(model_card(run.state, constitution), encoding="utf-8")
    run.finish("card")


# ------------------------------------------------------------------------------ model card

HONESTY = (
    "**What this model is worth.** The critiques, revisions and (A)/(B) preference labels "
    "were produced by the base model itself. With SmolLM2-135M (the default) critiques often "
    "invent quotes, revisions are often incoherent, and (A)/(B) judgements are close to pure "
    "position bias (cai.md). This run proves the pipeline from the conversation's votes to a "
    "trained model; it does not show that the model now holds the constitution's values. Use "
    "a larger model (any local folder or cached Hugging Face id) for outputs worth studying."
)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def model_card(state: Mapping[str, Any], constitution: const.Constitution) -> str:
    """README.md for the trained model folder set: provenance, metrics, honest limitations."""
    ev = state.get("evaluation") or {}
    pw, cap, rw = ev.get("pairwise") or {}, ev.get("capability") or {}, ev.get("reward") or {}
    tiny = state.get("model") == "tiny"
    lines = [
        f"# Concord CAI model — {constitution.source.get('conversation', '?')}",
        "",
        f"- Base model: `{state.get('model')}` ({state.get('model_path')})"
        + (" — random weights, a plumbing test only" if tiny else ""),
        f"- Constitution: version {constitution.version}, hash `{constitution.content_hash}`, "
        f"{len(constitution.principles)} principles, rule `{constitution.rule}`",
        f"- Conversation: {constitution.source.get('conversation')} · snapshot "
        f"{constitution.source.get('snapshot_id')}",
        f"- Training: SFT on final revisions, then {state.get('method', '').upper()}",
        f"- Datasets (sha256): {json.dumps(state.get('provenance', {}).get('datasets', {}))}",
        "",
        "## Evaluation (held-out prompts)",
        "",
        f"- Win rate of tuned over base, judged against sampled principles by `{ev.get('judge')}`"
        f": {_fmt(pw.get('win_rate'))} ({pw.get('wins')} wins / {pw.get('ties')} ties / "
        f"{pw.get('losses')} losses)",
        f"- Implicit reward accuracy on held-out pairs: {_fmt(rw.get('implicit_reward_accuracy'))}",
        f"- Perplexity base → tuned: {_fmt(cap.get('perplexity_base'))} → "
        f"{_fmt(cap.get('perplexity_tuned'))}; facts base/tuned: {_fmt(cap.get('facts_base'))}"
        f"/{_fmt(cap.get('facts_tuned'))}",
        "",
        "## Limitations",
        "",
        HONESTY,
        "",
        "## Principles",
        "",
        *[
            f"{n}. {p.text} (statements {', '.join(p.statement_ids)})"
            for n, p in enumerate(constitution.principles, 1)
        ],
        "",
    ]
    return "\n".join(lines)
