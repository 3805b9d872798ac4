"""red-dwarf and our pipeline side by side, stage by stage.

See docs/consensus.md, "red-dwarf stage by stage".

On the three conversations where red-dwarf finds Polis' groups and we do not (austria-climate
2vkx, scoop-hivemind.taxes, canadian-electoral-reform), every stage up to the projection agrees:
the vote matrix cell for cell, the projection up to red-dwarf's randomized-SVD error, the
clustered set up to Polis' sticky rule. The whole gap is the clustering stage: red-dwarf's own
clusterer run on *our* projection and in-conv set returns red-dwarf's ARI. Within that stage,
the base clusters are what separate us on austria and taxes (participant-level Lloyd from
Polis' own first-distinct-rows init finds Polis' groups, the Polis base-cluster step does not),
and red-dwarf's sorted init on canadian. Neither is Polis' code (``conversation.clj``
``:base-clusters`` / ``:group-clusterings``, ``clusters.clj init-clusters``), so neither is adopted.
"""

from functools import cache

import numpy as np
import pytest
from sklearn.cluster import KMeans

from consensus.clusters import _first_distinct_rows, in_conv_mask
from consensus.matrix import VoteMatrix, matrix_from_export
from consensus.pipeline import ConsensusResult, run, state_from_export
from consensus.polis_export import PolisExport, read_polis_export
from tests.consensus.datasets import POLIS_DIR, require
from tests.consensus.test_real_data_ari import REDDWARF, ari_vs_polis, groups_of

pytest.importorskip("reddwarf")

AUSTRIA = "austria-climate.2vkxcncppn.2022-07-07"
TAXES = "scoop-hivemind.taxes"
CANADIAN = "canadian-electoral-reform"
THREE = (AUSTRIA, TAXES, CANADIAN)


@cache
def _both(name: str) -> tuple[PolisExport, VoteMatrix, ConsensusResult, object]:
    from reddwarf.implementations.polis import run_pipeline

    from consensus.bench import reddwarf_votes

    export = read_polis_export(require(POLIS_DIR / name))
    matrix = matrix_from_export(export)
    ours = run(matrix, state=state_from_export(export))
    mod_out = [c.tid for c in export.comments if c.moderated == -1]
    rd = run_pipeline(votes=reddwarf_votes(export), mod_out_statement_ids=mod_out, random_state=0)
    return export, matrix, ours, rd


@pytest.mark.parametrize("name", THREE)
def test_matrix_projection_and_clustered_set_agree_with_reddwarf(name: str) -> None:
    export, matrix, ours, rd = _both(name)
    # Matrix: latest vote, pass 0, missing NaN, moderated-out columns zeroed for everyone.
    dense = rd.filtered_vote_matrix.reindex(  # type: ignore[attr-defined]
        index=matrix.participant_ids, columns=matrix.statement_ids
    ).to_numpy()
    votes = np.where(matrix.mask().toarray() > 0, matrix.values().toarray(), np.nan)
    votes[:, matrix.moderated_out] = 0.0
    np.testing.assert_array_equal(dense, votes)
    # Projection: same centre, components, sign and sparsity scaling; red-dwarf's sklearn PCA
    # picks randomized SVD on austria (≤ 2e-4 off), ours is exact.
    df = rd.participants_df  # type: ignore[attr-defined]
    theirs = df.loc[matrix.participant_ids, ["x", "y"]].to_numpy()
    np.testing.assert_allclose(ours.projection, theirs, atol=1e-3)
    # Clustered set: red-dwarf's is Polis' rule on the final matrix; ours adds Polis' sticky
    # admissions from the vote history (austria has none).
    final_rule = in_conv_mask(matrix.votes_per_participant(), matrix.shape[1])
    np.testing.assert_array_equal(df["to_cluster"].to_numpy(), final_rule)
    assert set(matrix.participant_ids[final_rule]) <= set(matrix.participant_ids[ours.in_conv])


@pytest.mark.parametrize("name", THREE)
def test_reddwarf_clusterer_on_our_projection_gives_reddwarf_ari(name: str) -> None:
    from reddwarf.utils.clusterer.base import run_clusterer

    export, matrix, ours, _ = _both(name)
    points = ours.projection[ours.in_conv]
    model = run_clusterer(X_participants_clusterable=points, clusterer="kmeans")
    assert model is not None
    pids = matrix.participant_ids[ours.in_conv].tolist()
    theirs = dict(zip(pids, model.labels_.tolist(), strict=True))
    assert ari_vs_polis(export, theirs) == pytest.approx(REDDWARF[name], abs=0.01)
    assert ari_vs_polis(export, groups_of(ours)) < REDDWARF[name] - 0.05


@pytest.mark.parametrize("name", (AUSTRIA, TAXES))
def test_on_austria_and_taxes_the_base_clusters_make_the_difference(name: str) -> None:
    export, matrix, ours, _ = _both(name)
    points = ours.projection[ours.in_conv]
    k = len(ours.group_ids)  # 2, as red-dwarf's
    init = points[_first_distinct_rows(points, k)]  # Polis' init, not red-dwarf's sorted one
    labels = KMeans(k, init=init, n_init=1, algorithm="lloyd").fit(points).labels_
    pids = matrix.participant_ids[ours.in_conv].tolist()
    participant_level = dict(zip(pids, labels.tolist(), strict=True))
    assert ari_vs_polis(export, participant_level) >= REDDWARF[name] - 0.01
