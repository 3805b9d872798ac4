"""Our groups vs Polis' own group-id on every shared openData conversation (ARI floors).

ARI is over participants that both Polis and we placed in a group. "Stateless" is the default
CLI run: one recompute on the final matrix, with the in-conv set Polis' sticky rule admitted over
the vote history (``state_from_export``; matrix-only exports have no history and use the rule on
the final matrix). Floors sit just below what we measured (README / docs/consensus.md have the
table); red-dwarf's numbers are shared/data/polis/SOURCE.md's (reproduced by
``python -m consensus.bench``). No floor or default was fitted to these files: the defaults are
Polis' own constants, see docs/consensus.md "Why our groups differ from Polis'".
"""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from consensus.matrix import matrix_from_export
from consensus.pipeline import run, state_from_export
from consensus.polis_export import PolisExport, read_polis_export
from consensus.replay import replay
from tests.consensus.datasets import POLIS_DIR, require

# shared/data/polis/SOURCE.md, red-dwarf 0.4
REDDWARF = {
    "15-per-hour-seattle": 0.459,
    "austria-climate.2vkxcncppn.2022-07-07": 0.967,
    "austria-climate.7z7ejpbmv5.2022-08-08": 0.830,
    "bg2050-volunteers": 0.194,
    "brexit-consensus": 0.636,
    "canadian-electoral-reform": 1.000,
    "football-concussions": 0.200,
    "london.youth.policing": 0.122,
    "scoop-hivemind.affordable-housing": 0.117,
    "scoop-hivemind.freshwater": 0.132,
    "scoop-hivemind.taxes": 0.910,
    "scoop-hivemind.ubi": 0.095,
    "ssis.land-bank-farmland.2rumnecbeh.2021-08-01": 0.742,
    "vtaiwan.uberx": 0.826,
}
FIRST_THREE = ("15-per-hour-seattle", "scoop-hivemind.ubi", "vtaiwan.uberx")
# measured: 0.750 0.847 0.796 1.000 0.657 0.930 0.122 -0.019 0.073 0.133 0.799 0.059 0.976 0.919
STATELESS_FLOOR = {
    "15-per-hour-seattle": 0.74,
    "austria-climate.2vkxcncppn.2022-07-07": 0.84,
    "austria-climate.7z7ejpbmv5.2022-08-08": 0.79,
    "bg2050-volunteers": 0.99,
    "brexit-consensus": 0.65,
    "canadian-electoral-reform": 0.92,
    "football-concussions": 0.11,
    "london.youth.policing": -0.03,
    "scoop-hivemind.affordable-housing": 0.06,
    "scoop-hivemind.freshwater": 0.12,
    "scoop-hivemind.taxes": 0.79,
    "scoop-hivemind.ubi": 0.05,
    "ssis.land-bank-farmland.2rumnecbeh.2021-08-01": 0.97,
    "vtaiwan.uberx": 0.91,
}
# More than 0.05 below red-dwarf; the causes are in docs/consensus.md ("Per conversation"): a
# different fixed point of Polis' group k-means than the one Polis' warm-started history reached
# (austria 2vkx, taxes, canadian), an older Polis in-conv rule (football), a 24-participant PCA
# (london). Every remedy tried trades conversations, so the defaults stay Polis'. Compared with
# red-dwarf stage by stage (test_reddwarf_stages.py), the gap is its clustering alone: no base
# clusters (austria, taxes) and a sorted k-means init (canadian), neither of them Polis' code.
TRAILS_REDDWARF = {
    "austria-climate.2vkxcncppn.2022-07-07",
    "canadian-electoral-reform",
    "football-concussions",
    "london.youth.policing",
    "scoop-hivemind.taxes",
}
# measured with 10-minute updates, at most 200: 0.884 0.731 0.462 0.898 0.138 0.122 0.250
# 0.133 0.909 0.060 0.444 0.791
REPLAY_FLOOR = {
    "15-per-hour-seattle": 0.87,
    "bg2050-volunteers": 0.72,
    "brexit-consensus": 0.45,
    "canadian-electoral-reform": 0.88,
    "football-concussions": 0.12,
    "london.youth.policing": 0.11,
    "scoop-hivemind.affordable-housing": 0.24,
    "scoop-hivemind.freshwater": 0.12,
    "scoop-hivemind.taxes": 0.89,
    "scoop-hivemind.ubi": 0.05,
    "ssis.land-bank-farmland.2rumnecbeh.2021-08-01": 0.43,
    "vtaiwan.uberx": 0.78,
}
REPLAY_EVERY_MS = 600_000


