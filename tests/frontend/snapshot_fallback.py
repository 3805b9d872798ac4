"""A stand-in consensus snapshot built from real votes, for when the consensus layer is not ready.

The browser tests need a snapshot to draw the map. They call `consensus.services.snapshot_compute`
when it can run; while the consensus engineer's pipeline is still missing, they store this
instead. It is NOT the Polis math: PCA of the mean-imputed vote matrix, k-means with k = 2, and
simple Laplace-smoothed proportions, shaped like the real snapshot result so the UI can be tested.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from deliberation.models import Statement, Vote

MIN_VOTES_IN_CONV = 2


def _vote_matrix(conversation_id: int) -> tuple[list[int], list[int], np.ndarray]:
    """(participant ids, statement ids, votes (P, S) with NaN where no vote)."""
    sids = list(
        Statement.objects.filter(conversation_id=conversation_id, moderation="accepted")
        .order_by("id")
        .values_list("id", flat=True)
    )
    rows = list(
        Vote.objects.filter(statement_id__in=sids).values_list(
            "participant_id", "statement_id", "value"
        )
    )
    pids = sorted({p for p, _, _ in rows})
    matrix = np.full((len(pids), len(sids)), np.nan)  # (P, S)
    prow, scol = {p: i for i, p in enumerate(pids)}, {s: j for j, s in enumerate(sids)}
    for pid, sid, value in rows:
        matrix[prow[pid], scol[sid]] = value
    return pids, sids, matrix


def _pca_and_groups(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D coordinates (P, 2), group label per row (P,), and which rows were clustered (P,)."""
    filled = np.where(np.isnan(matrix), 0.0, matrix)  # (P, S)
    centred = filled - filled.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T if vt.shape[0] >= 2 else np.zeros((len(matrix), 2))  # (P, 2)
    in_conv = (~np.isnan(matrix)).sum(axis=1) >= MIN_VOTES_IN_CONV  # (P,)
    labels = np.full(len(matrix), -1)
    if in_conv.sum() >= 4:
        labels[in_conv] = KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(xy[in_conv])
    return xy, labels, in_conv


def _counts(column: np.ndarray) -> dict[str, int]:
    seen = column[~np.isnan(column)]
    return {
        "n_agree": int((seen == 1).sum()),
        "n_disagree": int((seen == -1).sum()),
        "n_pass": int((seen == 0).sum()),
        "n_votes": int(seen.size),
    }


def _statement_rows(
    sids: list[int], matrix: np.ndarray, labels: np.ndarray
) -> list[dict[str, Any]]:
    groups = sorted(set(labels.tolist()) - {-1})
    out = []
    for j, sid in enumerate(sids):
        per_group = {str(g): _counts(matrix[labels == g, j]) for g in groups}
        p_agree = [(c["n_agree"] + 1) / (c["n_votes"] + 2) for c in per_group.values()] or [0.5]
        gic = float(np.prod(p_agree))
        total = _counts(matrix[:, j])
        out.append(
            {
                "id": sid,
                **{k: total[k] for k in ("n_agree", "n_disagree", "n_pass")},
                "gic": gic,
                "gic_normalized": gic ** (1 / len(p_agree)),
                "mea": float(min(p_agree)),
                "mea_needs_more_votes": any(c["n_votes"] < 3 for c in per_group.values()),
                "bridging": float(1 - (max(p_agree) - min(p_agree))),
                "groups": per_group,
            }
        )
    return out


def _repness(statements: list[dict[str, Any]], group: int, n_total: int) -> list[dict[str, Any]]:
    """Statements where the group's agree (or disagree) share most exceeds everyone else's."""
    items = []
    for row in statements:
        mine = row["groups"][str(group)]
        rest_n = row["n_agree"] + row["n_disagree"] + row["n_pass"] - mine["n_votes"]
        for repful, key in (("agree", "n_agree"), ("disagree", "n_disagree")):
            p_in = (mine[key] + 1) / (mine["n_votes"] + 2)
            p_out = (row[key] - mine[key] + 1) / (rest_n + 2)
            items.append(
                {
                    "statement_id": row["id"],
                    "repful": repful,
                    "p_success": p_in,
                    "repness": p_in / p_out,
                    "n_success": mine[key],
                    "n_trials": mine["n_votes"],
                }
            )
    items.sort(key=lambda item: -item["repness"] * item["p_success"])
    chosen: list[dict[str, Any]] = []
    for item in items:
        if (
            item["statement_id"] not in {c["statement_id"] for c in chosen}
            and item["p_success"] > 0.5
        ):
            chosen.append(item)
    return chosen[:5]


def snapshot_result_from_votes(conversation_id: int) -> dict[str, Any]:
    """A snapshot `result` dict in the consensus layer's shape, computed from current votes."""
    pids, sids, matrix = _vote_matrix(conversation_id)
    if not pids:
        return {
            "participants": [],
            "groups": [],
            "statements": [],
            "consensus": {"agree": [], "disagree": []},
            "meta": {},
        }
    xy, labels, in_conv = _pca_and_groups(matrix)
    statements = _statement_rows(sids, matrix, labels)
    groups = [
        {
            "id": int(g),
            "size": int((labels == g).sum()),
            "repness": _repness(statements, int(g), len(pids)),
        }
        for g in sorted(set(labels.tolist()) - {-1})
    ]
    participants = [
        {
            "id": pid,
            "group": None if labels[i] < 0 else int(labels[i]),
            "x": float(xy[i, 0]),
            "y": float(xy[i, 1]),
            "n_votes": int((~np.isnan(matrix[i])).sum()),
            "in_conv": bool(in_conv[i]),
        }
        for i, pid in enumerate(pids)
    ]
    agree = sorted((s for s in statements if s["mea"] > 0.5), key=lambda s: -s["gic"])[:5]
    return {
        "participants": participants,
        "groups": groups,
        "statements": statements,
        "consensus": {
            "agree": [{"statement_id": s["id"], "p_success": s["mea"]} for s in agree],
            "disagree": [],
        },
        "meta": {
            "n_participants": len(pids),
            "n_statements": len(sids),
            "k": len(groups),
            "n_votes": int((~np.isnan(matrix)).sum()),
            "source": "tests.frontend.snapshot_fallback",
        },
    }
