"""Cross-fitted (out-of-sample) consensus: folds, counting each vote once, agreement with
in-sample scores when the groups are real."""

import numpy as np
import pytest

from consensus.crossfit import vote_folds
from consensus.matrix import VoteMatrix
from consensus.pipeline import ConsensusConfig, run
from consensus.synthetic import planted_conversation


def test_each_participants_votes_spread_evenly_over_the_folds() -> None:
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(30), 11)
    m = VoteMatrix.from_votes(pids, np.tile(np.arange(11), 30), rng.choice([-1, 0, 1], 330))
    fold = vote_folds(m, 5)
    rows = np.repeat(np.arange(30), np.diff(m.codes.indptr))
    for r in range(30):
        sizes = np.bincount(fold[rows == r], minlength=5)
        assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 11


def test_out_of_sample_scores_count_each_vote_at_most_once_and_agree_on_real_groups() -> None:
    conv = planted_conversation(600, 40, 12000, random_state=4)
    result = run(conv.matrix, config=ConsensusConfig(cross_fit_folds=5, bridging=False))
    fit = result.cross_fit
    assert fit is not None and fit.folds == 5
    assert fit.counts.seen.shape == result.group_counts.seen.shape
    assert fit.n_votes_counted <= result.group_counts.seen.sum() <= conv.matrix.n_votes
    assert fit.n_votes_counted > 0.9 * result.group_counts.seen.sum()
    top = np.argsort(-result.mea.mea)[:5]
    top_oos = np.argsort(-fit.mea.mea)[:5]
    assert len(set(top.tolist()) & set(top_oos.tolist())) >= 4
    statement = result.to_json()["statements"][0]
    assert {"gic_oos", "gic_normalized_oos", "mea_oos", "mea_oos_small_group"} <= set(statement)


def test_cross_fitting_is_off_by_default_and_one_fold_is_refused() -> None:
    conv = planted_conversation(100, 10, 800, random_state=1)
    assert run(conv.matrix).cross_fit is None
    assert "gic_oos" not in run(conv.matrix).to_json()["statements"][0]
    with pytest.raises(ValueError, match="cross_fit_folds"):
        ConsensusConfig(cross_fit_folds=1)
