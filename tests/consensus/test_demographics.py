"""Demographic breakdowns respect the 5-person privacy floor."""

from consensus.demographics import MIN_CELL, demographic_breakdown
from consensus.matrix import VoteMatrix


def test_small_cells_are_suppressed_and_large_ones_counted() -> None:
    # 6 young (ids 0-5) agree with statement 0; 4 old (6-9) disagree; id 10 did not consent
    pids = list(range(11))
    matrix = VoteMatrix.from_votes(pids, [0] * 11, [1] * 6 + [-1] * 4 + [1])
    answers = {p: {"age": "young"} for p in range(6)} | {p: {"age": "old"} for p in range(6, 10)}
    (row,) = demographic_breakdown(matrix, answers)
    cells = {c["answer"]: c for c in row["cells"]}
    assert MIN_CELL == 5
    assert cells["young"] == {
        "question": "age",
        "answer": "young",
        "n_votes": 6,
        "n_agree": 6,
        "n_disagree": 0,
        "n_pass": 0,
        "agree_rate": 1.0,
        "disagree_rate": 0.0,
        "suppressed": False,
    }
    assert cells["old"]["suppressed"] and cells["old"]["n_agree"] is None


def test_non_consenting_and_unknown_participants_are_ignored() -> None:
    matrix = VoteMatrix.from_votes(list(range(5)), [0] * 5, [1] * 5)
    answers = {p: {"region": "north"} for p in range(5)} | {99: {"region": "north"}}
    (row,) = demographic_breakdown(matrix, answers)
    assert row["cells"][0]["n_votes"] == 5
