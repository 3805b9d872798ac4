"""HTTP API for deliberation: validate → one service/selector call → serialize.

Participants identify themselves with the token returned by the join endpoint (header
`X-Participant-Token`), with the session the join set, or as the signed-in account.
"""

from __future__ import annotations

from typing import Any, Literal, overload

from django.core.validators import RegexValidator
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deliberation import selectors, services
from deliberation.models import AuditEvent, Conversation, Participant, Statement, Vote
from kernel import roles
from kernel.errors import ConversationClosedError, PermissionDeniedError
from kernel.models import Job
from kernel.ratelimit import client_ip, rate_limit

PARTICIPANT_HEADER = "HTTP_X_PARTICIPANT_TOKEN"


def _session_key(conversation: Conversation) -> str:
    return f"concord.participant.{conversation.pk}"


def _session_version_key(conversation: Conversation) -> str:
    return f"concord.participant.{conversation.pk}.v"


def session_remember(request: Request, participant: Participant) -> None:
    """Keep the participant in the session, with the token version it was issued under."""
    request.session[_session_key(participant.conversation)] = participant.pk
    request.session[_session_version_key(participant.conversation)] = participant.token_version


def _session_participant(request: Request, conversation: Conversation) -> Participant | None:
    """The session's participant, unless its tokens were revoked since the session was made."""
    pid = request.session.get(_session_key(conversation)) if hasattr(request, "session") else None
    if not pid:
        return None
    version = request.session.get(_session_version_key(conversation), 0)
    return Participant.objects.filter(
        pk=pid, conversation=conversation, token_version=version
    ).first()


@overload
def participant_for_request(
    request: Request, conversation: Conversation, *, required: Literal[True] = True
) -> Participant: ...


@overload
def participant_for_request(
    request: Request, conversation: Conversation, *, required: bool
) -> Participant | None: ...


def participant_for_request(
    request: Request, conversation: Conversation, *, required: bool = True
) -> Participant | None:
    """The participant making this request: token header, then session, then account."""
    token = request.META.get(PARTICIPANT_HEADER)
    if token:
        return services.participant_from_token(conversation=conversation, token=token)
    participant = _session_participant(request, conversation)
    if participant is not None and request.method not in SAFE_METHODS:
        # An anonymous participant's session is as good as a login: another site must not
        # be able to vote with it (DRF only checks CSRF for authenticated users itself).
        SessionAuthentication().enforce_csrf(request)
    if participant is None and request.user.is_authenticated:
        participant = Participant.objects.filter(
            conversation=conversation, user=request.user
        ).first()
    if participant is None and required:
        raise PermissionDeniedError(_("Join the conversation first (POST .../participants/)."))
    if participant is not None:
        participant.conversation = conversation  # already loaded: spare the services a query
    return participant


def conversation_or_404(slug: str) -> Conversation:
    return get_object_or_404(Conversation, slug=slug)


def _require_moderator(request: Request, conversation: Conversation) -> None:
    if not roles.is_moderator(request.user, conversation):
        raise PermissionDeniedError("Only this conversation's moderators may do this.")


def require_reader(request: Request, conversation: Conversation) -> None:
    if not roles.can_read_all(request.user, conversation):
        raise PermissionDeniedError(
            "Only this conversation's moderators, researchers and admins may do this."
        )


# --- serializers ----------------------------------------------------------------------------


class ConversationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Conversation
        fields = [
            "slug",
            "topic",
            "description",
            "languages",
            "is_open",
            "participant_statements_allowed",
            "strict_moderation",
            "demographic_questions",
            "erased_statements",
            "created_at",
        ]
        read_only_fields = ["created_at"]


# Blank and whitespace-only text is refused; the schema says so (`pattern: \S`), so a request
# the schema allows is never refused for being blank.
NOT_BLANK = RegexValidator(r"\S", gettext_lazy("This field may not be blank."))


