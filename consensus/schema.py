"""The snapshot contract: the one shape the consensus writer produces and every reader uses.

`pipeline.ConsensusResult.to_json` writes a `SnapshotResult`; the Django side stores it, adds
`demographics`, and serves it in three tiers by audience (`public_summary`, `participant_view`,
the full result). Readers — the constitution builder, the pages, the API — import these types
instead of guessing string keys. docs/consensus.md ("Snapshot schema") documents every field.

Tiers, and why:
- full: everything, for moderators and researchers (participant ids, coordinates, demographic
  breakdowns). Megabytes on a big conversation.
- public summary: what anyone may see — groups with sizes and representative statements, the
  consensus rankings, aggregate counts, and the map as a bounded sample of points with no
  participant ids. No demographics.
- participant view: the public summary plus the participant's own point and group.
Both small tiers stay under 200 KB at 100k participants: the map keeps at most `MAX_MAP_POINTS`
points and the statements list only those the rankings and groups name.
"""

from __future__ import annotations

import random
from typing import Any, Literal, TypedDict, cast

MAX_MAP_POINTS = 2000
RANKING_SIZE = 20
REPNESS_SHOWN = 5


class ParticipantRow(TypedDict, total=False):
    id: int
    group: int | None
    x: float
    y: float
    umap_x: float
    umap_y: float
    n_votes: int
    in_conv: bool


class MapPoint(TypedDict, total=False):
    """A participant's point on the public map: no id, coordinates rounded."""

    x: float
    y: float
    umap_x: float
    umap_y: float
    group: int | None
    in_conv: bool


class RepnessRow(TypedDict, total=False):
    statement_id: int
    repful: Literal["agree", "disagree"]
    n_success: int
    n_trials: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float


class GroupRow(TypedDict):
    id: int
    size: int
    center: list[float | None]
    repness: list[RepnessRow]


class GroupCounts(TypedDict):
    n_agree: int
    n_disagree: int
    n_pass: int
    n_votes: int


class StatementRow(TypedDict, total=False):
    """One statement's metrics. Rates are in [0, 1]; `gic*` and `mea*` are in [0, 1] or None
    when undefined (no groups, too few votes); `bridging` and its fields as docs/consensus.md
    says, None with `bridging_reason` when a statement has too few ratings."""

    id: int
    moderated_out: bool
    is_meta: bool
    n_votes: int
    n_agree: int
    n_disagree: int
    n_pass: int
    agree_rate: float | None
    disagree_rate: float | None
    pass_rate: float | None
    gic: float | None
    gic_normalized: float | None
    gic_disagree: float | None
    gic_disagree_normalized: float | None
    mea: float | None
    mea_gap: float | None
    mea_smooth: float | None
    mea_needs_more_votes: bool
    mea_small_group: bool
    mea_limiting_group: int | None
    bridging: float | None
    bridging_factor: float | None
    bridging_intercept: float | None
    bridging_passes_gate: bool
    bridging_helpful: bool
    bridging_n_raters: int
    bridging_reason: str | None
    gic_oos: float | None
    gic_normalized_oos: float | None
    mea_oos: float | None
    mea_oos_small_group: bool
    extremity: float | None
    groups: dict[str, GroupCounts]


class Meta(TypedDict, total=False):
    n_participants: int
    n_statements: int
    n_votes: int
    n_in_conv: int
    k: int
    silhouettes: dict[str, float]
    projection: str
    cluster_on: str
    pass_handling: str
    timings: dict[str, float]
    config: dict[str, Any]
    cross_fit_folds: int


class SnapshotResult(TypedDict, total=False):
    """The full result, as stored (`Snapshot.result`)."""

    participants: list[ParticipantRow]
    groups: list[GroupRow]
    statements: list[StatementRow]
    consensus: dict[str, list[RepnessRow]]
    pca: dict[str, Any]
    meta: Meta
    demographics: dict[str, Any]


