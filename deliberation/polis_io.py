"""Polis compatibility: import a Polis export into a conversation, export one back.

Parsing and writing the CSV files is Django-free (`consensus.polis_export`); this module maps
them onto our rows. Imports are idempotent: statements and participants are matched by their
Polis ids and a conversation's imported votes are replaced as a whole. An export that does not
parse writes nothing. The votes are written in short transactions (`_WRITE_CHUNK` rows): one
import-long transaction held SQLite's only write lock for ~40 s (vTaiwan), stalling votes past
the busy timeout and killing the worker. An import that fails while writing votes leaves part of
them; running it again replaces them as a whole.

Short transactions are not enough on SQLite: a writer waiting for the lock polls (Python's
sqlite3 busy handler sleeps up to 100 ms between tries), and an import that begins its next chunk
the moment it commits the last wins nearly every race, so a vote waited for the whole loop (2-3 s
for vTaiwan's 50,000 rows on a busy machine). Between chunks the import therefore holds no
transaction and, on SQLite, pauses longer than one poll (`_SQLITE_YIELD_S`), so a waiting vote
gets the lock. PostgreSQL locks rows, not the database: there it does not pause.

Every export variant loads (see ``consensus.polis_export``): a participant's ``xid`` becomes its
``external_id`` (so an embedding site's users find their votes again), a matrix-only export
(no votes.csv) imports each latest vote once with the import time, and a comments-only export
imports statements and no votes. What the reader assumed is returned in ``notes``.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from consensus.polis_export import (
    PolisComment,
    PolisExport,
    PolisFormatError,
    PolisVote,
    read_polis_export,
    write_polis_export,
)
from deliberation import hooks, services
from deliberation.models import Conversation, Participant, Statement, Vote, VoteEvent
from kernel.errors import ApplicationError, NotFoundError

_MODERATION_FROM_POLIS = {
    1: Statement.Moderation.ACCEPTED,
    # Polis' math keeps unmoderated comments (only mod = -1 is zeroed out), so do we.
    0: Statement.Moderation.ACCEPTED,
    -1: Statement.Moderation.REJECTED,
}
_MODERATION_TO_POLIS: dict[str, int] = {
    Statement.Moderation.ACCEPTED: 1,
    Statement.Moderation.PENDING: 0,
    Statement.Moderation.REJECTED: -1,
}
_BATCH = 5000
_WRITE_CHUNK = 2000  # rows per transaction: well under a second of write lock each
_DELETE_CHUNK = 200  # participants whose imported votes one transaction deletes
_SQLITE_YIELD_S = 0.12  # longer than the busy handler's longest sleep (100 ms)

# Called between two chunks with no transaction open (tests cast a vote there).
ChunkHook = Callable[[], None]


def _when(ms: int | None) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else timezone.now()


def _ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def _import_key(text: str, tid: int, taken: set[str]) -> str:
    """Duplicate key as for new statements; Polis allows duplicate texts, so suffix those."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    key = " ".join(unicodedata.normalize("NFKC", visible).casefold().split()) or f"#polis-{tid}"
    if key in taken:
        key = f"{key} #polis-{tid}"
    taken.add(key)
    return key


def _usable_xids(conversation: Conversation, xids: dict[int, str]) -> dict[int, str]:
    """xids that can become external ids: fit the column, not taken by another participant.

    ``external_id`` is unique per conversation; an xid repeated in the export, or already used
    by a participant who is not this Polis pid, is left off rather than failing the import.
    """
    counts: dict[str, int] = {}
    for xid in xids.values():
        counts[xid] = counts.get(xid, 0) + 1
    taken = dict(
        Participant.objects.filter(
            conversation=conversation, external_id__in=list(xids.values())
        ).values_list("external_id", "polis_pid")
    )
    return {
        pid: xid
        for pid, xid in xids.items()
        if counts[xid] == 1 and len(xid) <= 200 and taken.get(xid, pid) == pid
    }


