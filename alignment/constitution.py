"""A versioned, auditable constitution built from a consensus result.

Why every principle carries provenance: the statement → principle step is the main editorial lever
of Collective Constitutional AI (consensus-metrics.md §4). Each principle therefore keeps the ids
and original texts of the statements it came from, their per-group vote counts and scores at build
time, the selection rule, and how it was rewritten (template or model). A `Constitution` is frozen;
a new build from newer votes is a new version with `parent_version` set, and `diff` shows what
changed. `content_hash` covers everything except version bookkeeping and the timestamp, so the same
votes and settings give the same hash.

Input: the consensus result as a plain dict (no Django), with
`statements[]: {id, text, gic, gic_normalized, mea, mea_needs_more_votes, bridging,
groups: {gid: {n_agree, n_disagree, n_pass, n_votes}}}` and
`groups[]: {id, size, repness: [{statement_id, repful, ...}]}`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from alignment import principles as templates
from alignment.config import ConstitutionError
from alignment.dedup import merge_near_duplicates

Rule = Literal["mea", "gic", "bridging", "manual"]
RULES: tuple[str, ...] = ("mea", "gic", "bridging", "manual")
# Defaults: MEA is a 10% lower bound of the weakest group's approval; GIC is the k-th root
# (per-group geometric mean, Polis' report thresholds ≈ 0.75–0.84); bridging is μ + i_n, an
# agree rate to be calibrated on real data (consensus-metrics.md §2–3).
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {"mea": 0.6, "gic": 0.75, "bridging": 0.6}
)
SCORE_KEYS: tuple[str, ...] = ("gic", "gic_normalized", "mea", "mea_needs_more_votes", "bridging")
FORMAT_VERSION = 1
# GIC's Laplace smoothing lets a statement with one vote per group score 0.58 at k=2: like MEA's
# "needs more votes", a statement qualifies only with this many votes in every group.
MIN_VOTES_PER_GROUP = 8
Rewriter = Callable[[str], str]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class GroupVotes:
    """Votes on one statement from one opinion group, at build time."""

    group_id: str
    n_agree: int
    n_disagree: int
    n_pass: int
    n_votes: int


@dataclass(frozen=True)
class SourceStatement:
    """One consensus statement behind a principle, with its scores and per-group votes."""

    id: str
    text: str
    scores: Mapping[str, Any] = field(default_factory=dict)
    group_votes: tuple[GroupVotes, ...] = ()
    language: str | None = None
    polis_comment_id: int | None = None  # the id a Polis user knows (imported conversations)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", _frozen(self.scores))
        object.__setattr__(self, "group_votes", tuple(self.group_votes))


@dataclass(frozen=True)
class Principle:
    """'Choose the response that …' plus Bai et al. critique/revision requests and provenance."""

    id: str
    text: str
    statement: str
    critique_request: str
    revision_request: str
    rewrite: str
    sources: tuple[SourceStatement, ...]
    flags: tuple[str, ...] = ()  # e.g. "circumstance": a fact about the voter, kept on request

    @property
    def statement_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.sources)


@dataclass(frozen=True)
class Constitution:
    """An immutable set of principles with its build rule and source."""

    version: int
    parent_version: int | None
    created_at: str
    rule: str
    params: Mapping[str, Any]
    source: Mapping[str, Any]
    principles: tuple[Principle, ...]
    group_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "source", _frozen(self.source))
        object.__setattr__(self, "principles", tuple(self.principles))
        if not self.principles:
            raise ConstitutionError("a constitution needs at least one principle")

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of everything but version, parent and timestamp."""
        data = to_dict(self)
        for key in ("version", "parent_version", "created_at", "content_hash"):
            data.pop(key)
        return hashlib.sha256(_canonical(data).encode()).hexdigest()

    def principle(self, principle_id: str) -> Principle:
        """The principle with this id (KeyError if absent)."""
        for item in self.principles:
            if item.id == principle_id:
                return item
        raise KeyError(principle_id)


