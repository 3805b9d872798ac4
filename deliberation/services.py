"""Every write to the deliberation data goes through one of these functions.

Views, consumers, management commands and tasks call them and hold no rules of their own, so a
vote cast from the API, a Polis import or a test follows exactly the same path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from deliberation import rawsql
from deliberation.models import (
    AuditEvent,
    Conversation,
    DemographicAnswer,
    Participant,
    Statement,
    Vote,
    VoteEvent,
)
from deliberation.selectors import statement_vote_counts
from kernel import realtime
from kernel.errors import (
    ApplicationError,
    ConflictError,
    ConversationClosedError,
    NotFoundError,
    PermissionDeniedError,
)

_TOKEN_SALT = "concord.participant"
COUNTS_INTERVAL_S = 0.25
_QUESTION_KEY_MAX = DemographicAnswer._meta.get_field("question").max_length
_ANSWER_MAX = DemographicAnswer._meta.get_field("answer").max_length
_CONVERSATION_FIELDS = {
    "topic",
    "description",
    "languages",
    "is_open",
    "participant_statements_allowed",
    "strict_moderation",
    "demographic_questions",
}


# --- audit ---------------------------------------------------------------------------------


def audit_record(
    *,
    actor: Any,
    conversation: Conversation | None,
    action: str,
    target: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append to the moderator-action log (kept even when the acting account is deleted)."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        conversation=conversation,
        action=action,
        target=target[:120],
        details=dict(details or {}),
    )


# --- statements -----------------------------------------------------------------------------


def statement_normalize(text: Any) -> tuple[str, str]:
    """Return (display text, duplicate key).

    The key is NFKC-normalised, case-folded, with invisible format characters (bidi overrides,
    zero-width joiners) removed and whitespace collapsed, so "Ｆairness" and "fairness " and a
    copy padded with U+200B all count as the same statement.
    """
    if not isinstance(text, str):
        raise ApplicationError("Statement text must be a string.")
    display = unicodedata.normalize("NFC", text).strip()
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in display):
        # NUL cannot even be stored by PostgreSQL; escapes and bells have no place in a statement.
        raise ApplicationError("Statement text contains control characters.")
    visible = "".join(ch for ch in display if unicodedata.category(ch) != "Cf")
    key = " ".join(unicodedata.normalize("NFKC", visible).casefold().split())
    if not key:
        raise ApplicationError("Statement text is empty.")
    limit = settings.CONCORD_STATEMENT_MAX_LENGTH
    if len(display) > limit:
        raise ApplicationError(
            f"Statement is {len(display)} characters long; the limit is {limit}.",
            extra={"max_length": limit},
        )
    return display, key


def _statement_insert(**fields: Any) -> Statement:
    try:
        with transaction.atomic():
            return Statement.objects.create(**fields)
    except IntegrityError as exc:
        existing = Statement.objects.filter(
            conversation=fields["conversation"], text_key=fields["text_key"]
        ).first()
        if existing is None:
            raise
        raise ConflictError(
            "This statement duplicates an existing one.", extra={"statement_id": existing.pk}
        ) from exc


def _statement_event(statement: Statement) -> dict[str, Any]:
    return {
        "id": statement.pk,
        "text": statement.text,
        "language": statement.language,
        "is_seed": statement.is_seed,
        "moderation": statement.moderation,
    }


def _broadcast_statement(statement: Statement) -> None:
    if statement.moderation == Statement.Moderation.ACCEPTED:
        realtime.broadcast(statement.conversation_id, "statement", _statement_event(statement))
        return
    # The socket is public: a pending or rejected statement's text must not reach it, just as
    # the HTTP API shows it to moderators only. Moderator consoles re-read the queue over HTTP.
    payload = {"id": statement.pk, "moderation": statement.moderation}
    realtime.broadcast(statement.conversation_id, "moderation", payload)


@transaction.atomic
def statement_seed(
    *, conversation: Conversation, text: str, language: str = "", user: Any = None
) -> Statement:
    """A moderator's seed statement: accepted at once and served first."""
    display, key = statement_normalize(text)
    statement = _statement_insert(
        conversation=conversation,
        text=display,
        text_key=key,
        language=language[:20],
        is_seed=True,
        moderation=Statement.Moderation.ACCEPTED,
        moderated_by=user if getattr(user, "is_authenticated", False) else None,
        moderated_at=timezone.now(),
    )
    audit_record(
        actor=user,
        conversation=conversation,
        action="statement.seed",
        target=f"statement:{statement.pk}",
    )
    _broadcast_statement(statement)
    return statement


