"""Opinion groups the Polis way: in-conv rule, base k-means (k=100), weighted group k-means.

Ported from ``polismath/math/clusters.clj`` and ``conversation.clj`` (snapshot 08e03eb):

* ``in_conv_mask``: ``conversation.clj :in-conv`` (≥ min(7, n_cmts) raw votes, sticky, greedy
  top-up to 15).
* ``kmeans``: ``clusters.clj kmeans`` — init = first k *distinct* rows in row order
  (``init-clusters``), or warm start from the previous clustering (``clean-start-clusters``:
  recentre on surviving members, merge identical centres, split off the most distal point until
  k); Lloyd steps that drop empty clusters (``cluster-step``); converged when every sorted centre
  moved < 0.01 (``same-clustering?``).
* ``silhouette``: ``clusters.clj silhouette`` on the base-centre distance matrix (unweighted mean,
  singleton cluster → 0).
* ``GroupClusterer``: base clusters → weighted k-means for k ∈ 2..max-k (``max-k-fn``), best
  silhouette, k smoothing with a buffer of 4 (``:group-k-smoother``), participant group = its base
  cluster's group, and group ids kept stable across runs by Hungarian matching on member overlap.

Large inputs: when more than ``exact_max`` points are clustered, Lloyd iterations run on a
``grid`` × ``grid`` histogram of the 2-D points (cell = weighted mean of its points), then every
point is assigned to the nearest final centre once; the result is the same algorithm on
quantised data (cell width ≈ range/64, ≤ 4,096 cells) at O(cells·k) per iteration instead of O(n·k).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Cluster",
    "ClusterState",
    "adjusted_rand_index",
    "GroupClusterer",
    "in_conv_mask",
    "kmeans",
    "max_k_for",
    "silhouette",
    "sticky_in_conv",
]

SAME_CLUSTERING_THRESHOLD = 0.01  # clusters.clj same-clustering? :threshold


@dataclass
class Cluster:
    """One k-means cluster: ``members`` are ids (pids for base clusters, base ids for groups)."""

    id: int
    members: np.ndarray  # (n_members,) int64 ids
    center: np.ndarray  # (2,) float64

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": int(self.id),
            "members": self.members.tolist(),
            "center": self.center.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cluster:
        members = np.asarray(data["members"], np.int64)
        return cls(int(data["id"]), members, np.asarray(data["center"], np.float64))


# --------------------------------------------------------------------------- in-conv


def in_conv_mask(
    vote_counts: np.ndarray,
    n_cmts: int,
    previous: np.ndarray | None = None,
    *,
    min_votes: int = 7,
    greedy_n: int = 15,
) -> np.ndarray:
    """(n,) bool: who is clustered (``conversation.clj :in-conv``).

    In if raw votes ≥ min(min_votes, n_cmts); sticky (``previous`` stays in); topped up greedily
    with the highest vote counts (ties → row order) while fewer than ``greedy_n`` are in.
    """
    mask = vote_counts >= min(min_votes, n_cmts)  # (n,)
    if previous is not None:
        mask |= previous
    missing = greedy_n - int(mask.sum())
    if missing > 0:
        candidates = np.flatnonzero(~mask)
        order = candidates[np.argsort(-vote_counts[candidates], kind="stable")]
        mask[order[:missing]] = True
    return mask


def sticky_in_conv(
    participant_ids: np.ndarray,
    statement_ids: np.ndarray,
    timestamps: np.ndarray,
    *,
    min_votes: int = 7,
    greedy_n: int = 15,
) -> np.ndarray:
    """Sorted pids Polis' in-conv rule admits at some point of the vote history.

    Polis evaluates ``:in-conv`` at every update and never removes anyone (sticky), so its set
    is the union over time, not the rule applied to the final matrix: a participant with 2
    votes is in if, when they cast them, only 2 statements had votes, or if fewer than
    ``greedy_n`` participants qualified then (greedy top-up). This evaluates the same rule
    after every vote event, in one pass: each cell counts once (its first vote), n_cmts(t) is
    the number of statements voted on so far. The greedy top-up only matters until
    ``greedy_n`` distinct participants have voted, so only that prefix is walked in Python.
    On Polis' own math blobs (shared/data/polis-math) this reproduces ``in-conv`` exactly on
    4 of 5 conversations (tests/consensus/test_clusters.py).
    """
    order = np.argsort(np.asarray(timestamps, np.int64), kind="stable")
    pids = np.asarray(participant_ids, np.int64)[order]
    tids = np.asarray(statement_ids, np.int64)[order]
    if len(pids) == 0:
        return np.zeros(0, np.int64)
    _, cell_first = np.unique(np.stack([pids, tids]), axis=1, return_index=True)
    new_cell = np.zeros(len(pids), bool)
    new_cell[cell_first] = True
    _, tid_first = np.unique(tids, return_index=True)
    new_tid = np.zeros(len(pids), bool)
    new_tid[tid_first] = True
    n_cmts = np.cumsum(new_tid)  # (events,) statements with a vote so far
    uniq, inverse = np.unique(pids, return_inverse=True)
    counts = _running_count(inverse, new_cell, len(uniq))  # (events,) cells of this pid so far
    qualifies = counts >= np.minimum(min_votes, n_cmts)
    ever = np.zeros(len(uniq), bool)
    ever[inverse[qualifies]] = True
    ever |= _greedy_prefix(inverse, new_cell, qualifies, len(uniq), greedy_n)
    return uniq[ever]


def _running_count(inverse: np.ndarray, new_cell: np.ndarray, n: int) -> np.ndarray:
    """(events,) number of distinct cells participant ``inverse[i]`` had after event i."""
    order = np.argsort(inverse, kind="stable")
    cum = np.cumsum(new_cell[order])  # (events,) running over participants in event order
    starts = np.searchsorted(inverse[order], np.arange(n))
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    out = np.empty(len(inverse), np.int64)
    out[order] = cum - base[inverse[order]]
    return out


def _greedy_prefix(
    inverse: np.ndarray, new_cell: np.ndarray, qualifies: np.ndarray, n: int, greedy_n: int
) -> np.ndarray:
    """(n,) bool: admitted by the top-up while fewer than ``greedy_n`` were in."""
    ever = np.zeros(n, bool)
    count = np.zeros(n, np.int64)
    seen: set[int] = set()
    for i in range(len(inverse)):
        p = int(inverse[i])
        seen.add(p)
        count[p] += new_cell[i]
        ever[p] |= qualifies[i]
        if ever.sum() < greedy_n:
            cand = np.array(sorted(q for q in seen if not ever[q]), np.int64)
            top = cand[np.argsort(-count[cand], kind="stable")][: greedy_n - int(ever.sum())]
            ever[top] = True
        if len(seen) >= greedy_n and ever.sum() >= greedy_n:
            break
    return ever


# --------------------------------------------------------------------------- k-means


def _nearest(points: np.ndarray, centers: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """(n,) index of the nearest centre (Euclidean; ties → lowest index).

    Dense squared distances ‖x‖² − 2x·c + ‖c‖² for small problems, a k-d tree over the
    centres for large ones.
    """
    if len(points) * len(centers) > 2_000_000:
        from scipy.spatial import cKDTree  # imported when needed: keeps the CLI start-up short

        return cKDTree(centers).query(points, k=1)[1].astype(np.int64)
    c2 = (centers * centers).sum(axis=1)  # (k,)
    labels = np.empty(len(points), np.int64)
    for start in range(0, len(points), chunk):
        block = points[start : start + chunk]  # (b, d)
        d2 = c2[None, :] - 2.0 * block @ centers.T  # (b, k), ‖x‖² is constant per row
        labels[start : start + chunk] = d2.argmin(axis=1)
    return labels


def _weighted_centers(
    points: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(k, 2) weighted means per label and (k,) total weight (0 for empty clusters)."""
    total = np.bincount(labels, weights=weights, minlength=k)  # (k,)
    sums = np.stack(
        [
            np.bincount(labels, weights=weights * points[:, d], minlength=k)
            for d in range(points.shape[1])
        ],
        axis=1,
    )  # (k, 2)
    safe = np.where(total > 0, total, 1.0)
    return sums / safe[:, None], total


