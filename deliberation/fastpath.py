"""The lean HTTP path for the two requests a voting crowd sends most: `GET .../next/` and
`POST .../votes/` from a participant who identifies by token.

Why it exists: through Django's ASGI handler, the middleware stack, DRF and the ORM, one vote
costs about 7 ms of CPU and one commit, which caps a 2-core server far below a live assembly's
vote rate (README, "Under load"). Here a small ASGI app parses those two requests, and one
thread per kind does the database work for every request that arrived while the previous batch
ran: all pending votes in one transaction (group commit), all pending next-statement reads in
three queries. The rules are not copied: the batch calls `services.votes_cast_batch` and
`selectors.statements_next_batch`, which share their checks with the single-request services
the Django views use, and errors keep the API's one JSON shape.

What this path takes is narrow on purpose. Anything else goes to Django untouched: another URL
or method, a request with cookies (a session brings CSRF, which is Django's to enforce), no
token header, a vote body that is not a JSON object with `statement_id` and `value`, a host
Django would refuse, or plain HTTP when HTTPS is required.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http.request import split_domain_port, validate_host

from deliberation import selectors, services
from kernel.api_errors import application_error_body
from kernel.errors import (
    ApplicationError,
    ConversationClosedError,
    NotFoundError,
    PermissionDeniedError,
)
from kernel.ratelimit import client_ip, rate_limits_hit

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ROUTE = re.compile(r"^/api/v1/conversations/(?P<slug>[-\w]+)/(?P<what>next|votes)/$")
_MAX_BODY = 4096  # a vote is ~40 bytes; anything bigger is Django's to refuse or parse
MAX_BATCH = 256
_TOKEN_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class _Ask:
    """One participant request, as far as the event loop could read it."""

    slug: str
    token: str
    ip: str
    statement_id: Any = None
    value: Any = None


class _Batcher:
    """Runs `handler` on a list of everything submitted while the previous call ran.

    One thread per batcher, so the handler's database connection lives as long as the process;
    `sync_to_async` (rather than a bare thread) lets the handler's broadcasts reach the
    event loop's channel layer.
    """

    def __init__(self, name: str, handler: Callable[[list[_Ask]], list[Any]]) -> None:
        self._run_batch = sync_to_async(
            _closing_on_error(handler),
            thread_sensitive=False,
            executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fastpath-{name}"),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[_Ask, asyncio.Future[Any]]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only a weak one
        self.served = 0  # requests answered, and the largest batch so far: for tests and ops
        self.largest_batch = 0

    async def submit(self, ask: _Ask) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop (tests run one per test)
            self._loop, self._pending, self._wakeup = loop, [], asyncio.Event()
            self._task = loop.create_task(self._drain())
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((ask, future))
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    async def _drain(self) -> None:
        wakeup = self._wakeup
        assert wakeup is not None
        while True:
            await wakeup.wait()
            wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self.served += len(batch)
                self.largest_batch = max(self.largest_batch, len(batch))
                try:
                    results = await self._run_batch([ask for ask, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"{len(results)} answers for {len(batch)} requests")
                except Exception as exc:  # noqa: BLE001 - every waiter must hear of it
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)


def _closing_on_error(handler: Callable[[list[_Ask]], list[Any]]) -> Callable[..., list[Any]]:
    def run(asks: list[_Ask]) -> list[Any]:
        try:
            return handler(asks)
        except Exception:
            logger.exception(
                "lean path: a batch of %d requests failed; all answered 503", len(asks)
            )
            connection.close()  # a broken connection must not poison the next batch
            _forget_caches()
            raise

    return run


# --- the batch handlers (run in the batcher's thread) ---------------------------------------

# Two batch threads (votes, next) share these caches, and a failed batch clears them: one lock.
_cache_lock = threading.Lock()
_claims: OrderedDict[tuple[int, str], Any] = OrderedDict()
_known_participants: set[tuple[int, int]] = set()  # participants are never deleted in use


def _participant_claim(conversation_id: int, token: str) -> Any:
    """Token → participant id, memoised: checking the signature is most of a vote's CPU here."""
    key = (conversation_id, token)
    with _cache_lock:
        if key in _claims:
            _claims.move_to_end(key)
            return _claims[key]
    pid = services.participant_token_claim(conversation_id=conversation_id, token=token)
    with _cache_lock:
        _claims[key] = pid
        if len(_claims) > _TOKEN_CACHE_SIZE:
            _claims.popitem(last=False)
    return pid