# ------------------------------------------------------------------------------ validation


def _validate_result(result: Mapping[str, Any]) -> tuple[list[Mapping], list[Mapping]]:
    if not isinstance(result, Mapping):
        raise ConstitutionError(f"consensus result must be a dict, got {type(result).__name__}")
    statements = list(result.get("statements") or [])
    groups = list(result.get("groups") or [])
    if not statements:
        raise ConstitutionError("consensus result has no statements")
    if not groups:
        raise ConstitutionError("consensus result has no opinion groups (too few participants?)")
    for index, statement in enumerate(statements):
        if "id" not in statement or not str(statement.get("text") or "").strip():
            raise ConstitutionError(f"statement #{index} needs an 'id' and a non-empty 'text'")
    return statements, groups


# ------------------------------------------------------------------------------ selection


def _excluded(statement: Mapping[str, Any]) -> bool:
    """Moderated-out and meta statements never become principles."""
    return bool(statement.get("moderated_out") or statement.get("is_meta"))


Circumstances = Literal["exclude", "flag", "keep"]
CIRCUMSTANCE_MODES: tuple[str, ...] = ("exclude", "flag", "keep")


def split_circumstances(
    statements: Sequence[Mapping[str, Any]], mode: str
) -> tuple[list[Mapping[str, Any]], list[dict[str, Any]]]:
    """(kept statements, [{id, text, reason}] of statements of fact about the voter).

    Why: Polis collects "I have a small-car driving licence" beside value statements; a broad
    agree rate on a fact about oneself is not a value to train on. `exclude` (default) leaves
    them out, `flag` keeps them marked for the moderator, `keep` ignores the check.
    """
    if mode not in CIRCUMSTANCE_MODES:
        raise ConstitutionError(f"circumstances must be one of {CIRCUMSTANCE_MODES}, got {mode!r}")
    found = []
    kept = []
    for statement in statements:
        reason = None if mode == "keep" else templates.circumstance_reason(str(statement["text"]))
        if reason:
            found.append({"id": str(statement["id"]), "text": statement["text"], "reason": reason})
            if mode == "exclude":
                continue
        kept.append(statement)
    return kept, found


def _enough_votes(statement: Mapping[str, Any]) -> bool:
    groups = statement.get("groups") or {}
    return bool(groups) and all(
        int(g.get("n_votes", 0)) >= MIN_VOTES_PER_GROUP for g in groups.values()
    )


def statement_score(statement: Mapping[str, Any], rule: str, n_groups: int) -> float | None:
    """The score a rule ranks by; None when the statement cannot qualify (e.g. too few votes)."""
    if _excluded(statement):
        return None
    if rule == "mea":
        if statement.get("mea_needs_more_votes") or statement.get("mea") is None:
            return None
        return float(statement["mea"])
    if rule == "gic":
        if not _enough_votes(statement):
            return None
        if statement.get("gic_normalized") is not None:
            return float(statement["gic_normalized"])
        gic = statement.get("gic")
        return None if gic is None else float(gic) ** (1.0 / max(n_groups, 1))
    if rule == "bridging":
        if statement.get("bridging_passes_gate") is False:
            return None  # divisive (|factor| >= 0.5) or too few raters on one side
        value = statement.get("bridging")
        return None if value is None else float(value)
    raise ConstitutionError(f"rule must be one of {RULES}, got {rule!r}")


def select_statements(
    statements: Sequence[Mapping[str, Any]],
    *,
    rule: str,
    threshold: float | None,
    n_groups: int,
    statement_ids: Sequence[Any] | None = None,
) -> list[Mapping[str, Any]]:
    """Statements that pass the rule, best first (manual: in the given order)."""
    if rule not in RULES:
        raise ConstitutionError(f"rule must be one of {RULES}, got {rule!r}")
    if rule == "manual":
        return _select_manual(statements, statement_ids)
    limit = DEFAULT_THRESHOLDS[rule] if threshold is None else threshold
    scored = [(statement_score(s, rule, n_groups), s) for s in statements]
    valid = [(score, s) for score, s in scored if score is not None]
    chosen = sorted((p for p in valid if p[0] >= limit), key=lambda p: -p[0])
    if not chosen:
        best = max((score for score, _ in valid), default=None)
        raise NothingPassesError(rule, limit, best)
    return [s for _, s in chosen]


