"""Community Notes style bridging on a small two-camp conversation."""

import numpy as np
import pytest

from consensus.bridging import BridgingMF, _ridge2, vote_ratings
from consensus.matrix import VoteMatrix


def two_camps(n: int = 40) -> VoteMatrix:
    """Camp A = rows < n/2. Statement 0: everyone agrees (a bridge). 1, 2: A agrees, B
    disagrees. 3, 4: the reverse. Statement 5: everyone passes."""
    rows, cols, votes = [], [], []
    for u in range(n):
        camp_a = u < n // 2
        for s, vote in enumerate([1, 1 if camp_a else -1, 1 if camp_a else -1,
                                  -1 if camp_a else 1, -1 if camp_a else 1, 0]):
            rows.append(u)
            cols.append(s)
            votes.append(vote)
    return VoteMatrix.from_votes(rows, cols, votes)


def test_ridge2_solves_the_two_by_two_normal_equations() -> None:
    s0, s1, s2, b0, b1 = 5.0, 1.5, 2.0, 3.0, -1.0
    i, f = _ridge2(np.array(s0), np.array(s1), np.array(s2), np.array(b0), np.array(b1),
                   0.15, 0.03)
    expected = np.linalg.solve([[s0 + 0.15, s1], [s1, s2 + 0.03]], [b0, b1])
    np.testing.assert_allclose([i, f], expected)


def test_ratings_map_agree_1_disagree_0_pass_half_or_excluded() -> None:
    m = VoteMatrix.from_votes([0, 0, 0], [0, 1, 2], [1, -1, 0])
    assert vote_ratings(m, "count")[2].tolist() == [1.0, 0.0, 0.5]
    assert vote_ratings(m, "exclude")[2].tolist() == [1.0, 0.0]


def test_the_bridging_statement_scores_highest_and_divisive_ones_load_on_the_factor() -> None:
    model = BridgingMF().fit(two_camps())
    assert np.argmax(model.score_) == 0
    f = np.abs(model.statement_factors_)
    assert f[0] < 0.1 and min(f[1:5]) > 0.5
    assert model.passes_gate_[0] and not model.passes_gate_[1:5].any()


def test_user_factors_are_recentred_to_mean_zero() -> None:
    model = BridgingMF().fit(two_camps())
    assert model.user_factors_.mean() == pytest.approx(0.0, abs=1e-12)


def test_side_votes_count_raters_on_each_side_of_the_factor() -> None:
    model = BridgingMF().fit(two_camps())
    assert model.side_votes_[:, 0].tolist() == [20, 20]


def test_predictions_fit_the_ratings() -> None:
    m = two_camps()
    model = BridgingMF(max_iter=200, tol=1e-10).fit(m)
    rows, cols, ratings = vote_ratings(m)
    pred = (model.mu_ + model.user_intercepts_[rows] + model.statement_intercepts_[cols]
            + model.user_factors_[rows] * model.statement_factors_[cols])
    assert np.abs(pred - ratings).max() < 0.1
