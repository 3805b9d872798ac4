"""Read and write Polis conversation exports (the openData CSV format), without Django.

A Polis export folder holds ``comments.csv``, ``votes.csv`` (every vote event) and
``participants-votes.csv`` (one row per participant: Polis' group-id and the latest vote per
comment), plus ``summary.csv`` (topic, counts). Real exports vary, and every variant reads:

* current exports add an ``xid`` column to participants-votes.csv (kept as ``PolisExport.xids``);
  newer comments.csv add ``is-meta``, ``is-seed``, ``group-informed-consensus``;
* some folders have no votes.csv (the matrix only: no timestamps, so no replay), or only
  comments.csv (statements, no votes);
* unknown extra columns are ignored and optional ones may be missing; a UTF-8 BOM is fine;
  rows may come in any order, and a repeated comment/participant row keeps the last one.

What was missing or ignored is listed in ``PolisExport.notes`` so an importer can show it.

Votes use the *export* sign: agree = +1, disagree = -1, pass = 0 (the opposite of the
Postgres/Clojure-internal sign, see shared/reference/polis-math.md §1).

Every malformed input raises :class:`PolisFormatError` whose message names the file, the line and
the problem, so an import command can report it verbatim.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

__all__ = [
    "PolisComment",
    "PolisExport",
    "PolisFormatError",
    "PolisVote",
    "read_any",
    "read_polis_api_json",
    "read_polis_export",
    "read_summary",
    "write_polis_export",
]

COMMENTS_HEADER = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
)
VOTES_HEADER = ("timestamp", "datetime", "comment-id", "voter-id", "vote")
PV_FIXED_HEADER = ("participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")
PV_KNOWN_TEXT = ("xid",)  # non-comment, non-integer columns current exports carry
TRUE_TEXT = ("1", "true", "t", "yes")
VALID_VOTES = (-1, 0, 1)
VALID_MODERATION = (-1, 0, 1)


class PolisFormatError(ValueError):
    """A Polis export is missing, truncated or malformed; the message says where and why."""


@dataclass(frozen=True)
class PolisComment:
    """One statement. ``moderated``: 1 accepted, 0 unmoderated, -1 rejected."""

    tid: int
    text: str
    author_pid: int | None = None
    created_ms: int | None = None
    moderated: int = 1
    is_meta: bool = False  # not in the CSV export; set from the API's ``is_meta``


@dataclass(frozen=True)
class PolisVote:
    """One vote event, export sign: agree +1, disagree -1, pass 0."""

    pid: int
    tid: int
    vote: int
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class PolisExport:
    """A whole conversation: comments, vote events in time order, Polis' group ids.

    ``xids``: pid -> external id (participants-votes.csv ``xid``, non-empty cells only).
    ``vote_source``: which file the votes came from (``votes.csv``, ``participants-votes.csv``
    or ``none``). ``summary``: summary.csv as key -> value. ``notes``: what the reader had to
    assume or ignore (missing files or columns, repeated rows), for the importer to report.
    """

    comments: list[PolisComment]
    votes: list[PolisVote]
    group_ids: dict[int, int | None] = field(default_factory=dict)
    xids: dict[int, str] = field(default_factory=dict)
    vote_source: str = "votes.csv"
    summary: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def has_timestamps(self) -> bool:
        """True when every vote event carries its time (votes.csv); replay needs it."""
        return bool(self.votes) and all(v.timestamp_ms is not None for v in self.votes)

    def latest_votes(self) -> list[PolisVote]:
        """Last vote wins per (pid, tid); the survivors keep their time order."""
        return latest_votes(self.votes)

    @cached_property
    def vote_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pids, tids, votes) of every vote event as int64 arrays, in event (time) order.

        Built once: the vote matrix and the in-conv history both read them (a pass over the
        Python vote objects each, 30 ms per array on vtaiwan's 50k votes)."""
        v = self.votes
        return (
            np.fromiter((x.pid for x in v), np.int64, len(v)),
            np.fromiter((x.tid for x in v), np.int64, len(v)),
            np.fromiter((x.vote for x in v), np.int64, len(v)),
        )


