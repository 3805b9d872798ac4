"""`POST .../votes/` and `GET .../next/` for a voting crowd: plain async Django views that
batch votes (group commit) and next-statement reads.

Why: through DRF and one commit per vote, a 2-core server answers far fewer votes than a live
assembly casts (README, "Under load"). These views sit behind Django's whole middleware stack
(hosts, HTTPS, security headers, sessions, error pages all stay Django's), parse the request,
and hand it to a `GroupCommit`: every vote that arrives while one batch commits is cast in the
next batch by the one vote service, `services.votes_cast`, and each answer carries the voter's
next statement and progress, so a voter needs one request per vote. Reads of a first statement
(a room opening the page at once) are served the same way by the one selector,
`selectors.statements_next_for`.

What they take: a participant token, under ASGI; for votes, a POST with a JSON body; for reads,
a GET. Everything else on these URLs (the researchers' GET of votes, session or account voters,
other content types, WSGI) goes to the DRF views, which call the same service and selector with
a list of one; both answer alike (`tests/deliberation/test_vote_batching.py`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, ResolverMatch, get_urlconf, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from deliberation import apis, selectors, services
from deliberation.models import Conversation
from kernel.api_errors import error_parts
from kernel.errors import ApplicationError, ConversationClosedError, NotFoundError
from kernel.group_commit import GroupCommit
from kernel.ratelimit import client_ip, rate_limits_hit


@dataclass(frozen=True)
class VoteAsk:
    """One vote request as the event loop read it; `invalid` is its body's error, if any."""

    slug: str
    token: str
    ip: str
    statement_id: Any = None
    value: Any = None
    invalid: Exception | None = None


def votes_batch(asks: list[VoteAsk]) -> list[dict[str, Any] | Exception]:
    """Identify, limit, cast and route a batch of votes, each check in the DRF view's order:
    unknown conversation, bad token or participant, rate limit, malformed body, vote rules."""
    who = _participants(asks)
    hits: list[tuple[str, Any]] = []
    for ask, w in zip(asks, who, strict=True):
        pid = w.participant_id if isinstance(w, Voter) else None
        hits += [("vote_participant", pid), ("vote_ip", None if pid is None else ask.ip)]
    limited = rate_limits_hit(hits)
    answers: list[Any] = []
    requests: list[services.VoteRequest] = []
    for i, (ask, w) in enumerate(zip(asks, who, strict=True)):
        error: Exception | None = (
            w if isinstance(w, Exception) else limited[2 * i] or limited[2 * i + 1] or ask.invalid
        )
        if error is not None or not isinstance(w, Voter):
            answers.append(error)
            continue
        answers.append(len(requests))
        requests.append(
            services.VoteRequest(w.participant_id, w.conversation_id, ask.statement_id, ask.value)
        )
    cast = services.votes_cast(requests)
    stored = [
        (c, r.conversation_id)
        for c, r in zip(cast, requests, strict=True)
        if isinstance(c, services.VoteCast)
    ]
    steps = selectors.statements_next_for([(c.participant_id, cid) for c, cid in stored])
    shown = iter(apis.vote_answers([c for c, _ in stored], steps))
    results: list[dict[str, Any] | Exception] = []
    for answer in answers:
        outcome = cast[answer] if isinstance(answer, int) else answer
        results.append(outcome if isinstance(outcome, Exception) else next(shown))
    return results


class Voter(NamedTuple):
    participant_id: int
    conversation_id: int
    conversation_open: bool


def _participants(asks: Sequence[VoteAsk | NextAsk]) -> list[Voter | ApplicationError]:
    """Who each ask is, or why not: the conversation, then the token, as
    `participant_for_request` decides for one token."""
    conversations = {
        slug: (pk, is_open)
        for slug, pk, is_open in Conversation.objects.filter(
            slug__in={a.slug for a in asks}
        ).values_list("slug", "pk", "is_open")
    }
    known = [ask for ask in asks if ask.slug in conversations]
    found = iter(
        services.participants_from_tokens([(conversations[a.slug][0], a.token) for a in known])
    )
    who: list[Voter | ApplicationError] = []
    for ask in asks:
        participant = next(found) if ask.slug in conversations else NotFoundError("Not found.")
        if isinstance(participant, ApplicationError):
            who.append(participant)
        else:
            is_open = conversations[ask.slug][1]
            who.append(Voter(participant.pk, participant.conversation_id, is_open))
    return who


@dataclass(frozen=True)
class NextAsk:
    """One participant's `GET .../next/`."""

    slug: str
    token: str


