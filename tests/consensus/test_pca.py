"""Polis PCA on the sparse matrix: hand-checked against a dense mean-imputed computation."""

import numpy as np
import pytest

from consensus.matrix import VoteMatrix
from consensus.pca import SparsePCA, column_means

# 4 participants × 3 statements; NaN = never voted.
DENSE = np.array(
    [
        [1.0, -1.0, np.nan],
        [1.0, np.nan, 1.0],
        [-1.0, 1.0, 0.0],
        [np.nan, 1.0, -1.0],
    ]
)


def matrix_of(dense: np.ndarray, **kwargs) -> VoteMatrix:
    rows, cols = np.nonzero(~np.isnan(dense))
    return VoteMatrix.from_votes(rows, cols, dense[rows, cols].astype(int), **kwargs)


def dense_polis_pca(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The textbook version Polis describes: impute column means, centre, top-2 of XᵀX."""
    mu = np.nanmean(dense, axis=0)
    x = np.where(np.isnan(dense), mu, dense) - mu
    _, vectors = np.linalg.eigh(x.T @ x)
    return mu, vectors[:, ::-1][:, :2].T


def test_column_means_skip_missing_cells() -> None:
    assert column_means(matrix_of(DENSE)).tolist() == pytest.approx([1 / 3, 1 / 3, 0.0])


def test_components_equal_the_dense_mean_imputed_pca_up_to_sign() -> None:
    mu, comps = dense_polis_pca(DENSE)
    pca = SparsePCA().fit(matrix_of(DENSE))
    np.testing.assert_allclose(pca.center_, mu)
    for ours, dense in zip(pca.components_, comps, strict=True):
        np.testing.assert_allclose(ours * np.sign(ours @ dense), dense, atol=1e-12)


def test_projection_is_scaled_by_sqrt_of_comments_over_votes() -> None:
    pca = SparsePCA().fit(matrix_of(DENSE))
    mu, pc = pca.center_, pca.components_
    # participant 0 voted on statements 0 and 1: sqrt(3/2)·Σ (x_j − μ_j)·pc_j
    expected = np.sqrt(3 / 2) * ((1 - mu[0]) * pc[:, 0] + (-1 - mu[1]) * pc[:, 1])
    np.testing.assert_allclose(pca.transform(matrix_of(DENSE))[0], expected)


def test_moderated_out_column_is_zeroed_but_counts_as_a_vote() -> None:
    m = matrix_of(DENSE, moderated_out=[2])
    pca = SparsePCA().fit(m)
    assert pca.center_[2] == 0 and np.all(pca.components_[:, 2] == 0)
    mu, pc = pca.center_, pca.components_
    # participant 0: 2 real votes + the zeroed column = 3 "votes", n_cmts = 3 -> scale 1
    expected = (1 - mu[0]) * pc[:, 0] + (-1 - mu[1]) * pc[:, 1]
    np.testing.assert_allclose(pca.transform(m)[0], expected)


def test_comment_projection_is_a_virtual_participant_who_only_agreed() -> None:
    pca = SparsePCA().fit(matrix_of(DENSE))
    j = 1
    expected = np.sqrt(3) * (1 - pca.center_[j]) * pca.components_[:, j]
    np.testing.assert_allclose(pca.comment_projection()[j], expected)
    assert pca.comment_extremity()[j] == pytest.approx(np.linalg.norm(expected))


def test_lanczos_and_dense_gram_agree_on_a_larger_sparse_matrix() -> None:
    rng = np.random.default_rng(3)
    dense = rng.choice([-1.0, 0.0, 1.0, np.nan, np.nan], size=(300, 80))
    dense[:, 0] = np.where(np.arange(300) < 150, 1.0, -1.0)  # a clear main axis
    exact = SparsePCA(dense_gram_max=1000).fit(matrix_of(dense))
    lanczos = SparsePCA(dense_gram_max=0).fit(matrix_of(dense))
    assert lanczos.n_iter_ > 0 and exact.n_iter_ == 0
    np.testing.assert_allclose(lanczos.components_, exact.components_, atol=1e-8)


def test_warm_start_keeps_the_previous_orientation() -> None:
    first = SparsePCA().fit(matrix_of(DENSE))
    flipped = SparsePCA(warm_start=-first.components_).fit(matrix_of(DENSE))
    np.testing.assert_allclose(flipped.components_, -first.components_, atol=1e-12)
