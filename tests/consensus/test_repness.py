"""Repness / consensus formulas (Polis stats.clj, repness.clj) checked by hand."""

import numpy as np
import pytest

from consensus.repness import (
    GroupCounts,
    consensus_statements,
    prop_test,
    repness_stats,
    select_rep_comments,
    two_prop_test,
)


def test_prop_test_uses_plus_one_smoothing() -> None:
    # 2·sqrt(6)·(4/6 − 0.5)
    assert prop_test(np.array(3), np.array(5)) == pytest.approx(0.8164965809277258)


def test_two_prop_test_increments_every_argument() -> None:
    # p1 = 4/6, p2 = 2/6, p̂ = 6/12: (1/3) / sqrt(0.25·(1/6 + 1/6))
    z = two_prop_test(np.array(3), np.array(1), np.array(5), np.array(5))
    assert z == pytest.approx(1.1547005383792515)


def test_two_prop_test_is_zero_when_everyone_succeeds() -> None:
    assert two_prop_test(np.array(4), np.array(4), np.array(4), np.array(4)) == 0.0


def counts(agree: list, disagree: list, seen: list) -> GroupCounts:
    return GroupCounts(np.array(agree), np.array(disagree), np.array(seen))


def test_repness_stats_by_hand() -> None:
    # one statement; group 0: 8 agree, 1 disagree of 10; group 1: 2 agree, 7 disagree of 10
    s = repness_stats(counts([[8], [2]], [[1], [7]], [[10], [10]]))
    assert s.pa[0, 0] == pytest.approx(9 / 12)  # (n_a+1)/(n_s+2)
    assert s.ra[0, 0] == pytest.approx((9 / 12) / (3 / 12))  # p_a / ((rest_a+1)/(rest_s+2))
    assert s.rd[0, 0] == pytest.approx((2 / 12) / (8 / 12))
    assert s.pat[0, 0] == pytest.approx(2 * np.sqrt(11) * (9 / 11 - 0.5))  # (n+1)/(N+1)
    assert s.rat[0, 0] == pytest.approx(2.5690465157330262)
    assert s.rdt[1, 0] == pytest.approx(2.5690465157330262)


def select(agree: list, disagree: list, seen: list, mod_out: list | None = None) -> list:
    stats = repness_stats(counts(agree, disagree, seen))
    m = len(agree[0])
    mod = np.array(mod_out or [False] * m)
    return select_rep_comments(stats, np.arange(100, 100 + m), mod)


def test_each_statement_is_reported_for_its_stronger_side() -> None:
    (g0, g1) = select([[8], [2]], [[1], [7]], [[10], [10]])
    assert g0[0]["repful"] == "agree" and g0[0]["best_agree"] is True
    assert g1[0]["repful"] == "disagree"
    assert g1[0]["n_success"] == 7 and g1[0]["p_success"] == pytest.approx(8 / 12)


def test_best_agree_goes_first_then_metric_order_then_agrees_before_disagrees() -> None:
    # group 0 vs group 1 over 7 statements; all sufficient for group 0 in some direction
    agree = [[20, 18, 0, 19, 0, 17, 16], [2, 3, 15, 4, 18, 3, 2]]
    disagree = [[0, 1, 20, 1, 19, 2, 3], [18, 16, 5, 15, 2, 17, 18]]
    seen = [[20, 20, 20, 20, 20, 20, 20]] * 2
    (g0, _) = select(agree, disagree, seen)
    assert len(g0) == 5  # take 5
    kinds = [item["repful"] for item in g0]
    assert kinds == sorted(kinds)  # "agree" < "disagree": agrees first
    assert g0[0]["tid"] == 100 and g0[0].get("best_agree")


def test_moderated_out_statements_are_never_representative() -> None:
    (g0, _) = select([[8, 5], [2, 5]], [[1, 5], [7, 5]], [[10, 10], [10, 10]], [True, False])
    assert all(item["tid"] != 100 for item in g0)


def test_without_sufficient_statements_the_best_by_test_is_returned() -> None:
    # nobody agrees, so there is no best-agree; the largest max(rat, rdt) wins
    (g0, _) = select([[0, 0], [0, 0]], [[1, 2], [0, 0]], [[1, 2], [1, 2]])
    assert [item["tid"] for item in g0] == [101]
    assert "best_agree" not in g0[0]


def test_consensus_takes_top_5_by_p_times_z_among_significant_majorities() -> None:
    n = 20
    agree = np.array([[19, 18, 20, 10, 17, 16, 15, 2]])
    disagree = np.array([[1, 2, 0, 10, 3, 4, 5, 18]])
    seen = np.full((1, 8), n)
    out = consensus_statements(GroupCounts(agree, disagree, seen), np.arange(8), np.zeros(8, bool))
    assert [item["tid"] for item in out["agree"]] == [2, 0, 1, 4, 5]
    assert [item["tid"] for item in out["disagree"]] == [7]
    top = out["agree"][0]
    assert top["p_success"] == pytest.approx(21 / 22)
    assert top["p_test"] == pytest.approx(2 * np.sqrt(21) * (21 / 21 - 0.5))
