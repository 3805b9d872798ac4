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
from django.conf.locale import LANG_INFO
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from deliberation import hooks
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
_QUESTION_KEY_MAX: int = DemographicAnswer._meta.get_field("question").max_length or 0
_ANSWER_MAX: int = DemographicAnswer._meta.get_field("answer").max_length or 0
_CONVERSATION_FIELDS = {
    "topic",
    "description",
    "languages",
    "is_open",
    "participant_statements_allowed",
    "strict_moderation",
    "demographic_questions",
    "erased_statements",
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
        raise ApplicationError(_("Statement text must be a string."))
    display = unicodedata.normalize("NFC", text).strip()
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in display):
        # NUL cannot even be stored by PostgreSQL; escapes and bells have no place in a statement.
        raise ApplicationError(_("Statement text contains control characters."))
    visible = "".join(ch for ch in display if unicodedata.category(ch) != "Cf")
    key = " ".join(unicodedata.normalize("NFKC", visible).casefold().split())
    if not key:
        raise ApplicationError(_("Statement text is empty."), code="empty")
    limit = settings.CONCORD_STATEMENT_MAX_LENGTH
    if len(display) > limit:
        raise ApplicationError(
            _("Statement is %(n)d characters long; the limit is %(limit)d.")
            % {"n": len(display), "limit": limit},
            extra={"max_length": limit},
            code="too_long",
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
            _("This statement duplicates an existing one."), extra={"statement_id": existing.pk}
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
        raise ConversationClosedError(_("This conversation is closed."))
    if not conversation.participant_statements_allowed:
        raise PermissionDeniedError(_("This conversation does not accept participant statements."))
    display, key = statement_normalize(text)
    cap = settings.CONCORD_MAX_STATEMENTS_PER_PARTICIPANT
    if Statement.objects.filter(author=participant).count() >= cap:
        raise ApplicationError(
            _("You have reached the limit of %(cap)d statements.") % {"cap": cap}
        )
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


_MODERATION_STATES = (
    Statement.Moderation.PENDING,
    Statement.Moderation.ACCEPTED,
    Statement.Moderation.REJECTED,
)
STATEMENT_BULK_MAX = 500


def _moderation_reason_check(previous: str, state: str, reason: str) -> None:
    """A rejection says why, and so does overturning an earlier decision (it is audited)."""
    if state == Statement.Moderation.REJECTED and not reason:
        raise ApplicationError(_("A rejection needs a reason."), code="reason_needed")
    overturns = previous != Statement.Moderation.PENDING and previous != state
    if overturns and not reason:
        raise ApplicationError(
            _("Changing an earlier decision needs a reason."), code="reason_needed"
        )


@transaction.atomic
def statement_moderate(
    *, statement: Statement, state: str, reason: str = "", user: Any = None
) -> Statement:
    """Set a statement's moderation state: accept, reject, or return it to the queue.

    Any decision can be corrected (a wrongly accepted abusive statement must be removable);
    each change is audited with the state it replaced, pushed live, and asks for a recompute
    when the statement enters or leaves the vote matrix.
    """
    if state not in _MODERATION_STATES:
        raise ApplicationError(
            f"Moderation state must be one of {sorted(_MODERATION_STATES)}, got {state!r}."
        )
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    previous, reason = statement.moderation, reason.strip()[:500]
    _moderation_reason_check(previous, state, reason)
    statement.moderation = state
    statement.moderation_reason = reason
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
        details={"reason": reason, "from": previous},
    )
    _broadcast_statement(statement)
    if Statement.Moderation.ACCEPTED in (previous, state) and previous != state:
        _request_recompute(statement.conversation_id)
    return statement


@transaction.atomic
def statements_moderate(
    *,
    conversation: Conversation,
    statement_ids: Sequence[int],
    state: str,
    reason: str = "",
    user: Any = None,
) -> list[Statement]:
    """Moderate several statements of one conversation at once: all or none."""
    ids = list(dict.fromkeys(statement_ids))
    if not ids or len(ids) > STATEMENT_BULK_MAX:
        raise ApplicationError(f"Choose between 1 and {STATEMENT_BULK_MAX} statements.")
    statements = {s.pk: s for s in conversation.statements.filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in statements]
    if missing:
        raise NotFoundError("No such statements here.", extra={"statement_ids": missing})
    return [
        statement_moderate(statement=statements[pk], state=state, reason=reason, user=user)
        for pk in ids
    ]