class ConversationUpdateSerializer(serializers.Serializer):
    topic = serializers.CharField(max_length=300, required=False, validators=[NOT_BLANK])
    description = serializers.CharField(allow_blank=True, required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    is_open = serializers.BooleanField(required=False)
    participant_statements_allowed = serializers.BooleanField(required=False)
    strict_moderation = serializers.BooleanField(required=False)
    erased_statements = serializers.ChoiceField(
        choices=Conversation.ErasedStatements.choices, required=False
    )
    demographic_questions = serializers.JSONField(required=False)


class ConversationCreateSerializer(ConversationUpdateSerializer):
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    topic = serializers.CharField(max_length=300, validators=[NOT_BLANK])


class StatementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Statement
        fields = ["id", "text", "language", "is_seed", "moderation", "created_at"]


class StatementDetailSerializer(serializers.ModelSerializer):
    n_agree = serializers.IntegerField(read_only=True)
    n_disagree = serializers.IntegerField(read_only=True)
    n_pass = serializers.IntegerField(read_only=True)
    author_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "text",
            "language",
            "is_seed",
            "moderation",
            "moderation_reason",
            "author_id",
            "created_at",
            "moderated_at",
            "n_agree",
            "n_disagree",
            "n_pass",
        ]


class StatementListItemSerializer(StatementSerializer):
    """The schema of one row of GET statements/ (the view answers with one of the two above).

    Everyone gets StatementSerializer's fields; moderators, researchers and admins also get the
    author and the counts. These extra fields are optional here because anonymous readers and
    participants never receive them (the schema used to promise them to everyone).
    """

    moderation_reason = serializers.CharField(required=False)
    author_id = serializers.IntegerField(required=False, allow_null=True)
    moderated_at = serializers.DateTimeField(required=False, allow_null=True)
    n_agree = serializers.IntegerField(required=False)
    n_disagree = serializers.IntegerField(required=False)
    n_pass = serializers.IntegerField(required=False)

    class Meta(StatementSerializer.Meta):
        fields = StatementDetailSerializer.Meta.fields


class StatementInputSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False, max_length=20000, validators=[NOT_BLANK])
    language = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class ModerateInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["accepted", "rejected", "pending"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BulkModerateInputSerializer(ModerateInputSerializer):
    statement_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class BulkModerateOutputSerializer(serializers.Serializer):
    statements = StatementSerializer(many=True)


class BulkSeedInputSerializer(serializers.Serializer):
    texts = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=20000),
        allow_empty=False,
    )
    language = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class SeedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    text = serializers.CharField()
    added = serializers.BooleanField()
    statement_id = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True)


class BulkSeedOutputSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    refused = serializers.IntegerField()
    lines = SeedLineSerializer(many=True)


class JoinInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=200, required=False)


class ParticipantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField()
    voted = serializers.IntegerField()
    total = serializers.IntegerField()
    demographics_consent = serializers.BooleanField()


class RevokedOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    revoked = serializers.BooleanField()


class VoteInputSerializer(serializers.Serializer):
    statement_id = serializers.JSONField()
    value = serializers.JSONField()


class ProgressSerializer(serializers.Serializer):
    voted = serializers.IntegerField()
    total = serializers.IntegerField()
    remaining = serializers.IntegerField()


class VoteOutputSerializer(serializers.Serializer):
    """The stored vote, and what the voter needs next: one request per vote."""

    statement_id = serializers.IntegerField()
    value = serializers.IntegerField()
    changed = serializers.BooleanField()
    next = StatementSerializer(allow_null=True, help_text="null: nothing left to vote on")
    progress = ProgressSerializer()


def vote_answers(
    casts: list[services.VoteCast], steps: list[selectors.NextStatement]
) -> list[dict[str, Any]]:
    """The answers to votes, whichever view cast them.

    Why a list: a batch's next statements are serialized by one list serializer, which builds
    the serializer's fields once for the batch instead of once per vote (building a
    `ModelSerializer`'s fields was a quarter of a batched vote's CPU)."""
    shown = statements_shown([step.statement for step in steps])
    return [
        {
            "statement_id": cast.statement_id,
            "value": cast.value,
            "changed": cast.changed,
            "next": next_shown,
            "progress": step.progress(),
        }
        for cast, step, next_shown in zip(casts, steps, shown, strict=True)
    ]


