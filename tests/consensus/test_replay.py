"""Replay: update batching and carrying state through time."""

import numpy as np
import pytest

from consensus.replay import ReplayError, replay, update_points


def test_updates_fire_every_n_votes_and_at_the_end() -> None:
    assert update_points(np.arange(10), every_votes=4).tolist() == [4, 8, 10]


def test_updates_fire_when_enough_conversation_time_passed() -> None:
    stamps = np.array([0, 10, 20, 1000, 1010, 5000])
    assert update_points(stamps, every_ms=1000).tolist() == [3, 5, 6]


def test_no_votes_no_updates() -> None:
    assert update_points(np.zeros(0, np.int64), every_ms=10).tolist() == []


def test_replay_carries_state_and_sticky_in_conv() -> None:
    # pid 0 votes on the only 3 statements early (3 >= min(7, 3)), later 10 more statements
    # appear: pid 0 stays in conversation although it has < 7 votes (sticky rule).
    pids, tids, votes, stamps = [], [], [], []
    for t in range(3):
        pids.append(0), tids.append(t), votes.append(1), stamps.append(t)
    rng = np.random.default_rng(0)
    for p in range(1, 30):
        for t in range(13):
            pids.append(p), tids.append(t), votes.append(int(rng.choice([-1, 1])))
            stamps.append(1000 + p * 20 + t)
    out = replay(pids, tids, votes, stamps, every_ms=None, every_votes=3)
    assert out.n_updates > 10
    assert out.result.in_conv[0]
    assert out.result.state.n_updates == out.n_updates


def test_replay_refuses_votes_without_timestamps() -> None:
    with pytest.raises(ReplayError, match="no timestamp"):
        replay([0, 1], [0, 0], [1, -1], [5, None])


def test_replay_refuses_when_every_vote_has_the_same_time() -> None:
    with pytest.raises(ReplayError, match="same timestamp"):
        replay([0, 1], [0, 0], [1, -1], [5, 5])


def test_replay_bounds_the_number_of_updates() -> None:
    rng = np.random.default_rng(1)
    n = 600
    out = replay(
        rng.integers(0, 40, n),
        rng.integers(0, 12, n),
        rng.choice([-1, 0, 1], n),
        np.arange(n),
        every_votes=2,
        every_ms=None,
        max_updates=10,
    )
    assert out.n_scheduled == 300
    assert out.n_updates <= 11
    assert out.result.state.n_updates == out.n_updates