@dataclass(frozen=True)
class SeedLine:
    """What became of one line of a bulk paste or seed file (1-based line number)."""

    line: int
    text: str
    statement_id: int | None = None
    message: str = ""
    code: str = ""
    extra: dict[str, Any] | None = None

    @property
    def added(self) -> bool:
        return self.statement_id is not None


def statements_seed(
    *, conversation: Conversation, texts: Sequence[str], language: str = "", user: Any = None
) -> list[SeedLine]:
    """Seed many statements in order, each on its own: one refused line refuses only itself.

    Each line commits by itself (statement_seed is its own transaction), so the report says
    exactly which lines were added and a page can keep only the others for a second try.
    """
    if len(texts) > STATEMENT_BULK_MAX:
        raise ApplicationError(f"At most {STATEMENT_BULK_MAX} statements at once.")
    report = []
    for number, text in enumerate(texts, start=1):
        try:
            statement = statement_seed(
                conversation=conversation, text=text, language=language, user=user
            )
        except ApplicationError as error:
            report.append(SeedLine(number, text, None, error.message, error.code, error.extra))
        else:
            report.append(SeedLine(number, text, statement.pk))
    return report


# --- conversations --------------------------------------------------------------------------


def _validate_conversation_fields(data: Mapping[str, Any]) -> None:
    unknown = set(data) - _CONVERSATION_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown conversation fields: {sorted(unknown)}.")
    if "topic" in data and not str(data["topic"]).strip():
        raise ApplicationError("A conversation needs a topic.")
    languages = data.get("languages", [])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise ApplicationError(_("languages must be a list of language codes."))
    unknown_codes = [code for code in languages if code.lower() not in LANG_INFO]
    if unknown_codes:
        raise ApplicationError(
            _("Unknown language codes: %(codes)s (use codes such as en, ar, fa, zh-hans).")
            % {"codes": ", ".join(unknown_codes)},
            code="bad_language",
            extra={"codes": unknown_codes},
        )
    _validate_questions(data.get("demographic_questions", []))
    erased = data.get("erased_statements", Conversation.ErasedStatements.DETACH)
    if erased not in Conversation.ErasedStatements.values:
        raise ApplicationError(
            f"erased_statements must be one of {Conversation.ErasedStatements.values}."
        )


def _validate_questions(questions: Any) -> None:
    if not isinstance(questions, list):
        raise ApplicationError("demographic_questions must be a list.")
    for question in questions:
        ok = isinstance(question, dict) and isinstance(question.get("key"), str)
        ok = ok and isinstance(question.get("choices", []), list)
        if not ok:
            raise ApplicationError('Each demographic question needs a "key" and a "choices" list.')
        _validate_question_fits(question["key"], question.get("choices") or [])
        _validate_question_translations(question)


def _validate_question_translations(question: Mapping[str, Any]) -> None:
    """`labels` / `choice_labels`: the question and its choices per language; the stored answer
    stays the untranslated choice, so breakdowns do not split by the language people used."""
    labels = question.get("labels") or {}
    choice_labels = question.get("choice_labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ApplicationError(_('"labels" must map language codes to texts.'))
    if not isinstance(choice_labels, dict):
        raise ApplicationError(_('"choice_labels" must map language codes to lists of texts.'))
    n = len(question.get("choices") or [])
    for code, names in choice_labels.items():
        if not isinstance(names, list) or len(names) != n:
            raise ApplicationError(
                _("The %(code)s choices of %(key)s must be %(n)d texts, one per choice.")
                % {"code": code, "key": question["key"], "n": n}
            )
    unknown = [code for code in [*labels, *choice_labels] if code.lower() not in LANG_INFO]
    if unknown:
        raise ApplicationError(
            _("Unknown language codes: %(codes)s (use codes such as en, ar, fa, zh-hans).")
            % {"codes": ", ".join(unknown)},
            code="bad_language",
        )


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
    *,
    conversation: Conversation,
    user: Any = None,
    external_id: str | None = None,
    language: str = "",
) -> Participant:
    """Join as the signed-in user, as an embedding site's external id, or anonymously.

    Joining twice with the same account or external id returns the same participant.
    `language` (the page's, e.g. "ar") decides which statements this participant sees first.
    """
    language = str(language or "")[:16]
    if getattr(user, "is_authenticated", False):
        participant = _get_or_create_participant(conversation, user=user)
    elif external_id is not None:
        external_id = str(external_id).strip()
        if not external_id or len(external_id) > 200:
            raise ApplicationError("external_id must be 1 to 200 characters.")
        participant = _get_or_create_participant(conversation, external_id=external_id)
    else:
        return Participant.objects.create(conversation=conversation, language=language)
    if language and participant.language != language:
        Participant.objects.filter(pk=participant.pk).update(language=language)
        participant.language = language
    return participant


