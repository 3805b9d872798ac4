"""Command line for the alignment library: `python -m alignment <command> …`.

Why a CLI beside the Django worker: researchers run single steps by hand (inspect a
constitution, generate data on a bigger model, train on a GPU box with `accelerate launch -m
alignment.cli train …`) and the whole chain without a database. Each command parses arguments
and calls one library function; errors of the library (`AlignmentError`) are printed as one line
and exit with status 2, anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from alignment.config import ENGINES, AlignmentError, ChainConfig, GenerationSettings


def _progress_bar(desc: str) -> Any:
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="it", leave=True)

    def update(done: int, total: int, *logs: Any) -> None:
        bar.total = total
        bar.n = done
        last = logs[-1] if logs else None
        if last and isinstance(last, dict) and "loss" in last:
            bar.set_postfix(loss=f"{last['loss']:.4f}")
        bar.refresh()

    return update


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AlignmentError(f"cannot read JSON {path}: {exc}") from exc


def _source(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation": args.conversation or result.get("conversation") or "unknown",
        "snapshot_id": args.snapshot_id or result.get("snapshot_id"),
    }


def _generation_settings(args: argparse.Namespace) -> GenerationSettings:
    return GenerationSettings(
        rounds=args.rounds,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        seed=args.seed,
        ai_feedback=not args.no_ai_feedback,
        engine=args.engine,
    )


# ------------------------------------------------------------------------------ commands


def cmd_constitution(args: argparse.Namespace) -> None:
    from alignment import constitution as const

    result = _read_json(args.consensus_json)
    source = _source(args, result)
    if args.per_group:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for gid, c in const.build_group_constitutions(
            result, source=source, dedup=args.dedup
        ).items():
            (out / f"group-{gid}.json").write_text(const.to_json(c), encoding="utf-8")
            (out / f"group-{gid}.md").write_text(const.to_markdown(c), encoding="utf-8")
        return
    parent = const.from_json(Path(args.parent).read_text()) if args.parent else None
    c = const.build_constitution(
        result,
        source=source,
        rule=args.rule,
        threshold=args.threshold,
        statement_ids=args.statement_ids,
        dedup=args.dedup,
        parent=parent,
    )
    Path(args.out).write_text(const.to_json(c), encoding="utf-8")
    Path(args.out).with_suffix(".md").write_text(const.to_markdown(c), encoding="utf-8")
    print(f"{len(c.principles)} principles, version {c.version}, hash {c.content_hash[:12]}")


def cmd_generate(args: argparse.Namespace) -> None:
    from alignment.cai_data import fixture_prompts, generate_cai, load_prompts
    from alignment.constitution import from_json
    from alignment.modeling import load_model

    c = from_json(Path(args.constitution).read_text(encoding="utf-8"))
    prompts = load_prompts(args.prompts or fixture_prompts("train"), limit=args.max_prompts)
    from alignment.engines import attach_selected

    lm = load_model(args.model, device=args.device)
    attach_selected(lm.model, lm.path, args.engine, device=args.device, seed=args.seed)
    stats = generate_cai(
        lm.model,
        lm.tokenizer,
        c,
        prompts,
        args.out,
        settings=_generation_settings(args),
        progress=_progress_bar("generate"),
        model_name=args.model,
    )
    print(json.dumps(vars(stats)))


def cmd_datasets(args: argparse.Namespace) -> None:
    from alignment import datasets_io as dio
    from alignment.cai_data import read_records

    records = read_records(args.cai)
    out = Path(args.out_dir)
    hashes = {
        "sft.jsonl": dio.write_jsonl(dio.sft_rows(records), out / "sft.jsonl"),
        "dpo.jsonl": dio.write_jsonl(dio.dpo_rows(records), out / "dpo.jsonl"),
        "kto.jsonl": dio.write_jsonl(dio.kto_rows(records), out / "kto.jsonl"),
    }
    print(json.dumps(hashes, indent=2))


def cmd_train(args: argparse.Namespace) -> None:
    from alignment.config import SFTRunConfig, preference_config_class
    from alignment.modeling import resolve_model_path
    from alignment.train import train_preference, train_sft

    model_path = resolve_model_path(args.model)
    cls = SFTRunConfig if args.stage == "sft" else preference_config_class(args.stage)
    config = cls(
        output_dir=args.out,
        max_steps=args.steps,
        learning_rate=args.learning_rate
        or cast(float, cls.__dataclass_fields__["learning_rate"].default),
        per_device_train_batch_size=args.batch_size,
        max_length=args.max_length,
        save_steps=args.save_steps,
        use_lora=args.lora,
        device=args.device,
    )
    bar = _progress_bar(args.stage)
    if args.stage == "sft":
        # cls is SFTRunConfig on this branch; mypy joins the two classes to TrainConfig.
        result = train_sft(model_path, args.data, cast(SFTRunConfig, config), progress=bar)
    else:
        result = train_preference(model_path, args.data, config, method=args.stage, progress=bar)
    print(json.dumps(result.to_dict(), indent=2))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from alignment.cai_data import fixture_prompts, load_prompts
    from alignment.constitution import from_json
    from alignment.datasets_io import load_jsonl_dataset
    from alignment.evaluate import EvalSettings, evaluate_models
    from alignment.modeling import resolve_model_path

    c = from_json(Path(args.constitution).read_text(encoding="utf-8"))
    prompts = load_prompts(args.prompts or fixture_prompts("heldout"), limit=args.max_prompts)
    rows = list(load_jsonl_dataset(args.pairs)) if args.pairs else []
    result = evaluate_models(
        resolve_model_path(args.base),
        resolve_model_path(args.tuned),
        c,
        prompts,
        preference_rows=rows,
        device=args.device,
        settings=EvalSettings(max_new_tokens=args.max_new_tokens, engine=args.engine),
        progress=_progress_bar("evaluate"),
    )
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        json.dumps(
            {k: result[k] for k in ("pairwise", "reward", "capability")}
            | {"pairwise": {k: v for k, v in result["pairwise"].items() if k != "items"}},
            indent=2,
        )
    )


def cmd_chain(args: argparse.Namespace) -> None:
    from alignment.pipeline import run_chain

    result = _read_json(args.consensus_json)
    config = ChainConfig(
        rule=args.rule,
        threshold=args.threshold,
        dedup=args.dedup,
        prompts_path=args.prompts,
        heldout_path=args.heldout,
        max_prompts=args.max_prompts,
        max_heldout=args.max_heldout,
        generation=_generation_settings(args),
        sft_steps=args.sft_steps,
        pref_steps=args.pref_steps,
        batch_size=args.train_batch_size,
        max_length=args.max_length,
        use_lora=args.lora,
        device=args.device or "auto",
        seed=args.seed,
        seeds=tuple(args.seeds or ()),
        preference_source=args.preference_source,
        pair_margin=args.pair_margin,
        critic_model=args.critic_model,
        judge_model=args.judge_model,
        judge_check=args.judge_check,
        min_judge_accuracy=args.min_judge_accuracy,
        prompt_set=args.prompt_set,
        languages=tuple(args.languages or ()),
        topic=args.topic,
        circumstances=args.circumstances,
        heldout_statements=args.heldout_statements,
        bootstrap=args.bootstrap,
        calibration_limit=args.calibration_limit,
    )
    bars: dict[str, Any] = {}

    def progress(step: str, done: int, total: int, logs: dict[str, Any]) -> None:
        bars.setdefault(step, _progress_bar(step))(done, total, logs)

    state = run_chain(
        result,
        source=_source(args, result),
        model=args.model,
        out_dir=args.out,
        method=args.method,
        config=config,
        on_step=lambda s, status, info: print(f"[{status}] {s}", file=sys.stderr),
        on_progress=progress,
    )
    print(
        json.dumps(
            {
                "status": state["status"],
                "metrics": state["metrics"],
                "win_rate": state["evaluation"]["pairwise"]["win_rate"],
            },
            indent=2,
        )
    )


def cmd_bench_generate(args: argparse.Namespace) -> None:
    from alignment.cai_data import fixture_prompts, load_prompts
    from alignment.generation import generation_throughput
    from alignment.modeling import load_model

    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    prompts = load_prompts(fixture_prompts("train"), limit=args.prompts)
    convs = [[{"role": "user", "content": p.prompt}] for p in prompts]
    generation_throughput(
        lm.model,
        lm.tokenizer,
        convs[: args.batch_size],
        batch_size=args.batch_size,
        max_new_tokens=4,
    )  # warm-up
    result = generation_throughput(
        lm.model,
        lm.tokenizer,
        convs,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
    )
    print(json.dumps(result | {"model": args.model, "dtype": str(lm.model.dtype)}))


def cmd_calibrate_judge(args: argparse.Namespace) -> None:
    """Score a judge on the calibration set; prints (and optionally writes) the JSON report."""
    from alignment.calibration import calibrate_judge, load_calibration
    from alignment.modeling import load_model

    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    report = calibrate_judge(
        lm.model, lm.tokenizer, load_calibration(limit=args.limit), batch_size=args.batch_size
    )
    report |= {"model": args.model}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    report.pop("items")
    print(json.dumps(report, indent=2, ensure_ascii=False))


def cmd_prompts(args: argparse.Namespace) -> None:
    """Write a constitution's grounded prompt set (train + held-out JSONL) to edit."""
    from alignment import constitution as const
    from alignment.cai_data import write_prompts
    from alignment.grounding import build_conversation_prompts

    constitution = const.from_json(Path(args.constitution).read_text(encoding="utf-8"))
    sets = build_conversation_prompts(
        constitution, languages=args.languages or ["en"], topic=args.topic
    )
    out = Path(args.out)
    write_prompts(sets.train, out / "prompts.jsonl")
    write_prompts(sets.heldout, out / "heldout_prompts.jsonl")
    print(f"{len(sets.train)} training and {len(sets.heldout)} held-out prompts in {out}")


