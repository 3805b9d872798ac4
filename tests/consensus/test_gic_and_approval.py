"""GIC and maximum equal approval, with the worked check of consensus-metrics.md §2."""

import numpy as np
import pytest

from consensus.approval import maximum_equal_approval, mea_ranking
from consensus.gic import gic, trials, validate_pass_handling
from consensus.repness import GroupCounts

# columns: balanced (75,25,0)x2 and lopsided (95,5,0),(60,40,0)
WORKED = GroupCounts(
    agree=np.array([[75, 95], [75, 60]]),
    disagree=np.array([[25, 5], [25, 40]]),
    seen=np.array([[100, 100], [100, 100]]),
)


def test_gic_worked_check() -> None:
    scores = gic(WORKED)
    assert scores["gic"][0] == pytest.approx((76 / 102) ** 2)
    assert scores["gic"][1] == pytest.approx((96 / 102) * (61 / 102))
    assert scores["gic"].round(3).tolist() == [0.555, 0.563]  # GIC prefers lopsided


def test_gic_normalised_is_the_kth_root_and_has_a_disagree_twin() -> None:
    scores = gic(WORKED)
    assert scores["gic_normalized"][0] == pytest.approx(76 / 102)
    assert scores["gic_disagree"][1] == pytest.approx((6 / 102) * (41 / 102))


def test_passes_count_by_default_and_can_be_excluded() -> None:
    c = GroupCounts(np.array([[6]]), np.array([[2]]), np.array([[10]]))  # 2 passes
    assert gic(c, "count")["gic"][0] == pytest.approx(7 / 12)
    assert gic(c, "exclude")["gic"][0] == pytest.approx(7 / 10)
    assert trials(c, "exclude").tolist() == [[8]]


def test_an_unknown_pass_handling_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="count, exclude"):
        validate_pass_handling("ignore")


def test_mea_worked_check() -> None:
    mea = maximum_equal_approval(WORKED)
    assert mea.mea.round(3).tolist() == [0.689, 0.536]  # MEA prefers balanced
    assert mea.gap[0] == 0.0
    assert mea.gap[1] == pytest.approx(96 / 102 - 61 / 102)
    assert mea_ranking(mea).tolist() == [0, 1]


def test_mea_is_the_smallest_beta_lower_bound() -> None:
    from scipy.stats import beta

    mea = maximum_equal_approval(WORKED)
    assert mea.mea[1] == pytest.approx(min(beta.ppf(0.1, 96, 6), beta.ppf(0.1, 61, 41)))


def test_a_small_group_widens_its_own_bound_and_every_statement_keeps_a_score() -> None:
    """A 5-member group beside two large ones. Statement 0: everyone agrees. Statement 1: the
    large groups agree, the small one is split. Statement 2: the small one agrees, a large one
    is split (its MEA rests on the large group, not flagged)."""
    c = GroupCounts(
        agree=np.array([[90, 90, 50], [88, 85, 90], [5, 2, 5]]),
        disagree=np.array([[10, 10, 50], [12, 15, 10], [0, 3, 0]]),
        seen=np.array([[100, 100, 100], [100, 100, 100], [5, 5, 5]]),
    )
    mea = maximum_equal_approval(c, min_votes=8)
    assert np.isfinite(mea.mea).all()
    assert mea.mea[0] == pytest.approx(0.1 ** (1 / 6))  # Beta(6, 1) 10 % quantile
    assert mea.limiting.tolist() == [2, 2, 0]
    assert mea.small_group.tolist() == [True, True, False]
    assert mea_ranking(mea).tolist() == [0, 2, 1]


def test_a_group_that_never_saw_a_statement_bounds_it_at_the_prior_quantile() -> None:
    c = GroupCounts(np.array([[50], [0]]), np.array([[0], [0]]), np.array([[50], [0]]))
    mea = maximum_equal_approval(c)
    assert mea.mea[0] == pytest.approx(0.10) and mea.small_group[0]


def test_mea_ties_break_on_the_smaller_gap() -> None:
    # same weakest group (60/100) but the other group differs
    c = GroupCounts(np.array([[60, 60], [90, 70]]), np.zeros((2, 2), int), np.full((2, 2), 100))
    mea = maximum_equal_approval(c)
    assert mea.mea[0] == mea.mea[1]
    assert mea_ranking(mea).tolist() == [1, 0]


def test_smooth_variant_is_mean_minus_lambda_gap() -> None:
    mea = maximum_equal_approval(WORKED, smooth_lambda=0.5)
    p = np.array([96 / 102, 61 / 102])
    assert mea.smooth[1] == pytest.approx(p.mean() - 0.5 * (p[0] - p[1]))
    # λ = ½ with k = 2 equals the smoothed minimum
    assert mea.smooth[1] == pytest.approx(p.min())