def _forget_caches() -> None:
    """After a failed batch nothing cached is trusted (an admin may have deleted a participant)."""
    with _cache_lock:
        _claims.clear()
        _known_participants.clear()


def _identify(
    asks: Sequence[_Ask],
) -> tuple[list[tuple[int, int, bool] | ApplicationError], dict[int, tuple]]:
    """(participant id, conversation id, is_open) per request, or the error the view raises
    first: unknown conversation, then a bad token, then an unknown participant; and the
    version of each conversation's accepted statements."""
    conversations = selectors.conversations_by_slug({a.slug for a in asks})
    claimed: list[tuple[int, int, bool] | ApplicationError] = []
    for ask in asks:
        state = conversations.get(ask.slug)
        if state is None:
            claimed.append(NotFoundError("Not found."))
            continue
        try:
            claimed.append((_participant_claim(state.id, ask.token), state.id, state.is_open))
        except ApplicationError as exc:
            claimed.append(exc)
    pairs = {(c[0], c[1]) for c in claimed if not isinstance(c, ApplicationError)}
    with _cache_lock:
        known = pairs & _known_participants
    if pairs - known:
        found = selectors.participants_existing(list(pairs - known))
        known |= found
        with _cache_lock:
            if len(_known_participants) > _TOKEN_CACHE_SIZE:
                _known_participants.clear()
            _known_participants.update(found)
    who = [
        c
        if isinstance(c, ApplicationError) or (c[0], c[1]) in known
        else PermissionDeniedError(services.UNKNOWN_PARTICIPANT)
        for c in claimed
    ]
    return who, {state.id: state.statements_version for state in conversations.values()}


def votes_handle(asks: list[_Ask]) -> list[Any]:
    who, _ = _identify(asks)
    hits: list[tuple[str, Any]] = []
    for ask, w in zip(asks, who, strict=True):
        ok = not isinstance(w, ApplicationError)
        hits += [("vote_participant", w[0] if ok else None), ("vote_ip", ask.ip if ok else None)]
    limited = rate_limits_hit(hits)
    outcomes: list[Any] = []
    requests: list[services.VoteRequest] = []
    for i, (ask, w) in enumerate(zip(asks, who, strict=True)):
        error = w if isinstance(w, ApplicationError) else limited[2 * i] or limited[2 * i + 1]
        if error is not None:
            outcomes.append(error)
            continue
        outcomes.append(len(requests))
        requests.append(services.VoteRequest(w[0], w[1], ask.statement_id, ask.value))
    cast = services.votes_cast_batch(requests) if requests else []
    return [cast[o] if isinstance(o, int) else o for o in outcomes]


def next_handle(asks: list[_Ask]) -> list[Any]:
    who, versions = _identify(asks)
    wanted = [
        (w[0], w[1]) for w in who if not isinstance(w, ApplicationError) and w[2]
    ]  # open conversations only: a closed one serves nothing to vote on
    statements = iter(selectors.statements_next_batch(wanted, versions=versions))
    outcomes: list[Any] = []
    for w in who:
        if isinstance(w, ApplicationError):
            outcomes.append(w)
        elif not w[2]:
            outcomes.append(ConversationClosedError())
        else:
            statement = next(statements)
            outcomes.append(None if statement is None else _statement_json(statement))
    return outcomes


_statement_serializer: Any = None


def _statement_json(statement: Any) -> dict[str, Any]:
    """The API's own shape, field for field. One serializer serves every statement: building
    a ModelSerializer's fields costs more than the rest of a next-statement request."""
    global _statement_serializer
    if _statement_serializer is None:
        from deliberation.apis import StatementSerializer  # apis imports Django REST views

        _statement_serializer = StatementSerializer()
    return dict(_statement_serializer.to_representation(statement))


_votes = _Batcher("votes", votes_handle)
_next = _Batcher("next", next_handle)


# --- the ASGI side (event loop) -------------------------------------------------------------


@functools.cache
def _security_headers() -> list[tuple[bytes, bytes]]:
    """The headers Django's security and clickjacking middleware put on an API response
    (settings are read once per process, as Django's middleware reads them once too)."""
    headers = [(b"vary", b"Accept")]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        policy = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()
        headers.append((b"cross-origin-opener-policy", policy))
    headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.encode()))
    return headers


def _hsts(scope: Scope) -> list[tuple[bytes, bytes]]:
    if scope.get("scheme") != "https" or not settings.SECURE_HSTS_SECONDS:
        return []
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return [(b"strict-transport-security", value.encode())]