def next_batch(asks: list[NextAsk]) -> list[dict[str, Any] | None | Exception]:
    """The next statement of each participant (None: nothing left), each check in the DRF
    view's order: unknown conversation, bad token or participant, closed conversation.

    Why batched like votes: when a room opens the page at once, every participant asks for a
    first statement together; one selector call serves them all (`statements_next_for`)."""
    answers: list[int | Exception] = []
    pairs: list[tuple[int, int]] = []
    for w in _participants(asks):
        if isinstance(w, Exception):
            answers.append(w)
        elif not w.conversation_open:
            answers.append(ConversationClosedError())
        else:
            answers.append(len(pairs))
            pairs.append((w.participant_id, w.conversation_id))
    steps = selectors.statements_next_for(pairs)
    shown = apis.statements_shown([step.statement for step in steps])
    return [a if isinstance(a, Exception) else shown[a] for a in answers]


_batcher: GroupCommit[VoteAsk, dict[str, Any] | Exception] = GroupCommit("votes", votes_batch)
_next_batcher: GroupCommit[NextAsk, dict[str, Any] | None | Exception] = GroupCommit(
    "next", next_batch
)
_drf_votes = sync_to_async(apis.VoteListApi.as_view())
_drf_next = sync_to_async(apis.NextStatementApi.as_view())


# One instance checks every body, as DRF's own list serializer reuses one child for every item:
# a serializer instance builds (deep-copies) its fields, which cost more than the check itself.
_vote_input = apis.VoteInputSerializer()


def _read(request: HttpRequest, slug: str, token: str) -> VoteAsk:
    ask = VoteAsk(slug=slug, token=token, ip=client_ip(request.META))
    try:
        body = JSONParser().parse(io.BytesIO(request.body), "application/json", {})
        fields = _vote_input.run_validation(body)
    except (ParseError, ValidationError) as exc:
        return VoteAsk(ask.slug, ask.token, ask.ip, invalid=exc)
    return VoteAsk(ask.slug, ask.token, ask.ip, fields["statement_id"], fields["value"])


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(JSONRenderer().render(body), status=status, headers=headers)
    response["Content-Type"] = "application/json"
    # As CommonMiddleware would (the fast lane skips it): no chunked encoding for a small body.
    response["Content-Length"] = str(len(response.content))
    return response


@csrf_exempt  # token voters carry no session; the DRF view checks CSRF for session voters
async def votes_endpoint(request: HttpRequest, slug: str) -> HttpResponse:
    if not _batchable(request, "POST"):
        return await _drf_votes(request, slug=slug)
    token = request.headers["X-Participant-Token"]
    answer = await _batcher.submit(_read(request, slug, token))
    if isinstance(answer, Exception):
        status, body, headers = error_parts(answer)
        return _json(body, status, headers)
    return _json(answer)


async def next_endpoint(request: HttpRequest, slug: str) -> HttpResponse:
    if not _batchable(request, "GET"):
        return await _drf_next(request, slug=slug)
    answer = await _next_batcher.submit(NextAsk(slug, request.headers["X-Participant-Token"]))
    if isinstance(answer, Exception):
        status, body, headers = error_parts(answer)
        return _json(body, status, headers)
    if answer is None:  # as DRF answers an empty 204: no body, so no content type
        response = HttpResponse(status=204)
        del response["Content-Type"]
        response["Content-Length"] = "0"
        return response
    return _json(answer)


# The schema documents these URLs through the DRF views they delegate to (same methods, shapes).
votes_endpoint.cls = apis.VoteListApi  # type: ignore[attr-defined]
votes_endpoint.initkwargs = {}  # type: ignore[attr-defined]
next_endpoint.cls = apis.NextStatementApi  # type: ignore[attr-defined]
next_endpoint.initkwargs = {}  # type: ignore[attr-defined]
_BATCHED = {votes_endpoint: "POST", next_endpoint: "GET"}  # view -> the method it batches