def participant_token(participant: Participant) -> str:
    """A signed, timestamped token naming the participant and its current token version."""
    payload = {"c": participant.conversation_id, "p": participant.pk}
    if participant.token_version:
        payload["v"] = participant.token_version
    return signing.dumps(payload, salt=_TOKEN_SALT)


def _token_payload(*, conversation_id: int, token: str) -> dict[str, Any]:
    """The token's claims, refused when forged, expired or for another conversation."""
    try:
        data = signing.loads(
            token, salt=_TOKEN_SALT, max_age=settings.CONCORD_PARTICIPANT_TOKEN_TTL
        )
    except signing.SignatureExpired as exc:
        raise PermissionDeniedError("This participant token has expired; join again.") from exc
    except signing.BadSignature as exc:
        raise PermissionDeniedError("Invalid participant token.") from exc
    if not isinstance(data, dict) or data.get("c") != conversation_id:
        raise PermissionDeniedError("This participant token belongs to another conversation.")
    return data


UNKNOWN_PARTICIPANT = "Unknown participant."
REVOKED_TOKEN = "This participant token was revoked; join again."


def participants_from_tokens(
    tokens: Sequence[tuple[int, str]],
) -> list[Participant | ApplicationError]:
    """The participant each (conversation id, token) names, or why not: forged, expired,
    another conversation's, an unknown participant, or revoked since issued. One query for
    the whole list: the batched vote view identifies every voter of a batch at once."""
    claimed: list[tuple[Any, int, int] | ApplicationError] = []
    for conversation_id, token in tokens:
        try:
            data = _token_payload(conversation_id=conversation_id, token=token)
        except ApplicationError as exc:
            claimed.append(exc)
        else:
            claimed.append((data.get("p"), conversation_id, data.get("v", 0)))
    wanted = {c[0] for c in claimed if isinstance(c, tuple) and isinstance(c[0], int)}
    live = {(p.pk, p.conversation_id): p for p in Participant.objects.filter(pk__in=wanted)}
    found: list[Participant | ApplicationError] = []
    for c in claimed:
        if isinstance(c, ApplicationError):
            found.append(c)
            continue
        participant = live.get((c[0], c[1]))
        if participant is None:
            found.append(PermissionDeniedError(UNKNOWN_PARTICIPANT))
        elif participant.token_version != c[2]:
            found.append(PermissionDeniedError(REVOKED_TOKEN))
        else:
            found.append(participant)
    return found


def participant_from_token(*, conversation: Conversation, token: str) -> Participant:
    """The live participant a token names: `participants_from_tokens` for one token."""
    participant = participants_from_tokens([(conversation.pk, token)])[0]
    if isinstance(participant, ApplicationError):
        raise participant
    participant.conversation = conversation
    return participant


@transaction.atomic
def participant_tokens_revoke(*, participant: Participant, user: Any = None) -> Participant:
    """Invalidate every token (and session) issued to this participant so far.

    The participant signs out everywhere, or a moderator (`user`) cuts off a stolen or abusive
    token; a moderator's revocation is in the audit log. Votes already cast stay.
    """
    Participant.objects.filter(pk=participant.pk).update(token_version=F("token_version") + 1)
    participant.refresh_from_db(fields=["token_version"])
    if user is not None and getattr(user, "is_authenticated", False):
        audit_record(
            actor=user,
            conversation=participant.conversation,
            action="participant.tokens_revoke",
            target=f"participant:{participant.pk}",
        )
    return participant


# --- votes ----------------------------------------------------------------------------------


def vote_validate_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in Vote.VALUES:
        raise ApplicationError(
            f"Vote value must be 1 (agree), -1 (disagree) or 0 (pass), got {value!r}."
        )
    return value