class NothingPassesError(ConstitutionError):
    """No statement reaches the rule's threshold (the commonest refusal of a build).

    Its fields let the web layer say so in the reader's language; this library stays English.
    """

    def __init__(self, rule: str, threshold: float, best: float | None) -> None:
        super().__init__(
            f"no statement passes rule {rule!r} at threshold {threshold} (best score: {best})"
        )
        self.rule, self.threshold, self.best = rule, threshold, best


def _select_manual(
    statements: Sequence[Mapping[str, Any]], statement_ids: Sequence[Any] | None
) -> list[Mapping[str, Any]]:
    if not statement_ids:
        raise ConstitutionError("rule 'manual' needs statement_ids")
    by_id = {str(s["id"]): s for s in statements}
    missing = [str(i) for i in statement_ids if str(i) not in by_id]
    if missing:
        raise ConstitutionError(f"unknown statement ids: {', '.join(missing)}")
    excluded = [str(i) for i in statement_ids if _excluded(by_id[str(i)])]
    if excluded:
        raise ConstitutionError(f"moderated-out or meta statements cannot be picked: {excluded}")
    return [by_id[str(i)] for i in dict.fromkeys(statement_ids)]


# ------------------------------------------------------------------------------ principles


def _plain(value: Any) -> Any:
    """numpy scalars → Python, so scores serialise and round-trip exactly."""
    if value is None or isinstance(value, bool | str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, bool) else float(value)


def source_statement(statement: Mapping[str, Any]) -> SourceStatement:
    """Provenance record of one statement: scores and per-group votes at build time."""
    votes = tuple(
        GroupVotes(
            group_id=str(gid),
            n_agree=int(v.get("n_agree", 0)),
            n_disagree=int(v.get("n_disagree", 0)),
            n_pass=int(v.get("n_pass", 0)),
            n_votes=int(v.get("n_votes", 0)),
        )
        for gid, v in sorted((statement.get("groups") or {}).items(), key=lambda kv: str(kv[0]))
    )
    scores = {key: _plain(statement.get(key)) for key in SCORE_KEYS if key in statement}
    polis = statement.get("polis_comment_id", statement.get("polis_tid"))
    return SourceStatement(
        str(statement["id"]),
        str(statement["text"]).strip(),
        scores,
        votes,
        language=statement.get("language") or None,
        polis_comment_id=int(polis) if polis is not None else None,
    )


def make_principle(
    sources: Sequence[SourceStatement],
    *,
    rewriter: Rewriter | None = None,
    flags: Sequence[str] = (),
) -> Principle:
    """Rewrite the first (best-supported) statement; the others are merged near-duplicates.

    The original quote is always kept (`statement`, `sources`). A template rewrite that could
    only quote a non-English statement is flagged `untranslated`: pass a model `rewriter` (any
    local model) for a plain-language English principle.
    """
    statement = sources[0].text
    text, how = templates.statement_to_principle(statement), "template"
    if rewriter is not None:
        candidate = rewriter(statement)
        if candidate and candidate.startswith(templates.PREFIX):
            text, how = candidate, "model"
    flags = list(flags)
    if how == "template" and not templates.is_mostly_latin(statement):
        flags.append("untranslated")
    return Principle(
        id=f"p-{sources[0].id}",
        text=text,
        statement=statement,
        critique_request=templates.critique_request(text),
        revision_request=templates.revision_request(text),
        rewrite=how,
        sources=tuple(sources),
        flags=tuple(dict.fromkeys(flags)),
    )


