"""One call from a vote matrix to every consensus output: ``run(matrix, config=, state=)``.

Stages (each timed in ``result.timings``):
1. projection — Polis PCA (:mod:`consensus.pca`), optionally UMAP for display and/or clustering;
2. groups — in-conv rule, base k-means, weighted group k-means, k smoothing, stable ids
   (:mod:`consensus.clusters`);
3. statistics — per-group counts (raw and moderation-zeroed), repness and consensus statements
   (:mod:`consensus.repness`), GIC (:mod:`consensus.gic`), maximum equal approval
   (:mod:`consensus.approval`), bridging (:mod:`consensus.bridging`).

All state that Polis carries between updates (PCA warm start, sticky in-conv set, previous base
and group clusterings, k smoother, published group ids) lives in :class:`PipelineState`, which
round-trips through JSON-safe dicts so the Django side can store it in a snapshot row.
The JSON schema of :meth:`ConsensusResult.to_json` is documented in docs/consensus.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from consensus.approval import MeaScores, maximum_equal_approval
from consensus.bridging import BridgingMF
from consensus.clusters import (
    Cluster,
    ClusterState,
    GroupClusterer,
    in_conv_mask,
    sticky_in_conv,
)
from consensus.crossfit import CrossFit, cross_fitted_counts
from consensus.gic import PASS_HANDLING, PassHandling, gic
from consensus.matrix import VoteMatrix
from consensus.pca import SparsePCA, umap_embedding
from consensus.repness import (
    GroupCounts,
    consensus_statements,
    label_counts,
    repness_stats,
    select_rep_comments,
    zeroed,
)
from consensus.row_blocks import cores_to_row_blocks

if TYPE_CHECKING:
    from consensus.polis_export import PolisExport

__all__ = [
    "ConsensusConfig",
    "ConsensusResult",
    "PipelineState",
    "Projection",
    "run",
    "state_from_export",
    "state_from_history",
    "statement_priorities",
    "update_state",
]

Projection = Literal["pca", "umap"]
PROJECTIONS: tuple[str, ...] = get_args(Projection)
STATE_VERSION = 1
META_PRIORITY = 7.0  # conversation.clj meta-priority (squared below)


def _choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}; got {value!r}")


@dataclass(frozen=True)
class ConsensusConfig:
    """Every tunable of :func:`run`; defaults are Polis' (``conversation.clj opts'``)."""

    projection: Projection = "pca"  # what participants' x, y show
    cluster_on: Projection = "pca"  # which 2-D embedding the k-means runs on
    with_umap: bool = False  # also give participants umap_x / umap_y (report's second map)
    pass_handling: PassHandling = "count"  # GIC / MEA / bridging trials: see consensus.gic
    min_votes_in_conv: int = 7
    greedy_in_conv: int = 15
    base_k: int = 100
    max_k: int = 5
    k_buffer: int = 4
    base_iters: int = 100
    group_iters: int = 20  # clusters.clj kmeans default (the group call's option is ignored)
    exact_kmeans_max: int = 20000  # above this many in-conv points k-means runs on a grid
    mea_quantile: float = 0.10
    mea_min_votes: int = 8
    mea_smooth_lambda: float = 0.5
    bridging: bool = True
    cross_fit_folds: int = 0  # ≥ 2: also score GIC/MEA out of sample (consensus.crossfit)
    bridging_min_side_votes: int = 5
    bridging_min_ratings_per_rater: int = 10  # Community Notes minNumRatingsPerRater
    bridging_min_raters: int = 5  # Community Notes minNumRatersPerNote
    bridging_max_iter: int = 30
    umap_n_neighbors: int = 15
    umap_min_dist: float = 0.1
    umap_pca_dims: int = 10
    umap_max_fit: int = 20000
    random_state: int | None = 0

    def __post_init__(self) -> None:
        _choice("projection", self.projection, PROJECTIONS)
        _choice("cluster_on", self.cluster_on, PROJECTIONS)
        _choice("pass_handling", self.pass_handling, PASS_HANDLING)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{f.name} must be >= 0; got {value}")
        if self.cross_fit_folds == 1:
            raise ValueError("cross_fit_folds must be 0 (off) or at least 2; got 1")
        if not 0.0 < self.mea_quantile < 1.0:
            raise ValueError(f"mea_quantile must be in (0, 1); got {self.mea_quantile}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class PipelineState:
    """State carried from one :func:`run` to the next (serialise with to_dict / from_dict)."""

    clusters: ClusterState = field(default_factory=ClusterState)
    pca_components: list[list[float]] | None = None  # (2, m_prev)
    pca_statement_ids: list[int] | None = None  # (m_prev,) column ids of pca_components
    n_updates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "clusters": self.clusters.to_dict(),
            "pca_components": self.pca_components,
            "pca_statement_ids": self.pca_statement_ids,
            "n_updates": self.n_updates,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineState:
        if data.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"unsupported PipelineState version {data.get('version')!r}")
        return cls(
            clusters=ClusterState.from_dict(data.get("clusters", {})),
            pca_components=data.get("pca_components"),
            pca_statement_ids=data.get("pca_statement_ids"),
            n_updates=int(data.get("n_updates", 0)),
        )

    def warm_components(self, statement_ids: np.ndarray) -> np.ndarray | None:
        """(2, m) previous components aligned to the current columns (new columns 0)."""
        if not self.pca_components or not self.pca_statement_ids:
            return None
        prev = np.asarray(self.pca_components, np.float64)  # (2, m_prev)
        out = np.zeros((prev.shape[0], len(statement_ids)))
        pos = {int(t): j for j, t in enumerate(self.pca_statement_ids)}
        for j, t in enumerate(statement_ids.tolist()):
            if t in pos:
                out[:, j] = prev[:, pos[t]]
        return out if np.abs(out).sum() > 0 else None


@dataclass
class ConsensusResult:
    """Finals and intermediates of one :func:`run` (arrays are indexed by matrix row/column)."""

    matrix: VoteMatrix
    config: ConsensusConfig
    pca: SparsePCA
    projection: np.ndarray  # (n, 2) display coordinates (PCA or UMAP)
    in_conv: np.ndarray  # (n,) bool
    group_of: np.ndarray  # (n,) published group id, -1 when not clustered
    group_ids: list[int]  # published ids, ascending; row g of group_counts is group_ids[g]
    base_clusters: list[Cluster]
    silhouettes: dict[int, float]
    totals: GroupCounts  # (1, m) all participants, raw matrix
    group_counts: GroupCounts  # (k, m) in-conv members per group, raw matrix (votes-base)
    repness: list[list[dict[str, Any]]]  # per group row
    consensus: dict[str, list[dict[str, Any]]]
    gic: dict[str, np.ndarray]
    mea: MeaScores
    bridging: BridgingMF | None
    extremity: np.ndarray  # (m,)
    state: PipelineState
    umap: np.ndarray | None  # (n, 2) UMAP coordinates when computed, else None
    timings: dict[str, float]
    cross_fit: CrossFit | None = None  # out-of-sample GIC / MEA when config.cross_fit_folds

    @property
    def k(self) -> int:
        return len(self.group_ids)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (NaN → None); schema in docs/consensus.md."""
        return _result_to_json(self)


