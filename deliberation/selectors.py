"""Read-side queries over the deliberation data (no writes here)."""

from __future__ import annotations

import functools
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from deliberation import rawsql
from deliberation.models import Conversation, Participant, Statement, Vote
from kernel import roles
from kernel.models import Job

ACCEPTED = Statement.Moderation.ACCEPTED


def statement_vote_counts(*, statement_id: int) -> dict[str, int]:
    row = Vote.objects.filter(statement_id=statement_id).aggregate(
        agree=Count("id", filter=Q(value=1)),
        disagree=Count("id", filter=Q(value=-1)),
        passes=Count("id", filter=Q(value=0)),
    )
    return {"agree": row["agree"], "disagree": row["disagree"], "pass": row["passes"]}


def statements_with_counts(*, conversation: Conversation) -> QuerySet[Statement]:
    return Statement.objects.filter(conversation=conversation).annotate(
        n_agree=Count("votes", filter=Q(votes__value=1)),
        n_disagree=Count("votes", filter=Q(votes__value=-1)),
        n_pass=Count("votes", filter=Q(votes__value=0)),
    )


def statements_unvoted_for(participant: Participant) -> QuerySet[Statement]:
    """Accepted statements the participant has neither voted on nor written."""
    voted = Vote.objects.filter(participant=participant).values("statement_id")
    return (
        Statement.objects.filter(conversation_id=participant.conversation_id, moderation=ACCEPTED)
        .exclude(author=participant)
        .exclude(pk__in=voted)
    )


def _snapshot_priorities(conversation_id: int) -> Mapping[int, float]:
    from consensus.snapshots.selectors import (
        snapshot_priorities,  # consensus builds on deliberation
    )

    return snapshot_priorities(conversation_id=conversation_id)


def statement_next_for(
    participant: Participant,
    *,
    priorities: Mapping[int, float] | None = None,
    rng: random.Random | None = None,
) -> Statement | None:
    """The statement to show next, or None when the participant has seen everything.

    Order: seeds (in seeding order), then fresh statements the latest consensus snapshot has not
    scored yet (oldest first, so new statements collect votes quickly), then a weighted random
    draw by the snapshot's Polis priority (statements that separate or unite groups, and those
    with few votes, weigh more) — the same shape as Polis' `selectProbabilistically`.
    """
    rows = list(statements_unvoted_for(participant).values_list("id", "is_seed", "created_at"))
    chosen = statement_choose(
        rows,
        lambda: (
            priorities
            if priorities is not None
            else _snapshot_priorities(participant.conversation_id)
        ),
        rng=rng,
    )
    return None if chosen is None else Statement.objects.get(pk=chosen)


Candidate = tuple[int, bool, datetime]  # (statement id, is_seed, created_at)


def statement_choose(
    candidates: Sequence[Candidate],
    priorities: Callable[[], Mapping[int, float]],
    *,
    rng: random.Random | None = None,
) -> int | None:
    """The routing rule of `statement_next_for` on plain rows, so one request and a batch of
    requests (the lean vote path) choose alike. `priorities` is only called when no seed is
    left, since reading the snapshot is the expensive part."""
    if not candidates:
        return None
    seeds = [sid for sid, is_seed, _ in candidates if is_seed]
    if seeds:
        return min(seeds)
    scored = priorities()
    fresh = [(created, sid) for sid, _, created in candidates if sid not in scored]
    if fresh:
        return min(fresh)[1]
    ids = [sid for sid, _, _ in candidates]
    weights = [max(float(scored[sid]), 1e-9) for sid in ids]
    return (rng or random).choices(ids, weights=weights, k=1)[0]


_SERVED_FIELDS = (
    "id",
    "conversation_id",
    "author_id",
    "is_seed",
    "created_at",
    "text",
    "language",
    "moderation",
)


@dataclass(frozen=True)
class _Accepted:
    """A conversation's accepted statements, laid out for choosing fast."""

    by_id: dict[int, Statement]
    seed_ids: list[int]  # ascending: seeds are served in seeding order
    rows: list[tuple[int, int | None, bool, datetime]]  # (id, author id, is_seed, created_at)

    @classmethod
    def of(cls, statements: list[Statement]) -> _Accepted:
        return cls(
            by_id={s.pk: s for s in statements},
            seed_ids=sorted(s.pk for s in statements if s.is_seed),
            rows=[(s.pk, s.author_id, s.is_seed, s.created_at) for s in statements],
        )


_accepted_cache: dict[int, tuple[tuple, _Accepted]] = {}


_ACCEPTED_VERSION = "COUNT(s.id), SUM(s.id), MAX(s.moderated_at)"


def _accepted_statements(
    conversation_ids: set[int], versions: Mapping[int, tuple] | None = None
) -> dict[int, _Accepted]:
    """Accepted statements per conversation, from a per-process cache that one aggregate query
    validates: accepting, rejecting or seeding changes the count, the id sum or the newest
    moderation time. A batch then reads a few numbers instead of every statement."""
    ids = sorted(conversation_ids)
    if versions is None:
        versions = {
            cid: tuple(version)
            for cid, *version in rawsql.rows(
                f"SELECT s.conversation_id, {_ACCEPTED_VERSION} FROM {rawsql.STATEMENT} s"
                f" WHERE s.moderation = %s AND s.conversation_id IN ({rawsql.placeholders(ids)})"
                " GROUP BY s.conversation_id",
                [ACCEPTED, *ids],
            )
        }
    result: dict[int, _Accepted] = {}
    for cid in ids:
        version = versions.get(cid) or (0, None, None)
        cached = _accepted_cache.get(cid)
        if cached is None or cached[0] != version:
            statements = Statement.objects.filter(conversation_id=cid, moderation=ACCEPTED)
            accepted = _Accepted.of(list(statements.only(*_SERVED_FIELDS).order_by("id")))
            cached = _accepted_cache[cid] = (version, accepted)
        result[cid] = cached[1]
    return result