def _upsert_participants(
    conversation: Conversation, pids: set[int], xids: dict[int, str]
) -> dict[int, int]:
    existing: dict[int, int] = dict(
        Participant.objects.filter(conversation=conversation, polis_pid__in=pids).values_list(
            "polis_pid", "pk"
        )  # type: ignore[arg-type]  # polis_pid is set on every row this filter finds
    )
    xids = _usable_xids(conversation, xids)
    missing = [
        Participant(conversation=conversation, polis_pid=p, external_id=xids.get(p))
        for p in sorted(pids - set(existing))
    ]
    Participant.objects.bulk_create(missing, batch_size=_BATCH)
    for pid in set(existing) & set(xids):
        Participant.objects.filter(pk=existing[pid]).update(external_id=xids[pid])
    return dict(
        Participant.objects.filter(conversation=conversation, polis_pid__in=pids).values_list(
            "polis_pid", "pk"
        )  # type: ignore[arg-type]  # polis_pid is set on every row this filter finds
    )


def _upsert_statements(
    conversation: Conversation, comments: list[PolisComment], participants: dict[int, int]
) -> dict[int, int]:
    existing: dict[int, Statement] = {
        s.polis_tid: s  # type: ignore[misc]  # polis_tid is set: the filter says so
        for s in conversation.statements.filter(polis_tid__isnull=False)
    }
    taken = set(
        conversation.statements.filter(polis_tid__isnull=True).values_list("text_key", flat=True)
    )
    for comment in comments:
        statement = existing.get(comment.tid) or Statement(
            conversation=conversation, polis_tid=comment.tid
        )
        statement.text = comment.text
        statement.text_key = _import_key(comment.text, comment.tid, taken)
        statement.author_id = (
            participants.get(comment.author_pid) if comment.author_pid is not None else None
        )
        statement.moderation = _MODERATION_FROM_POLIS[comment.moderated]
        statement.moderation_reason = "moderated out in Polis" if comment.moderated == -1 else ""
        statement.save()
        if comment.created_ms is not None:
            Statement.objects.filter(pk=statement.pk).update(created_at=_when(comment.created_ms))
        existing[comment.tid] = statement
    return {tid: s.pk for tid, s in existing.items()}


def _between_chunks(on_chunk: ChunkHook | None) -> None:
    """Let waiting writers in: no transaction is open here (see the module docstring)."""
    if connection.vendor == "sqlite":
        time.sleep(_SQLITE_YIELD_S)
    if on_chunk is not None:
        on_chunk()


def _replace_votes(
    conversation: Conversation,
    export: PolisExport,
    ptpts: dict[int, int],
    stmts: dict[int, int],
    on_chunk: ChunkHook | None,
) -> int:
    imported = list(
        Participant.objects.filter(conversation=conversation, polis_pid__isnull=False).values_list(
            "pk", flat=True
        )
    )
    for start in range(0, len(imported), _DELETE_CHUNK):
        some = imported[start : start + _DELETE_CHUNK]
        with transaction.atomic():
            VoteEvent.objects.filter(participant_id__in=some).delete()
            Vote.objects.filter(participant_id__in=some).delete()
        _between_chunks(on_chunk)
    events = [
        VoteEvent(
            participant_id=ptpts[v.pid],
            statement_id=stmts[v.tid],
            value=v.vote,
            created_at=_when(v.timestamp_ms),
        )
        for v in export.votes
    ]
    _insert_in_chunks(VoteEvent, events, on_chunk)
    latest = [
        Vote(participant_id=ptpts[v.pid], statement_id=stmts[v.tid], value=v.vote)
        for v in export.latest_votes()
    ]
    _insert_in_chunks(Vote, latest, on_chunk)
    return len(latest)


def _insert_in_chunks(
    model: type[Vote] | type[VoteEvent], rows: list[Any], on_chunk: ChunkHook | None
) -> None:
    for start in range(0, len(rows), _WRITE_CHUNK):
        with transaction.atomic():
            model.objects.bulk_create(rows[start : start + _WRITE_CHUNK])
        _between_chunks(on_chunk)


