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
    assert phases == [(i, 6) for i in range(1, 7)]
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


def test_per_group_stance_and_shipped_checks_with_intervals(
    tiny_path, tuned, constitution, consensus_result
) -> None:
    from alignment.evaluate import heldout_statements

    statements = heldout_statements(consensus_result, constitution)
    used = {s for p in constitution.principles for s in p.statement_ids}
    assert statements and not {str(s["id"]) for s in statements} & used
    result = evaluate_models(
        tiny_path,
        tuned,
        constitution,
        load_prompts(fixture_prompts("heldout"), limit=2),
        settings=EvalSettings(max_new_tokens=4, batch_size=4, n_boot=200),
        device="cpu",
        statements=statements,
    )
    groups = result["groups"]
    assert groups["n_statements"] == len(statements)
    for model in ("base", "tuned"):
        rep = groups[model]
        assert set(rep["groups"]) == {"0", "1"}
        assert rep["least_represented"] == min(
            rep["groups"], key=lambda g: rep["groups"][g]["value"]
        )
        for ci in [*rep["groups"].values(), rep["collective"]]:
            assert 0 <= ci["low"] <= ci["value"] <= ci["high"] <= 1
    item = groups["items"][0]
    assert 0 < item["p_agree_base"] < 1 and set(item["group_agree"]) == {"0", "1"}
    checks = result["checks"]
    assert checks["capability_items"] >= 20 and checks["bias_items"] >= 12
    assert 0 <= checks["capability_tuned"]["value"] <= 1
    assert result["pairwise"]["win_rate_ci"]["value"] == result["pairwise"]["win_rate"]
    json.dumps(result, allow_nan=False)


def test_representativeness_is_one_minus_the_distance_to_each_group() -> None:
    from alignment.evaluate import representativeness

    statements = [
        {"groups": {"a": {"n_agree": 9, "n_disagree": 1}, "b": {"n_agree": 2, "n_disagree": 8}}},
        {"groups": {"a": {"n_agree": 6, "n_disagree": 4}, "b": {"n_agree": 5, "n_disagree": 5}}},
    ]
    rep = representativeness([0.9, 0.5], statements, n_boot=0)
    assert rep["groups"]["a"]["value"] == pytest.approx(1 - (0.0 + 0.1) / 2)
    assert rep["groups"]["b"]["value"] == pytest.approx(1 - (0.7 + 0.0) / 2)
    assert rep["collective"]["value"] == pytest.approx(1 - (abs(0.9 - 0.55) + abs(0.5 - 0.55)) / 2)
    assert rep["least_represented"] == "b"


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_data() -> None:
    from alignment.stats import mean_ci

    small = mean_ci([1, 0, 1, 1], n_boot=500)
    large = mean_ci([1, 0, 1, 1] * 25, n_boot=500)
    assert small["value"] == large["value"] == 0.75
    assert small["low"] <= 0.75 <= small["high"]
    assert large["high"] - large["low"] < small["high"] - small["low"]
    assert mean_ci([], n_boot=10)["value"] is None


def test_seed_interval_is_the_student_t_interval() -> None:
    from alignment.stats import seed_ci

    ci = seed_ci([0.5, 0.6, 0.7, None])
    # mean 0.6, sd 0.1, t(0.975, 2) = 4.3027: half-width 4.3027 * 0.1 / sqrt(3) = 0.2484
    assert ci["n"] == 3 and ci["value"] == pytest.approx(0.6)
    assert ci["high"] - ci["value"] == pytest.approx(0.24841, abs=1e-4)
    assert seed_ci([0.4])["low"] is None and seed_ci([])["value"] is None
    clipped = seed_ci([0.0, 0.5, 1.0], bounds=(0.0, 1.0))
    assert (clipped["low"], clipped["high"]) == (0.0, 1.0)


def test_aggregate_seeds_reads_every_tuned_figure() -> None:
    from alignment.evaluate import aggregate_seeds

    def ev(win: float, g0: float, g1: float) -> dict:
        groups = {"0": {"value": g0}, "1": {"value": g1}}
        return {
            "pairwise": {"win_rate": win},
            "groups": {
                "tuned": {"groups": groups, "collective": {"value": 0.5}},
                "base": {"groups": {"0": {"value": 0.7}, "1": {"value": 0.3}}},
            },
            "checks": {"capability_base": {"value": 0.25}},
        }

    summary = aggregate_seeds([ev(0.5, 0.9, 0.4), ev(0.75, 0.8, 0.6)], [0, 1])
    m = summary["metrics"]
    assert m["win_rate"]["values"] == [0.5, 0.75]
    assert m["representativeness_least_group"]["values"] == [0.4, 0.6]
    assert m["representativeness_group_1"]["values"] == [0.4, 0.6]
    assert m["implicit_reward_accuracy"]["n"] == 0  # missing in every seed: left out
    assert summary["base"]["capability_mc"] == 0.25
    assert summary["base"]["representativeness_least_group"] == 0.3
    assert summary["base"]["representativeness_group_0"] == 0.7
