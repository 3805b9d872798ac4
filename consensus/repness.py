"""Per-group vote counts, representativeness (repness) and consensus statements, as Polis.

Ported from ``polismath/math/repness.clj`` and ``stats.clj`` (snapshot 08e03eb); formulas in
shared/reference/polis-math.md §4. Counts use the *export* sign (agree +1), so Polis' ``:na``
(which counts internal -1) is our agree count.

Two smoothings on purpose (as Polis): ratios use (n+1)/(N+2) (``comment-stats :pa``), z-tests
use (n+1)/(N+1) (``stats.clj prop-test`` / ``two-prop-test`` increment every argument).
``repness_test`` is rounded to float32 exactly like ``finalize-cmt-stats`` (``(float ...)``),
and the "best" fallback compares against that rounded value, as Polis does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from consensus.matrix import VoteMatrix

__all__ = [
    "GroupCounts",
    "RepnessStats",
    "Z_90",
    "consensus_statements",
    "group_counts",
    "label_counts",
    "zeroed",
    "prop_test",
    "repness_stats",
    "select_rep_comments",
    "two_prop_test",
]

Z_90 = 1.2816  # stats.clj z-sig-90?: one-sided 90 %
PICK_MAX = 5  # select-rep-comments / select-consensus-comments take 5


@dataclass(frozen=True)
class GroupCounts:
    """Agree / disagree / seen counts, each (k, m) int64, for k row groups over m statements."""

    agree: np.ndarray
    disagree: np.ndarray
    seen: np.ndarray

    @property
    def passes(self) -> np.ndarray:
        return self.seen - self.agree - self.disagree


def _group_indicator(groups: list[np.ndarray], n_rows: int) -> sp.csr_matrix:
    """(k, n) 0/1 matrix selecting the rows of each group."""
    rows = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)] + [np.zeros(0, int)])
    cols = np.concatenate([np.asarray(g, np.int64) for g in groups] + [np.zeros(0, np.int64)])
    data = np.ones(len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=(len(groups), n_rows))


def group_counts(
    matrix: VoteMatrix, groups: list[np.ndarray], *, zero_moderated: bool = False
) -> GroupCounts:
    """Counts per group (row-index arrays) and statement.

    ``zero_moderated=True`` gives Polis' ``rating-mat`` (moderated-out columns are 0 = pass for
    every member); False gives ``raw-rating-mat`` as used by ``votes-base``/``group-votes``.
    Disjoint groups take one ``np.bincount`` over the votes; overlapping groups (e.g.
    demographic cells) three sparse products.
    """
    sizes = np.array([len(g) for g in groups], np.int64)
    labels = np.full(matrix.shape[0], -1, np.int64)  # (n,) group index per row
    for i, rows in enumerate(groups):
        labels[np.asarray(rows, np.int64)] = i
    if (labels >= 0).sum() == sizes.sum():
        counts = label_counts(matrix, labels, len(groups))
    else:
        counts = _overlapping_counts(matrix, groups)
    return zeroed(counts, sizes, matrix.moderated_out) if zero_moderated else counts


def label_counts(matrix: VoteMatrix, labels: np.ndarray, n_labels: int) -> GroupCounts:
    """(n_labels, m) counts for disjoint row labels (n,) in [0, n_labels), -1 = no group."""
    codes = matrix.codes
    m = matrix.shape[1]
    row_label = np.repeat(labels, np.diff(codes.indptr))  # (nnz,)
    keep = row_label >= 0
    key = (row_label[keep] * m + codes.indices[keep]) * 3 + (codes.data[keep] - 1)  # (nnz,)
    cube = np.bincount(key, minlength=n_labels * m * 3).reshape(n_labels, m, 3)  # code 1,2,3
    return GroupCounts(cube[..., 2], cube[..., 0], cube.sum(axis=2))


def _overlapping_counts(matrix: VoteMatrix, groups: list[np.ndarray]) -> GroupCounts:
    g = _group_indicator(groups, matrix.shape[0])  # (k, n)
    agree = np.rint((g @ matrix.indicator(1)).toarray()).astype(np.int64)  # (k, m)
    disagree = np.rint((g @ matrix.indicator(-1)).toarray()).astype(np.int64)
    seen = np.rint((g @ matrix.mask()).toarray()).astype(np.int64)
    return GroupCounts(agree, disagree, seen)


def zeroed(counts: GroupCounts, sizes: np.ndarray, moderated_out: np.ndarray) -> GroupCounts:
    """Polis' zero-out-columns: moderated-out statements become a pass from every member."""
    agree, disagree, seen = counts.agree.copy(), counts.disagree.copy(), counts.seen.copy()
    agree[:, moderated_out], disagree[:, moderated_out] = 0, 0
    seen[:, moderated_out] = sizes[:, None]
    return GroupCounts(agree, disagree, seen)