def latest_votes(votes: Iterable[PolisVote]) -> list[PolisVote]:
    """Keep the last event per (pid, tid) (Polis ``nm/update-nmat`` applied in time order)."""
    last: dict[tuple[int, int], int] = {}
    events = list(votes)
    for i, v in enumerate(events):
        last[(v.pid, v.tid)] = i
    return [events[i] for i in sorted(last.values())]


# --------------------------------------------------------------------------- reading helpers


class _Table:
    """A parsed CSV: header -> column index, data rows with their physical line numbers."""

    def __init__(self, path: Path, header: list[str], rows: list[tuple[int, list[str]]]):
        self.path = path
        self.header = header
        self.rows = rows
        self.index = {name: i for i, name in enumerate(header)}

    def error(self, line: int, problem: str) -> PolisFormatError:
        return PolisFormatError(f"{self.path.name}, line {line}: {problem}")

    def require(self, columns: Iterable[str]) -> None:
        missing = [c for c in columns if c not in self.index]
        if missing:
            raise self.error(1, f"missing column(s) {', '.join(missing)} in header {self.header}")

    def cell(self, line: int, row: list[str], column: str) -> str:
        i = self.index[column]
        if i >= len(row):
            raise self.error(line, f"row has {len(row)} fields, no value for column {column!r}")
        return row[i]

    def integer(
        self, line: int, row: list[str], column: str, *, optional: bool = False
    ) -> int | None:
        raw = self.cell(line, row, column).strip()
        if raw == "" and optional:
            return None
        try:
            return int(raw)
        except ValueError:
            raise self.error(line, f"column {column!r} must be an integer, got {raw!r}") from None