def _statement_id_check(statement_id: Any) -> None:
    if isinstance(statement_id, bool) or not isinstance(statement_id, int):
        raise ApplicationError("statement_id must be an integer.")


def _voteable_check(statement_id: int, moderation: str | None) -> None:
    """`moderation` is None when the statement is not in the voter's conversation."""
    if moderation is None:
        raise NotFoundError(f"Statement {statement_id} does not exist in this conversation.")
    if moderation != Statement.Moderation.ACCEPTED:
        raise ConflictError(f"Statement {statement_id} is {moderation}; it takes no votes.")


class _Withdraw:
    """The value of a VoteRequest that takes a vote back (not a JSON value: no client sends it
    by accident; only `vote_withdraw` and `participant_erase` build such requests)."""

    def __repr__(self) -> str:
        return "WITHDRAW"


WITHDRAW = _Withdraw()


@dataclass(frozen=True)
class VoteRequest:
    """One vote as a client asked for it (not yet validated): who, where, on what, which way."""

    participant_id: int
    conversation_id: int
    statement_id: Any
    value: Any


@dataclass(frozen=True)
class VoteCast:
    """An accepted vote: stored once the transaction that cast it has committed."""

    participant_id: int
    statement_id: int
    value: int | None  # None: the vote was withdrawn
    changed: bool


VoteOutcome = VoteCast | ApplicationError


def vote_cast(*, participant: Participant, statement_id: Any, value: Any) -> VoteCast:
    """Record one participant's vote: `votes_cast` with a list of one, raising its error."""
    return _vote_one(VoteRequest(participant.pk, participant.conversation_id, statement_id, value))


def _vote_one(request: VoteRequest) -> VoteCast:
    outcome = votes_cast([request])[0]
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


def votes_cast(requests: Sequence[VoteRequest]) -> list[VoteOutcome]:
    """Cast many votes in one transaction, in arrival order: the only place a vote is written.

    Why a list: under a voting burst one commit per vote is what a database cannot keep up
    with, one commit per batch is (group commit, see `deliberation/vote_batching.py`). Each
    request gets its own outcome: the vote as stored, or the error that refused it. A retried
    identical vote changes nothing and counts once. Outcomes are returned only after the
    commit, so an acknowledged vote is a stored vote. A batch that loses a race on the unique
    key (another process inserting the same first vote) is retried whole, and the second try
    sees the other's row.
    """
    if not requests:
        return []
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _votes_write(requests)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _votes_checked(requests: Sequence[VoteRequest]) -> list[VoteOutcome | None]:
    """The checks that need no vote row, in the order a client hears of them: value, open
    conversation, statement id, statement in this conversation and accepted."""
    open_ids = set(
        Conversation.objects.filter(
            pk__in={r.conversation_id for r in requests}, is_open=True
        ).values_list("pk", flat=True)
    )
    ids = {r.statement_id for r in requests if isinstance(r.statement_id, int)}
    ids = {sid for sid in ids if -(2**63) <= sid < 2**63}  # beyond: no such row, and no bind
    moderation_of = {
        (cid, sid): moderation
        for sid, cid, moderation in Statement.objects.filter(pk__in=ids).values_list(
            "pk", "conversation_id", "moderation"
        )
    }
    checked: list[VoteOutcome | None] = []
    for r in requests:
        try:
            if r.value is not WITHDRAW:
                vote_validate_value(r.value)
            if r.conversation_id not in open_ids:
                raise ConversationClosedError()
            _statement_id_check(r.statement_id)
            moderation = moderation_of.get((r.conversation_id, r.statement_id))
            if r.value is WITHDRAW and moderation is not None:
                pass  # a vote may be taken back whatever became of its statement since
            else:
                _voteable_check(r.statement_id, moderation)
        except ApplicationError as exc:
            checked.append(exc)
        else:
            checked.append(None)
    return checked