def ari_vs_polis(export: PolisExport, group_of: dict[int, int]) -> float:
    both = [p for p, g in export.group_ids.items() if g is not None and p in group_of]
    return adjusted_rand_score([export.group_ids[p] for p in both], [group_of[p] for p in both])


def groups_of(result) -> dict[int, int]:
    placed = result.group_of >= 0
    ids, groups = result.matrix.participant_ids[placed], result.group_of[placed]
    return dict(zip(ids.tolist(), groups.tolist(), strict=True))


def _export(name: str) -> PolisExport:
    return read_polis_export(require(POLIS_DIR / name))


def stateless_ari(name: str) -> float:
    export = _export(name)
    result = run(matrix_from_export(export), state=state_from_export(export))
    return ari_vs_polis(export, groups_of(result))


def replay_ari(name: str) -> float:
    export = _export(name)
    v = export.votes
    out = replay(
        [x.pid for x in v],
        [x.tid for x in v],
        [x.vote for x in v],
        [x.timestamp_ms for x in v],
        moderated_out=[c.tid for c in export.comments if c.moderated == -1],
        meta=[c.tid for c in export.comments if c.is_meta],
        every_ms=REPLAY_EVERY_MS,
    )
    return ari_vs_polis(export, groups_of(out.result))


def test_every_conversation_with_polis_groups_has_a_floor() -> None:
    with_groups = {
        p.name
        for p in POLIS_DIR.iterdir()
        if (p / "participants-votes.csv").exists()
        and any(g is not None for g in read_polis_export(p).group_ids.values())
    }
    assert with_groups == set(STATELESS_FLOOR) == set(REDDWARF)


@pytest.mark.parametrize("name", sorted(STATELESS_FLOOR))
def test_stateless_groups_stay_above_the_measured_floor(name: str) -> None:
    assert stateless_ari(name) >= STATELESS_FLOOR[name]


def test_stateless_beats_reddwarf_on_average_over_the_corpus_and_both_subsets() -> None:
    ours = {name: stateless_ari(name) for name in REDDWARF}
    new = [n for n in REDDWARF if n not in FIRST_THREE]
    assert np.mean(list(ours.values())) > np.mean(list(REDDWARF.values()))
    assert np.mean([ours[n] for n in new]) > np.mean([REDDWARF[n] for n in new])
    assert np.mean([ours[n] for n in FIRST_THREE]) > np.mean([REDDWARF[n] for n in FIRST_THREE])
    trailing = {n for n in REDDWARF if ours[n] < REDDWARF[n] - 0.05}
    assert trailing == TRAILS_REDDWARF  # a new one is a regression, one fewer an improvement


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REPLAY_FLOOR))
def test_replay_groups_stay_above_the_measured_floor(name: str) -> None:
    assert replay_ari(name) >= REPLAY_FLOOR[name]


@pytest.mark.slow
def test_reddwarf_reproduces_the_reference_numbers() -> None:
    from consensus.bench import _run_reddwarf

    for name in FIRST_THREE:
        export = _export(name)
        assert ari_vs_polis(export, _run_reddwarf(export)) == pytest.approx(
            REDDWARF[name], abs=0.001
        )
