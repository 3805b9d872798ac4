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

from deliberation.hooks import statement_priorities
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


@dataclass(frozen=True)
class NextStatement:
    """What a participant sees after a vote: the statement to show and "12 of 40"."""

    statement: Statement | None
    voted: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.voted

    def progress(self) -> dict[str, int]:
        return {"voted": self.voted, "total": self.total, "remaining": self.remaining}


def statement_next_for(
    participant: Participant,
    *,
    priorities: Mapping[int, float] | None = None,
    rng: random.Random | None = None,
) -> Statement | None:
    """`statements_next_for` for one participant."""
    pair = (participant.pk, participant.conversation_id)
    return statements_next_for([pair], priorities=priorities, rng=rng)[0].statement


def participant_progress(participant: Participant) -> dict[str, int]:
    """ "12 of 40": votes cast over statements this participant can vote on."""
    pair = (participant.pk, participant.conversation_id)
    return statements_next_for([pair], priorities={})[0].progress()


def statements_next_for(
    participants: Sequence[tuple[int, int]],
    *,
    priorities: Mapping[int, float] | None = None,
    rng: random.Random | None = None,
) -> list[NextStatement]:
    """The next statement and the progress of each (participant id, conversation id), in three
    queries whatever the number of participants: under a voting burst this is most of the
    read traffic, and the vote's own answer carries it.

    Statements in the participant's own language (the page's, when they joined) come first,
    while there are any; within them, and then among the rest, the order is: seeds (in
    seeding order), then fresh statements the latest consensus snapshot has not scored yet
    (oldest first, so new statements collect votes quickly), then a weighted
    random draw by the snapshot's priority (statements that separate or unite groups, and
    those with few votes, weigh more) — the shape of Polis' `selectProbabilistically`.
    """
    if not participants:
        return []
    accepted: dict[int, list[Candidate]] = defaultdict(list)
    authors: dict[int, int | None] = {}
    spoken: dict[int, str] = {}  # statement id -> primary language subtag ("" unknown)
    rows = Statement.objects.filter(
        conversation_id__in={c for _, c in participants}, moderation=ACCEPTED
    ).values_list("id", "conversation_id", "author_id", "is_seed", "created_at", "language")
    for sid, cid, author, is_seed, created, language in rows.order_by("id"):
        accepted[cid].append((sid, is_seed, created))
        authors[sid] = author
        spoken[sid] = _primary(language)
    languages = dict(
        Participant.objects.filter(pk__in={p for p, _ in participants}).values_list(
            "pk", "language"
        )
    )
    voted: dict[int, set[int]] = defaultdict(set)
    votes = Vote.objects.filter(participant_id__in={p for p, _ in participants})
    for pid, sid in votes.values_list("participant_id", "statement_id"):
        voted[pid].add(sid)
    scores = functools.cache(
        (lambda _cid: priorities) if priorities is not None else statement_priorities
    )
    chosen: list[tuple[int | None, int, int]] = []
    for pid, cid in participants:
        seen = voted[pid]
        open_ = [c for c in accepted[cid] if c[0] not in seen and authors[c[0]] != pid]
        n_voted = sum(1 for c in accepted[cid] if c[0] in seen)
        mine = _primary(languages.get(pid, ""))
        in_mine = [c for c in open_ if mine and spoken[c[0]] == mine]
        pick = statement_choose(in_mine or open_, functools.partial(scores, cid), rng=rng)
        chosen.append((pick, n_voted, n_voted + len(open_)))
    statements = Statement.objects.in_bulk([sid for sid, _, _ in chosen if sid is not None])
    return [
        NextStatement(None if sid is None else statements[sid], n_voted, total)
        for sid, n_voted, total in chosen
    ]


Candidate = tuple[int, bool, datetime]  # (statement id, is_seed, created_at)


def _primary(language: str | None) -> str:
    """ "zh-Hans" and "zh" are one language for routing; "" means unknown."""
    return (language or "").split("-")[0].split("_")[0].lower()


def statement_choose(
    candidates: Sequence[Candidate],
    priorities: Callable[[], Mapping[int, float]],
    *,
    rng: random.Random | None = None,
) -> int | None:
    """The routing rule on plain rows. `priorities` is only called when no seed is left, since
    reading the snapshot is the expensive part."""
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


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    """Researchers and admins see every job; moderators those of their conversations."""
    jobs = Job.objects.select_related("conversation")
    if roles.is_researcher(user):
        return jobs
    if getattr(user, "is_authenticated", False):
        return jobs.filter(conversation__moderators=user)
    return jobs.none()


def participant_votes(*, participant: Participant) -> list[dict[str, Any]]:
    """A participant's current votes with the statements' texts, newest first ("my votes")."""
    rows = (
        Vote.objects.filter(participant=participant)
        .order_by("-updated_at", "-id")
        .values("statement_id", "statement__text", "statement__language", "value", "updated_at")
    )
    return [
        {
            "statement_id": row["statement_id"],
            "text": row["statement__text"],
            "language": row["statement__language"],
            "value": row["value"],
            "updated_at": row["updated_at"],
        }
        for row in rows
    ]