def cmd_prepare_model(args: argparse.Namespace) -> None:
    from alignment.modeling import resolve_model_path

    print(resolve_model_path(args.model))


# ------------------------------------------------------------------------------ parser


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--consensus-json", required=True, help="consensus result dict as JSON")
    p.add_argument("--conversation", help="conversation slug (default: from the JSON)")
    p.add_argument("--snapshot-id", help="snapshot id (default: from the JSON)")
    p.add_argument("--rule", default="mea", choices=("mea", "gic", "bridging", "manual"))
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--dedup", default="tfidf", choices=("tfidf", "embeddings", "none"))


def _add_generation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="smollm2", help="smollm2, tiny, a folder, a .gguf, an id")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-ai-feedback", action="store_true")
    p.add_argument("--device", default=None, choices=("cpu", "cuda", "auto"))
    p.add_argument("--max-prompts", type=int, default=None)
    p.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="generation engine (auto: vLLM with a CUDA GPU and the vllm package)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    parser = argparse.ArgumentParser(prog="python -m alignment", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("constitution", help="consensus JSON → constitution JSON + Markdown")
    _add_source(p)
    p.add_argument("--statement-ids", nargs="*", default=None, help="for --rule manual")
    p.add_argument("--parent", help="previous constitution JSON (version + 1)")
    p.add_argument("--per-group", action="store_true", help="one constitution per group")
    p.add_argument("--out", required=True, help="output .json (or folder with --per-group)")
    p.set_defaults(func=cmd_constitution)

    p = sub.add_parser("generate", help="CAI critique/revision records (resumable JSONL)")
    _add_generation(p)
    p.add_argument("--constitution", required=True)
    p.add_argument("--prompts", default=None, help="prompt JSONL (default: fixtures train)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("datasets", help="CAI records → sft/dpo/kto JSONL")
    p.add_argument("--cai", required=True)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("train", help="one training stage (resumes from the last checkpoint)")
    p.add_argument("stage", choices=("sft", "dpo", "kto"))
    p.add_argument("--model", required=True, help="spec or folder (DPO/KTO: the SFT model)")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--save-steps", type=int, default=50)
    p.add_argument("--lora", action="store_true")
    p.add_argument("--device", default="auto", choices=("cpu", "cuda", "auto"))
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="base vs tuned on held-out prompts → JSON")
    p.add_argument("--base", required=True)
    p.add_argument("--tuned", required=True)
    p.add_argument("--constitution", required=True)
    p.add_argument("--prompts", default=None)
    p.add_argument("--max-prompts", type=int, default=None)
    p.add_argument("--pairs", default=None, help="held-out DPO JSONL for reward accuracy")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--engine", default="auto", choices=ENGINES)
    p.add_argument("--device", default=None, choices=("cpu", "cuda", "auto"))
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("chain", help="everything, consensus JSON → trained model + run.json")
    _add_source(p)
    _add_generation(p)
    p.add_argument("--out", required=True)
    p.add_argument("--method", default="dpo", choices=("dpo", "kto"))
    p.add_argument("--prompts", default=None)
    p.add_argument("--heldout", default=None)
    p.add_argument("--max-heldout", type=int, default=None)
    p.add_argument("--sft-steps", type=int, default=20)
    p.add_argument("--pref-steps", type=int, default=20)
    p.add_argument("--train-batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--lora", action="store_true")
    p.add_argument(
        "--preference-source", default="auto", choices=("auto", "revision", "ai_feedback")
    )
    p.add_argument("--pair-margin", type=float, default=0.1)
    p.add_argument("--critic-model", default=None, help="critic/reviser (default: the student)")
    p.add_argument("--judge-model", default=None, help="judge (default: the student)")
    p.add_argument("--judge-check", default="warn", choices=("warn", "refuse", "off"))
    p.add_argument("--min-judge-accuracy", type=float, default=0.75)
    p.add_argument("--prompt-set", default="conversation", choices=("conversation", "generic"))
    p.add_argument("--languages", nargs="*", default=None, help="conversation languages")
    p.add_argument("--topic", default=None)
    p.add_argument("--circumstances", default="exclude", choices=("exclude", "flag", "keep"))
    p.add_argument(
        "--seeds",
        type=int,
        nargs="*",
        default=None,
        help="training seeds (e.g. 0 1 2): train and evaluate once per seed, aggregate",
    )
    p.add_argument(
        "--heldout-statements",
        type=float,
        default=1.0,
        help="share of the held-out statements used for the per-group evaluation",
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--calibration-limit", type=int, default=None, help="first N judge pairs")
    p.set_defaults(func=cmd_chain)

    p = sub.add_parser("calibrate-judge", help="judge accuracy/decisiveness/position bias")
    p.add_argument("--model", default="smollm2")
    p.add_argument("--limit", type=int, default=None, help="first N pairs only")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"))
    p.add_argument("--device", default=None, choices=("cpu", "cuda", "auto"))
    p.add_argument("--out", default=None, help="write the full report (with items) here")
    p.set_defaults(func=cmd_calibrate_judge)

    p = sub.add_parser("prompts", help="a constitution's grounded prompt set → JSONL to edit")
    p.add_argument("--constitution", required=True)
    p.add_argument("--languages", nargs="*", default=None)
    p.add_argument("--topic", default=None)
    p.add_argument("--out", required=True, help="folder for prompts.jsonl + heldout_prompts.jsonl")
    p.set_defaults(func=cmd_prompts)

    p = sub.add_parser("bench-generate", help="greedy generation tokens/s on fixture prompts")
    p.add_argument("--model", default="smollm2")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--prompts", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"))
    p.add_argument("--device", default=None, choices=("cpu", "cuda", "auto"))
    p.set_defaults(func=cmd_bench_generate)

    p = sub.add_parser("prepare-model", help="build/convert a model into the cache; print path")
    p.add_argument("--model", default="smollm2")
    p.set_defaults(func=cmd_prepare_model)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except AlignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