@transaction.atomic
def statement_submit(*, participant: Participant, text: str, language: str = "") -> Statement:
    """A participant's own statement; it waits for a moderator when moderation is strict."""
    conversation = participant.conversation
    if not conversation.is_open:
        raise ConversationClosedError("This conversation is closed.")
    if not conversation.participant_statements_allowed:
        raise PermissionDeniedError("This conversation does not accept participant statements.")
    display, key = statement_normalize(text)
    cap = settings.CONCORD_MAX_STATEMENTS_PER_PARTICIPANT
    if Statement.objects.filter(author=participant).count() >= cap:
        raise ApplicationError(f"You have reached the limit of {cap} statements.")
    strict = conversation.strict_moderation
    moderation = Statement.Moderation.PENDING if strict else Statement.Moderation.ACCEPTED
    statement = _statement_insert(
        conversation=conversation,
        text=display,
        text_key=key,
        language=language[:20],
        author=participant,
        moderation=moderation,
    )
    _broadcast_statement(statement)
    return statement


@transaction.atomic
def statement_moderate(
    *, statement: Statement, state: str, reason: str = "", user: Any = None
) -> Statement:
    valid = {Statement.Moderation.ACCEPTED, Statement.Moderation.REJECTED}
    if state not in valid:
        raise ApplicationError(f"Moderation state must be one of {sorted(valid)}, got {state!r}.")
    if state == Statement.Moderation.REJECTED and not reason.strip():
        raise ApplicationError("A rejection needs a reason.")
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    statement.moderation = state
    statement.moderation_reason = reason.strip()[:500]
    statement.moderated_by = user if getattr(user, "is_authenticated", False) else None
    statement.moderated_at = timezone.now()
    statement.save(
        update_fields=[
            "moderation",
            "moderation_reason",
            "moderated_by",
            "moderated_at",
            "updated_at",
        ]
    )
    audit_record(
        actor=user,
        conversation=statement.conversation,
        action=f"statement.{state}",
        target=f"statement:{statement.pk}",
        details={"reason": statement.moderation_reason},
    )
    _broadcast_statement(statement)
    return statement


# --- conversations --------------------------------------------------------------------------


def _validate_conversation_fields(data: Mapping[str, Any]) -> None:
    unknown = set(data) - _CONVERSATION_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown conversation fields: {sorted(unknown)}.")
    if "topic" in data and not str(data["topic"]).strip():
        raise ApplicationError("A conversation needs a topic.")
    languages = data.get("languages", [])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise ApplicationError("languages must be a list of language codes.")
    _validate_questions(data.get("demographic_questions", []))


def _validate_questions(questions: Any) -> None:
    if not isinstance(questions, list):
        raise ApplicationError("demographic_questions must be a list.")
    for question in questions:
        ok = isinstance(question, dict) and isinstance(question.get("key"), str)
        ok = ok and isinstance(question.get("choices", []), list)
        if not ok:
            raise ApplicationError('Each demographic question needs a "key" and a "choices" list.')
        _validate_question_fits(question["key"], question.get("choices") or [])


def _validate_question_fits(key: str, choices: list[Any]) -> None:
    """Answers are stored as (question, answer) rows: both must fit their columns."""
    if not 1 <= len(key) <= _QUESTION_KEY_MAX:
        raise ApplicationError(
            f"A demographic question key must be 1 to {_QUESTION_KEY_MAX} characters: {key!r}."
        )
    if not all(isinstance(c, str) and len(c) <= _ANSWER_MAX for c in choices):
        raise ApplicationError(
            f"The choices of {key!r} must be texts of at most {_ANSWER_MAX} characters."
        )


@transaction.atomic
def conversation_create(*, user: Any, topic: str, slug: str = "", **fields: Any) -> Conversation:
    """Create a conversation; its creator becomes its first moderator."""
    _validate_conversation_fields({"topic": topic, **fields})
    slug = slug or slugify(topic)[:60]
    if not slug or slug != slugify(slug):
        raise ApplicationError("slug must be a non-empty URL slug (letters, digits, hyphens).")
    if Conversation.objects.filter(slug=slug).exists():
        raise ConflictError(f"A conversation with slug {slug!r} already exists.")
    creator = user if getattr(user, "is_authenticated", False) else None
    conversation = Conversation.objects.create(
        slug=slug, topic=topic.strip(), created_by=creator, **fields
    )
    if creator is not None:
        conversation.moderators.add(creator)
    audit_record(actor=user, conversation=conversation, action="conversation.create", target=slug)
    return conversation