def statements_shown(statements: list[Statement | None]) -> list[dict[str, Any] | None]:
    """Statements as a participant sees them, serialized together (one list serializer builds
    the fields once for all of them); None stays None."""
    present = [s for s in statements if s is not None]
    shown = iter(StatementSerializer(present, many=True).data)
    return [None if s is None else next(shown) for s in statements]


class VoteReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vote
        fields = ["id", "participant_id", "statement_id", "value", "created_at", "updated_at"]


class DemographicsInputSerializer(serializers.Serializer):
    consent = serializers.BooleanField()
    answers = serializers.DictField(child=serializers.CharField(max_length=200))


class JobSerializer(serializers.ModelSerializer):
    conversation: serializers.SlugRelatedField[Conversation] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "conversation",
            "status",
            "progress",
            "message",
            "result",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]


# --- conversations --------------------------------------------------------------------------


class ConversationListApi(generics.ListAPIView):
    """Every conversation (public metadata); moderators and admins create them."""

    serializer_class = ConversationSerializer
    queryset = Conversation.objects.all()
    filterset_fields = ["is_open"]

    @extend_schema(request=ConversationCreateSerializer, responses={201: ConversationSerializer})
    def post(self, request: Request) -> Response:
        if not roles.can_create_conversation(request.user):
            raise PermissionDeniedError("Only moderators and admins may create conversations.")
        data = ConversationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_create(user=request.user, **data.validated_data)
        return Response(ConversationSerializer(conversation).data, status=201)