# --------------------------------------------------------------------------- stages


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def _project(
    matrix: VoteMatrix, config: ConsensusConfig, state: PipelineState
) -> tuple[SparsePCA, np.ndarray]:
    pca = SparsePCA(
        2, warm_start=state.warm_components(matrix.statement_ids), random_state=config.random_state
    )
    return pca, pca.fit_transform(matrix)  # (n, 2)


def _umap(matrix: VoteMatrix, config: ConsensusConfig) -> np.ndarray:
    return umap_embedding(
        matrix,
        n_pca=config.umap_pca_dims,
        n_neighbors=config.umap_n_neighbors,
        min_dist=config.umap_min_dist,
        max_fit=config.umap_max_fit,
        random_state=config.random_state,
    )


def _in_conv(matrix: VoteMatrix, config: ConsensusConfig, state: PipelineState) -> np.ndarray:
    previous = np.isin(matrix.participant_ids, np.asarray(state.clusters.in_conv, np.int64))
    return in_conv_mask(
        matrix.votes_per_participant(),
        matrix.shape[1],
        previous,
        min_votes=config.min_votes_in_conv,
        greedy_n=config.greedy_in_conv,
    )


def _groups(
    matrix: VoteMatrix,
    points: np.ndarray,
    in_conv: np.ndarray,
    config: ConsensusConfig,
    state: PipelineState,
) -> tuple[Any, np.ndarray]:
    clusterer = GroupClusterer(
        base_k=config.base_k,
        max_k=config.max_k,
        k_buffer=config.k_buffer,
        base_iters=config.base_iters,
        group_iters=config.group_iters,
        exact_max=config.exact_kmeans_max,
    )
    result = clusterer.fit(points[in_conv], matrix.participant_ids[in_conv], state.clusters)
    group_of = np.full(matrix.shape[0], -1, np.int64)  # (n,)
    for base in result.base_clusters:
        group_of[matrix.rows_of(base.members)] = result.base_group[base.id]
    result.state.in_conv = matrix.participant_ids[in_conv].tolist()
    return result, group_of