class PublicSummary(TypedDict):
    tier: Literal["public", "participant"]
    meta: Meta
    groups: list[GroupRow]
    consensus: dict[str, list[RepnessRow]]
    rankings: dict[str, list[int]]
    statements: list[StatementRow]
    participants: list[MapPoint]  # the map sample; named as in the full result for the pages
    map: dict[str, int]


class ParticipantView(PublicSummary):
    me: MapPoint | None


_PUBLIC_META = ("n_participants", "n_statements", "n_votes", "n_in_conv", "k", "projection")
_RANKED_BY = ("gic_normalized", "mea", "bridging")


def _ranking(statements: list[StatementRow], key: str) -> list[int]:
    scored = [
        s for s in statements if not s.get("moderated_out") and s.get(key) is not None
    ]  # None: too few votes or ratings, never ranked
    scored.sort(key=lambda s: (-float(cast("dict[str, Any]", s)[key]), s["id"]))
    return [s["id"] for s in scored[:RANKING_SIZE]]


def _point(row: ParticipantRow) -> MapPoint:
    point: MapPoint = {"group": row.get("group"), "in_conv": bool(row.get("in_conv"))}
    for axis in ("x", "y", "umap_x", "umap_y"):
        value = cast("dict[str, Any]", row).get(axis)
        if value is not None:
            cast("dict[str, Any]", point)[axis] = round(float(value), 4)
    return point


def _map_sample(participants: list[ParticipantRow], seed: int) -> list[ParticipantRow]:
    """At most MAX_MAP_POINTS rows, drawn per group in proportion (each group keeps at least
    one point, so a small group never vanishes from the map). Seeded by the snapshot, so the
    same snapshot always shows the same sample."""
    if len(participants) <= MAX_MAP_POINTS:
        return participants
    rng = random.Random(seed)
    by_group: dict[Any, list[ParticipantRow]] = {}
    for row in participants:
        by_group.setdefault(row.get("group"), []).append(row)
    share = MAX_MAP_POINTS / len(participants)
    sample: list[ParticipantRow] = []
    for key in sorted(by_group, key=lambda g: (g is None, g if g is not None else 0)):
        rows = by_group[key]
        sample += rng.sample(rows, max(1, int(len(rows) * share)))
    return sample[:MAX_MAP_POINTS]


def public_summary(result: SnapshotResult, *, seed: int = 0) -> PublicSummary:
    """What anyone may see of a snapshot (no participant ids, no demographics)."""
    statements = result.get("statements", [])
    groups = [
        GroupRow(
            id=g["id"], size=g["size"], center=g["center"], repness=g["repness"][:REPNESS_SHOWN]
        )
        for g in result.get("groups", [])
    ]
    rankings = {key: _ranking(statements, key) for key in _RANKED_BY}
    consensus = {side: rows[:RANKING_SIZE] for side, rows in result.get("consensus", {}).items()}
    named = {sid for ids in rankings.values() for sid in ids}
    named |= {r["statement_id"] for g in groups for r in g["repness"]}
    named |= {r["statement_id"] for rows in consensus.values() for r in rows}
    participants = result.get("participants", [])
    meta = result.get("meta", {})
    return PublicSummary(
        tier="public",
        meta=cast(Meta, {key: meta[key] for key in _PUBLIC_META if key in meta}),  # type: ignore[literal-required]
        groups=groups,
        consensus=consensus,
        rankings=rankings,
        statements=[s for s in statements if s["id"] in named],
        participants=[_point(row) for row in _map_sample(participants, seed)],
        map={
            "points_total": len(participants),
            "grouped": sum(1 for p in participants if p.get("group") is not None),
        },
    )


def participant_view(
    result: SnapshotResult, participant_id: int | None, *, seed: int = 0
) -> ParticipantView:
    """The public summary plus this participant's own point and group (None until placed)."""
    mine = next((p for p in result.get("participants", []) if p.get("id") == participant_id), None)
    view: ParticipantView = {**public_summary(result, seed=seed), "me": None}
    view["tier"] = "participant"
    if mine is not None:
        view["me"] = _point(mine)
    return view