class ConversationDetailApi(APIView):
    @extend_schema(responses=ConversationSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(ConversationSerializer(conversation_or_404(slug)).data)

    @extend_schema(request=ConversationUpdateSerializer, responses=ConversationSerializer)
    def patch(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        _require_moderator(request, conversation)
        data = ConversationUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.conversation_update(
            conversation=conversation, data=data.validated_data, user=request.user
        )
        return Response(ConversationSerializer(conversation).data)


class ConversationStatsApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        require_reader(request, conversation)
        return Response(selectors.conversation_stats(conversation=conversation))


# --- statements -----------------------------------------------------------------------------


class StatementFilter(filters.FilterSet):
    moderation = filters.ChoiceFilter(choices=Statement.Moderation.choices)
    is_seed = filters.BooleanFilter()

    class Meta:
        model = Statement
        fields = ["moderation", "is_seed", "language"]


class StatementListApi(generics.ListAPIView):
    """Accepted statements for everyone; all states (with counts) for moderators/researchers.

    POST adds a statement: a moderator's is an accepted seed, a participant's follows the
    conversation's moderation rule.
    """

    filterset_class = StatementFilter

    def _conversation(self) -> Conversation:
        if not hasattr(self, "_conv"):
            self._conv = conversation_or_404(self.kwargs["slug"])
        return self._conv

    def _privileged(self) -> bool:
        return roles.can_read_all(self.request.user, self._conversation())

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if getattr(self, "swagger_fake_view", False):
            return StatementListItemSerializer
        return StatementDetailSerializer if self._privileged() else StatementSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return Statement.objects.none()
        conversation = self._conversation()
        if self._privileged():
            return selectors.statements_with_counts(conversation=conversation).order_by("id")
        return conversation.statements.filter(moderation=Statement.Moderation.ACCEPTED)

    @extend_schema(request=StatementInputSerializer, responses={201: StatementSerializer})
    def post(self, request: Request, slug: str) -> Response:
        conversation = self._conversation()
        data = StatementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if roles.is_moderator(request.user, conversation):
            statement = services.statement_seed(
                conversation=conversation, user=request.user, **data.validated_data
            )
        else:
            participant = participant_for_request(request, conversation)
            rate_limit("statement_participant", participant.pk)
            rate_limit("statement_ip", client_ip(request.META))
            statement = services.statement_submit(participant=participant, **data.validated_data)
        return Response(StatementSerializer(statement).data, status=201)


class StatementModerateApi(APIView):
    @extend_schema(request=ModerateInputSerializer, responses=StatementSerializer)
    def post(self, request: Request, slug: str, statement_id: int) -> Response:
        conversation = conversation_or_404(slug)
        _require_moderator(request, conversation)
        statement = get_object_or_404(Statement, pk=statement_id, conversation=conversation)
        data = ModerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.statement_moderate(
            statement=statement, user=request.user, **data.validated_data
        )
        return Response(StatementSerializer(statement).data)


class StatementsModerateApi(APIView):
    """Accept, reject or re-queue several statements at once (all or none)."""

    @extend_schema(
        operation_id="statements_moderate_many",
        request=BulkModerateInputSerializer,
        responses=BulkModerateOutputSerializer,
    )
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        _require_moderator(request, conversation)
        data = BulkModerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statements = services.statements_moderate(
            conversation=conversation, user=request.user, **data.validated_data
        )
        return Response({"statements": StatementSerializer(statements, many=True).data})


class StatementsSeedApi(APIView):
    """Seed many statements in order; the answer reports each line (added or why not)."""

    @extend_schema(
        operation_id="statements_seed_many",
        request=BulkSeedInputSerializer,
        responses=BulkSeedOutputSerializer,
    )
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        _require_moderator(request, conversation)
        data = BulkSeedInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lines = services.statements_seed(
            conversation=conversation, user=request.user, **data.validated_data
        )
        rows = [{**vars(line), "added": line.added} for line in lines]
        added = sum(1 for line in lines if line.added)
        body = {"added": added, "refused": len(lines) - added, "lines": rows}
        return Response(BulkSeedOutputSerializer(body).data, status=200)


# --- participants and votes -----------------------------------------------------------------


def _participant_out(participant: Participant) -> dict[str, Any]:
    progress = selectors.participant_progress(participant)
    return {
        "id": participant.pk,
        "token": services.participant_token(participant),
        "voted": progress["voted"],
        "total": progress["total"],
        "demographics_consent": participant.demographics_consent_at is not None,
    }


class JoinApi(APIView):
    """Join a conversation (anonymous unless signed in or given an external id)."""

    @extend_schema(request=JoinInputSerializer, responses={201: ParticipantOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        data = JoinInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        existing = participant_for_request(request, conversation, required=False)
        if existing is None:
            rate_limit("join_ip", client_ip(request.META))
        participant = existing or services.participant_join(
            conversation=conversation,
            user=request.user,
            language=getattr(request, "LANGUAGE_CODE", ""),
            **data.validated_data,
        )
        session_remember(request, participant)
        return Response(_participant_out(participant), status=201)


class SignOutApi(APIView):
    """Sign out everywhere: every token and session of this participant stops working."""

    @extend_schema(request=None, responses={200: RevokedOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        participant = participant_for_request(request, conversation_or_404(slug))
        services.participant_tokens_revoke(participant=participant)
        for key in (
            _session_key(participant.conversation),
            _session_version_key(participant.conversation),
        ):
            request.session.pop(key, None)
        return Response({"id": participant.pk, "revoked": True})


class ParticipantRevokeApi(APIView):
    """A moderator cuts off every token of one participant (stolen or abusive); audited."""

    @extend_schema(request=None, responses={200: RevokedOutputSerializer})
    def post(self, request: Request, slug: str, participant_id: int) -> Response:
        conversation = conversation_or_404(slug)
        _require_moderator(request, conversation)
        participant = get_object_or_404(Participant, pk=participant_id, conversation=conversation)
        services.participant_tokens_revoke(participant=participant, user=request.user)
        return Response({"id": participant.pk, "revoked": True})


class MeApi(APIView):
    """GET: my progress. DELETE: "delete my data" (votes, demographics, token; statements as
    the moderators chose), and the session forgets me."""

    @extend_schema(responses=ParticipantOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        return Response(_participant_out(participant_for_request(request, conversation)))

    @extend_schema(responses={200: dict})
    def delete(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        participant = participant_for_request(request, conversation)
        counts = services.participant_erase(participant=participant)
        if hasattr(request, "session"):
            request.session.pop(_session_key(conversation), None)
            request.session.pop(_session_version_key(conversation), None)
        return Response({"deleted": counts})


class MyVoteSerializer(serializers.Serializer):
    statement_id = serializers.IntegerField()
    text = serializers.CharField()
    language = serializers.CharField(allow_blank=True)
    value = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class MyVotesApi(APIView):
    """The participant's own current votes, newest first, to review, change or withdraw."""

    @extend_schema(responses=MyVoteSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        participant = participant_for_request(request, conversation_or_404(slug))
        votes = selectors.participant_votes(participant=participant)
        return Response({"results": MyVoteSerializer(votes, many=True).data})


class MyVoteWithdrawApi(APIView):
    @extend_schema(responses={200: dict})
    def delete(self, request: Request, slug: str, statement_id: int) -> Response:
        conversation = conversation_or_404(slug)
        participant = participant_for_request(request, conversation)
        cast = services.vote_withdraw(participant=participant, statement_id=statement_id)
        progress = selectors.participant_progress(participant)
        return Response(
            {"statement_id": statement_id, "withdrawn": cast.changed, "progress": progress}
        )


class NextStatementApi(APIView):
    """The next statement for this participant; 204 when there is nothing left to vote on,
    409 when the conversation is closed (it takes no votes, so it serves nothing to vote on)."""

    @extend_schema(responses={200: StatementSerializer, 204: None})
    def get(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        participant = participant_for_request(request, conversation)
        if not conversation.is_open:
            raise ConversationClosedError()
        statement = selectors.statement_next_for(participant)
        if statement is None:
            return Response(status=204)
        return Response(StatementSerializer(statement).data)


class VoteFilter(filters.FilterSet):
    class Meta:
        model = Vote
        fields = ["statement", "participant", "value"]


class VoteListApi(generics.ListAPIView):
    """POST: cast or change a vote. GET (moderators/researchers): every current vote."""

    serializer_class = VoteReadSerializer
    filterset_class = VoteFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return Vote.objects.none()
        conversation = conversation_or_404(self.kwargs["slug"])
        require_reader(self.request, conversation)
        return Vote.objects.filter(statement__conversation=conversation).order_by("id")

    @extend_schema(request=VoteInputSerializer, responses={200: VoteOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        conversation = conversation_or_404(slug)
        participant = participant_for_request(request, conversation)
        rate_limit("vote_participant", participant.pk)
        rate_limit("vote_ip", client_ip(request.META))
        data = VoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cast = services.vote_cast(participant=participant, **data.validated_data)
        step = selectors.statements_next_for([(participant.pk, conversation.pk)])[0]
        return Response(vote_answers([cast], [step])[0])


class DemographicsApi(APIView):
    """PUT answers with explicit consent; DELETE revokes consent and deletes every answer."""

    @extend_schema(request=DemographicsInputSerializer, responses={200: dict})
    def put(self, request: Request, slug: str) -> Response:
        participant = participant_for_request(request, conversation_or_404(slug))
        data = DemographicsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rows = services.demographics_set(participant=participant, **data.validated_data)
        return Response({"consent": True, "answers": {r.question: r.answer for r in rows}})

    @extend_schema(responses={200: dict})
    def delete(self, request: Request, slug: str) -> Response:
        participant = participant_for_request(request, conversation_or_404(slug))
        deleted = services.demographics_revoke(participant=participant)
        return Response({"consent": False, "deleted": deleted})


# --- audit log ------------------------------------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    # null once the acting account is deleted, or for actions no account took
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEvent
        fields = ["id", "actor", "action", "target", "details", "created_at"]


class AuditLogApi(generics.ListAPIView):
    """Moderator actions on a conversation (moderators, researchers, admins)."""

    serializer_class = AuditEventSerializer
    filterset_fields = ["action"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        conversation = conversation_or_404(self.kwargs["slug"])
        require_reader(self.request, conversation)
        return conversation.audit_events.select_related("actor")


# --- jobs -----------------------------------------------------------------------------------


class JobListApi(generics.ListAPIView):
    serializer_class = JobSerializer
    filterset_fields = ["status", "kind"]

    @extend_schema(parameters=[OpenApiParameter("conversation", str, description="slug")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        visible = selectors.jobs_visible_to(self.request.user)
        slug = self.request.query_params.get("conversation")
        return visible.filter(conversation__slug=slug) if slug else visible


class JobDetailApi(generics.RetrieveAPIView):
    serializer_class = JobSerializer
    lookup_url_kwarg = "job_id"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.jobs_visible_to(self.request.user)
