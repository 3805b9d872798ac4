"""Row-blocked sparse products: same numbers as one scipy product, whatever the block count."""

from __future__ import annotations

import os
import select
import signal

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from consensus import row_blocks
from consensus.bridging import BridgingMF
from consensus.pca import SparsePCA
from consensus.row_blocks import RowBlocks, cores_to_row_blocks
from consensus.synthetic import planted_conversation


def _random_csr(n: int, m: int, density: float, seed: int = 0) -> sp.csr_matrix:
    return sp.random(n, m, density=density, format="csr", random_state=seed)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Block small matrices too, so the multi-block path runs on test-sized data."""
    monkeypatch.setattr(row_blocks, "BLOCK_MIN_NNZ", 1)
    monkeypatch.setattr(row_blocks, "BLOCK_ROWS", 37)


def test_large_matrices_are_cut_by_shape_only() -> None:
    x = _random_csr(300_000, 50, 0.07)  # ~1.05M stored cells
    assert len(RowBlocks(x).blocks) == 5  # ceil(300,000 / 65,536), at least 4
    assert len(RowBlocks(x[:1000]).blocks) == 1  # under BLOCK_MIN_NNZ: one block


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("transposed", [False, True])
def test_blocked_products_equal_the_plain_products(transposed: bool) -> None:
    x = _random_csr(500, 40, 0.2)
    blocks = RowBlocks(x, transposed=transposed)
    assert len(blocks.blocks) == 14  # ceil(500 / 37)
    rng = np.random.default_rng(1)
    v, vv = rng.standard_normal(40), rng.standard_normal((40, 3))
    u, uu = rng.standard_normal(500), rng.standard_normal((500, 4))
    np.testing.assert_allclose(blocks.dot(v), x @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.dot(vv), x @ vv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.tdot(u), x.T @ u, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.tdot(uu), x.T @ uu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.gram(v), x.T @ (x @ v), rtol=1e-12, atol=1e-12)


def test_blocks_share_the_matrix_memory() -> None:
    x = _random_csr(200_000, 40, 0.15)
    blocks = RowBlocks(x)
    assert all(np.shares_memory(b.data, x.data) for b in blocks.blocks)
    assert all(np.shares_memory(c.data, x.data) for c in blocks.csc_blocks)


def test_pca_and_bridging_give_the_same_answer_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = planted_conversation(600, 80, 12_000, random_state=3).matrix
    plain_pca = SparsePCA(2).fit(matrix)
    plain = BridgingMF().fit(matrix, plain_pca.transform(matrix)[:, 0])
    monkeypatch.setattr(row_blocks, "BLOCK_MIN_NNZ", 1)
    monkeypatch.setattr(row_blocks, "BLOCK_ROWS", 50)
    blocked_pca = SparsePCA(2).fit(matrix)
    blocked = BridgingMF().fit(matrix, blocked_pca.transform(matrix)[:, 0])
    np.testing.assert_allclose(blocked_pca.components_, plain_pca.components_, atol=1e-9)
    np.testing.assert_allclose(blocked.score_, plain.score_, atol=1e-9)
    assert blocked.n_iter_ == plain.n_iter_


def _blas_threads() -> list[int]:
    return [int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_blas_runs_one_thread_only_while_large_matrices_are_blocked() -> None:
    before = _blas_threads()
    with cores_to_row_blocks(10):  # small: nothing changes
        assert _blas_threads() == before
    with cores_to_row_blocks(row_blocks.BLOCK_MIN_NNZ):
        assert all(t == 1 for t in _blas_threads())
    assert _blas_threads() == before


@pytest.mark.usefixtures("small_blocks")
def test_a_forked_child_gets_working_threads() -> None:
    x = _random_csr(400, 30, 0.2)
    blocks = RowBlocks(x)
    v = np.ones(30)
    blocks.dot(v)  # the parent's pool exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: would hang on the parent's dead threads without the reset
        ok = np.allclose(RowBlocks(x).dot(v), x @ v)
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    # 60 s only bounds the failure (a hung child); a working child answers in milliseconds.
    answered = select.select([read], [], [], 60)[0]
    if not answered:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert answered and os.read(read, 1) == b"1", "the forked child's products hung or failed"