@transaction.atomic
def conversation_update(
    *, conversation: Conversation, data: Mapping[str, Any], user: Any = None
) -> Conversation:
    _validate_conversation_fields(data)
    for field, value in data.items():
        setattr(conversation, field, value)
    conversation.save(update_fields=[*data.keys(), "updated_at"])
    audit_record(
        actor=user,
        conversation=conversation,
        action="conversation.update",
        target=conversation.slug,
        details={k: data[k] for k in data if k != "description"},
    )
    realtime.broadcast(conversation.pk, "conversation", {"is_open": conversation.is_open})
    return conversation


# --- participants ---------------------------------------------------------------------------


def _get_or_create_participant(conversation: Conversation, **lookup: Any) -> Participant:
    try:
        with transaction.atomic():
            return Participant.objects.get_or_create(conversation=conversation, **lookup)[0]
    except IntegrityError:
        return Participant.objects.get(conversation=conversation, **lookup)


def participant_join(
    *, conversation: Conversation, user: Any = None, external_id: str | None = None
) -> Participant:
    """Join as the signed-in user, as an embedding site's external id, or anonymously.

    Joining twice with the same account or external id returns the same participant.
    """
    if getattr(user, "is_authenticated", False):
        return _get_or_create_participant(conversation, user=user)
    if external_id is not None:
        external_id = str(external_id).strip()
        if not external_id or len(external_id) > 200:
            raise ApplicationError("external_id must be 1 to 200 characters.")
        return _get_or_create_participant(conversation, external_id=external_id)
    return Participant.objects.create(conversation=conversation)


def participant_token(participant: Participant) -> str:
    return signing.dumps({"c": participant.conversation_id, "p": participant.pk}, salt=_TOKEN_SALT)


def participant_token_claim(*, conversation_id: int, token: str) -> Any:
    """The participant id a token names, checked against the conversation but not the database."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT)
    except signing.BadSignature as exc:
        raise PermissionDeniedError("Invalid participant token.") from exc
    if not isinstance(data, dict) or data.get("c") != conversation_id:
        raise PermissionDeniedError("This participant token belongs to another conversation.")
    return data.get("p")


UNKNOWN_PARTICIPANT = "Unknown participant."


def participant_from_token(*, conversation: Conversation, token: str) -> Participant:
    pid = participant_token_claim(conversation_id=conversation.pk, token=token)
    participant = Participant.objects.filter(pk=pid, conversation=conversation).first()
    if participant is None:
        raise PermissionDeniedError(UNKNOWN_PARTICIPANT)
    participant.conversation = conversation
    return participant


# --- votes ----------------------------------------------------------------------------------


def vote_validate_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in Vote.VALUES:
        raise ApplicationError(
            f"Vote value must be 1 (agree), -1 (disagree) or 0 (pass), got {value!r}."
        )
    return value


def _voteable_statement(conversation: Conversation, statement_id: Any) -> Statement:
    _statement_id_check(statement_id)
    statement = Statement.objects.filter(pk=statement_id, conversation=conversation).first()
    _voteable_check(statement_id, None if statement is None else statement.moderation)
    return statement


def _statement_id_check(statement_id: Any) -> None:
    if isinstance(statement_id, bool) or not isinstance(statement_id, int):
        raise ApplicationError("statement_id must be an integer.")


def _voteable_check(statement_id: int, moderation: str | None) -> None:
    """`moderation` is None when the statement is not in the voter's conversation."""
    if moderation is None:
        raise NotFoundError(f"Statement {statement_id} does not exist in this conversation.")
    if moderation != Statement.Moderation.ACCEPTED:
        raise ConflictError(f"Statement {statement_id} is {moderation}; it takes no votes.")


