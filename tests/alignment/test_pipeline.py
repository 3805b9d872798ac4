"""The whole chain on the tiny model, its run.json bookkeeping, failures, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment import constitution as const
from alignment.cli import main
from alignment.config import ChainConfig, ConfigError, ConstitutionError, GenerationSettings
from alignment.pipeline import RunInterrupted, mark_interrupted, run_chain

from .conftest import make_consensus_result


def _config(cache: Path, **kw) -> ChainConfig:
    defaults = {
        "max_prompts": 8,
        "max_heldout": 3,
        "sft_steps": 2,
        "pref_steps": 2,
        "batch_size": 4,
        "max_length": 128,
        "device": "cpu",
        "cache_dir": str(cache),
        "generation": GenerationSettings(max_new_tokens=8, batch_size=4),
    }
    return ChainConfig(**(defaults | kw))


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_the_whole_chain_writes_every_artefact(
    tmp_path, model_cache, tiny_path, source, method
) -> None:
    steps: list[tuple[str, str]] = []
    progress: dict[str, list] = {}
    state = run_chain(
        make_consensus_result(),
        source=source,
        model="tiny",
        out_dir=tmp_path,
        method=method,
        config=_config(model_cache, judge_model=str(tiny_path), pair_margin=0.0),
        on_step=lambda s, status, info: steps.append((s, status)),
        on_progress=lambda s, d, t, logs: progress.setdefault(s, []).append((d, t, logs)),
    )
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "constitution.json",
        "constitution.md",
        "cai.jsonl",
        "heldout_cai.jsonl",
        "sft.jsonl",
        f"{method}.jsonl",
        "run.json",
        "README.md",
        "evaluation.json",
        "sft",
        method,
    } <= names
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["status"] == state["status"] == "finished" and saved["error"] is None
    assert [s for s, status in steps if status == "finished"] == [
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
    ]
    c = const.from_json((tmp_path / "constitution.json").read_text())
    prov = saved["provenance"]
    assert (prov["conversation"], prov["snapshot_id"]) == ("ai-values-2026", 17)
    assert (prov["constitution_version"], prov["constitution_hash"]) == (1, c.content_hash)
    assert set(prov["datasets"]) == {"sft.jsonl", f"{method}.jsonl"}
    assert saved["metrics"]["sft"]["steps"] == 2 and saved["metrics"][method]["steps"] == 2
    assert [d for d, _, _ in progress["generate"]] == list(range(1, 9))
    assert any("loss" in logs for _, _, logs in progress["sft"])
    assert len(saved["loss_curves"]["sft"]) == 2
    assert (Path(saved["outputs"]["model"]) / "model.safetensors").exists()
    assert 0 <= saved["evaluation"]["pairwise"]["win_rate"] <= 1
    assert saved["evaluation"]["judge"] == str(tiny_path)
    card = (tmp_path / "README.md").read_text()
    assert f"version 1, hash `{c.content_hash}`" in card and "ai-values-2026" in card
    assert "135M" in card and "plumbing test" in card


def test_a_failure_is_recorded_and_raised(tmp_path, model_cache, source) -> None:
    with pytest.raises(ConstitutionError):
        run_chain(
            make_consensus_result() | {"groups": []},
            source=source,
            model="tiny",
            out_dir=tmp_path,
            config=_config(model_cache),
        )
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["status"] == "failed"
    assert saved["error"]["type"] == "ConstitutionError"
    assert saved["error"]["step"] == "constitution"
    assert saved["steps"]["constitution"]["status"] == "failed"


def test_a_missing_model_fails_in_its_step(tmp_path, model_cache, source) -> None:
    with pytest.raises(Exception, match="no-such/model"):
        run_chain(
            make_consensus_result(),
            source=source,
            model="no-such/model",
            out_dir=tmp_path,
            config=_config(model_cache),
        )
    saved = json.loads((tmp_path / "run.json").read_text())
    assert (saved["status"], saved["error"]["step"]) == ("failed", "load_model")


def test_cli_builds_constitutions(tmp_path, capsys) -> None:
    result = tmp_path / "result.json"
    result.write_text(json.dumps(make_consensus_result() | {"conversation": "c1"}))
    assert (
        main(["constitution", "--consensus-json", str(result), "--out", str(tmp_path / "c.json")])
        == 0
    )
    assert "4 principles, version 1" in capsys.readouterr().out
    c = const.from_json((tmp_path / "c.json").read_text())
    assert c.source["conversation"] == "c1" and (tmp_path / "c.md").exists()
    assert (
        main(
            [
                "constitution",
                "--consensus-json",
                str(result),
                "--per-group",
                "--out",
                str(tmp_path / "groups"),
            ]
        )
        == 0
    )
    assert {p.name for p in (tmp_path / "groups").iterdir()} == {
        "group-0.json",
        "group-0.md",
        "group-1.json",
        "group-1.md",
    }


def test_cli_reports_library_errors_in_one_line(tmp_path, capsys) -> None:
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"statements": [], "groups": []}))
    assert (
        main(["constitution", "--consensus-json", str(result), "--out", str(tmp_path / "c.json")])
        == 2
    )
    assert capsys.readouterr().err.strip() == "error: consensus result has no statements"


def test_cli_chain_on_the_tiny_model(tmp_path, model_cache, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CONCORD_MODEL_CACHE", str(model_cache))
    result = tmp_path / "result.json"
    result.write_text(json.dumps(make_consensus_result()))
    code = main(
        [
            "chain",
            "--consensus-json",
            str(result),
            "--model",
            "tiny",
            "--out",
            str(tmp_path / "run"),
            "--max-prompts",
            "4",
            "--max-heldout",
            "2",
            "--sft-steps",
            "1",
            "--pref-steps",
            "1",
            "--max-new-tokens",
            "6",
            "--max-length",
            "128",
            "--device",
            "cpu",
            "--method",
            "kto",
            "--conversation",
            "demo",
            "--snapshot-id",
            "3",
        ]
    )
    assert code == 0
    assert '"status": "finished"' in capsys.readouterr().out
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    assert saved["source"] == {"conversation": "demo", "snapshot_id": "3"}


def test_cli_single_steps(
    tmp_path, model_cache, cai_file, constitution, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("CONCORD_MODEL_CACHE", str(model_cache))
    (tmp_path / "c.json").write_text(const.to_json(constitution))
    assert (
        main(
            [
                "generate",
                "--model",
                "tiny",
                "--constitution",
                str(tmp_path / "c.json"),
                "--max-prompts",
                "2",
                "--max-new-tokens",
                "4",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "cai.jsonl"),
            ]
        )
        == 0
    )
    assert main(["datasets", "--cai", str(cai_file), "--out-dir", str(tmp_path / "d")]) == 0
    assert (
        main(
            [
                "train",
                "sft",
                "--model",
                "tiny",
                "--data",
                str(tmp_path / "d" / "sft.jsonl"),
                "--out",
                str(tmp_path / "sft"),
                "--steps",
                "1",
                "--max-length",
                "128",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "evaluate",
                "--base",
                "tiny",
                "--tuned",
                str(tmp_path / "sft" / "model"),
                "--constitution",
                str(tmp_path / "c.json"),
                "--max-prompts",
                "2",
                "--pairs",
                str(tmp_path / "d" / "dpo.jsonl"),
                "--max-new-tokens",
                "4",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "eval.json"),
            ]
        )
        == 0
    )
    evaluation = json.loads((tmp_path / "eval.json").read_text())
    assert evaluation["n_prompts"] == 2 and evaluation["reward"]["n_pairs"] > 0
    assert len((tmp_path / "cai.jsonl").read_text().splitlines()) == 2


def test_ai_feedback_pairs_can_train_dpo(tmp_path, model_cache, source) -> None:
    config = _config(model_cache, preference_source="ai_feedback", pair_margin=0.0)
    state = run_chain(
        make_consensus_result(), source=source, model="tiny", out_dir=tmp_path, config=config
    )
    rows = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert rows and all(0.5 < r["soft_label"] <= 1 for r in rows)
    assert state["status"] == "finished"


class Stop(RunInterrupted):
    pass


def _stop_in(step_name: str, at: int):
    def on_progress(step: str, done: int, total: int, logs: dict) -> None:
        if step == step_name and done == at and ("loss" in logs or step != "sft"):
            raise Stop("cancelled by the user")

    return on_progress


def test_an_interrupted_run_is_resumable_and_keeps_its_whole_history(
    tmp_path, model_cache, source
) -> None:
    config = _config(model_cache, sft_steps=4, judge_check="off")
    with pytest.raises(Stop):
        run_chain(
            make_consensus_result(),
            source=source,
            model="tiny",
            out_dir=tmp_path,
            config=config,
            on_progress=_stop_in("sft", 3),
        )
    saved = json.loads((tmp_path / "run.json").read_text())
    assert (saved["status"], saved["resumable"]) == ("interrupted", True)
    assert saved["steps"]["sft"]["status"] == "interrupted"
    state = run_chain(
        make_consensus_result(), source=source, model="tiny", out_dir=tmp_path, config=config
    )
    assert state["status"] == "finished" and state["attempts"] == 2
    assert state["started_at"] == saved["started_at"]
    assert [p["step"] for p in state["loss_curves"]["sft"]] == [1, 2, 3, 4]
    sft = state["metrics"]["sft"]
    assert sft["resumed_at_step"] == 2 and sft["steps_this_run"] == 2 and sft["train_loss"] > 0


def test_a_killed_run_left_running_is_marked_interrupted(tmp_path) -> None:
    (tmp_path / "run.json").write_text(
        json.dumps({"status": "running", "current_step": "sft", "steps": {"sft": {}}})
    )
    assert mark_interrupted(tmp_path) is True
    saved = json.loads((tmp_path / "run.json").read_text())
    assert (saved["status"], saved["steps"]["sft"]["status"]) == ("interrupted", "interrupted")
    assert mark_interrupted(tmp_path) is False  # only a "running" run changes


def test_run_json_records_versions_commit_weights_roles_and_grounded_prompts(
    tmp_path, model_cache, tiny_path, source
) -> None:
    state = run_chain(
        make_consensus_result(),
        source=source | {"languages": ["en", "es"], "topic": "AI assistants"},
        model="tiny",
        out_dir=tmp_path,
        config=_config(model_cache, critic_model=str(tiny_path), calibration_limit=8),
    )
    env = state["environment"]
    assert env["libraries"]["torch"] and env["libraries"]["trl"] and env["python"]
    assert set(env["code"]) == {"commit", "dirty"}
    weights = state["provenance"]["weights"]
    assert set(weights) >= {"critic_base", "student_base", "sft_model", "model"}
    assert all(len(h) == 64 for h in weights["model"].values())
    assert state["roles"] == {"student": "tiny", "critic": str(tiny_path), "judge": "tiny"}
    assert any("grades its own homework" in w for w in state["warnings"])
    assert state["judge_calibration"]["n_pairs"] == 8
    assert state["provenance"]["prompt_set"]["kind"] == "conversation"
    prompts = [json.loads(x) for x in (tmp_path / "prompts.jsonl").read_text().splitlines()]
    assert {p["language"] for p in prompts} == {"en", "es"}
    assert all(p["principle_ids"] for p in prompts)
    assert any("AI assistants" in p["prompt"] for p in prompts)
    assert state["evaluation"]["groups"]["n_statements"] >= 1
    card = (tmp_path / "README.md").read_text()
    assert "Per-group representativeness" in card and "Judge calibration" in card
    for path in [tmp_path, *tmp_path.rglob("*")]:
        assert path.stat().st_mode & 0o044 == 0o044, path


def test_a_judge_below_the_threshold_can_refuse_the_run(tmp_path, model_cache, source) -> None:
    config = _config(model_cache, judge_check="refuse", min_judge_accuracy=1.0, calibration_limit=4)
    with pytest.raises(ConfigError, match="JUDGE BELOW CALIBRATION THRESHOLD"):
        run_chain(
            make_consensus_result(), source=source, model="tiny", out_dir=tmp_path, config=config
        )
    saved = json.loads((tmp_path / "run.json").read_text())
    assert (saved["status"], saved["error"]["step"]) == ("failed", "calibrate_judge")


def test_a_judge_that_cannot_decide_drops_every_pair_and_says_why(
    tmp_path, model_cache, tiny_path, source
) -> None:
    config = _config(model_cache, judge_model=str(tiny_path), judge_check="off")
    with pytest.raises(Exception, match="clears the judge margin 0.1"):
        run_chain(
            make_consensus_result(), source=source, model="tiny", out_dir=tmp_path, config=config
        )
    saved = json.loads((tmp_path / "run.json").read_text())
    pairs = saved["metrics"]["preference_pairs"]
    assert pairs["source"] == "ai_feedback" and pairs["kept"] == 0 and pairs["judged"] > 0
    assert (saved["status"], saved["error"]["step"]) == ("failed", "datasets")


def test_the_generic_prompt_set_stays_an_option(tmp_path, model_cache, source) -> None:
    state = run_chain(
        make_consensus_result(),
        source=source,
        model="tiny",
        out_dir=tmp_path,
        config=_config(model_cache, prompt_set="generic", judge_check="off"),
    )
    assert state["provenance"]["prompt_set"]["kind"] == "file"
    assert state["provenance"]["prompts"]["generate"]["path"].endswith("train.jsonl")


def test_three_training_seeds_are_trained_evaluated_and_aggregated(
    tmp_path, model_cache, tiny_path, source
) -> None:
    config = _config(model_cache, seeds=(0, 1, 2), judge_check="off", bootstrap=50)
    state = run_chain(
        make_consensus_result(), source=source, model="tiny", out_dir=tmp_path, config=config
    )
    assert state["status"] == "finished" and state["steps"]["seeds"]["status"] == "finished"
    for seed in (1, 2):
        folder = tmp_path / "seeds" / f"seed-{seed}"
        assert (folder / "dpo" / "model" / "config.json").exists()
        assert json.loads((folder / "evaluation.json").read_text())["training_seed"] == seed
        assert (
            json.loads((folder / "sft" / "run_config.json").read_text())["config"]["seed"] == seed
        )
        assert f"model@seed{seed}" in state["provenance"]["weights"]
    # different seeds give different weights (data order and init differ)
    weights = state["provenance"]["weights"]
    assert weights["model"] != weights["model@seed1"] != weights["model@seed2"]
    summary = json.loads((tmp_path / "evaluation.json").read_text())["across_seeds"]
    assert summary["seeds"] == [0, 1, 2] and summary["n_seeds"] == 3
    win = summary["metrics"]["win_rate"]
    assert win["n"] == 3 and len(win["values"]) == 3
    assert win["low"] <= win["value"] <= win["high"]
    assert win["values"][0] == state["evaluation"]["pairwise"]["win_rate"]  # the main model
    groups = [k for k in summary["metrics"] if k.startswith("representativeness_group_")]
    assert groups and summary["metrics"]["representativeness_least_group"]["n"] == 3
    assert "Over 3 training seeds [0, 1, 2]" in (tmp_path / "README.md").read_text()


def test_repeated_seeds_are_refused() -> None:
    with pytest.raises(ConfigError, match="seeds repeat"):
        ChainConfig(seeds=(1, 1))
    assert ChainConfig(seed=4).training_seeds() == (4,)
    assert ChainConfig(seeds=(3, 5)).stage_config("sft", Path("x")).seed == 3


def test_no_pair_because_every_revision_was_rejected_says_so(tmp_path, model_cache) -> None:
    from alignment.config import TrainingError
    from alignment.pipeline import _datasets_step, _Run

    record = {
        "prompt_id": "p1",
        "prompt": "Q?",
        "initial": "An answer.",
        "final": "An answer.",
        "rounds": [{"revision_rejected": True, "cleaning": ["started with a critique"]}],
        "feedback": None,
    }
    (tmp_path / "cai.jsonl").write_text(json.dumps(record) + "\n")
    run = _Run(tmp_path, {"steps": {}, "metrics": {}, "provenance": {}}, None, None)
    with pytest.raises(TrainingError, match=r"all 1 records .*1 had every revision rejected"):
        _datasets_step(run, tmp_path, "dpo", _config(model_cache))