def principles_from_statements(
    statements: Sequence[Mapping[str, Any]],
    *,
    dedup: str = "tfidf",
    dedup_threshold: float | None = None,
    rewriter: Rewriter | None = None,
    flagged: Sequence[str] = (),
) -> tuple[Principle, ...]:
    """Merge near-duplicates (keeping every source id), then rewrite each group once.

    `flagged` statement ids (circumstances kept with `circumstances="flag"`) mark their
    principle `circumstance`.
    """
    sources = [source_statement(s) for s in statements]
    groups = merge_near_duplicates(
        [s.text for s in sources], method=dedup, threshold=dedup_threshold
    )
    marked = set(flagged)
    return tuple(
        make_principle(
            [sources[i] for i in g],
            rewriter=rewriter,
            flags=["circumstance"] if any(sources[i].id in marked for i in g) else [],
        )
        for g in groups
    )


def group_sizes(groups: Sequence[Mapping[str, Any]]) -> dict[str, int | None]:
    """{group id: number of participants} as the consensus result reports it."""
    return {
        str(g.get("id")): (int(g["size"]) if g.get("size") is not None else None) for g in groups
    }


# ------------------------------------------------------------------------------ builders


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _versioning(parent: Constitution | None) -> tuple[int, int | None]:
    return (1, None) if parent is None else (parent.version + 1, parent.version)


def build_constitution(
    result: Mapping[str, Any],
    *,
    source: Mapping[str, Any],
    rule: str = "mea",
    threshold: float | None = None,
    statement_ids: Sequence[Any] | None = None,
    dedup: str = "tfidf",
    dedup_threshold: float | None = None,
    rewriter: Rewriter | None = None,
    parent: Constitution | None = None,
    created_at: str | None = None,
    circumstances: str = "exclude",
) -> Constitution:
    """Constitution of the statements that pass `rule` (mea, gic, bridging or manual).

    `source` carries `conversation` (slug) and `snapshot_id`; `parent` makes this version
    parent.version + 1. Raises ConstitutionError on an empty result, no groups, unknown manual ids
    or when nothing passes the threshold.
    """
    statements, groups = _validate_result(result)
    candidates, found = split_circumstances(statements, circumstances)
    if rule == "manual" and circumstances == "exclude":
        candidates = statements  # a hand pick is the moderator's call; it is still flagged
    chosen = select_statements(
        candidates,
        rule=rule,
        threshold=threshold,
        n_groups=len(groups),
        statement_ids=statement_ids,
    )
    chosen_ids = {str(s["id"]) for s in chosen}
    items = principles_from_statements(
        chosen,
        dedup=dedup,
        dedup_threshold=dedup_threshold,
        rewriter=rewriter,
        flagged=[f["id"] for f in found if f["id"] in chosen_ids],
    )
    version, parent_version = _versioning(parent)
    params = {
        "threshold": None
        if rule == "manual"
        else (DEFAULT_THRESHOLDS[rule] if threshold is None else threshold),
        "statement_ids": [str(i) for i in statement_ids or []],
        "dedup": dedup,
        "dedup_threshold": dedup_threshold,
        "rewriter": "model" if rewriter is not None else "template",
        "n_groups": len(groups),
        "group_sizes": group_sizes(groups),
        "circumstances": circumstances,
        "circumstance_statements": found,
    }
    return Constitution(version, parent_version, created_at or _now(), rule, params, source, items)


