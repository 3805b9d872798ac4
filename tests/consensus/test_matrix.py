"""VoteMatrix: last vote wins, pass stored explicitly, unseen missing, id mappings."""

import numpy as np
import pytest

from consensus.matrix import VoteMatrix, matrix_from_export
from consensus.polis_export import PolisComment, PolisExport, PolisVote


def alice_bob_matrix() -> VoteMatrix:
    # alice (7) agrees with 10 then changes her mind; bob (9) passes on 10 and agrees with 11.
    return VoteMatrix.from_votes(
        [7, 9, 9, 7],
        [10, 10, 11, 10],
        [1, 0, 1, -1],
        moderated_out=[11],
        meta=[12],
        statements=[12],
    )


def test_the_last_vote_per_cell_wins() -> None:
    m = alice_bob_matrix()
    assert m.latest_vote(7, 10) == -1
    assert m.n_votes == 3


def test_a_pass_is_a_stored_vote_and_an_unseen_cell_is_missing() -> None:
    m = alice_bob_matrix()
    assert m.latest_vote(9, 10) == 0
    assert m.latest_vote(7, 11) is None
    assert m.mask().toarray().tolist() == [[1, 0, 0], [1, 1, 0]]
    assert m.values().toarray().tolist() == [[-1, 0, 0], [0, 1, 0]]
    assert m.values().nnz == 3  # the pass is an explicit stored zero


def test_it_keeps_the_id_mappings_and_moderation_flags() -> None:
    m = alice_bob_matrix()
    assert m.participant_ids.tolist() == [7, 9]
    assert m.statement_ids.tolist() == [10, 11, 12]
    assert m.moderated_out.tolist() == [False, True, True]  # meta is moderated out too
    assert m.is_meta.tolist() == [False, False, True]
    assert m.rows_of([9, 7]).tolist() == [1, 0]
    assert m.votes_per_participant().tolist() == [1, 2]


def test_indicators_count_each_vote_kind() -> None:
    m = alice_bob_matrix()
    assert m.indicator(1).toarray().sum() == 1
    assert m.indicator(-1).toarray().sum() == 1
    assert m.indicator(0).toarray().sum() == 1


def test_it_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="votes must be"):
        VoteMatrix.from_votes([1], [1], [2])
    with pytest.raises(ValueError, match="equal length"):
        VoteMatrix.from_votes([1, 2], [1], [1])
    with pytest.raises(KeyError, match="unknown participant"):
        alice_bob_matrix().rows_of([8])


def test_an_empty_matrix_is_fine() -> None:
    m = VoteMatrix.from_votes(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int))
    assert m.shape == (0, 0)
    assert m.n_votes == 0


def test_matrix_from_export_moderates_out_rejected_and_meta() -> None:
    export = PolisExport(
        comments=[
            PolisComment(0, "a"),
            PolisComment(1, "b", moderated=-1),
            PolisComment(2, "c", is_meta=True),
            PolisComment(3, "d", moderated=0),
        ],
        votes=[PolisVote(1, t, 1) for t in range(4)] + [PolisVote(1, 0, -1)],
    )
    m = matrix_from_export(export)
    assert m.moderated_out.tolist() == [False, True, True, False]
    assert m.latest_vote(1, 0) == -1
    strict = matrix_from_export(export, strict_moderation=True)
    assert strict.moderated_out.tolist() == [False, True, True, True]