def _statistics(
    matrix: VoteMatrix, group_of: np.ndarray, group_ids: list[int], config: ConsensusConfig
) -> dict[str, Any]:
    k = len(group_ids)
    labels = np.searchsorted(np.asarray(group_ids, np.int64), group_of)  # (n,)
    labels = np.where(group_of >= 0, labels, k)  # unclustered rows get the extra label k
    both = label_counts(matrix, labels, k + 1)  # (k+1, m) one pass over the votes
    raw = GroupCounts(both.agree[:k], both.disagree[:k], both.seen[:k])  # votes-base
    totals = GroupCounts(
        *(x.sum(axis=0, keepdims=True) for x in (both.agree, both.disagree, both.seen))
    )
    sizes = np.bincount(labels, minlength=k + 1)  # (k+1,)
    stats = repness_stats(zeroed(raw, sizes[:k], matrix.moderated_out))
    return {
        "group_counts": raw,
        "totals": totals,
        "repness": select_rep_comments(stats, matrix.statement_ids, matrix.moderated_out),
        "consensus": consensus_statements(
            zeroed(totals, np.array([matrix.shape[0]]), matrix.moderated_out),
            matrix.statement_ids,
            matrix.moderated_out,
        ),
        "gic": gic(raw, config.pass_handling),
        "mea": maximum_equal_approval(
            raw,
            pass_handling=config.pass_handling,
            quantile=config.mea_quantile,
            min_votes=config.mea_min_votes,
            smooth_lambda=config.mea_smooth_lambda,
        ),
    }


def _cross_fit(
    matrix: VoteMatrix,
    group_of: np.ndarray,
    group_ids: list[int],
    config: ConsensusConfig,
    state: PipelineState,
) -> CrossFit:
    """Held-out counts per group, then GIC and MEA on them (same formulas as in-sample)."""
    k = len(group_ids)
    labels = np.where(group_of >= 0, np.searchsorted(np.asarray(group_ids), group_of), -1)
    inner = replace(config, bridging=False, cross_fit_folds=0, with_umap=False)
    # only the admitted set carries over: warm starts would leak the full-data clustering
    fresh = PipelineState(clusters=ClusterState(in_conv=state.clusters.in_conv if state else []))
    fit = cross_fitted_counts(
        matrix,
        labels,
        k,
        fit_groups=lambda train: run(train, config=inner, state=fresh).group_of,
        random_state=config.random_state,
        folds=config.cross_fit_folds,
    )
    mea = maximum_equal_approval(
        fit.counts,
        pass_handling=config.pass_handling,
        quantile=config.mea_quantile,
        min_votes=config.mea_min_votes,
        smooth_lambda=config.mea_smooth_lambda,
    )
    return CrossFit(
        fit.counts, fit.folds, fit.n_votes_counted, gic(fit.counts, config.pass_handling), mea
    )


