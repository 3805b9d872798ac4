"""Community Notes style bridging on a small two-camp conversation."""

import numpy as np
import pytest

from consensus.bridging import BridgingMF, _ridge2, vote_ratings
from consensus.matrix import VoteMatrix


def two_camps(n: int = 40) -> VoteMatrix:
    """Camp A = rows < n/2. Statement 0: everyone agrees (a bridge). 1, 2: A agrees, B
    disagrees. 3, 4: the reverse. Statement 5: everyone passes. 6–11 alternate like 1–4, so
    every participant has the 10 ratings Community Notes asks of a rater."""
    rows, cols, votes = [], [], []
    for u in range(n):
        side = 1 if u < n // 2 else -1
        for s, vote in enumerate([1, side, side, -side, -side, 0, *([side, -side] * 3)]):
            rows.append(u)
            cols.append(s)
            votes.append(vote)
    return VoteMatrix.from_votes(rows, cols, votes)


def test_ridge2_solves_the_two_by_two_normal_equations() -> None:
    s0, s1, s2, b0, b1 = 5.0, 1.5, 2.0, 3.0, -1.0
    i, f = _ridge2(np.array(s0), np.array(s1), np.array(s2), np.array(b0), np.array(b1), 0.15, 0.03)
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


def test_user_factors_are_centred_halfway_between_the_two_sides() -> None:
    model = BridgingMF().fit(two_camps())
    f = model.user_factors_
    assert f[f > 0].mean() == pytest.approx(-f[f <= 0].mean(), abs=1e-9)


def test_side_votes_count_raters_on_each_side_of_the_factor() -> None:
    model = BridgingMF().fit(two_camps())
    assert model.side_votes_[:, 0].tolist() == [20, 20]


def test_predictions_fit_the_ratings() -> None:
    m = two_camps()
    model = BridgingMF(max_iter=200, tol=1e-10).fit(m)
    rows, cols, ratings = vote_ratings(m)
    pred = (
        model.mu_
        + model.user_intercepts_[rows]
        + model.statement_intercepts_[cols]
        + model.user_factors_[rows] * model.statement_factors_[cols]
    )
    assert np.abs(pred - ratings).max() < 0.1


def test_a_statement_both_camps_like_beats_one_rated_higher_on_average_by_one_camp() -> None:
    """30 vs 10 participants. Statement 0: 2/3 of the big camp and 7/10 of the small one agree
    (mean 0.675). Statement 1: the big camp agrees, the small one disagrees (mean 0.75). The
    plain mean ranks 1 first; bridging ranks 0 first and puts 1 on the opinion factor."""
    rows, cols, votes = [], [], []
    for u in range(40):
        side = 1 if u < 30 else -1
        agrees_both = u < 20 or 30 <= u < 37
        row = [1 if agrees_both else -1, side, *[side * (-1) ** s for s in range(10)]]
        for s, vote in enumerate(row):
            rows.append(u)
            cols.append(s)
            votes.append(vote)
    m = VoteMatrix.from_votes(rows, cols, votes)
    mean = np.array([np.mean(np.array(votes)[np.array(cols) == s] > 0) for s in (0, 1)])
    assert mean[1] > mean[0]
    model = BridgingMF().fit(m)
    assert model.score_[0] > model.score_[1]
    assert model.passes_gate_[0] and not model.passes_gate_[1]
    assert abs(model.statement_factors_[1]) > abs(model.statement_factors_[0])


def test_statements_below_the_minimum_raters_get_no_score_and_a_reason() -> None:
    base = two_camps()
    extra = VoteMatrix.from_votes(
        [*np.repeat(np.arange(40), 12).tolist(), 0, 1, 2],
        [*np.tile(np.arange(12), 40).tolist(), 12, 12, 12],
        [*base.values().toarray().ravel().astype(int).tolist(), 1, 1, 1],
    )
    model = BridgingMF().fit(extra)
    assert np.isnan(model.score_[12]) and "fewer than 5 raters" in model.reason_[12]
    assert model.reason_[0] is None and np.isfinite(model.score_[0])
    assert np.nanargmax(model.score_) == 0


def test_raters_with_too_few_ratings_do_not_rate() -> None:
    m = VoteMatrix.from_votes([0] * 12 + [1] * 3, list(range(12)) + [0, 1, 2], [1] * 15)
    model = BridgingMF(min_raters_per_statement=1).fit(m)
    assert model.rater_kept_.tolist() == [True, False]
    assert model.n_raters_[:3].tolist() == [1, 1, 1]


def test_scores_stay_on_the_rating_scale() -> None:
    model = BridgingMF().fit(two_camps())
    scored = model.score_[np.isfinite(model.score_)]
    assert scored.min() >= 0.0 and scored.max() <= 1.0
