"""PCA exactly as Polis defines it, computed sparse (never densifying the vote matrix).

Polis (``conversation.clj :mat``, ``pca.clj powerit-pca``) replaces each missing cell by its
column mean over non-missing entries and centres by that same mean, so an imputed cell
contributes exactly 0 after centring. With Z the signed votes, M the voted mask and μ the
column means, the centred matrix is ``X = Z − M·diag(μ)`` restricted to stored cells, and

    X v   = Z v − M (μ ∘ v)             (n,)
    Xᵀ u  = Zᵀ u − μ ∘ (Mᵀ u)           (m,)

cost O(n_votes) each. Since imputed cells are exactly 0 after centring, X is stored as one CSR
matrix with the structure of the votes (``centred_votes``). The top-2 eigenvectors of XᵀX are
found with ARPACK Lanczos
(``scipy.sparse.linalg.eigsh`` on a LinearOperator, warm-started from the previous components as
Polis warm-starts its power iteration) or, for few statements, by an exact dense eigh of the
m × m Gram matrix (m ≤ ``dense_gram_max``). Polis runs 100 power iterations; we converge fully,
so on well-separated spectra the components agree with Polis' up to sign.

Moderated-out columns are zeroed in Polis (all-zero after centring), so they get μ = 0 and
component weight 0, but still count in ``n_cmts`` and in every participant's vote count
(``pca.clj sparsity-aware-project-ptpt``, quirk noted in the reference §2).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

from consensus.matrix import VoteMatrix
from consensus.row_blocks import RowBlocks

__all__ = ["SparsePCA", "centred_votes", "column_means", "umap_embedding"]


def column_means(matrix: VoteMatrix) -> np.ndarray:
    """(m,) mean signed vote over non-missing cells; 0 for moderated-out or unvoted columns."""
    return _column_means(matrix, matrix.values())


def _column_means(matrix: VoteMatrix, values: sp.csr_matrix) -> np.ndarray:
    m = matrix.shape[1]
    sums = values.T @ np.ones(matrix.shape[0])  # (m,) one sparse product, no (nnz,) temporary
    counts = np.bincount(matrix.codes.indices, minlength=m)  # (m,)
    means = np.divide(sums, counts, out=np.zeros(m), where=counts > 0)
    means[matrix.moderated_out] = 0.0
    return means


def centred_votes(
    matrix: VoteMatrix, center: np.ndarray, values: sp.csr_matrix | None = None
) -> sp.csr_matrix:
    """(n, m) CSR X with X_ij = x_ij − μ_j on voted cells of kept columns, nothing elsewhere.

    Mean imputation makes every missing cell exactly 0 after centring, so the centred
    mean-imputed matrix *is* this sparse matrix (same structure as the votes). Moderated-out
    columns are all-zero (Polis zeroes them before imputing), so their entries are 0 too.
    ``values`` (``matrix.values()``) is centred in place when given: over 50M votes every
    (nnz,) float array costs ~0.5 s of fresh memory, so the fit makes only one.
    """
    x = matrix.values() if values is None else values
    x.data -= center[x.indices]
    if matrix.moderated_out.any():
        x.data *= ~matrix.moderated_out[x.indices]
    return x


class SparsePCA:
    """Polis PCA on a :class:`VoteMatrix` (scikit-learn style: params in ``__init__``, ``fit``).

    Fitted attributes: ``center_`` (m,), ``components_`` (n_components, m) unit rows,
    ``explained_variance_`` (n_components,), ``n_iter_`` (matvecs used, 0 for dense eigh).
    ``tol`` (ARPACK relative accuracy) defaults to 1e-10 below 1M votes — components then
    match Polis' to ~1e-12 — and 1e-7 above, where it halves the number of mat-vecs.
    Components are signed deterministically: aligned with ``warm_start`` when given (positive
    dot product), else the largest-magnitude entry is positive.
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        warm_start: np.ndarray | None = None,
        tol: float | None = None,
        dense_gram_max: int = 60,
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.warm_start = warm_start
        self.tol = tol
        self.dense_gram_max = dense_gram_max
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, matrix: VoteMatrix) -> SparsePCA:
        self._fit(matrix)
        return self

    def _fit(self, matrix: VoteMatrix) -> sp.csr_matrix:
        """Fit and return the centred matrix (so fit_transform need not rebuild it)."""
        votes = matrix.values()  # (n, m), centred in place below
        self.center_ = _column_means(matrix, votes)  # (m,)
        self.n_statements_ = matrix.shape[1]
        x = centred_votes(matrix, self.center_, votes)  # (n, m)
        k = min(self.n_components, *matrix.shape) if matrix.n_votes else 0
        values, vectors = self._eig(x, k)  # (k,), (m, k)
        comps = np.zeros((self.n_components, self.n_statements_))
        comps[:k] = vectors.T
        comps[:, matrix.moderated_out] = 0.0
        self.components_ = self._orient(comps)  # (n_components, m)
        self.explained_variance_ = np.concatenate([values, np.zeros(self.n_components - k)])
        return x

    def _eig(self, x: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        m = x.shape[1]
        self.n_iter_ = 0
        if k == 0:
            return np.zeros(0), np.zeros((m, 0))
        if m <= self.dense_gram_max or k >= m - 1:
            values, vectors = np.linalg.eigh((x.T @ x).toarray())  # (m, m) Gram, ascending
            return values[::-1][:k], vectors[:, ::-1][:, :k]
        return self._lanczos(x, k)

    def _lanczos(self, x: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        blocks = RowBlocks(x, transposed=True)  # the Gram products run on every core

        def gram_vec(v: np.ndarray) -> np.ndarray:
            self.n_iter_ += 1
            return blocks.gram(v)  # (m,) = XᵀX v

        m = x.shape[1]
        op = LinearOperator((m, m), matvec=gram_vec, dtype=np.float64)
        tol = self.tol if self.tol is not None else (1e-10 if x.nnz < 1_000_000 else 1e-7)
        values, vectors = eigsh(op, k=k, which="LA", v0=self._start_vector(m), tol=tol)
        order = np.argsort(values)[::-1]
        return values[order], vectors[:, order]

    def _start_vector(self, m: int) -> np.ndarray:
        """Warm start: previous PC1+PC2 (Polis passes previous comps as start vectors)."""
        if self.warm_start is not None and np.shape(self.warm_start)[-1] == m:
            v0 = np.asarray(self.warm_start).sum(axis=0)  # (m,)
            if np.linalg.norm(v0) > 0:
                return v0
        return np.random.default_rng(self.random_state).standard_normal(m) + 1.0

    def _orient(self, comps: np.ndarray) -> np.ndarray:
        ref = self.warm_start
        for i, pc in enumerate(comps):
            if ref is not None and np.shape(ref)[-1] == len(pc) and i < len(ref):
                sign = np.sign(pc @ np.asarray(ref)[i]) or 1.0
            else:
                sign = np.sign(pc[np.argmax(np.abs(pc))]) or 1.0 if len(pc) else 1.0
            comps[i] = sign * pc
        return comps

    # ------------------------------------------------------------------ projections
    def transform(self, matrix: VoteMatrix) -> np.ndarray:
        """(n, n_components) sparsity-aware projection (``pca.clj sparsity-aware-project-ptpt``).

        proj_i = sqrt(n_cmts / max(n_votes_i, 1)) · Σ_{j voted} (x_ij − μ_j)·pc_j, where n_votes
        counts the zeroed rating matrix: real votes on kept columns + every moderated-out column.
        """
        x = centred_votes(matrix, self.center_)  # (n, m)
        return self._project(matrix, x)

    def fit_transform(self, matrix: VoteMatrix) -> np.ndarray:
        """``fit`` then ``transform`` without rebuilding the centred matrix."""
        return self._project(matrix, self._fit(matrix))

    def _project(self, matrix: VoteMatrix, x: sp.csr_matrix) -> np.ndarray:
        raw = x @ self.components_.T  # (n, c)
        n_votes = matrix.votes_per_participant()  # (n,)
        if matrix.moderated_out.any():
            kept = ~matrix.moderated_out[matrix.codes.indices]  # (nnz,)
            running = np.concatenate([[0], np.cumsum(kept)])  # (nnz + 1,)
            n_kept = running[matrix.codes.indptr[1:]] - running[matrix.codes.indptr[:-1]]
            n_votes = n_kept + int(matrix.moderated_out.sum())  # zeroed columns count
        scale = np.sqrt(matrix.shape[1] / np.maximum(n_votes, 1))  # (n,)
        return raw * scale[:, None]

    def comment_projection(self) -> np.ndarray:
        """(m, n_components) projection of a virtual participant who only agreed with comment j.

        ``pca.clj pca-project-cmnts`` (Polis votes the internal -1 = agree, i.e. our +1):
        proj_j = sqrt(n_cmts) · (1 − μ_j) · pc_j (n_votes = 1).
        """
        scale = np.sqrt(self.n_statements_) * (1.0 - self.center_)  # (m,)
        return scale[:, None] * self.components_.T

    def comment_extremity(self) -> np.ndarray:
        """(m,) ‖comment projection‖ (``conversation.clj with-proj-and-extremtiy``)."""
        return np.linalg.norm(self.comment_projection(), axis=1)


def umap_embedding(
    matrix: VoteMatrix,
    *,
    n_pca: int = 10,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    max_fit: int = 20000,
    random_state: int | None = 0,
) -> np.ndarray:
    """(n, 2) UMAP embedding of the participants, never densifying the vote matrix.

    UMAP runs on the ``n_pca``-dimensional sparsity-aware Polis projection (an (n, n_pca) dense
    array, e.g. 80 MB for 1M participants), not on the raw votes. Above ``max_fit`` participants
    UMAP is fitted on a random sample of that size and the rest are placed with
    ``UMAP.transform`` (umap-learn's out-of-sample embedding).
    """
    import umap  # heavy (numba JIT): only imported when asked for

    dims = max(2, min(n_pca, matrix.shape[1] - 1, matrix.shape[0] - 1))
    reduced = SparsePCA(dims, random_state=random_state).fit(matrix).transform(matrix)  # (n, d)
    n = len(reduced)
    if n <= 3:
        return reduced[:, :2].copy()
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(n_neighbors, n - 1),
        min_dist=min_dist,
        random_state=random_state,
        n_jobs=1 if random_state is not None else -1,
    )
    if n <= max_fit:
        return reducer.fit_transform(reduced)
    sample = np.random.default_rng(random_state).choice(n, max_fit, replace=False)
    reducer.fit(reduced[sample])
    return reducer.transform(reduced)