def statements_next_batch(
    participants: Sequence[tuple[int, int]],
    *,
    versions: Mapping[int, tuple] | None = None,
    rng: random.Random | None = None,
) -> list[Statement | None]:
    """`statement_next_for` for many (participant id, conversation id) pairs in two or three
    queries instead of three or four per participant: under a voting burst this is most of the
    read traffic. `versions` (from `conversations_by_slug`) spares one of them. The statements
    returned are shared by a cache: read them, do not change them."""
    if not participants:
        return []
    accepted = _accepted_statements({c for _, c in participants}, versions)
    pids = sorted({p for p, _ in participants})
    voted: dict[int, set[int]] = defaultdict(set)
    for pid, sid in rawsql.rows(
        f"SELECT participant_id, statement_id FROM {rawsql.VOTE}"
        f" WHERE participant_id IN ({rawsql.placeholders(pids)})",
        pids,
    ):
        voted[pid].add(sid)
    priorities = functools.cache(_snapshot_priorities)  # per batch and conversation, if needed
    chosen: list[Statement | None] = []
    for pid, cid in participants:
        conversation, seen = accepted[cid], voted[pid]
        sid = next(  # statement_choose's first rule, without listing every candidate
            (
                s
                for s in conversation.seed_ids
                if s not in seen and conversation.by_id[s].author_id != pid
            ),
            None,
        )
        if sid is None:
            rows = [
                (s, is_seed, created)
                for s, author, is_seed, created in conversation.rows
                if s not in seen and author != pid
            ]
            sid = statement_choose(rows, functools.partial(priorities, cid), rng=rng)
        chosen.append(None if sid is None else conversation.by_id[sid])
    return chosen


@dataclass(frozen=True)
class ConversationState:
    id: int
    is_open: bool
    statements_version: tuple  # of its accepted statements, as `_accepted_statements` checks


def conversations_by_slug(slugs: set[str]) -> dict[str, ConversationState]:
    """The conversations with these slugs, and the version of their accepted statements."""
    ordered = sorted(slugs)
    rows = rawsql.rows(
        f"SELECT c.slug, c.id, c.is_open, {_ACCEPTED_VERSION} FROM {rawsql.CONVERSATION} c"
        f" LEFT JOIN {rawsql.STATEMENT} s ON s.conversation_id = c.id AND s.moderation = %s"
        f" WHERE c.slug IN ({rawsql.placeholders(ordered)}) GROUP BY c.slug, c.id, c.is_open",
        [ACCEPTED, *ordered],
    )
    return {
        slug: ConversationState(pk, bool(is_open), tuple(version))
        for slug, pk, is_open, *version in rows
    }


def participants_existing(pairs: Sequence[tuple[Any, int]]) -> set[tuple[int, int]]:
    """The (participant id, conversation id) pairs that name a real participant."""
    wanted = {(p, c) for p, c in pairs if isinstance(p, int) and not isinstance(p, bool)}
    if not wanted:
        return set()
    ids = sorted({p for p, _ in wanted})
    rows = rawsql.rows(
        f"SELECT id, conversation_id FROM {rawsql.PARTICIPANT}"
        f" WHERE id IN ({rawsql.placeholders(ids)})",
        ids,
    )
    return {(p, c) for p, c in rows} & wanted


def participant_progress(participant: Participant) -> dict[str, int]:
    """ "12 of 40": votes cast over statements this participant can vote on."""
    voted = Vote.objects.filter(participant=participant, statement__moderation=ACCEPTED).count()
    remaining = statements_unvoted_for(participant).count()
    return {"voted": voted, "total": voted + remaining, "remaining": remaining}


def conversation_stats(*, conversation: Conversation) -> dict[str, int | float]:
    """Live participation figures for the moderator console."""
    votes = Vote.objects.filter(statement__conversation=conversation)
    minute_ago = timezone.now() - timedelta(minutes=1)
    by_state = dict(
        Statement.objects.filter(conversation=conversation)
        .values_list("moderation")
        .annotate(n=Count("id"))
        .values_list("moderation", "n")
    )
    return {
        "participants": Participant.objects.filter(conversation=conversation).count(),
        "voters": votes.values("participant_id").distinct().count(),
        "votes": votes.count(),
        "votes_last_minute": votes.filter(updated_at__gte=minute_ago).count(),
        "statements_accepted": by_state.get(ACCEPTED, 0),
        "statements_pending": by_state.get(Statement.Moderation.PENDING, 0),
        "statements_rejected": by_state.get(Statement.Moderation.REJECTED, 0),
    }


def jobs_visible_to(user: object) -> QuerySet[Job]:
    """Researchers and admins see every job; moderators those of their conversations."""
    jobs = Job.objects.select_related("conversation")
    if roles.is_researcher(user):
        return jobs
    if getattr(user, "is_authenticated", False):
        return jobs.filter(conversation__moderators=user)
    return jobs.none()