def _bridging(matrix: VoteMatrix, pca_xy: np.ndarray, config: ConsensusConfig) -> BridgingMF | None:
    if not config.bridging or matrix.n_votes == 0:
        return None
    model = BridgingMF(
        pass_handling=config.pass_handling,
        max_iter=config.bridging_max_iter,
        min_side_votes=config.bridging_min_side_votes,
        min_ratings_per_rater=config.bridging_min_ratings_per_rater,
        min_raters_per_statement=config.bridging_min_raters,
    )
    return model.fit(matrix, init_user_factors=pca_xy[:, 0])


def run(
    matrix: VoteMatrix,
    *,
    config: ConsensusConfig | None = None,
    state: PipelineState | None = None,
) -> ConsensusResult:
    """Full recompute on ``matrix``; pass the previous ``state`` to continue Polis-style history."""
    with cores_to_row_blocks(matrix.n_votes):
        return _run(matrix, config or ConsensusConfig(), state or PipelineState())


def _run(matrix: VoteMatrix, config: ConsensusConfig, state: PipelineState) -> ConsensusResult:
    timings: dict[str, float] = {}
    with _timed(timings, "pca"):
        pca, pca_xy = _project(matrix, config, state)
    umap_xy = None
    if "umap" in (config.projection, config.cluster_on) or config.with_umap:
        with _timed(timings, "umap"):
            umap_xy = _umap(matrix, config)
    with _timed(timings, "groups"):
        in_conv = _in_conv(matrix, config, state)
        points = umap_xy if config.cluster_on == "umap" and umap_xy is not None else pca_xy
        grouping, group_of = _groups(matrix, points, in_conv, config, state)
    group_ids = sorted(grouping.groups)
    with _timed(timings, "statistics"):
        stats = _statistics(matrix, group_of, group_ids, config)
    with _timed(timings, "bridging"):
        bridging = _bridging(matrix, pca_xy, config)
    cross_fit = None
    if config.cross_fit_folds >= 2 and group_ids:
        with _timed(timings, "cross_fit"):
            cross_fit = _cross_fit(matrix, group_of, group_ids, config, state)
    new_state = PipelineState(
        clusters=grouping.state,
        pca_components=pca.components_.tolist(),
        pca_statement_ids=matrix.statement_ids.tolist(),
        n_updates=state.n_updates + 1,
    )
    return ConsensusResult(
        matrix=matrix,
        config=config,
        pca=pca,
        projection=umap_xy if config.projection == "umap" and umap_xy is not None else pca_xy,
        in_conv=in_conv,
        group_of=group_of,
        group_ids=group_ids,
        base_clusters=grouping.base_clusters,
        silhouettes=grouping.silhouettes,
        extremity=pca.comment_extremity(),
        bridging=bridging,
        state=new_state,
        umap=umap_xy,
        timings=timings,
        cross_fit=cross_fit,
        **stats,
    )


def state_from_history(
    participant_ids: np.ndarray,
    statement_ids: np.ndarray,
    timestamps: np.ndarray,
    *,
    config: ConsensusConfig | None = None,
) -> PipelineState:
    """A starting state whose in-conv set is what Polis' sticky rule admitted over the history.

    Polis' in-conv set is the union of its rule over every update (sticky, with a greedy
    top-up to 15 early on), so it holds participants the final-matrix rule leaves out. Given
    the vote events' times, :func:`consensus.clusters.sticky_in_conv` recovers that set in one
    pass; ``run(matrix, state=state_from_history(...))`` is still a single stateless recompute
    (no warm starts), only with Polis' membership rule applied to the history it depends on.
    """
    config = config or ConsensusConfig()
    pids = sticky_in_conv(
        participant_ids,
        statement_ids,
        timestamps,
        min_votes=config.min_votes_in_conv,
        greedy_n=config.greedy_in_conv,
    )
    return PipelineState(clusters=ClusterState(in_conv=pids.tolist()))


def state_from_export(
    export: PolisExport, *, config: ConsensusConfig | None = None
) -> PipelineState:
    """:func:`state_from_history` of an export's vote events; empty without timestamps.

    An export without votes.csv (the matrix only) cannot tell who was admitted early, so its
    in-conv set is the rule on the final matrix (documented in docs/consensus.md).
    """
    if not export.has_timestamps:
        return PipelineState()
    pids, tids, _ = export.vote_columns
    v = export.votes
    stamps = np.fromiter((x.timestamp_ms or 0 for x in v), np.int64, len(v))
    return state_from_history(pids, tids, stamps, config=config)


