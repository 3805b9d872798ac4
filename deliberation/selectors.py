"""Read-side queries over the deliberation data (no writes here)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from deliberation import roles
from deliberation.models import Conversation, Job, Participant, Statement, Vote

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
    from consensus.selectors import snapshot_priorities  # consensus builds on deliberation

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
    candidates = statements_unvoted_for(participant)
    seed = candidates.filter(is_seed=True).order_by("id").first()
    if seed is not None:
        return seed
    if priorities is None:
        priorities = _snapshot_priorities(participant.conversation_id)
    rows = list(candidates.values_list("id", "created_at"))
    if not rows:
        return None
    fresh = [(created, sid) for sid, created in rows if sid not in priorities]
    if fresh:
        return Statement.objects.get(pk=min(fresh)[1])
    ids = [sid for sid, _ in rows]
    weights = [max(float(priorities[sid]), 1e-9) for sid in ids]
    chosen = (rng or random).choices(ids, weights=weights, k=1)[0]
    return Statement.objects.get(pk=chosen)


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