def _read_table(path: Path) -> _Table:
    """Parse a CSV strictly (unterminated quotes and stray bytes raise) and keep line numbers."""
    if not path.is_file():
        raise PolisFormatError(f"{path.name}: file not found in {path.parent}")
    csv.field_size_limit(1 << 30)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            return _collect(path, reader)
    except csv.Error as exc:
        where = f"{path.name}, line {_line_of(exc)}"
        raise PolisFormatError(f"{where}: malformed CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise PolisFormatError(f"{path.name}: not UTF-8 text ({exc})") from None


def _line_of(exc: csv.Error) -> str:
    # csv.Error carries no line; the reader's line_num is attached by _collect below.
    return str(getattr(exc, "line_num", "?"))


def _collect(path: Path, reader: Iterator[list[str]]) -> _Table:
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        for row in reader:
            if header is None:
                header = [h.strip() for h in row]
            elif row:  # blank lines carry no data
                rows.append((reader.line_num, row))  # type: ignore[attr-defined]
    except csv.Error as exc:
        exc.line_num = reader.line_num  # type: ignore[attr-defined]
        raise
    if header is None:
        raise PolisFormatError(f"{path.name}, line 1: empty file, expected a header row")
    return _Table(path, header, rows)


# --------------------------------------------------------------------------- per-file parsers


def _parse_comments(table: _Table, notes: list[str]) -> list[PolisComment]:
    """Comments by id; a repeated comment-id keeps its last row (noted), as a re-export would."""
    table.require(("comment-id", "comment-body"))
    if "moderated" not in table.index:
        notes.append("comments.csv has no 'moderated' column: every comment taken as accepted")
    comments: dict[int, PolisComment] = {}
    repeated = 0
    for line, row in table.rows:
        tid = table.integer(line, row, "comment-id")
        mod = _optional_int(table, line, row, "moderated")
        mod = 1 if mod is None else mod
        if mod not in VALID_MODERATION:
            raise table.error(line, f"moderated must be one of -1, 0, 1, got {mod}")
        repeated += tid in comments
        comments[tid] = PolisComment(  # type: ignore[index]
            tid=tid,  # type: ignore[arg-type]
            text=table.cell(line, row, "comment-body"),
            author_pid=_optional_int(table, line, row, "author-id"),
            created_ms=_optional_int(table, line, row, "timestamp"),
            moderated=mod,
            is_meta=_flag(table, line, row, "is-meta"),
        )
    if repeated:
        notes.append(f"comments.csv repeats {repeated} comment-id row(s): the last one is kept")
    return sorted(comments.values(), key=lambda c: c.tid)


def _flag(table: _Table, line: int, row: list[str], column: str) -> bool:
    if column not in table.index:
        return False
    return table.cell(line, row, column).strip().lower() in TRUE_TEXT


def _optional_int(table: _Table, line: int, row: list[str], column: str) -> int | None:
    if column not in table.index:
        return None
    return table.integer(line, row, column, optional=True)


def _check_vote(table: _Table, line: int, vote: int, tid: int, known: set[int]) -> None:
    if vote not in VALID_VOTES:
        raise table.error(line, f"vote must be one of -1, 0, 1, got {vote}")
    if tid not in known:
        raise table.error(line, f"vote on unknown comment-id {tid} (not in comments.csv)")


def _parse_votes(table: _Table, known: set[int]) -> list[PolisVote]:
    """Vote events sorted by timestamp (stable: file order breaks ties; no timestamp sorts last)."""
    table.require(("comment-id", "voter-id", "vote"))
    ic, ip, iv = (table.index[c] for c in ("comment-id", "voter-id", "vote"))
    it = table.index.get("timestamp")
    votes: list[PolisVote] = []
    for line, row in table.rows:
        try:  # fast path: a well-formed row; anything odd is re-read with full messages
            tid, vote, pid = int(row[ic]), int(row[iv]), int(row[ip])
            stamp = int(row[it]) if it is not None and row[it].strip() else None
            ok = vote in VALID_VOTES and tid in known
        except (ValueError, IndexError):
            ok = False
        if not ok:
            votes.append(_slow_vote(table, line, row, known))
            continue
        votes.append(PolisVote(pid, tid, vote, stamp))
    return [votes[i] for i in _time_order(votes)]


def _slow_vote(table: _Table, line: int, row: list[str], known: set[int]) -> PolisVote:
    """Parse one votes.csv row field by field, raising the error that names the problem."""
    tid = table.integer(line, row, "comment-id")
    vote = table.integer(line, row, "vote")
    _check_vote(table, line, vote, tid, known)  # type: ignore[arg-type]
    return PolisVote(
        pid=table.integer(line, row, "voter-id"),  # type: ignore[arg-type]
        tid=tid,  # type: ignore[arg-type]
        vote=vote,  # type: ignore[arg-type]
        timestamp_ms=_optional_int(table, line, row, "timestamp"),
    )


def _time_order(votes: list[PolisVote]) -> list[int]:
    """Indices of ``votes`` sorted by time, stable, votes without a timestamp last.

    A numpy argsort (several times faster than a Python key sort on 50k votes); a timestamp
    outside int64 falls back to the key sort.
    """
    last = np.iinfo(np.int64).max
    try:
        stamps = np.fromiter(
            (last if v.timestamp_ms is None else v.timestamp_ms for v in votes),
            np.int64,
            len(votes),
        )
    except OverflowError:
        return sorted(range(len(votes)), key=lambda i: _time_key(votes[i], i))
    none = stamps == last
    if none.any():  # a real timestamp equal to the sentinel must still sort before them
        return np.lexsort((stamps, none)).tolist()
    return np.argsort(stamps, kind="stable").tolist()


def _time_key(vote: PolisVote, i: int) -> tuple[int, int, int]:
    if vote.timestamp_ms is None:
        return (1, 0, i)
    return (0, vote.timestamp_ms, i)


def _pv_comment_columns(table: _Table, known: set[int]) -> list[tuple[int, int]]:
    """(column index, tid) for every per-comment column of participants-votes.csv."""
    table.require(("participant",))
    columns = []
    for i, name in enumerate(table.header):
        if name in PV_FIXED_HEADER or name in PV_KNOWN_TEXT:
            continue
        try:
            tid = int(name)
        except ValueError:  # an extra column a newer export added: not a vote
            continue
        if tid not in known:
            raise table.error(1, f"column for unknown comment-id {tid} (not in comments.csv)")
        columns.append((i, tid))
    return columns


@dataclass
class _Participants:
    groups: dict[int, int | None]
    xids: dict[int, str]
    votes: list[PolisVote]  # (pid, tid) order, timestamp None


def _parse_participants(
    table: _Table, known: set[int], notes: list[str], *, with_votes: bool = True
) -> _Participants:
    """Polis group ids, xids, and (``with_votes``) one vote (timestamp None) per non-empty cell.

    Rows may come in any order; a repeated participant row replaces the earlier one (noted).
    With votes.csv present the cells repeat its latest votes, so they are not parsed.
    """
    columns = _pv_comment_columns(table, known)
    extra = [
        h
        for h in table.header
        if h not in PV_FIXED_HEADER and h not in PV_KNOWN_TEXT and not h.lstrip("-").isdigit()
    ]
    if extra:
        notes.append(f"participants-votes.csv: ignored column(s) {', '.join(extra)}")
    if "group-id" not in table.index:
        notes.append("participants-votes.csv has no 'group-id' column: no Polis groups")
    out = _Participants({}, {}, [])
    by_pid: dict[int, list[PolisVote]] = {}
    for line, row in table.rows:
        if len(row) != len(table.header):
            raise table.error(line, f"row has {len(row)} fields, header has {len(table.header)}")
        pid = table.integer(line, row, "participant")
        if pid in out.groups:
            notes.append(
                f"participants-votes.csv, line {line}: participant {pid} repeated, "
                "the last row is kept"
            )
        out.groups[pid] = _optional_int(table, line, row, "group-id")  # type: ignore[index]
        xid = table.cell(line, row, "xid").strip() if "xid" in table.index else ""
        if xid:
            out.xids[pid] = xid  # type: ignore[index]
        if with_votes:
            by_pid[pid] = list(_row_votes(table, line, row, pid, columns, known))  # type: ignore[arg-type,index]
    out.votes = [v for pid in sorted(by_pid) for v in by_pid[pid]]
    return out


def _row_votes(
    table: _Table,
    line: int,
    row: list[str],
    pid: int,
    columns: list[tuple[int, int]],
    known: set[int],
) -> Iterator[PolisVote]:
    for i, tid in columns:  # columns were checked against comments.csv once, in the header
        raw = row[i]
        if not raw or raw.isspace():  # most cells of a wide export are empty
            continue
        try:
            vote = int(raw)
        except ValueError:
            problem = f"vote for comment {tid} must be an integer, got {raw.strip()!r}"
            raise table.error(line, problem) from None
        if vote not in VALID_VOTES:
            _check_vote(table, line, vote, tid, known)
        yield PolisVote(pid, tid, vote, None)


def read_summary(path: Path) -> dict[str, str]:
    """summary.csv as key -> value (``topic``, ``voters``, ``groups``, …); {} when absent.

    It is two-column ``key,value`` CSV whose values may span lines (the description), so it is
    read with the csv module, leniently: a damaged summary never stops an import.
    """
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        rows = list(csv.reader(fh))
    return {row[0].strip(): row[1].strip() for row in rows if len(row) >= 2 and row[0].strip()}


def read_polis_export(path: str | Path) -> PolisExport:
    """Read a Polis export folder: comments.csv, plus votes.csv and/or participants-votes.csv.

    ``votes`` are taken from votes.csv (every event, time order) when present, otherwise one
    vote per non-empty participants-votes.csv cell (no timestamps), otherwise none (a
    comments-only export). ``group_ids`` and ``xids`` come from participants-votes.csv.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise PolisFormatError(f"{folder}: not a directory containing a Polis export")
    notes: list[str] = []
    comments = _parse_comments(_read_table(folder / "comments.csv"), notes)
    known = {c.tid for c in comments}
    has_votes = (folder / "votes.csv").is_file()
    ptpts = _Participants({}, {}, [])
    if (folder / "participants-votes.csv").is_file():
        ptpts = _parse_participants(
            _read_table(folder / "participants-votes.csv"), known, notes, with_votes=not has_votes
        )
    if has_votes:
        votes, source = _parse_votes(_read_table(folder / "votes.csv"), known), "votes.csv"
    elif ptpts.groups:
        votes, source = ptpts.votes, "participants-votes.csv"
        notes.append(
            "no votes.csv: latest votes from participants-votes.csv, no timestamps "
            "(replay is not possible)"
        )
    else:
        votes, source = [], "none"
        notes.append("no votes.csv or participants-votes.csv: statements only, no votes")
    return PolisExport(
        comments=comments,
        votes=votes,
        group_ids=ptpts.groups,
        xids=ptpts.xids,
        vote_source=source,
        summary=read_summary(folder / "summary.csv"),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- writing


def _format_datetime(ms: int | None) -> str:
    """Polis writes e.g. ``Wed Jun 18 08:16:54 WIB 2014`` (server local time); we write UTC."""
    if ms is None:
        return ""
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms / 1000))


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(list(header))
        writer.writerows(rows)


def _comment_rows(comments: list[PolisComment], latest: list[PolisVote]) -> Iterator[list[object]]:
    agrees: dict[int, int] = {}
    disagrees: dict[int, int] = {}
    for v in latest:
        if v.vote == 1:
            agrees[v.tid] = agrees.get(v.tid, 0) + 1
        elif v.vote == -1:
            disagrees[v.tid] = disagrees.get(v.tid, 0) + 1
    for c in comments:
        yield [
            _blank(c.created_ms),
            _format_datetime(c.created_ms),
            c.tid,
            _blank(c.author_pid),
            agrees.get(c.tid, 0),
            disagrees.get(c.tid, 0),
            c.moderated,
            c.text,
        ]


def _participant_rows(
    comments: list[PolisComment], latest: list[PolisVote], group_ids: Mapping[int, int | None]
) -> Iterator[list[object]]:
    tids = [c.tid for c in comments]
    by_pid: dict[int, dict[int, int]] = {pid: {} for pid in group_ids}
    for v in latest:
        by_pid.setdefault(v.pid, {})[v.tid] = v.vote
    authored: dict[int, int] = {}
    for c in comments:
        if c.author_pid is not None:
            authored[c.author_pid] = authored.get(c.author_pid, 0) + 1
    for pid in sorted(by_pid):
        cells = by_pid[pid]
        values = list(cells.values())
        yield [
            pid,
            _blank(group_ids.get(pid)),
            authored.get(pid, 0),
            len(values),
            values.count(1),
            values.count(-1),
            *(_blank(cells.get(t)) for t in tids),
        ]


def write_polis_export(
    path: str | Path,
    *,
    comments: Iterable[PolisComment],
    votes: Iterable[PolisVote],
    group_ids: Mapping[int, int | None] | None = None,
) -> None:
    """Write comments.csv, votes.csv and participants-votes.csv in Polis' export column format.

    ``votes`` are all vote events (written to votes.csv in time order); the per-participant
    table holds the latest vote per (pid, tid). ``group_ids`` fill the group-id column (empty
    when None or unknown).
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    comment_list = sorted(comments, key=lambda c: c.tid)
    events = list(votes)
    events = [events[i] for i in _time_order(events)]
    latest = latest_votes(events)
    _write_csv(folder / "comments.csv", COMMENTS_HEADER, _comment_rows(comment_list, latest))
    _write_csv(
        folder / "votes.csv",
        VOTES_HEADER,
        (
            [_blank(v.timestamp_ms), _format_datetime(v.timestamp_ms), v.tid, v.pid, v.vote]
            for v in events
        ),
    )
    header = [*PV_FIXED_HEADER, *(str(c.tid) for c in comment_list)]
    rows = _participant_rows(comment_list, latest, group_ids or {})
    _write_csv(folder / "participants-votes.csv", header, rows)


# --------------------------------------------------------------------------- Polis API JSON


def _json_records(path: Path) -> list[dict]:
    import json

    if not path.is_file():
        raise PolisFormatError(f"{path.name}: file not found in {path.parent}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PolisFormatError(f"{path.name}: invalid JSON ({exc})") from None
    if not isinstance(data, list):
        raise PolisFormatError(f"{path.name}: expected a JSON list of records")
    return data


def _field(record: dict, *names: str, path: Path, i: int) -> object:
    for name in names:
        if name in record:
            return record[name]
    raise PolisFormatError(f"{path.name}, record {i}: missing field {' or '.join(names)}")


def _json_int(value: object, path: Path, i: int, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PolisFormatError(f"{path.name}, record {i}: {what} must be an integer") from None


def _created_ms(value: object, path: Path, i: int) -> int | None:
    """``created`` is epoch ms (string or number) or, in newer fixtures, an ISO-8601 string."""
    if isinstance(value, str) and "T" in value:
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            raise PolisFormatError(f"{path.name}, record {i}: bad created date {value!r}") from None
    return _json_int(value, path, i, "created")


def _api_comment(rec: dict, path: Path, i: int) -> PolisComment:
    mod = _json_int(_field(rec, "mod", "moderated", path=path, i=i), path, i, "mod")
    return PolisComment(
        tid=_json_int(_field(rec, "tid", "statement_id", path=path, i=i), path, i, "tid"),  # type: ignore[arg-type]
        text=str(rec.get("txt", "")),
        author_pid=_json_int(rec.get("pid", rec.get("participant_id")), path, i, "pid"),
        created_ms=_created_ms(rec.get("created"), path, i),
        moderated=mod if mod in VALID_MODERATION else 0,  # type: ignore[arg-type]
        is_meta=bool(rec.get("is_meta", False)),
    )


def _api_vote(rec: dict, path: Path, i: int, known: set[int]) -> PolisVote:
    tid = _json_int(_field(rec, "tid", "statement_id", path=path, i=i), path, i, "tid")
    vote = _json_int(_field(rec, "vote", path=path, i=i), path, i, "vote")
    if vote not in VALID_VOTES:
        raise PolisFormatError(f"{path.name}, record {i}: vote must be one of -1, 0, 1")
    if tid not in known:
        raise PolisFormatError(f"{path.name}, record {i}: vote on unknown comment-id {tid}")
    pid = _json_int(_field(rec, "pid", "participant_id", path=path, i=i), path, i, "pid")
    return PolisVote(pid, tid, vote, _json_int(rec.get("modified"), path, i, "modified"))  # type: ignore[arg-type]


def read_polis_api_json(path: str | Path) -> PolisExport:
    """Read a folder of pol.is API JSON (``comments.json`` + ``votes.json``, export sign).

    This is the layout of shared/data/polis-math (red-dwarf's fixtures); group ids are not part
    of it (Polis' groups live in math-pca2.json), so ``group_ids`` is ``{}``.
    """
    folder = Path(path)
    comments_path, votes_path = folder / "comments.json", folder / "votes.json"
    records = _json_records(comments_path)
    comments = [_api_comment(r, comments_path, i) for i, r in enumerate(records)]
    known = {c.tid for c in comments}
    votes = [_api_vote(r, votes_path, i, known) for i, r in enumerate(_json_records(votes_path))]
    order = _time_order(votes)
    return PolisExport(sorted(comments, key=lambda c: c.tid), [votes[i] for i in order], {})


def read_any(path: str | Path) -> PolisExport:
    """CSV export folder (comments.csv …) or API JSON folder (comments.json + votes.json)."""
    folder = Path(path)
    if (folder / "comments.json").is_file() and not (folder / "comments.csv").is_file():
        return read_polis_api_json(folder)
    return read_polis_export(folder)
