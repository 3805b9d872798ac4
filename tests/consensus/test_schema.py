"""The snapshot tiers: bounded in size, no ids or demographics below the full result."""

from __future__ import annotations

import json
import random

from consensus import schema


def _big_result(n_participants: int = 100_000, n_statements: int = 2_000) -> schema.SnapshotResult:
    rng = random.Random(0)
    groups = [0] * 40_000 + [1] * 35_000 + [2] * 24_990 + [3] * 10  # a group of ten
    participants: list[schema.ParticipantRow] = [
        {"id": i, "group": groups[i] if i < len(groups) else None, "x": rng.gauss(0, 1),
         "y": rng.gauss(0, 1), "n_votes": rng.randint(1, 200), "in_conv": True}
        for i in range(n_participants)
    ]  # fmt: skip
    counts = {"n_agree": 10, "n_disagree": 5, "n_pass": 1, "n_votes": 16}
    statements: list[schema.StatementRow] = [
        {"id": j, "moderated_out": False, "n_votes": 300, "agree_rate": rng.random(),
         "gic": rng.random(), "gic_normalized": rng.random(), "mea": rng.random(),
         "bridging": rng.random(), "bridging_reason": None,
         "groups": {str(g): dict(counts) for g in range(4)}}  # type: ignore[misc]
        for j in range(n_statements)
    ]  # fmt: skip
    repness: list[schema.RepnessRow] = [
        {"statement_id": j, "repful": "agree", "p_success": 0.9} for j in range(10)
    ]
    return {
        "participants": participants,
        "statements": statements,
        "groups": [
            {"id": g, "size": groups.count(g), "center": [0.0, 0.0], "repness": repness}
            for g in range(4)
        ],
        "consensus": {"agree": repness, "disagree": []},
        "meta": {"n_participants": n_participants, "n_statements": n_statements, "k": 4},
        "demographics": {"age": {"30+": {"0": 1}}},
    }


def test_the_participant_view_stays_under_200_kb_at_100k_participants() -> None:
    result = _big_result()
    view = schema.participant_view(result, participant_id=123, seed=7)
    size = len(json.dumps(view).encode())
    assert size < 200_000, size
    assert len(json.dumps(result).encode()) > 10 * size  # the full result is what it saves
    assert view["me"] is not None and view["me"]["group"] == 0
    assert len(view["participants"]) <= schema.MAX_MAP_POINTS
    assert view["map"]["points_total"] == 100_000


def test_small_tiers_carry_no_ids_or_demographics_and_keep_small_groups_on_the_map() -> None:
    view = schema.public_summary(_big_result(), seed=1)
    assert "demographics" not in view and "me" not in view
    assert all("id" not in point for point in view["participants"])
    assert {p["group"] for p in view["participants"]} == {0, 1, 2, 3}  # ten people still shown
    assert view["map"]["grouped"] == 100_000


def test_the_sample_is_the_same_for_the_same_snapshot() -> None:
    result = _big_result(5_000, 50)
    first = schema.public_summary(result, seed=3)["participants"]
    assert first == schema.public_summary(result, seed=3)["participants"]


def test_rankings_skip_unscored_and_moderated_out_statements() -> None:
    statements: list[schema.StatementRow] = [
        {"id": 1, "mea": 0.9, "moderated_out": True},
        {"id": 2, "mea": None},
        {"id": 3, "mea": 0.5},
        {"id": 4, "mea": 0.7},
    ]
    view = schema.public_summary({"statements": statements})
    assert view["rankings"]["mea"] == [4, 3]
    assert [s["id"] for s in view["statements"]] == [3, 4]