def prop_test(success: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``stats.clj prop-test``: 2·sqrt(n+1)·((s+1)/(n+1) − 0.5)."""
    s1, n1 = success + 1, n + 1
    return 2.0 * np.sqrt(n1) * (s1 / n1 - 0.5)


def two_prop_test(
    succ_in: np.ndarray, succ_out: np.ndarray, pop_in: np.ndarray, pop_out: np.ndarray
) -> np.ndarray:
    """``stats.clj two-prop-test`` with every argument +1; 0 when the pooled rate is 1."""
    s1, s2, n1, n2 = succ_in + 1, succ_out + 1, pop_in + 1, pop_out + 1
    pooled_s, pooled_n = s1 + s2, n1 + n2
    diff = (s1 * n2 - s2 * n1) / (n1 * n2)  # exact rational p1 − p2, rounded once
    var = (pooled_s * (pooled_n - pooled_s)) / (pooled_n * n1 * n2)  # p̂(1−p̂)(1/n1 + 1/n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / np.sqrt(var)
    return np.where(pooled_s == pooled_n, 0.0, z)


@dataclass(frozen=True)
class RepnessStats:
    """All repness statistics, each (k, m): ``repness.clj comment-stats`` + comparative stats."""

    na: np.ndarray
    nd: np.ndarray
    ns: np.ndarray
    pa: np.ndarray
    pd: np.ndarray
    pat: np.ndarray
    pdt: np.ndarray
    ra: np.ndarray
    rd: np.ndarray
    rat: np.ndarray
    rdt: np.ndarray


def repness_stats(counts: GroupCounts) -> RepnessStats:
    """Vectorised ``conv-repness``: group vs the sum of all other groups."""
    na, nd, ns = counts.agree, counts.disagree, counts.seen  # (k, m)
    rest_a, rest_d, rest_s = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
    return RepnessStats(
        na=na,
        nd=nd,
        ns=ns,
        pa=(na + 1) / (ns + 2),
        pd=(nd + 1) / (ns + 2),
        pat=prop_test(na, ns),
        pdt=prop_test(nd, ns),
        # add-comparitive-stats: p_a / ((Σrest n_a + 1)/(Σrest n_s + 2)) as one rational
        ra=((na + 1) * (rest_s + 2)) / ((ns + 2) * (rest_a + 1)),
        rd=((nd + 1) * (rest_s + 2)) / ((ns + 2) * (rest_d + 1)),
        rat=two_prop_test(na, rest_a, ns, rest_s),
        rdt=two_prop_test(nd, rest_d, ns, rest_s),
    )


# --------------------------------------------------------------------------- selection


def _finalize(s: RepnessStats, g: int, j: int, tid: int) -> dict[str, Any]:
    """``finalize-cmt-stats``: report agree if rat > rdt else disagree."""
    agree = s.rat[g, j] > s.rdt[g, j]
    pick = (s.na, s.pa, s.pat, s.ra, s.rat) if agree else (s.nd, s.pd, s.pdt, s.rd, s.rdt)
    n_success, p_success, p_test, repness, repness_test = (float(a[g, j]) for a in pick)
    return {
        "tid": tid,
        "n_success": int(n_success),
        "n_trials": int(s.ns[g, j]),
        "p_success": p_success,
        "p_test": p_test,
        "repness": repness,
        "repness_test": float(np.float32(repness_test)),  # (float repness-test)
        "repful": "agree" if agree else "disagree",
    }


def _metrics(s: RepnessStats, g: int, columns: np.ndarray) -> np.ndarray:
    """``repness-metric`` (repness · repness-test · p-success · p-test) of finalised columns."""
    agree = s.rat[g, columns] > s.rdt[g, columns]
    repness = np.where(agree, s.ra[g, columns], s.rd[g, columns])
    test = np.where(agree, s.rat[g, columns], s.rdt[g, columns]).astype(np.float32)
    p_success = np.where(agree, s.pa[g, columns], s.pd[g, columns])
    p_test = np.where(agree, s.pat[g, columns], s.pdt[g, columns])
    return repness * test.astype(np.float64) * p_success * p_test


def _beats_best_agree(s: RepnessStats, g: int, j: int, best: int | None) -> bool:
    """``beats-best-agr?`` for column j of group g against the current best-agree column."""
    if s.na[g, j] == 0 and s.nd[g, j] == 0:
        return False
    here = (s.ra[g, j], s.rat[g, j], s.pa[g, j], s.pat[g, j])
    if best is not None and s.ra[g, best] > 1.0:
        return here[0] * here[1] * here[2] * here[3] > (
            s.ra[g, best] * s.rat[g, best] * s.pa[g, best] * s.pat[g, best]
        )
    if best is not None:
        return here[2] * here[3] > s.pa[g, best] * s.pat[g, best]
    return bool(here[3] > Z_90 or (here[0] > 1.0 and here[2] > 0.5))


def _best_by_test(s: RepnessStats, g: int, columns: np.ndarray) -> int | None:
    """``beats-best-by-test?`` scan: largest max(rat, rdt) vs the float32 value of the best."""
    best, best_z = None, None
    for j in columns:
        z = max(s.rat[g, j], s.rdt[g, j])
        if best_z is None or z > best_z:
            best, best_z = int(j), float(np.float32(z))
    return best


def _select_group(
    s: RepnessStats, g: int, columns: np.ndarray, tids: np.ndarray
) -> list[dict[str, Any]]:
    """``select-rep-comments`` for one group (columns: kept, in statement order)."""
    sufficient = columns[
        ((s.rat[g, columns] > Z_90) & (s.pat[g, columns] > Z_90))
        | ((s.rdt[g, columns] > Z_90) & (s.pdt[g, columns] > Z_90))
    ]
    best_agree = None
    for j in columns:
        if _beats_best_agree(s, g, int(j), best_agree):
            best_agree = int(j)
    head: list[dict[str, Any]] = []
    if best_agree is not None:
        head = [
            {
                **_finalize(s, g, best_agree, int(tids[best_agree])),
                "n_agree": int(s.na[g, best_agree]),
                "best_agree": True,
            }
        ]
    if len(sufficient) == 0:
        if head:
            return head
        # best is only tracked while nothing is sufficient: here that is every column
        best = _best_by_test(s, g, columns)
        return [] if best is None else [_finalize(s, g, best, int(tids[best]))]
    rest = sufficient[sufficient != best_agree] if best_agree is not None else sufficient
    rest = rest[np.argsort(-_metrics(s, g, rest), kind="stable")][:PICK_MAX]  # like sort-by
    chosen = (head + [_finalize(s, g, int(j), int(tids[j])) for j in rest])[:PICK_MAX]
    return [c for c in chosen if c["repful"] == "agree"] + [
        c for c in chosen if c["repful"] == "disagree"
    ]


def select_rep_comments(
    stats: RepnessStats, statement_ids: np.ndarray, moderated_out: np.ndarray
) -> list[list[dict[str, Any]]]:
    """Representative statements per group (list index = group row), moderated-out ignored."""
    columns = np.flatnonzero(~moderated_out)
    return [_select_group(stats, g, columns, statement_ids) for g in range(stats.na.shape[0])]


def consensus_statements(
    counts: GroupCounts, statement_ids: np.ndarray, moderated_out: np.ndarray
) -> dict[str, list[dict[str, Any]]]:
    """``select-consensus-comments`` on one all-participant row of counts (k = 1).

    Candidates p > 0.5 and z > 1.2816, top 5 by p·z, separately for agree and disagree.
    """
    na, nd, ns = counts.agree[0], counts.disagree[0], counts.seen[0]  # (m,)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, n in (("agree", na), ("disagree", nd)):
        p, z = (n + 1) / (ns + 2), prop_test(n, ns)
        cand = np.flatnonzero((p > 0.5) & (z > Z_90) & ~moderated_out)
        cand = cand[np.argsort(-(p[cand] * z[cand]), kind="stable")][:PICK_MAX]
        out[name] = [
            {
                "tid": int(statement_ids[j]),
                "n_success": int(n[j]),
                "n_trials": int(ns[j]),
                "p_success": float(p[j]),
                "p_test": float(z[j]),
            }
            for j in cand
        ]
    return out
