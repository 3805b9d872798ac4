"""Training smoke tests on the tiny model (CONVENTIONS habit 8): a few real TRL steps, loss
logged, every trainable parameter changed; SFT → DPO and SFT → KTO; resume after a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from alignment import datasets_io as dio
from alignment.cai_data import read_records
from alignment.config import ConfigError, DPORunConfig, KTORunConfig, SFTRunConfig
from alignment.train import train_preference, train_sft

FAST = {"max_length": 128, "per_device_train_batch_size": 4, "device": "cpu", "learning_rate": 1e-3}


def _weights(folder: Path | str) -> dict[str, torch.Tensor]:
    return load_file(Path(folder) / "model.safetensors")


def _assert_all_changed(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert unchanged == []


@pytest.fixture(scope="module")
def data(tmp_path_factory, cai_file) -> dict[str, Path]:
    records = read_records(cai_file)
    out = tmp_path_factory.mktemp("data")
    for name, rows in [
        ("sft", dio.sft_rows(records)),
        ("dpo", dio.dpo_rows(records)),
        ("kto", dio.kto_rows(records)),
    ]:
        dio.write_jsonl(rows, out / f"{name}.jsonl")
    return {n: out / f"{n}.jsonl" for n in ("sft", "dpo", "kto")}


@pytest.fixture(scope="module")
def sft_model(tmp_path_factory, tiny_path, data) -> tuple[str, list]:
    logs: list = []
    config = SFTRunConfig(output_dir=str(tmp_path_factory.mktemp("sft")), max_steps=3, **FAST)
    result = train_sft(
        tiny_path,
        data["sft"],
        config,
        progress=lambda step, total, log: logs.append((step, total, log)),
    )
    return result, logs


def test_sft_changes_every_parameter_and_logs_loss(tiny_path, sft_model) -> None:
    result, logs = sft_model
    _assert_all_changed(_weights(tiny_path), _weights(result.model_dir))
    losses = [log["loss"] for _, _, log in logs if "loss" in log]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert logs[0][:2] == (1, 3)
    m = result.metrics
    assert (m["steps"], m["max_steps"]) == (3, 3)
    assert m["final_loss"] == losses[-1] and m["tokens_seen"] > 0 and m["tokens_per_s"] > 0
    assert (Path(result.output_dir) / "run_config.json").exists()
    assert (Path(result.model_dir) / "tokenizer.json").exists()


@pytest.mark.parametrize(("method", "cls"), [("dpo", DPORunConfig), ("kto", KTORunConfig)])
def test_preference_training_from_the_saved_sft_model(
    tmp_path, sft_model, data, method, cls
) -> None:
    sft, _ = sft_model
    logs: list = []
    config = cls(output_dir=str(tmp_path / method), max_steps=3, **FAST)
    result = train_preference(
        sft.model_dir,
        data[method],
        config,
        method=method,
        progress=lambda s, t, log: logs.append(log),
    )
    _assert_all_changed(_weights(sft.model_dir), _weights(result.model_dir))
    assert sum("loss" in log for log in logs) == 3
    assert result.metrics["steps"] == 3 and result.stage == method


def test_lora_trains_adapters_and_saves_a_merged_model(tmp_path, tiny_path, data) -> None:
    config = SFTRunConfig(
        output_dir=str(tmp_path / "lora"), max_steps=2, use_lora=True, lora_r=4, **FAST
    )
    result = train_sft(tiny_path, data["sft"], config)
    before, after = _weights(tiny_path), _weights(result.model_dir)
    assert before.keys() == after.keys()  # merged: a plain model, no adapter weights
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(
        any(m in k for m in ("q_proj", "k_proj", "v_proj", "o_proj")) for k in changed
    )


class Crash(Exception):
    pass


def test_a_crashed_run_resumes_from_its_last_checkpoint(tmp_path, tiny_path, data) -> None:
    config = SFTRunConfig(output_dir=str(tmp_path / "run"), max_steps=4, save_steps=2, **FAST)

    def crash_at_3(step: int, total: int, log: dict) -> None:
        if step == 3 and "loss" in log:
            raise Crash

    with pytest.raises(Crash):
        train_sft(tiny_path, data["sft"], config, progress=crash_at_3)
    assert (tmp_path / "run" / "checkpoint-2" / "optimizer.pt").exists()
    steps: list[int] = []
    result = train_sft(
        tiny_path,
        data["sft"],
        config,
        progress=lambda s, t, log: steps.append(s) if "loss" in log else None,
    )
    assert result.resumed_from.endswith("checkpoint-2")
    assert steps == [3, 4] and result.metrics["steps"] == 4
    m = result.metrics
    assert (m["resumed_at_step"], m["steps_this_run"]) == (2, 2)
    losses = [e["loss"] for e in result.log_history if "loss" in e]
    assert len(losses) == 4  # the two pre-crash steps come back from the checkpoint
    assert m["train_loss"] == pytest.approx(sum(losses) / 4) and m["train_loss"] > 0
    assert 0 < m["tokens_this_run"] < m["tokens_seen"]


def test_a_finished_stage_run_again_reports_real_figures(tmp_path, tiny_path, data) -> None:
    """Resumed at its last step, a stage used to report train_loss 0.0 and 2.3e9 tokens/s."""
    config = SFTRunConfig(output_dir=str(tmp_path / "run"), max_steps=2, save_steps=2, **FAST)
    first = train_sft(tiny_path, data["sft"], config)
    again = train_sft(tiny_path, data["sft"], config)
    assert again.metrics["steps_this_run"] == 0
    assert again.metrics["tokens_per_s"] is None and again.metrics["steps_per_s"] is None
    assert again.metrics["train_loss"] == pytest.approx(first.metrics["train_loss"])
    assert again.metrics["tokens_seen"] == first.metrics["tokens_seen"] > 0


def test_training_output_is_group_readable(tmp_path, tiny_path, data) -> None:
    config = SFTRunConfig(output_dir=str(tmp_path / "run"), max_steps=1, **FAST)
    result = train_sft(tiny_path, data["sft"], config)
    for path in [Path(result.output_dir), *Path(result.output_dir).rglob("*")]:
        assert path.stat().st_mode & 0o044 == 0o044, path


def test_stage_and_config_must_match(tmp_path, tiny_path, data) -> None:
    with pytest.raises(ConfigError, match="KTORunConfig"):
        train_preference(
            tiny_path, data["kto"], DPORunConfig(output_dir=str(tmp_path)), method="kto"
        )
    with pytest.raises(ConfigError, match="SFTRunConfig"):
        train_sft(tiny_path, data["sft"], DPORunConfig(output_dir=str(tmp_path)))