def update_state(
    matrix: VoteMatrix,
    *,
    config: ConsensusConfig | None = None,
    state: PipelineState | None = None,
) -> PipelineState:
    """Only the history-carrying stages (PCA + groups): what a replay needs between updates."""
    config = config or ConsensusConfig()
    state = state or PipelineState()
    pca, pca_xy = _project(matrix, config, state)
    points = _umap(matrix, config) if config.cluster_on == "umap" else pca_xy
    grouping, _ = _groups(matrix, points, _in_conv(matrix, config, state), config, state)
    return PipelineState(
        clusters=grouping.state,
        pca_components=pca.components_.tolist(),
        pca_statement_ids=matrix.statement_ids.tolist(),
        n_updates=state.n_updates + 1,
    )


# --------------------------------------------------------------------------- JSON


def _num(value: float | np.floating | None) -> float | None:
    """Float for JSON, None for NaN/inf/None."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _participants_json(r: ConsensusResult) -> list[dict[str, Any]]:
    n_votes = r.matrix.votes_per_participant().tolist()
    xy = r.projection.tolist()
    groups, in_conv = r.group_of.tolist(), r.in_conv.tolist()
    rows = [
        {
            "id": pid,
            "group": None if g < 0 else g,
            "x": p[0],
            "y": p[1],
            "n_votes": nv,
            "in_conv": ic,
        }
        for pid, g, p, nv, ic in zip(
            r.matrix.participant_ids.tolist(), groups, xy, n_votes, in_conv, strict=True
        )
    ]
    if r.umap is not None:
        for row, (ux, uy) in zip(rows, r.umap.tolist(), strict=True):
            row |= {"umap_x": ux, "umap_y": uy}
    return rows


def _repness_json(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"statement_id": it["tid"], **{k: v for k, v in it.items() if k != "tid"}} for it in items
    ]


def _groups_json(r: ConsensusResult) -> list[dict[str, Any]]:
    out = []
    for g, gid in enumerate(r.group_ids):
        members = r.group_of == gid
        center = r.projection[members].mean(axis=0).tolist() if members.any() else [None, None]
        out.append(
            {
                "id": gid,
                "size": int(members.sum()),
                "center": center,
                "repness": _repness_json(r.repness[g]),
            }
        )
    return out


def _bridging_json(b: BridgingMF | None, j: int, moderated_out: bool) -> dict[str, Any]:
    """Score on the 0–1 rating scale, or None with ``bridging_reason`` saying why."""
    if b is None or moderated_out or b.reason_[j] is not None:
        reason = (
            "bridging off" if b is None else "moderated out" if moderated_out else str(b.reason_[j])
        )
        return {
            "bridging": None,
            "bridging_factor": None,
            "bridging_intercept": None,
            "bridging_passes_gate": False,
            "bridging_helpful": False,
            "bridging_n_raters": 0 if b is None else int(b.n_raters_[j]),
            "bridging_reason": reason,
        }
    return {
        "bridging": _num(b.score_[j]),
        "bridging_factor": _num(b.statement_factors_[j]),
        "bridging_intercept": _num(b.intercept_[j]),
        "bridging_passes_gate": bool(b.passes_gate_[j]),
        "bridging_helpful": bool(b.helpful_[j]),
        "bridging_n_raters": int(b.n_raters_[j]),
        "bridging_reason": None,
    }


def _cross_fit_json(fit: CrossFit | None, j: int) -> dict[str, Any]:
    """Out-of-sample twins of gic / gic_normalized / mea, present only when computed."""
    if fit is None or fit.gic is None or fit.mea is None:
        return {}
    return {
        "gic_oos": _num(fit.gic["gic"][j]),
        "gic_normalized_oos": _num(fit.gic["gic_normalized"][j]),
        "mea_oos": _num(fit.mea.mea[j]),
        "mea_oos_small_group": bool(fit.mea.small_group[j]),
    }


def _statement_json(r: ConsensusResult, j: int) -> dict[str, Any]:
    t, c = r.totals, r.group_counts
    n_a, n_d, n_s = int(t.agree[0, j]), int(t.disagree[0, j]), int(t.seen[0, j])
    b = r.bridging
    return {
        "id": int(r.matrix.statement_ids[j]),
        "moderated_out": bool(r.matrix.moderated_out[j]),
        "is_meta": bool(r.matrix.is_meta[j]),
        "n_votes": n_s,
        "n_agree": n_a,
        "n_disagree": n_d,
        "n_pass": n_s - n_a - n_d,
        "agree_rate": n_a / n_s if n_s else None,
        "disagree_rate": n_d / n_s if n_s else None,
        "pass_rate": (n_s - n_a - n_d) / n_s if n_s else None,
        **{key: _num(values[j]) for key, values in r.gic.items()},
        "mea": _num(r.mea.mea[j]),
        "mea_gap": _num(r.mea.gap[j]),
        "mea_smooth": _num(r.mea.smooth[j]),
        "mea_needs_more_votes": bool(r.mea.needs_more_votes[j]),
        "mea_small_group": bool(r.mea.small_group[j]),
        "mea_limiting_group": (
            r.group_ids[int(r.mea.limiting[j])] if r.mea.limiting[j] >= 0 else None
        ),
        **_bridging_json(b, j, bool(r.matrix.moderated_out[j])),
        **_cross_fit_json(r.cross_fit, j),
        "extremity": _num(r.extremity[j]),
        "groups": {
            str(gid): {
                "n_agree": int(c.agree[g, j]),
                "n_disagree": int(c.disagree[g, j]),
                "n_pass": int(c.passes[g, j]),
                "n_votes": int(c.seen[g, j]),
            }
            for g, gid in enumerate(r.group_ids)
        },
    }


def _result_to_json(r: ConsensusResult) -> dict[str, Any]:
    return {
        "participants": _participants_json(r),
        "groups": _groups_json(r),
        "statements": [_statement_json(r, j) for j in range(r.matrix.shape[1])],
        "consensus": {kind: _repness_json(items) for kind, items in r.consensus.items()},
        "pca": {
            "center": r.pca.center_.tolist(),
            "components": r.pca.components_.tolist(),
            "statement_ids": r.matrix.statement_ids.tolist(),
        },
        "meta": {
            "n_participants": r.matrix.shape[0],
            "n_statements": r.matrix.shape[1],
            "n_votes": r.matrix.n_votes,
            "n_in_conv": int(r.in_conv.sum()),
            "k": r.k,
            "silhouettes": {str(k): v for k, v in r.silhouettes.items()},
            "projection": r.config.projection,
            "cluster_on": r.config.cluster_on,
            "pass_handling": r.config.pass_handling,
            "timings": dict(r.timings),
            "config": r.config.to_dict(),
            "cross_fit_folds": r.cross_fit.folds if r.cross_fit else 0,
        },
    }


# --------------------------------------------------------------------------- routing


def statement_priorities(result: ConsensusResult) -> dict[int, float]:
    """Polis routing weight per statement id (``conversation.clj priority-metric``).

    With A, D, S summed over groups (in-conv members), P = S − A − D, E = extremity:
    importance = (1 − (P+1)/(S+2))·(E+1)·(A+1)/(S+2); priority = (importance·(1 + 8·2^(−S/5)))²,
    meta statements 7² = 49. Polis reads the *previous* update's group votes; we use the current
    ones. Statements missing from the result (brand new) should get weight 1 (server default).
    """
    c = result.group_counts
    a, d, s = c.agree.sum(0), c.disagree.sum(0), c.seen.sum(0)  # (m,)
    p = s - a - d
    importance = (1 - (p + 1) / (s + 2)) * (result.extremity + 1) * ((a + 1) / (s + 2))
    priority = (importance * (1 + 8 * 2.0 ** (-s / 5))) ** 2
    priority = np.where(result.matrix.is_meta, META_PRIORITY**2, priority)
    return dict(zip(result.matrix.statement_ids.tolist(), priority.tolist(), strict=True))
