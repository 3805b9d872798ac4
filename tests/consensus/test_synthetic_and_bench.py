"""Synthetic planted groups and the benchmark helpers, at a size that runs in a second."""

import numpy as np
from sklearn.metrics import adjusted_rand_score

from consensus.bench import _load_and_run, _save, reddwarf_votes
from consensus.pipeline import run
from consensus.polis_export import PolisExport, PolisVote
from consensus.synthetic import planted_conversation


def test_planted_conversation_has_the_requested_size_and_recoverable_groups() -> None:
    conv = planted_conversation(3000, 100, 60000, random_state=2)
    assert conv.matrix.shape == (3000, 100)
    assert abs(conv.matrix.n_votes - 60000) < 0.02 * 60000
    result = run(conv.matrix)
    placed = result.group_of >= 0
    assert adjusted_rand_score(conv.planted[placed], result.group_of[placed]) > 0.8


def test_bench_round_trips_a_saved_matrix(tmp_path) -> None:
    path = tmp_path / "m.npz"
    _save(path, 500, 30, 6000, 0)
    report = _load_and_run(path)
    assert report["n_participants"] == 500 and report["k"] >= 2
    assert set(report["timings"]) >= {"pca", "groups", "statistics", "bridging"}
    assert report["peak_rss_mib"] > 0


def test_reddwarf_votes_keep_the_export_sign_and_the_last_vote() -> None:
    export = PolisExport([], [PolisVote(1, 2, 1, 5), PolisVote(1, 2, -1, 9)])
    assert reddwarf_votes(export) == [
        {"participant_id": 1, "statement_id": 2, "vote": -1, "modified": 9}
    ]


def test_votes_are_agree_disagree_or_pass() -> None:
    conv = planted_conversation(200, 20, 2000)
    assert set(np.unique(conv.matrix.codes.data).tolist()) <= {1, 2, 3}


def test_the_realistic_generator_resamples_the_real_distributions() -> None:
    from consensus.polis_export import read_polis_export
    from consensus.synthetic import profile_from_exports, realistic_conversation
    from tests.consensus.datasets import POLIS_DIR, require

    names = ("15-per-hour-seattle", "vtaiwan.uberx", "scoop-hivemind.taxes")
    profile = profile_from_exports([read_polis_export(require(POLIS_DIR / n)) for n in names])
    assert len(profile.group_shares) == 3 and profile.group_rates.shape[1:] == (2, 3)
    conv = realistic_conversation(4000, 150, 60000, profile=profile, random_state=1)
    per_row = conv.matrix.votes_per_participant()
    assert abs(conv.matrix.n_votes - 60000) < 0.05 * 60000
    assert 0.05 < (per_row < 7).mean() < 0.7  # the many light voters of real conversations
    assert per_row.max() > 4 * np.median(per_row)  # and the long tail
    assert set(np.unique(conv.planted).tolist()) == {0, 1}
    result = run(conv.matrix)
    placed = result.group_of >= 0
    assert adjusted_rand_score(conv.planted[placed], result.group_of[placed]) > 0.2