class VoteFastLaneMiddleware:
    """Send token votes and next-statement reads straight to their batched views, past the
    middlewares they do not need.

    Why: Django runs each `MiddlewareMixin` middleware of an async stack through a thread hop
    per call, and a per-request thread for them (asgiref's ThreadSensitiveContext): under a
    voting burst that, not the vote, was most of each request's CPU (README, "Under load").
    A token vote uses no session, cookie, CSRF token, account or message, so it skips
    those middlewares. It still gets every header and check the others give any request:
    Django's own `SecurityMiddleware` (HTTPS redirect, HSTS, nosniff, referrer and opener
    policies), `LocaleMiddleware` (errors in the voter's language) and
    `XFrameOptionsMiddleware`, called inline here because none of them touches the database,
    and Django's host validation (`request.get_host()`). Placed after the kernel's guard and
    CSP middlewares, which are async already, so they apply as to every request.
    """

    sync_capable = True  # under WSGI there is no batching: it passes every request on
    async_capable = True
    INLINE = (SecurityMiddleware, LocaleMiddleware, XFrameOptionsMiddleware)

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.inline = [cls(get_response) for cls in self.INLINE]
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if not iscoroutinefunction(self):
            return self.get_response(request)
        return self._acall(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        match = _batched_route(request)
        if match is None:
            return await self.get_response(request)
        request.get_host()  # Django's ALLOWED_HOSTS check: DisallowedHost becomes its 400
        for middleware in self.inline:
            early = getattr(middleware, "process_request", _nothing)(request)
            if early is not None:
                return early
        response = await match.func(request, match.kwargs["slug"])
        for middleware in reversed(self.inline):  # each returns the response it was given
            response = cast(HttpResponse, middleware.process_response(request, response))
        return response


def _nothing(request: HttpRequest) -> None:
    return None


def _batchable(request: HttpRequest, method: str) -> bool:
    """A token vote with a JSON body (POST) or a token read (GET), under ASGI with batching on.
    Under WSGI (and Django's test client) each request has a thread and a loop of its own:
    nothing to batch with, and the request's own thread must do its database work."""
    return (
        request.method == method
        and bool(request.headers.get("X-Participant-Token"))
        and (method == "GET" or request.content_type == "application/json")
        and isinstance(request, ASGIRequest)
        and _batching_on()
    )


def _batching_on() -> bool:
    """`CONCORD_VOTE_BATCHING=0` sends every vote and read through the DRF views, each in the
    per-request thread Django gives it (to compare, or to rule batching out)."""
    return bool(getattr(settings, "CONCORD_VOTE_BATCHING", True))


def _batched_route(request: HttpRequest) -> ResolverMatch | None:
    """The URLconf's match when this request is for a batched view and batchable there (the
    routes are the URLconf's, not a second copy here)."""
    if request.method not in ("GET", "POST") or not request.headers.get("X-Participant-Token"):
        return None
    match = _batched_match(get_urlconf() or settings.ROOT_URLCONF, request.path_info)
    return match if match is not None and _batchable(request, _BATCHED[match.func]) else None


@functools.lru_cache(maxsize=4096)
def _batched_match(urlconf: Any, path_info: str) -> ResolverMatch | None:
    """Why cached: resolving walks the URLconf pattern by pattern, which cost a token vote more
    than its own view did; a crowd votes on a handful of paths (one per conversation)."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    return match if match.func in _BATCHED else None


class VoteASGIHandler(ASGIHandler):
    """Django's ASGI handler, without a thread of its own for each token vote.

    Why: Django enters asgiref's `ThreadSensitiveContext` for every request, so the sync code a
    request runs (the `request_started`/`request_finished` signals, `response.close()`) gets a
    new thread, started and joined per request. Under a voting crowd that thread's start and
    join were the largest single cost of a vote on the event loop (README, "Under load"). A
    token vote runs no sync code of its own in the request: its database work is the batch
    thread's (`GroupCommit`), which applies Django's connection hygiene around every batch. So
    a token vote is handled by Django's own `handle` (body, signals, request, the whole
    middleware chain, response, disconnects) outside that context, and its few sync calls share
    asgiref's one long-lived sync thread instead. Every other request is Django's as usual.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if _token_vote_scope(scope):
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _token_vote_scope(scope: dict[str, Any]) -> bool:
    """A token vote (POST, JSON) or next-statement read (GET) for a batched view: what
    `_batched_route` will let through, read from the ASGI scope before Django builds a request."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "POST") or not _batching_on():
        return False
    headers = dict(scope["headers"])
    if not headers.get(b"x-participant-token"):
        return False
    json_body = headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/json"
    if scope["method"] == "POST" and not json_body:
        return False
    path, root = scope["path"], scope.get("root_path", "")
    path_info = path.removeprefix(root) if root else path  # below the script prefix, as Django
    match = _batched_match(get_urlconf() or settings.ROOT_URLCONF, path_info)
    return match is not None and _BATCHED[match.func] == scope["method"]