def _votes_write(requests: Sequence[VoteRequest]) -> list[VoteOutcome]:
    outcomes = _votes_checked(requests)
    valid = [r for r, o in zip(requests, outcomes, strict=True) if o is None]
    rows = Vote.objects.filter(
        participant_id__in={r.participant_id for r in valid},
        statement_id__in={r.statement_id for r in valid},
    )
    if connection.features.has_select_for_update:
        rows = rows.select_for_update()  # existing votes: a concurrent change waits for ours
    current = {(p, s): v for p, s, v in rows.values_list("participant_id", "statement_id", "value")}
    existed = set(current)
    now = timezone.now()
    final: dict[tuple[int, int], int] = {}
    events: list[VoteEvent] = []
    withdrawn: set[tuple[int, int]] = set()  # stored votes taken back in this batch
    changed_in: dict[int, int] = {}  # conversation id -> a statement whose counts changed
    for i, r in enumerate(requests):
        if outcomes[i] is not None:
            continue
        key = (r.participant_id, r.statement_id)
        if r.value is WITHDRAW:
            changed = current.pop(key, None) is not None
            final.pop(key, None)
            if changed:
                withdrawn.add(key)
                changed_in[r.conversation_id] = r.statement_id
            outcomes[i] = VoteCast(key[0], key[1], None, changed)
            continue
        withdrawn.discard(key)
        changed = current.get(key) != r.value
        if changed:
            current[key] = final[key] = r.value
            events.append(
                VoteEvent(participant_id=key[0], statement_id=key[1], value=r.value, created_at=now)
            )
            changed_in[r.conversation_id] = r.statement_id
        outcomes[i] = VoteCast(key[0], key[1], r.value, changed)
    for p, st in withdrawn & existed:
        Vote.objects.filter(participant_id=p, statement_id=st).delete()
    _votes_store(final, existed, now)
    VoteEvent.objects.bulk_create(events)
    for cid, sid in changed_in.items():
        _broadcast_counts(cid, sid)
        _request_recompute(cid)
    return outcomes  # type: ignore[return-value]  # every slot is filled above


def _votes_store(
    final: Mapping[tuple[int, int], int], existed: set[tuple[int, int]], now: Any
) -> None:
    """New votes as plain inserts (a concurrent first insert raises IntegrityError, and the
    batch is retried), changed ones as one upsert of rows this transaction has locked."""
    new = [
        Vote(participant_id=p, statement_id=s, value=v, created_at=now, updated_at=now)
        for (p, s), v in final.items()
        if (p, s) not in existed
    ]
    changed = [
        Vote(participant_id=p, statement_id=s, value=v, created_at=now, updated_at=now)
        for (p, s), v in final.items()
        if (p, s) in existed
    ]
    Vote.objects.bulk_create(new)
    if changed:
        Vote.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["participant", "statement"],
            update_fields=["value", "updated_at"],
        )


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
    """Tell whoever listens (the consensus side schedules a recompute) once this commits."""
    transaction.on_commit(
        lambda: hooks.votes_changed.send(sender=Vote, conversation_id=conversation_id)
    )


def vote_withdraw(*, participant: Participant, statement_id: Any) -> VoteCast:
    """Take a vote back: through `votes_cast`, the one place votes are written."""
    return _vote_one(
        VoteRequest(participant.pk, participant.conversation_id, statement_id, WITHDRAW)
    )


@transaction.atomic
def participant_erase(*, participant: Participant) -> dict[str, int]:
    """ "Delete my data": votes, vote history, demographics, the participant (and so its token).

    Statements are detached (kept, authorless) or deleted as the conversation's moderators
    chose. The participant row goes, so every later export, the vote matrix and the next
    snapshot (requested here) no longer hold anything of theirs; the token names a
    participant that no longer exists and is refused.
    """
    conversation = participant.conversation
    statements = Statement.objects.filter(author=participant)
    counts = {
        "votes": Vote.objects.filter(participant=participant).count(),
        "demographics": participant.demographic_answers.count(),
        "statements": statements.count(),
    }
    if conversation.erased_statements == Conversation.ErasedStatements.DELETE:
        statements.delete()
    else:
        statements.update(author=None)
    participant.delete()  # cascades to votes, vote events and demographic answers
    audit_record(
        actor=None,
        conversation=conversation,
        action="participant.erase",
        target="participant",  # no id: nothing that could be linked back to the person
        details={"statements_were": conversation.erased_statements, **counts},
    )
    realtime.broadcast(conversation.pk, "moderation", {"erased": True})
    _request_recompute(conversation.pk)
    return counts


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
    deleted, _by_model = DemographicAnswer.objects.filter(participant=participant).delete()
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
