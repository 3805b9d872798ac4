"""Sparse participants × statements vote matrix (the Polis ``raw-rating-mat``), never densified.

Storage choice: one CSR matrix ``codes`` of dtype int8 whose stored value is ``vote + 2``
(disagree 1, pass 2, agree 3). A stored entry therefore always means "voted" and can never be
confused with, or dropped as, a numeric zero; the sparsity structure *is* the voted mask and a
missing entry means "never saw / never voted". Signed values (agree +1, disagree -1, pass 0, the
export sign of shared/reference/polis-math.md §1) are derived on demand with the same
``indices``/``indptr`` so explicit pass zeros survive.

Moderated-out statements (rejected or meta) stay as columns: Polis zeroes them for everybody
(``conversation.clj :rating-mat`` → ``named_matrix.clj zero-out-columns``); the math modules apply
that rule analytically instead of materialising dense zero columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from consensus.polis_export import PolisExport

__all__ = ["AGREE", "DISAGREE", "PASS", "VoteMatrix", "matrix_from_export"]

AGREE, PASS, DISAGREE = 1, 0, -1
_OFFSET = 2  # stored code = vote + 2, so every stored value is non-zero


def _as_ids(values: Iterable[int] | np.ndarray) -> np.ndarray:
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, np.int64)


def _latest_cells(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """Index of the last occurrence of each (row, col) pair: last vote wins (nm/update-nmat)."""
    key = rows * np.int64(n_cols) + cols  # (n_events,)
    reversed_key = key[::-1]
    _, first_in_reversed = np.unique(reversed_key, return_index=True)
    return len(key) - 1 - first_in_reversed  # (n_cells,) positions in the original order


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Votes as CSR codes plus the id ↔ row/column mappings and moderation flags.

    Attributes:
        codes: (n_participants, n_statements) int8 CSR, stored value = vote + 2.
        participant_ids: (n_participants,) int64, strictly increasing; row i is participant_ids[i].
        statement_ids: (n_statements,) int64, strictly increasing; column j is statement_ids[j].
        moderated_out: (n_statements,) bool, rejected or meta: zeroed for everyone in the math.
        is_meta: (n_statements,) bool, meta statements (routing priority 49, see §6).
    """

    codes: sp.csr_matrix
    participant_ids: np.ndarray
    statement_ids: np.ndarray
    moderated_out: np.ndarray
    is_meta: np.ndarray

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_votes(
        cls,
        participant_ids: Iterable[int] | np.ndarray,
        statement_ids: Iterable[int] | np.ndarray,
        votes: Iterable[int] | np.ndarray,
        *,
        participants: Iterable[int] | None = None,
        statements: Iterable[int] | None = None,
        moderated_out: Iterable[int] = (),
        meta: Iterable[int] = (),
    ) -> VoteMatrix:
        """Build from parallel vote arrays given in time order (last vote per cell wins).

        ``participants`` / ``statements`` add rows/columns without votes (default: only ids that
        voted / were voted on, as Polis' named matrix). ``moderated_out`` and ``meta`` are
        statement ids; meta statements are moderated out too (Polis ``mod-out`` includes them).
        """
        pids, tids = _as_ids(participant_ids), _as_ids(statement_ids)
        values = np.asarray(votes if isinstance(votes, np.ndarray) else list(votes), np.int64)
        if not (len(pids) == len(tids) == len(values)):
            raise ValueError("participant_ids, statement_ids and votes must have equal length")
        if len(values) and not np.isin(values, (-1, 0, 1)).all():
            raise ValueError("votes must be -1 (disagree), 0 (pass) or 1 (agree)")
        row_ids = np.union1d(pids, _as_ids(() if participants is None else participants))  # (n,)
        col_ids = np.union1d(tids, _as_ids(() if statements is None else statements))  # (m,)
        rows, cols = np.searchsorted(row_ids, pids), np.searchsorted(col_ids, tids)
        keep = _latest_cells(rows, cols, len(col_ids))  # (n_cells,)
        codes = sp.csr_matrix(
            ((values[keep] + _OFFSET).astype(np.int8), (rows[keep], cols[keep])),
            shape=(len(row_ids), len(col_ids)),
        )
        codes.sort_indices()
        meta_mask = np.isin(col_ids, _as_ids(meta))
        mod_out = np.isin(col_ids, _as_ids(moderated_out)) | meta_mask
        return cls(codes, row_ids, col_ids, mod_out, meta_mask)

    # ------------------------------------------------------------------ shape and counts
    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]

    @property
    def n_votes(self) -> int:
        return int(self.codes.nnz)

    def votes_per_participant(self) -> np.ndarray:
        """(n,) raw vote counts incl. moderated-out columns (Polis ``user-vote-counts``)."""
        return np.diff(self.codes.indptr).astype(np.int64)

    def _with_data(self, data: np.ndarray) -> sp.csr_matrix:
        # Same structure, new values: explicit zeros are kept because nothing re-compresses.
        return sp.csr_matrix((data, self.codes.indices, self.codes.indptr), shape=self.shape)

    def signed_data(self, dtype: type = np.float64) -> np.ndarray:
        """(nnz,) the stored votes as agree +1 / pass 0 / disagree -1, in ``codes`` order.

        Arithmetic on purpose: a lookup table indexed by the int8 codes costs 8× more (numpy
        widens the index array first; 1.1 s against 0.14 s over 50M votes).
        """
        out = self.codes.data.astype(dtype)
        out -= _OFFSET
        return out

    def values(self, dtype: type = np.float64) -> sp.csr_matrix:
        """(n, m) signed votes agree +1 / disagree -1 / pass 0 (explicit zero), missing unstored."""
        return self._with_data(self.signed_data(dtype))

    def mask(self, dtype: type = np.float64) -> sp.csr_matrix:
        """(n, m) 1 where the participant voted (any value)."""
        return self._with_data(np.ones(self.codes.nnz, dtype))

    def indicator(self, vote: int, dtype: type = np.float64) -> sp.csr_matrix:
        """(n, m) 1 where the participant's latest vote equals ``vote``, else 0 (stored)."""
        return self._with_data((self.codes.data == vote + _OFFSET).astype(dtype))

    # ------------------------------------------------------------------ lookups
    def rows_of(self, participant_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Row indices of participant ids; raises KeyError for unknown ids."""
        return _lookup(self.participant_ids, _as_ids(participant_ids), "participant")

    def columns_of(self, statement_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Column indices of statement ids; raises KeyError for unknown ids."""
        return _lookup(self.statement_ids, _as_ids(statement_ids), "statement")

    def latest_vote(self, participant_id: int, statement_id: int) -> int | None:
        """The stored vote of one cell, None when missing (handy in tests)."""
        code = self.codes[self.rows_of([participant_id])[0], self.columns_of([statement_id])[0]]
        return None if code == 0 else int(code) - _OFFSET


def _lookup(sorted_ids: np.ndarray, wanted: np.ndarray, what: str) -> np.ndarray:
    pos = np.searchsorted(sorted_ids, wanted)  # (len(wanted),)
    ok = (pos < len(sorted_ids)) & (sorted_ids[np.minimum(pos, len(sorted_ids) - 1)] == wanted)
    if len(wanted) and (len(sorted_ids) == 0 or not ok.all()):
        missing = wanted[~ok] if len(sorted_ids) else wanted
        raise KeyError(f"unknown {what} id(s): {missing[:10].tolist()}")
    return pos


def matrix_from_export(export: PolisExport, *, strict_moderation: bool = False) -> VoteMatrix:
    """VoteMatrix of an export's latest votes; rejected (-1) and meta statements moderated out.

    Columns are the statements that received votes (Polis' named matrix). With
    ``strict_moderation`` unmoderated (0) statements are moderated out as well.
    """
    out = [
        c.tid
        for c in export.comments
        if c.moderated == -1 or (strict_moderation and c.moderated == 0)
    ]
    return VoteMatrix.from_votes(
        *export.vote_columns,  # every event in time order: from_votes keeps each cell's last
        moderated_out=out,
        meta=[c.tid for c in export.comments if c.is_meta],
    )
