"""Evaluation returns a JSON-safe dict with win rate, reward accuracy and capability checks."""

from __future__ import annotations

import json

import pytest

from alignment import datasets_io as dio
from alignment.cai_data import fixture_prompts, load_prompts, read_records
from alignment.config import SFTRunConfig
from alignment.evaluate import EvalSettings, evaluate_models
from alignment.train import train_sft

SETTINGS = EvalSettings(max_new_tokens=8, batch_size=4)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, tiny_path, cai_file) -> str:
    out = tmp_path_factory.mktemp("eval")
    dio.write_jsonl(dio.sft_rows(read_records(cai_file)), out / "sft.jsonl")
    config = SFTRunConfig(
        output_dir=str(out / "sft"), max_steps=2, max_length=128, device="cpu", learning_rate=1e-2
    )
    return train_sft(tiny_path, out / "sft.jsonl", config).model_dir


def test_evaluation_dict_shape_and_ranges(tiny_path, tuned, constitution, cai_file) -> None:
    prompts = load_prompts(fixture_prompts("heldout"), limit=4)
    rows = dio.dpo_rows(read_records(cai_file))
    phases: list[tuple[int, int]] = []
    result = evaluate_models(
        tiny_path,
        tuned,
        constitution,
        prompts,
        preference_rows=rows,
        settings=SETTINGS,
        device="cpu",
        progress=lambda d, t: phases.append((d, t)),
    )
    json.dumps(result, allow_nan=False)
    assert phases == [(1, 4), (2, 4), (3, 4), (4, 4)]
    pw = result["pairwise"]
    assert pw["wins"] + pw["losses"] + pw["ties"] == result["n_prompts"] == 4
    assert 0 <= pw["win_rate"] <= 1 and 0 <= pw["mean_p_tuned"] <= 1
    assert all(0 <= i["p_tuned"] <= 1 and i["principle_id"].startswith("p-") for i in pw["items"])
    rw = result["reward"]
    assert rw["n_pairs"] == len(rows)
    for key in ("implicit_reward_accuracy", "tuned_logprob_accuracy", "base_logprob_accuracy"):
        assert 0 <= rw[key] <= 1
    cap = result["capability"]
    assert cap["perplexity_base"] > 1 and cap["perplexity_tuned"] > 1
    assert 0 <= cap["facts_base"] <= 1 and cap["n_facts"] == 4
    assert result["constitution_hash"] == constitution.content_hash
    assert len(result["samples"]) == 3


def test_a_model_against_itself_ties_everywhere(tiny_path, constitution) -> None:
    prompts = load_prompts(fixture_prompts("heldout"), limit=2)
    result = evaluate_models(
        tiny_path, tiny_path, constitution, prompts, settings=SETTINGS, device="cpu"
    )
    assert result["pairwise"]["ties"] == 2 and result["pairwise"]["win_rate"] == 0.5
    assert result["reward"] is None
    assert result["capability"]["perplexity_ratio"] == pytest.approx(1.0)