def build_group_constitutions(
    result: Mapping[str, Any],
    *,
    source: Mapping[str, Any],
    dedup: str = "tfidf",
    dedup_threshold: float | None = None,
    rewriter: Rewriter | None = None,
    created_at: str | None = None,
) -> dict[str, Constitution]:
    """One constitution per opinion group: the statements the group endorses (agree-repness).

    Groups with no agree-representative statement are left out; if none has any, this raises.
    """
    statements, groups = _validate_result(result)
    by_id = {str(s["id"]): s for s in statements}
    out: dict[str, Constitution] = {}
    for group in groups:
        ids = [
            str(r["statement_id"])
            for r in group.get("repness") or []
            if r.get("repful") == "agree" and str(r.get("statement_id")) in by_id
        ]
        if not ids:
            continue
        gid = str(group["id"])
        items = principles_from_statements(
            [by_id[i] for i in dict.fromkeys(ids)],
            dedup=dedup,
            dedup_threshold=dedup_threshold,
            rewriter=rewriter,
        )
        params = {
            "dedup": dedup,
            "dedup_threshold": dedup_threshold,
            "group_size": group.get("size"),
            "n_groups": len(groups),
            "group_sizes": group_sizes(groups),
        }
        out[gid] = Constitution(
            1,
            None,
            created_at or _now(),
            "group-repness",
            params,
            {**source, "group_id": gid},
            items,
            group_id=gid,
        )
    if not out:
        raise ConstitutionError("no opinion group has an agree-representative statement")
    return out


# ------------------------------------------------------------------------------ diff


