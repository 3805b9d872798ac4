"""run(): config validation, the to_json schema, state round trips, routing priorities."""

import json

import numpy as np
import pytest

from consensus.pipeline import (
    ConsensusConfig,
    PipelineState,
    run,
    statement_priorities,
)
from consensus.synthetic import planted_conversation


@pytest.fixture(scope="module")
def conversation():
    return planted_conversation(400, 40, 8000, random_state=1)


@pytest.fixture(scope="module")
def result(conversation):
    return run(conversation.matrix)


@pytest.mark.parametrize(
    ("field", "value", "choices"),
    [
        ("projection", "tsne", "pca, umap"),
        ("cluster_on", "x", "pca, umap"),
        ("pass_handling", "skip", "count, exclude"),
    ],
)
def test_config_rejects_unknown_choices_listing_the_valid_ones(field, value, choices) -> None:
    with pytest.raises(ValueError, match=choices):
        ConsensusConfig(**{field: value})


def test_config_rejects_negative_counts_and_bad_quantiles() -> None:
    with pytest.raises(ValueError, match="base_k"):
        ConsensusConfig(base_k=-1)
    with pytest.raises(ValueError, match="mea_quantile"):
        ConsensusConfig(mea_quantile=1.5)


def test_to_json_has_the_documented_schema_and_is_strict_json(result) -> None:
    data = result.to_json()
    json.dumps(data, allow_nan=False)
    assert set(data) >= {"participants", "groups", "statements", "consensus", "meta"}
    assert set(data["participants"][0]) == {"id", "group", "x", "y", "n_votes", "in_conv"}
    group = data["groups"][0]
    assert set(group) >= {"id", "size", "repness"}
    assert set(group["repness"][0]) >= {
        "statement_id",
        "repful",
        "repness",
        "repness_test",
        "p_success",
        "p_test",
        "n_success",
        "n_trials",
    }
    statement = data["statements"][0]
    assert set(statement) >= {
        "id",
        "n_agree",
        "n_disagree",
        "n_pass",
        "agree_rate",
        "gic",
        "gic_normalized",
        "gic_disagree",
        "mea",
        "mea_gap",
        "mea_needs_more_votes",
        "bridging",
        "bridging_factor",
        "extremity",
        "groups",
    }
    assert set(data["consensus"]) == {"agree", "disagree"}
    assert set(data["meta"]) >= {
        "n_participants",
        "n_statements",
        "n_votes",
        "k",
        "projection",
        "pass_handling",
        "timings",
    }


def test_json_counts_add_up(result) -> None:
    data = result.to_json()
    assert data["meta"]["n_votes"] == sum(p["n_votes"] for p in data["participants"])
    assert sum(g["size"] for g in data["groups"]) == sum(
        p["group"] is not None for p in data["participants"]
    )
    s = data["statements"][0]
    assert (
        sum(g["n_votes"] for g in s["groups"].values())
        <= s["n_agree"] + s["n_disagree"] + s["n_pass"]
    )


def test_it_recovers_planted_groups(conversation, result) -> None:
    from sklearn.metrics import adjusted_rand_score

    placed = result.group_of >= 0
    assert adjusted_rand_score(conversation.planted[placed], result.group_of[placed]) > 0.8


def test_state_survives_json_and_keeps_group_ids(conversation, result) -> None:
    restored = PipelineState.from_dict(json.loads(json.dumps(result.state.to_dict())))
    again = run(conversation.matrix, state=restored)
    assert again.state.n_updates == 2
    np.testing.assert_array_equal(again.group_of, result.group_of)


def test_unknown_state_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        PipelineState.from_dict({"version": 99})


def test_pass_handling_switch_changes_gic(conversation) -> None:
    counted = run(conversation.matrix, config=ConsensusConfig(bridging=False))
    excluded = run(
        conversation.matrix, config=ConsensusConfig(pass_handling="exclude", bridging=False)
    )
    assert np.all(excluded.gic["gic"] >= counted.gic["gic"] - 1e-12)
    assert excluded.bridging is None and excluded.to_json()["statements"][0]["bridging"] is None


def test_priorities_follow_polis_formula_and_give_meta_49() -> None:
    from consensus.matrix import VoteMatrix

    matrix = VoteMatrix.from_votes(
        np.repeat(np.arange(20), 3), np.tile([0, 1, 2], 20), np.tile([1, -1, 0], 20), meta=[2]
    )
    result = run(matrix)
    prio = statement_priorities(result)
    assert prio[2] == 49.0
    c = result.group_counts
    a, s = c.agree[:, 0].sum(), c.seen[:, 0].sum()
    p = s - a - c.disagree[:, 0].sum()
    importance = (1 - (p + 1) / (s + 2)) * (result.extremity[0] + 1) * (a + 1) / (s + 2)
    assert prio[0] == pytest.approx((importance * (1 + 8 * 2 ** (-s / 5))) ** 2)


def test_an_empty_conversation_runs() -> None:
    from consensus.matrix import VoteMatrix

    empty = VoteMatrix.from_votes(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int))
    data = run(empty).to_json()
    assert data["meta"]["k"] == 0 and data["participants"] == []


@pytest.mark.slow
def test_umap_projection_and_clustering_run(conversation) -> None:
    config = ConsensusConfig(projection="umap", cluster_on="umap", bridging=False)
    result = run(conversation.matrix, config=config)
    assert result.projection.shape == (400, 2) and result.k >= 2
    assert result.to_json()["meta"]["projection"] == "umap"


@pytest.mark.parametrize(
    ("pids", "tids", "votes"),
    [
        ([0], [0], [1]),
        ([0, 1], [0, 0], [1, -1]),
        ([0, 1, 2], [0, 0, 0], [0, 0, 0]),
        (list(range(20)) * 2, [0] * 20 + [1] * 20, [1] * 40),
    ],
    ids=["one-vote", "two-people", "all-pass", "everyone-identical"],
)
@pytest.mark.filterwarnings("error")
def test_degenerate_conversations_run_cleanly(pids, tids, votes) -> None:
    from consensus.matrix import VoteMatrix

    result = run(VoteMatrix.from_votes(pids, tids, votes))
    json.dumps(result.to_json(), allow_nan=False)
    again = run(result.matrix, state=PipelineState.from_dict(result.state.to_dict()))
    assert again.k == result.k