def _vote_upsert(participant: Participant, statement: Statement, value: int) -> tuple[Vote, bool]:
    """Insert or change the current vote; returns (vote, changed).

    The unique constraint decides races: a concurrent first insert makes ours fail inside the
    savepoint, and we fall back to locking and updating the row the other writer created.
    """
    try:
        with transaction.atomic():
            return Vote.objects.create(
                participant=participant, statement=statement, value=value
            ), True
    except IntegrityError:
        vote = Vote.objects.select_for_update().get(participant=participant, statement=statement)
    if vote.value == value:
        return vote, False
    vote.value = value
    vote.save(update_fields=["value", "updated_at"])
    return vote, True


@transaction.atomic
def vote_cast(*, participant: Participant, statement_id: Any, value: Any) -> tuple[Vote, bool]:
    """Record a participant's vote. A retried identical vote changes nothing and counts once."""
    value = vote_validate_value(value)
    conversation = participant.conversation
    if not conversation.is_open:
        raise ConversationClosedError()
    statement = _voteable_statement(conversation, statement_id)
    vote, changed = _vote_upsert(participant, statement, value)
    if changed:
        VoteEvent.objects.create(
            participant=participant, statement=statement, value=value, created_at=vote.updated_at
        )
        _broadcast_counts(conversation.pk, statement.pk)
        _request_recompute(conversation.pk)
    return vote, changed


@dataclass(frozen=True)
class VoteRequest:
    """One vote of a batch, as the lean vote path received it (not yet validated)."""

    participant_id: int
    conversation_id: int
    statement_id: Any
    value: Any


VoteOutcome = dict[str, Any] | ApplicationError