def _same_clustering(old: np.ndarray, new: np.ndarray) -> bool:
    """``same-clustering?``: sort centres lexicographically, pairwise distance < 0.01."""
    a = old[np.lexsort(old.T[::-1])]
    b = new[np.lexsort(new.T[::-1])]
    n = min(len(a), len(b))
    return bool(np.all(np.linalg.norm(a[:n] - b[:n], axis=1) < SAME_CLUSTERING_THRESHOLD))


def _first_distinct_rows(points: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the first k distinct rows in row order (``init-clusters``)."""
    _, first = np.unique(points, axis=0, return_index=True)
    return np.sort(first)[:k]


def _lloyd(
    points: np.ndarray, weights: np.ndarray, centers: np.ndarray, ids: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polis ``kmeans`` loop: up to max_iter+1 steps, empty clusters dropped each step."""
    for remaining in range(max_iter, -1, -1):
        labels = _nearest(points, centers)  # (n,)
        new_centers, total = _weighted_centers(points, weights, labels, len(centers))
        alive = total > 0  # cluster-step filters out clusters without members
        new_centers, new_ids = new_centers[alive], ids[alive]
        done = remaining == 0 or _same_clustering(centers, new_centers)
        centers, ids = new_centers, new_ids
        if done:
            break
    labels = _nearest(points, centers)
    return centers, ids, labels


def _recenter(
    points: np.ndarray, weights: np.ndarray, labels: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop clusters without members, recentre the rest on their members (weighted mean)."""
    member = labels >= 0
    centers, total = _weighted_centers(points[member], weights[member], labels[member], len(ids))
    alive = total > 0
    remap = np.cumsum(alive) - 1
    new_labels = np.where(member, remap[np.maximum(labels, 0)], -1)
    return centers[alive], ids[alive], new_labels


def _merge_identical(
    centers: np.ndarray, ids: np.ndarray, sizes: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``uniqify-clusters``: clusters with identical centres merge (id of the larger one)."""
    _, first, inverse = np.unique(centers, axis=0, return_index=True, return_inverse=True)
    if len(first) == len(centers):
        return centers, ids, labels
    keep = np.sort(first)
    rank = {int(j): r for r, j in enumerate(keep)}
    target = np.array([rank[int(first[inverse[i]])] for i in range(len(centers))])
    new_ids = ids[keep].copy()
    for r in range(len(keep)):
        group = np.flatnonzero(target == r)
        new_ids[r] = ids[group[np.argmax(sizes[group])]]
    member = labels >= 0
    return centers[keep], new_ids, np.where(member, target[np.maximum(labels, 0)], -1)


def _clean_start(
    points: np.ndarray, weights: np.ndarray, point_ids: np.ndarray, last: list[Cluster], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``clean-start-clusters``: warm-start centres and ids from the previous clustering."""
    labels = _previous_labels(point_ids, last)  # (n,) previous cluster index per point or -1
    ids = np.array([c.id for c in last], np.int64)
    centers, ids, labels = _recenter(points, weights, labels, ids)
    if len(ids) == 0:  # nothing survived: one big cluster (safe-recenter-clusters)
        labels[:] = 0
        centers, ids = _weighted_centers(points, weights, labels, 1)[0], np.array([ids_max(last)])
    sizes = np.bincount(labels[labels >= 0], minlength=len(ids))
    centers, ids, labels = _merge_identical(centers, ids, sizes, labels)
    possible = min(k, len(np.unique(points, axis=0)))
    return _split_distal(points, weights, labels, centers, ids, possible)


def _previous_labels(point_ids: np.ndarray, last: list[Cluster]) -> np.ndarray:
    """(n,) index into ``last`` of the cluster each current point belonged to, -1 if none."""
    members = np.concatenate([c.members for c in last] + [np.zeros(0, np.int64)])  # (n_prev,)
    owner = np.repeat(np.arange(len(last)), [len(c.members) for c in last])  # (n_prev,)
    order = np.argsort(point_ids)
    pos = np.searchsorted(point_ids[order], members)
    sorted_ids = point_ids[order]
    found = (pos < len(point_ids)) & (sorted_ids[np.minimum(pos, len(point_ids) - 1)] == members)
    labels = np.full(len(point_ids), -1, np.int64)
    labels[order[pos[found]]] = owner[found]
    return labels


def ids_max(clusters: list[Cluster]) -> int:
    return max((c.id for c in clusters), default=-1) + 1


def _split_distal(
    points: np.ndarray,
    weights: np.ndarray,
    labels: np.ndarray,
    centers: np.ndarray,
    ids: np.ndarray,
    possible: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Split off the most distal point as a new cluster until ``possible`` clusters exist."""
    while True:
        centers, ids, labels = _recenter(points, weights, labels, ids)
        if len(ids) >= possible:
            return centers, ids
        d2 = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1)  # (n, c)
        nearest = d2.min(axis=1)  # (n,)
        far = int(np.argmax(nearest))
        if nearest[far] <= 0:
            return centers, ids
        labels[far] = len(ids)
        ids = np.append(ids, ids.max() + 1)


def _grid_compress(
    points: np.ndarray, weights: np.ndarray, grid: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means and weights of the non-empty cells of a grid × grid histogram."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    cell = np.floor((points - lo) / np.maximum(hi - lo, 1e-12) * (grid - 1e-9)).astype(np.int64)
    key = cell[:, 0] * grid + cell[:, 1]  # (n,)
    uniq, inverse = np.unique(key, return_inverse=True)
    centers, total = _weighted_centers(points, weights, inverse, len(uniq))
    return centers, total


def kmeans(
    points: np.ndarray,
    point_ids: np.ndarray,
    k: int,
    *,
    weights: np.ndarray | None = None,
    last_clusters: list[Cluster] | None = None,
    max_iter: int = 20,
    exact_max: int = 20000,
    grid: int = 64,
) -> list[Cluster]:
    """Polis k-means on (n, 2) ``points`` named by ``point_ids``; clusters sorted by id.

    ``max_iter`` defaults to 20 like ``clusters.clj kmeans`` (the group call passes
    ``:cluster-iters``, which kmeans ignores, so group clustering really runs with 20).
    """
    w = np.ones(len(points)) if weights is None else np.asarray(weights, np.float64)
    if len(points) == 0:
        return []
    if last_clusters:
        centers, ids = _clean_start(points, w, point_ids, last_clusters, k)
    else:
        first = _first_distinct_rows(points, k)
        centers, ids = points[first], np.arange(len(first), dtype=np.int64)
    fit_points, fit_w = (points, w) if len(points) <= exact_max else _grid_compress(points, w, grid)
    centers, ids, _ = _lloyd(fit_points, fit_w, centers, ids, max_iter)
    labels = _nearest(points, centers)
    order = np.argsort(ids)
    return [Cluster(int(ids[j]), point_ids[labels == j], centers[j]) for j in order]


# --------------------------------------------------------------------------- silhouette


def silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette over points given a (b, b) distance matrix (``clusters.clj silhouette``).

    a = mean distance to the other members of its cluster, b = smallest mean distance to another
    cluster, s = (b − a)/max(a, b); a point alone in its cluster scores 0.
    """
    uniq = np.unique(labels)
    if len(uniq) < 2:
        return 0.0
    onehot = (labels[:, None] == uniq[None, :]).astype(np.float64)  # (b, g)
    sizes = onehot.sum(axis=0)  # (g,)
    sums = dist @ onehot  # (b, g) summed distances to each cluster
    own = np.searchsorted(uniq, labels)
    own_size = sizes[own] - 1
    a = np.where(own_size > 0, sums[np.arange(len(labels)), own] / np.maximum(own_size, 1), 0.0)
    other = sums / sizes[None, :]
    other[np.arange(len(labels)), own] = np.inf
    b = other.min(axis=1)
    s = np.where(own_size > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings (Hubert & Arabie 1985), numpy only.

    Same value as ``sklearn.metrics.adjusted_rand_score`` (a test checks it); here so the CLI
    can report agreement with Polis without importing scikit-learn (2+ s of start-up).
    """
    a, b = np.asarray(a), np.asarray(b)
    n = len(a)
    if n < 2:
        return 1.0
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), np.int64)
    np.add.at(table, (ia, ib), 1)
    pairs = lambda x: (x * (x - 1) // 2).sum()  # noqa: E731
    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (n * (n - 1) / 2)
    best = (rows + cols) / 2
    if best == expected:  # both labelings put everyone together, or everyone apart
        return 1.0
    return float((index - expected) / (best - expected))


def max_k_for(n_base: int, max_k: int = 5) -> int:
    """``conversation.clj max-k-fn``: min(max_k, 2 + ⌊n_base / 12⌋)."""
    return min(max_k, 2 + n_base // 12)


# --------------------------------------------------------------------------- state


@dataclass
class ClusterState:
    """Everything the clustering carries from one update to the next (JSON-safe via to_dict).

    ``in_conv``: pids ever admitted (sticky). ``base_clusters``: previous base clusters (members
    = pids). ``group_clusterings``: previous group clustering per k (members = base ids).
    ``k_smoother``: {last_k, last_k_count, smoothed_k}. ``published``: previous published
    groups {gid: member pids} for stable ids.
    """

    in_conv: list[int] = field(default_factory=list)
    base_clusters: list[Cluster] = field(default_factory=list)
    group_clusterings: dict[int, list[Cluster]] = field(default_factory=dict)
    k_smoother: dict[str, int | None] = field(default_factory=dict)
    published: dict[int, list[int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_conv": [int(p) for p in self.in_conv],
            "base_clusters": [c.to_dict() for c in self.base_clusters],
            "group_clusterings": {
                str(k): [c.to_dict() for c in cs] for k, cs in self.group_clusterings.items()
            },
            "k_smoother": dict(self.k_smoother),
            "published": {str(g): [int(p) for p in m] for g, m in self.published.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterState:
        return cls(
            in_conv=[int(p) for p in data.get("in_conv", [])],
            base_clusters=[Cluster.from_dict(c) for c in data.get("base_clusters", [])],
            group_clusterings={
                int(k): [Cluster.from_dict(c) for c in cs]
                for k, cs in data.get("group_clusterings", {}).items()
            },
            k_smoother=dict(data.get("k_smoother", {})),
            published={int(g): list(m) for g, m in data.get("published", {}).items()},
        )


# --------------------------------------------------------------------------- group clustering


def _smooth_k(smoother: dict[str, int | None], best_k: int, buffer: int) -> dict[str, int | None]:
    """``:group-k-smoother``: switch to a new best k only after ``buffer`` consecutive wins."""
    last_k, smoothed = smoother.get("last_k"), smoother.get("smoothed_k")
    count = (smoother.get("last_k_count") or 0) + 1 if last_k == best_k else 1
    if count >= buffer or smoothed is None:
        smoothed = best_k
    return {"last_k": best_k, "last_k_count": count, "smoothed_k": smoothed}


def _stable_ids(groups: list[np.ndarray], previous: dict[int, list[int]]) -> list[int]:
    """Match new groups (member pids) to previous ones by overlap (Hungarian); rest get new ids."""
    if not previous:
        return list(range(len(groups)))
    from scipy.optimize import linear_sum_assignment  # only with history; ~0.3 s to import

    prev_ids = sorted(previous)
    overlap = np.array([[len(np.intersect1d(g, previous[p])) for p in prev_ids] for g in groups])
    rows, cols = linear_sum_assignment(-overlap)  # maximise total overlap
    ids: list[int | None] = [None] * len(groups)
    for r, c in zip(rows, cols, strict=True):
        if overlap[r, c] > 0:
            ids[r] = prev_ids[c]
    used = set(ids) | set(prev_ids)  # a vanished group's id is not recycled
    fresh = (i for i in range(len(groups) + len(prev_ids) + 1) if i not in used)
    return [i if i is not None else next(fresh) for i in ids]


@dataclass
class GroupResult:
    """Output of :meth:`GroupClusterer.fit`: base clusters, chosen groups, diagnostics."""

    base_clusters: list[Cluster]
    groups: dict[int, np.ndarray]  # published gid -> member base-cluster ids
    base_group: dict[int, int]  # base id -> published gid
    silhouettes: dict[int, float]
    k: int
    state: ClusterState


class GroupClusterer:
    """Base clusters + weighted group k-means with silhouette choice and k smoothing."""

    def __init__(
        self,
        *,
        base_k: int = 100,
        max_k: int = 5,
        k_buffer: int = 4,
        base_iters: int = 100,
        group_iters: int = 20,
        exact_max: int = 20000,
    ) -> None:
        self.base_k = base_k
        self.max_k = max_k
        self.k_buffer = k_buffer
        self.base_iters = base_iters
        self.group_iters = group_iters
        self.exact_max = exact_max

    def fit(self, points: np.ndarray, pids: np.ndarray, state: ClusterState) -> GroupResult:
        """Cluster (n_in, 2) ``points`` of in-conv participants ``pids``."""
        base = kmeans(
            points,
            pids,
            self.base_k,
            last_clusters=state.base_clusters or None,
            max_iter=self.base_iters,
            exact_max=self.exact_max,
        )
        if not base:
            return GroupResult([], {}, {}, {}, 0, ClusterState(in_conv=state.in_conv))
        base_ids = np.array([c.id for c in base], np.int64)
        centers = np.array([c.center for c in base]).reshape(-1, 2)  # (b, 2)
        weights = np.array([len(c.members) for c in base], np.float64)  # (b,)
        clusterings, sils = self._clusterings(centers, base_ids, weights, state)
        if not clusterings:  # fewer than 2 distinct base clusters: everyone in one group
            clusterings, sils = {1: [Cluster(0, base_ids, centers.mean(axis=0))]}, {1: 0.0}
        best_k = max(sorted(clusterings), key=lambda k: (sils[k], k))  # max-key: last on ties
        smoother = _smooth_k(state.k_smoother, best_k, self.k_buffer)
        smoothed = smoother["smoothed_k"]  # set by _smooth_k on every update
        chosen = clusterings.get(
            int(smoothed if smoothed is not None else best_k), clusterings[best_k]
        )
        return self._publish(base, chosen, clusterings, sils, smoother, state)

    def _clusterings(
        self, centers: np.ndarray, base_ids: np.ndarray, weights: np.ndarray, state: ClusterState
    ) -> tuple[dict[int, list[Cluster]], dict[int, float]]:
        dist = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=-1)  # (b, b)
        clusterings: dict[int, list[Cluster]] = {}
        sils: dict[int, float] = {}
        for k in range(2, max_k_for(len(base_ids), self.max_k) + 1):
            if len(np.unique(centers, axis=0)) < 2:
                break
            clusters = kmeans(
                centers,
                base_ids,
                k,
                weights=weights,
                last_clusters=state.group_clusterings.get(k),
                max_iter=self.group_iters,
            )
            labels = np.empty(len(base_ids), np.int64)
            for c in clusters:
                labels[np.searchsorted(base_ids, c.members)] = c.id
            clusterings[k], sils[k] = clusters, silhouette(dist, labels)
        return clusterings, sils

    def _publish(
        self,
        base: list[Cluster],
        chosen: list[Cluster],
        clusterings: dict[int, list[Cluster]],
        sils: dict[int, float],
        smoother: dict[str, int | None],
        state: ClusterState,
    ) -> GroupResult:
        members_of = {c.id: c.members for c in base}
        pid_groups = [
            np.concatenate([members_of[b] for b in g.members] or [np.zeros(0, np.int64)])
            for g in chosen
        ]
        gids = _stable_ids(pid_groups, state.published)
        groups = {gid: g.members for gid, g in zip(gids, chosen, strict=True)}
        base_group = {int(b): gid for gid, members in groups.items() for b in members}
        new_state = ClusterState(
            in_conv=state.in_conv,
            base_clusters=base,
            group_clusterings={k: v for k, v in clusterings.items() if k >= 2},
            k_smoother=smoother,
            published={gid: m.tolist() for gid, m in zip(gids, pid_groups, strict=True)},
        )
        return GroupResult(base, groups, base_group, sils, len(chosen), new_state)