def polis_import(
    *,
    folder: str | Path,
    slug: str,
    topic: str | None = None,
    on_chunk: ChunkHook | None = None,
) -> dict[str, Any]:
    """Load a Polis export folder into conversation `slug` (created if missing).

    `on_chunk` is called between the vote-writing transactions, with none open.
    """
    folder = Path(folder)
    try:
        export = read_polis_export(folder)
    except PolisFormatError as exc:
        raise ApplicationError(str(exc)) from exc
    with transaction.atomic():
        conversation = Conversation.objects.filter(slug=slug).first()
        if conversation is None:
            conversation = services.conversation_create(
                user=None,
                slug=slug,
                topic=(topic or export.summary.get("topic") or slug)[:300],
                strict_moderation=True,
            )
        pids = (
            {v.pid for v in export.votes}
            | {c.author_pid for c in export.comments if c.author_pid is not None}
            | set(export.group_ids)
        )
        ptpts = _upsert_participants(conversation, pids, export.xids)
        stmts = _upsert_statements(conversation, export.comments, ptpts)
    _between_chunks(on_chunk)
    n_votes = _replace_votes(conversation, export, ptpts, stmts, on_chunk)
    with transaction.atomic():
        summary = {
            "conversation": conversation.slug,
            "statements": len(export.comments),
            "participants": len(pids),
            "votes": n_votes,
            "vote_events": len(export.votes),
            "external_ids": sum(1 for p in export.xids if p in ptpts),
            "vote_source": export.vote_source,
            "notes": list(export.notes),
        }
        services.audit_record(
            actor=None,
            conversation=conversation,
            action="polis.import",
            target=str(folder)[:120],
            details=summary,
        )
        # As a vote does: the consensus side schedules the recompute (the import's first snapshot).
        conversation_id = conversation.pk
        transaction.on_commit(
            lambda: hooks.votes_changed.send(sender=Vote, conversation_id=conversation_id)
        )
    return summary


def _export_ids(rows: list[tuple[int, int | None]]) -> dict[int, int]:
    """Our pk -> Polis id: imported rows keep theirs, the rest continue after the largest."""
    next_id = max((polis for _, polis in rows if polis is not None), default=-1) + 1
    ids = {}
    for pk, polis in sorted(rows):
        if polis is None:
            polis, next_id = next_id, next_id + 1
        ids[pk] = polis
    return ids


def _group_ids(conversation: Conversation, pids: dict[int, int]) -> dict[int, int | None]:
    groups = hooks.participant_groups(conversation.pk)
    return {pids[pk]: group for pk, group in groups.items() if pk in pids}


def polis_export(*, slug: str, folder: str | Path) -> dict[str, Any]:
    """Write conversation `slug` as a Polis export (group-id once a snapshot exists).

    Participants appear only as integer ids: no account, external id or demographic answer
    leaves the database this way.
    """
    conversation = Conversation.objects.filter(slug=slug).first()
    if conversation is None:
        raise NotFoundError(f"No conversation with slug {slug!r}.")
    pids = _export_ids(list(conversation.participants.values_list("pk", "polis_pid")))
    statements = list(conversation.statements.all())
    tids = _export_ids([(s.pk, s.polis_tid) for s in statements])
    comments = [
        PolisComment(
            tid=tids[s.pk],
            text=s.text,
            author_pid=pids.get(s.author_id) if s.author_id else None,
            created_ms=_ms(s.created_at),
            moderated=_MODERATION_TO_POLIS[s.moderation],
        )
        for s in statements
    ]
    events = VoteEvent.objects.filter(statement__conversation=conversation).order_by(
        "created_at", "id"
    )
    votes = [
        PolisVote(pid=pids[p], tid=tids[s], vote=v, timestamp_ms=_ms(t))
        for p, s, v, t in events.values_list(
            "participant_id", "statement_id", "value", "created_at"
        )
    ]
    write_polis_export(
        folder, comments=comments, votes=votes, group_ids=_group_ids(conversation, pids)
    )
    return {"conversation": slug, "statements": len(comments), "vote_events": len(votes)}