@dataclass(frozen=True)
class ConstitutionDiff:
    """Principles added, removed and changed (same id, different wording or sources)."""

    added: tuple[Principle, ...]
    removed: tuple[Principle, ...]
    changed: tuple[tuple[Principle, Principle], ...]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for display."""
        return {
            "added": [{"id": p.id, "text": p.text} for p in self.added],
            "removed": [{"id": p.id, "text": p.text} for p in self.removed],
            "changed": [
                {
                    "id": a.id,
                    "before": a.text,
                    "after": b.text,
                    "statement_ids_before": list(a.statement_ids),
                    "statement_ids_after": list(b.statement_ids),
                }
                for a, b in self.changed
            ],
        }


def _content(p: Principle) -> tuple:
    return (p.text, p.critique_request, p.revision_request, p.statement_ids)


def diff(old: Constitution, new: Constitution) -> ConstitutionDiff:
    """What changed from `old` to `new`, by principle id (score drift alone is not a change)."""
    before = {p.id: p for p in old.principles}
    after = {p.id: p for p in new.principles}
    return ConstitutionDiff(
        added=tuple(p for pid, p in after.items() if pid not in before),
        removed=tuple(p for pid, p in before.items() if pid not in after),
        changed=tuple(
            (before[pid], p)
            for pid, p in after.items()
            if pid in before and _content(before[pid]) != _content(p)
        ),
    )


# ------------------------------------------------------------------------------ JSON / Markdown


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _source_dict(s: SourceStatement) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": s.id,
        "text": s.text,
        "scores": dict(s.scores),
        "group_votes": [vars(v).copy() for v in s.group_votes],
    }
    # Written only when known, so documents stored before these fields keep their hash.
    if s.language:
        data["language"] = s.language
    if s.polis_comment_id is not None:
        data["polis_comment_id"] = s.polis_comment_id
    return data


def _principle_dict(p: Principle) -> dict[str, Any]:
    data = {
        "id": p.id,
        "text": p.text,
        "statement": p.statement,
        "critique_request": p.critique_request,
        "revision_request": p.revision_request,
        "rewrite": p.rewrite,
        "sources": [_source_dict(s) for s in p.sources],
    }
    if p.flags:
        data["flags"] = list(p.flags)
    return data


def to_dict(constitution: Constitution) -> dict[str, Any]:
    """JSON-safe dict; includes `content_hash` for convenience (ignored on import)."""
    c = constitution
    data = {
        "format_version": FORMAT_VERSION,
        "version": c.version,
        "parent_version": c.parent_version,
        "created_at": c.created_at,
        "rule": c.rule,
        "params": json.loads(_canonical(dict(c.params))),
        "source": dict(c.source),
        "group_id": c.group_id,
        "principles": [_principle_dict(p) for p in c.principles],
        "content_hash": None,
    }
    return data


def to_json(constitution: Constitution, *, indent: int | None = 2) -> str:
    """Serialise; `from_json(to_json(c)) == c`."""
    data = to_dict(constitution)
    data["content_hash"] = constitution.content_hash
    return json.dumps(data, ensure_ascii=False, indent=indent, sort_keys=True)


def _principle_from(data: Mapping[str, Any]) -> Principle:
    sources = tuple(
        SourceStatement(
            str(s["id"]),
            s["text"],
            s.get("scores") or {},
            tuple(GroupVotes(**v) for v in s.get("group_votes") or []),
            language=s.get("language"),
            polis_comment_id=s.get("polis_comment_id"),
        )
        for s in data["sources"]
    )
    return Principle(
        data["id"],
        data["text"],
        data["statement"],
        data["critique_request"],
        data["revision_request"],
        data["rewrite"],
        sources,
        tuple(data.get("flags") or ()),
    )


def from_dict(data: Mapping[str, Any]) -> Constitution:
    """Inverse of `to_dict`; a stored `content_hash` that does not match raises."""
    try:
        constitution = Constitution(
            version=int(data["version"]),
            parent_version=data.get("parent_version"),
            created_at=data["created_at"],
            rule=data["rule"],
            params=data.get("params") or {},
            source=data.get("source") or {},
            principles=tuple(_principle_from(p) for p in data["principles"]),
            group_id=data.get("group_id"),
        )
    except (KeyError, TypeError) as exc:
        raise ConstitutionError(f"malformed constitution JSON: missing or bad {exc}") from exc
    stored = data.get("content_hash")
    if stored and stored != constitution.content_hash:
        raise ConstitutionError("constitution JSON was edited: content_hash does not match")
    return constitution


def from_json(text: str) -> Constitution:
    """Parse a constitution exported by `to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConstitutionError(f"constitution is not valid JSON: {exc}") from exc
    return from_dict(data)


def _votes_line(source: SourceStatement) -> str:
    parts = [
        f"group {v.group_id}: {v.n_agree} agree / {v.n_disagree} disagree / {v.n_pass} pass"
        for v in source.group_votes
    ]
    return "; ".join(parts) or "no per-group votes recorded"


def to_markdown(constitution: Constitution) -> str:
    """Human-readable constitution with provenance, for review and the model card."""
    c = constitution
    title = f"Constitution v{c.version}" + (f" — group {c.group_id}" if c.group_id else "")
    lines = [
        f"# {title}",
        "",
        f"- Conversation: {c.source.get('conversation', '?')}",
        f"- Snapshot: {c.source.get('snapshot_id', '?')}",
        f"- Rule: `{c.rule}` {_canonical(dict(c.params))}",
        f"- Parent version: {c.parent_version}",
        f"- Created: {c.created_at}",
        f"- Content hash: `{c.content_hash}`",
        *(
            [f"- Group sizes: {_canonical(dict(c.params['group_sizes']))}"]
            if c.params.get("group_sizes")
            else []
        ),
        *[
            f"- Left out as a statement about the voter: {x['id']} “{x['text']}” ({x['reason']})"
            for x in c.params.get("circumstance_statements") or []
            if c.params.get("circumstances") == "exclude"
        ],
        "",
    ]
    for n, p in enumerate(c.principles, 1):
        flags = f" · *flags*: {', '.join(p.flags)}" if p.flags else ""
        lines += [
            f"## {n}. {p.text}",
            "",
            f"*Principle id* `{p.id}` · *rewrite*: {p.rewrite}{flags}",
            "",
            f"> Original: “{p.statement}”",
            "",
        ]
        for s in p.sources:
            scores = ", ".join(f"{k}={v}" for k, v in s.scores.items())
            ident = f"Polis comment {s.polis_comment_id}" if s.polis_comment_id is not None else ""
            ident = f"Statement {s.id}" + (f" ({ident})" if ident else "")
            lines.append(f"- {ident}: “{s.text}” ({scores}; {_votes_line(s)})")
        lines += [
            "",
            f"> Critique request: {p.critique_request}",
            f"> Revision request: {p.revision_request}",
            "",
        ]
    return "\n".join(lines)