def votes_cast_batch(requests: Sequence[VoteRequest]) -> list[VoteOutcome]:
    """`vote_cast` for many votes in one transaction, in arrival order.

    Why: under a voting burst one commit per vote is what a database cannot keep up with; one
    commit per batch is (group commit). The rules are `vote_cast`'s, check for check, and every
    outcome — `{"statement_id", "value", "changed"}` or the error `vote_cast` would raise — is
    only returned once the batch has committed, so an acknowledged vote is a stored vote. A
    batch that loses a race on the unique key (two processes inserting the same first vote) is
    retried whole: the second try sees the other's row.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _votes_write(requests)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _votes_write(requests: Sequence[VoteRequest]) -> list[VoteOutcome]:
    conversation_ids = sorted({r.conversation_id for r in requests})
    is_open = {
        cid: bool(flag)
        for cid, flag in rawsql.rows(
            f"SELECT id, is_open FROM {rawsql.CONVERSATION}"
            f" WHERE id IN ({rawsql.placeholders(conversation_ids)})",
            conversation_ids,
        )
    }
    outcomes: list[VoteOutcome | None] = [None] * len(requests)
    valid: list[tuple[int, VoteRequest]] = []
    for i, r in enumerate(requests):
        try:  # vote_cast's checks, in vote_cast's order
            vote_validate_value(r.value)
            if not is_open.get(r.conversation_id, False):
                raise ConversationClosedError()
            _statement_id_check(r.statement_id)
        except ApplicationError as exc:
            outcomes[i] = exc
        else:
            valid.append((i, r))
    if not valid:
        return outcomes  # type: ignore[return-value]
    statement_ids = sorted({r.statement_id for _, r in valid})
    participant_ids = sorted({r.participant_id for _, r in valid})
    moderation_of = {
        (cid, sid): moderation
        for sid, cid, moderation in rawsql.rows(
            f"SELECT id, conversation_id, moderation FROM {rawsql.STATEMENT}"
            f" WHERE id IN ({rawsql.placeholders(statement_ids)})",
            statement_ids,
        )
    }
    current: dict[tuple[int, int], int] = {  # (participant, statement) -> value
        (pid, sid): value
        for pid, sid, value in rawsql.rows(
            f"SELECT participant_id, statement_id, value FROM {rawsql.VOTE}"
            f" WHERE participant_id IN ({rawsql.placeholders(participant_ids)})"
            f" AND statement_id IN ({rawsql.placeholders(statement_ids)}){rawsql.for_update()}",
            [*participant_ids, *statement_ids],
        )
    }
    now = rawsql.timestamp(timezone.now())
    inserts: dict[tuple[int, int], int] = {}
    updates: dict[tuple[int, int], int] = {}
    events: list[tuple[int, int, int, Any]] = []
    changed_in: dict[int, int] = {}  # conversation id -> a statement whose counts changed
    for i, r in valid:
        try:
            _voteable_check(r.statement_id, moderation_of.get((r.conversation_id, r.statement_id)))
        except ApplicationError as exc:
            outcomes[i] = exc
            continue
        key = (r.participant_id, r.statement_id)
        changed = current.get(key) != r.value
        if changed:
            (updates if key in current and key not in inserts else inserts)[key] = r.value
            current[key] = r.value
            events.append((r.participant_id, r.statement_id, r.value, now))
            changed_in[r.conversation_id] = r.statement_id
        outcomes[i] = {"statement_id": r.statement_id, "value": r.value, "changed": changed}
    rawsql.insert_many(
        rawsql.VOTE,
        ["participant_id", "statement_id", "value", "created_at", "updated_at"],
        [(p, s, v, now, now) for (p, s), v in inserts.items()],
    )
    rawsql.execute_many(
        f"UPDATE {rawsql.VOTE} SET value = %s, updated_at = %s"
        " WHERE participant_id = %s AND statement_id = %s",
        [(v, now, p, s) for (p, s), v in updates.items()],
    )
    rawsql.insert_many(
        rawsql.VOTE_EVENT, ["participant_id", "statement_id", "value", "created_at"], events
    )
    for cid, sid in changed_in.items():
        _broadcast_counts(cid, sid)
        _request_recompute(cid)
    return outcomes  # type: ignore[return-value]  # every slot is filled above


def _broadcast_counts(conversation_id: int, statement_id: int) -> None:
    """Push a statement's new counts, at most every COUNTS_INTERVAL_S per conversation and process.

    Under a voting burst one message (and one count query) per vote would flood every listener
    and the database; the consensus snapshot that follows within seconds carries every count.
    """
    if not realtime.throttle_ok(("votes", conversation_id), COUNTS_INTERVAL_S):
        return
    counts = statement_vote_counts(statement_id=statement_id)
    realtime.broadcast(conversation_id, "votes", {"statement_id": statement_id, **counts})


def _request_recompute(conversation_id: int) -> None:
    """Ask for a (debounced) consensus recompute once this transaction commits."""
    from consensus.snapshots.scheduling import recompute_request  # consensus builds on deliberation

    transaction.on_commit(lambda: recompute_request(conversation_id))


# --- demographics ---------------------------------------------------------------------------


def _validate_answers(conversation: Conversation, answers: Mapping[str, Any]) -> None:
    questions = {q["key"]: q for q in conversation.demographic_questions}
    for key, answer in answers.items():
        if key not in questions:
            raise ApplicationError(f"Unknown demographic question {key!r}.")
        choices = questions[key].get("choices") or []
        if not isinstance(answer, str) or (choices and answer not in choices):
            raise ApplicationError(f"Answer to {key!r} must be one of {choices}.")
        if len(answer) > _ANSWER_MAX:
            raise ApplicationError(
                f"Answer to {key!r} is {len(answer)} characters; at most {_ANSWER_MAX} are kept."
            )


@transaction.atomic
def demographics_set(
    *, participant: Participant, answers: Mapping[str, Any], consent: bool
) -> list[DemographicAnswer]:
    """Store answers only with explicit consent; replaces earlier answers."""
    if consent is not True:
        raise ApplicationError("Demographic answers need explicit consent (consent: true).")
    _validate_answers(participant.conversation, answers)
    participant.demographics_consent_at = timezone.now()
    participant.save(update_fields=["demographics_consent_at"])
    DemographicAnswer.objects.filter(participant=participant).delete()
    rows = [
        DemographicAnswer(participant=participant, question=k, answer=v) for k, v in answers.items()
    ]
    return DemographicAnswer.objects.bulk_create(rows)


@transaction.atomic
def demographics_revoke(*, participant: Participant) -> int:
    """Revoking consent deletes every answer; returns how many were deleted."""
    deleted, _ = DemographicAnswer.objects.filter(participant=participant).delete()
    participant.demographics_consent_at = None
    participant.save(update_fields=["demographics_consent_at"])
    if deleted:
        _request_recompute(
            participant.conversation_id
        )  # the next snapshot drops them from breakdowns
    return deleted


@transaction.atomic
def moderators_add(*, conversation: Conversation, users: Iterable[Any], actor: Any = None) -> None:
    users = list(users)
    conversation.moderators.add(*users)
    audit_record(
        actor=actor,
        conversation=conversation,
        action="moderators.add",
        details={"users": [u.username for u in users]},
    )