def _json(body: Any) -> bytes:
    """Byte for byte what DRF's JSONRenderer writes for these plain bodies, at a third the cost."""
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


async def _respond(
    send: Send, scope: Scope, status: int, body: Any, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    payload = b"" if body is None else _json(body)
    headers = _security_headers() + _hsts(scope) + list(extra)
    if body is not None:
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _respond_outcome(send: Send, scope: Scope, outcome: Any) -> None:
    if isinstance(outcome, ApplicationError):
        extra: list[tuple[bytes, bytes]] = []
        if hasattr(outcome, "retry_after"):
            extra.append((b"retry-after", str(outcome.retry_after).encode()))
        await _respond(send, scope, outcome.status, application_error_body(outcome), extra)
    elif isinstance(outcome, Exception):
        body = {"message": "The server could not record this now; try again.", "code": "busy"}
        await _respond(send, scope, 503, {**body, "extra": {}}, [(b"retry-after", b"1")])
    elif outcome is None:
        await _respond(send, scope, 204, None)
    else:
        await _respond(send, scope, 200, outcome)


def _header_map(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


_hosts_checked: dict[bytes, bool] = {}


def _host_allowed(headers: dict[bytes, bytes]) -> bool:
    """Django's ALLOWED_HOSTS check, remembered per Host header (a bounded handful)."""
    host = headers.get(b"host", b"")
    allowed = _hosts_checked.get(host)
    if allowed is None:
        domain, _ = split_domain_port(host.decode("latin-1"))
        allowed = bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
        if len(_hosts_checked) < 1000:
            _hosts_checked[host] = allowed
    return allowed


def _client_ip(scope: Scope, headers: dict[bytes, bytes]) -> str:
    """`ratelimit.client_ip`, fed the two META entries it reads."""
    client = scope.get("client")
    meta = {
        "HTTP_X_FORWARDED_FOR": headers.get(b"x-forwarded-for", b"").decode("latin-1"),
        "REMOTE_ADDR": client[0] if client else "",
    }
    return client_ip(meta)


async def _read_body(receive: Receive) -> tuple[bytes | None, list[dict[str, Any]]]:
    """The body (None once it outgrows a vote: Django reads the rest, under its own limits),
    and the messages read so far, to replay them to Django."""
    chunks, messages, size, more = [], [], 0, True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > _MAX_BODY:
            return None, messages
        more = message.get("more_body", False)
    return b"".join(chunks), messages


def _replaying(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> dict[str, Any]:
        return pending.pop(0) if pending else await receive()

    return replay


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # DRF's parser refuses NaN and Infinity too


def _vote_fields(body: bytes) -> tuple[Any, Any] | None:
    try:
        data = json.loads(body, parse_constant=_not_json)
    except ValueError:
        return None
    if not isinstance(data, dict) or "statement_id" not in data or "value" not in data:
        return None
    return data["statement_id"], data["value"]


def lean_participant_path(django_app: ASGIApp) -> ASGIApp:
    """Wrap the Django ASGI app: serve the two hot participant requests here, pass the rest."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not getattr(settings, "CONCORD_LEAN_VOTE_PATH", True):
            return await django_app(scope, receive, send)
        route = _ROUTE.match(scope.get("path", ""))
        method = scope.get("method")
        if route is None or (method, route["what"]) not in {("GET", "next"), ("POST", "votes")}:
            return await django_app(scope, receive, send)
        headers = _header_map(scope)
        token = headers.get(b"x-participant-token", b"").decode("latin-1")
        if (
            not token
            or b"cookie" in headers
            or not _host_allowed(headers)
            or (settings.SECURE_SSL_REDIRECT and scope.get("scheme") != "https")
        ):
            return await django_app(scope, receive, send)
        ask = _Ask(slug=route["slug"], token=token, ip=_client_ip(scope, headers))
        if method == "GET":
            return await _respond_outcome(send, scope, await _next.submit(ask))
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip()
        body, messages = await _read_body(receive)
        fields = (
            _vote_fields(body) if content_type == b"application/json" and body is not None else None
        )
        if fields is None:  # Django parses it and says what is wrong
            return await django_app(scope, _replaying(messages, receive), send)
        vote = _Ask(ask.slug, ask.token, ask.ip, statement_id=fields[0], value=fields[1])
        return await _respond_outcome(send, scope, await _votes.submit(vote))

    return app
