"""The batched vote view answers exactly as the DRF view does, over real HTTP.

Every case is sent twice, to two conversations set up alike: once with batching on, once with
it off (`CONCORD_VOTE_BATCHING`: every vote through the DRF view). Statuses, bodies (ids mapped
between the two) and the headers a client acts on must be the same.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from deliberation import services, vote_batching
from deliberation.models import Statement, Vote, VoteEvent
from tests.factories import ConversationFactory, ParticipantFactory, StatementFactory
from tests.frontend.harness import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server() -> Iterator[str]:
    from config.asgi import application

    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@dataclass
class World:
    """A conversation with two seeds, a rejected statement and two participants."""

    slug: str
    statements: list[int]  # seed 1, seed 2, rejected
    tokens: list[str]

    @classmethod
    def build(cls, slug: str) -> World:
        conversation = ConversationFactory(slug=slug)
        seeds = [
            services.statement_seed(conversation=conversation, text=f"{slug} seed {i}")
            for i in (1, 2)
        ]
        rejected = StatementFactory(
            conversation=conversation, moderation=Statement.Moderation.REJECTED
        )
        people = [ParticipantFactory(conversation=conversation) for _ in range(2)]
        return cls(
            slug=slug,
            statements=[s.pk for s in seeds] + [rejected.pk],
            tokens=[services.participant_token(p) for p in people],
        )

    def normalise(self, value: object, key: str = "") -> object:
        """The same answer from the other world reads the same: ids by position, no clock."""
        if isinstance(value, dict):
            return {k: self.normalise(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalise(v) for v in value]
        if key == "created_at":
            return "<time>"
        if key in {"id", "statement_id"} and value in self.statements:
            return f"<S{self.statements.index(value)}>"
        if isinstance(value, str):
            value = re.sub(
                r"Statement (\d+)",
                lambda m: (
                    f"Statement <S{self.statements.index(int(m[1]))}>"
                    if int(m[1]) in self.statements
                    else m[0]
                ),
                value,
            )
            return value.replace(self.slug, "<slug>")
        return value


def _request(
    host: str,
    method: str,
    path: str,
    *,
    token: str | None,
    body: object = None,
    extra: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    conn = http.client.HTTPConnection(host, timeout=20)
    headers = {"Host": "127.0.0.1", **(extra or {})}
    if token is not None:
        headers["X-Participant-Token"] = token
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read().decode()
    conn.close()
    return response.status, data, {k.lower(): v for k, v in response.getheaders()}


def _conversation_closed(world: World) -> None:
    from deliberation.models import Conversation

    Conversation.objects.filter(slug=world.slug).update(is_open=False)


def _script(world: World) -> list[tuple[str, str, str | None, object]]:
    """(method, path, token, body) in order; `None` body for GET."""
    s1, s2, rejected = world.statements
    t1, t2 = world.tokens
    base = f"/api/v1/conversations/{world.slug}"
    return [
        ("GET", f"{base}/next/", t1, None),
        ("POST", f"{base}/votes/", t1, {"statement_id": s1, "value": 1}),
        ("POST", f"{base}/votes/", t1, {"statement_id": s1, "value": 1}),  # retry: unchanged
        ("POST", f"{base}/votes/", t1, {"statement_id": s1, "value": -1}),  # changed
        ("GET", f"{base}/next/", t1, None),
        ("POST", f"{base}/votes/", t1, {"statement_id": s2, "value": 0}),
        ("GET", f"{base}/next/", t1, None),  # nothing left: 204
        ("POST", f"{base}/votes/", t1, {"statement_id": s2, "value": 2}),
        ("POST", f"{base}/votes/", t1, {"statement_id": s2, "value": "1"}),
        ("POST", f"{base}/votes/", t1, {"statement_id": s2, "value": True}),
        ("POST", f"{base}/votes/", t1, {"statement_id": "x", "value": 1}),
        ("POST", f"{base}/votes/", t1, {"statement_id": 10**9, "value": 1}),
        ("POST", f"{base}/votes/", t1, {"statement_id": rejected, "value": 1}),
        ("POST", f"{base}/votes/", t1, {"value": 1}),  # missing field: Django's message
        ("POST", f"{base}/votes/", t1, b"{not json"),
        ("POST", f"{base}/votes/", t1, [1, 2]),
        ("POST", f"{base}/votes/", t1, {"statement_id": s1, "value": -1, "pad": "x" * 20_000}),
        ("POST", f"{base}/votes/", t1, b'{"statement_id": 1, "value": NaN}'),
        ("POST", f"{base}/votes/", "garbage-token", {"statement_id": s1, "value": 1}),
        ("GET", f"{base}/next/", "garbage-token", None),
        ("POST", f"{base}/votes/", None, {"statement_id": s1, "value": 1}),
        ("GET", "/api/v1/conversations/no-such-slug/next/", t1, None),
        ("POST", "/api/v1/conversations/no-such-slug/votes/", t1, {"statement_id": 1, "value": 1}),
        ("POST", f"{base}/votes/", t2, {"statement_id": s2, "value": 1}),
        ("CLOSE", "", None, None),
        ("GET", f"{base}/next/", t2, None),
        ("POST", f"{base}/votes/", t2, {"statement_id": s1, "value": 1}),
    ]


CLIENT_HEADERS = (
    "content-type",
    "retry-after",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "content-security-policy",
    "content-language",
)


def _play(host: str, world: World) -> list[tuple[int, object, dict]]:
    answers = []
    for method, path, token, body in _script(world):
        if method == "CLOSE":
            _conversation_closed(world)
            continue
        status, data, headers = _request(host, method, path, token=token, body=body)
        parsed = world.normalise(json.loads(data)) if data else None
        seen = {h: headers.get(h) for h in CLIENT_HEADERS}
        seen["sized"] = "content-length" in headers  # no chunked encoding, either way
        answers.append((status, parsed, seen))
    return answers


def _other_conversation_token() -> str:
    other = ConversationFactory()
    return services.participant_token(ParticipantFactory(conversation=other))


def test_the_batched_view_answers_as_the_drf_view(server, settings):
    batched_world, django_world = World.build("lean-side"), World.build("django-side")
    served_before = vote_batching._batcher.served

    settings.CONCORD_VOTE_BATCHING = True
    batched = _play(server, batched_world)
    served = vote_batching._batcher.served - served_before
    settings.CONCORD_VOTE_BATCHING = False
    django = _play(server, django_world)

    assert served >= 15, "the batched view did not take the requests it is for"
    for i, (ours, theirs) in enumerate(zip(batched, django, strict=True)):
        assert ours == theirs, f"step {i}: {_script(batched_world)[i]}"
    statuses = [status for status, _, _ in batched]
    assert statuses[:7] == [200, 200, 200, 200, 200, 200, 204]
    assert {400, 403, 404, 409} <= set(statuses)
    for world in (batched_world, django_world):  # the same rows behind the same answers
        votes = Vote.objects.filter(statement__conversation__slug=world.slug)
        assert sorted(votes.values_list("value", flat=True)) == [-1, 0, 1]
        assert VoteEvent.objects.filter(statement__conversation__slug=world.slug).count() == 4


def test_a_token_of_another_conversation_is_refused_alike(server, settings):
    world = World.build("token-check")
    stranger = _other_conversation_token()
    path = f"/api/v1/conversations/{world.slug}/votes/"
    body = {"statement_id": world.statements[0], "value": 1}
    answers = []
    for batching in (True, False):
        settings.CONCORD_VOTE_BATCHING = batching
        answers.append(_request(server, "POST", path, token=stranger, body=body)[:2])
    assert answers[0] == answers[1]
    assert answers[0][0] == 403 and "another conversation" in answers[0][1]


def test_over_the_limit_is_a_429_with_retry_after(server, settings):
    settings.CONCORD_RATE_LIMITS = {**settings.CONCORD_RATE_LIMITS, "vote_participant": (2, 60)}
    world = World.build("limited")
    path = f"/api/v1/conversations/{world.slug}/votes/"
    answers = [
        _request(server, "POST", path, token=world.tokens[0], body={"statement_id": s, "value": 1})
        for s in world.statements[:2] * 2
    ]
    assert [status for status, _, _ in answers] == [200, 200, 429, 429]
    assert int(answers[2][2]["retry-after"]) >= 1
    assert json.loads(answers[2][1])["code"] == "rate_limited"


def test_per_ip_limits_read_the_forwarded_address_when_trusted(server, settings):
    settings.CONCORD_TRUSTED_PROXIES = 2  # the client, then one proxy of ours
    settings.CONCORD_RATE_LIMITS = {**settings.CONCORD_RATE_LIMITS, "vote_ip": (1, 60)}
    world = World.build("behind-proxy")
    path = f"/api/v1/conversations/{world.slug}/votes/"

    def vote(token: str, address: str) -> int:
        body = {"statement_id": world.statements[0], "value": 1}
        extra = {"X-Forwarded-For": f"{address}, 10.0.0.1"}
        return _request(server, "POST", path, token=token, body=body, extra=extra)[0]

    assert vote(world.tokens[0], "203.0.113.7") == 200
    assert vote(world.tokens[1], "203.0.113.7") == 429  # same classroom address, over its limit
    assert vote(world.tokens[1], "198.51.100.2") == 200


def test_a_burst_of_concurrent_votes_is_stored_exactly_once(server):
    """Many clients at once land in shared batches; every 200 is a row, every row a 200."""
    conversation = ConversationFactory(slug="burst")
    statements = [
        services.statement_seed(conversation=conversation, text=f"burst {i}").pk for i in range(8)
    ]
    tokens = [
        services.participant_token(ParticipantFactory(conversation=conversation)) for _ in range(24)
    ]
    acknowledged: list[tuple[str, int]] = []
    lock = threading.Lock()

    def voter(token: str) -> None:
        for sid in statements:
            for _ in range(2):  # every vote sent twice, as a flaky client retries
                status, data, _ = _request(
                    server,
                    "POST",
                    "/api/v1/conversations/burst/votes/",
                    token=token,
                    body={"statement_id": sid, "value": 1},
                )
                assert status == 200, data
                with lock:
                    acknowledged.append((token, sid))

    threads = [threading.Thread(target=voter, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(acknowledged) == 24 * 8 * 2
    assert Vote.objects.filter(statement__conversation=conversation).count() == 24 * 8
    assert VoteEvent.objects.filter(statement__conversation=conversation).count() == 24 * 8
    assert vote_batching._batcher.largest_batch > 1, "concurrent votes should share a commit"


def test_a_batched_vote_reaches_websocket_listeners(server):
    """The batch thread's broadcast reaches the event loop's channel layer (in-memory here,
    as the test settings have it): listeners hear the new counts of a statement voted in a batch."""
    import asyncio

    import aiohttp

    world = World.build("live-counts")
    statement = world.statements[0]

    async def listen_while_voting() -> dict:
        url = f"ws://{server}/ws/conversations/{world.slug}/"
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url, origin="http://127.0.0.1") as ws:
                status, data, _ = await asyncio.to_thread(
                    _request,
                    server,
                    "POST",
                    f"/api/v1/conversations/{world.slug}/votes/",
                    token=world.tokens[0],
                    body={"statement_id": statement, "value": 1},
                )
                assert status == 200, data
                while True:
                    message = json.loads((await ws.receive(timeout=10)).data)
                    if message["event"] == "votes":
                        return message["payload"]

    served = vote_batching._batcher.served
    payload = asyncio.run(listen_while_voting())
    assert vote_batching._batcher.served == served + 1
    assert payload == {"statement_id": statement, "agree": 1, "disagree": 0, "pass": 0}


def test_a_failed_batch_answers_503_stores_nothing_and_the_path_recovers(server, monkeypatch):
    world = World.build("failing")
    path = f"/api/v1/conversations/{world.slug}/votes/"
    body = {"statement_id": world.statements[0], "value": 1}

    def broken(requests):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "votes_cast", broken)
    status, data, headers = _request(server, "POST", path, token=world.tokens[0], body=body)
    assert status == 503 and headers["retry-after"] == "1"
    assert json.loads(data)["code"] == "unavailable"
    assert not Vote.objects.filter(statement_id=world.statements[0]).exists()

    monkeypatch.undo()  # the client retries, as the 503 asks
    status, data, _ = _request(server, "POST", path, token=world.tokens[0], body=body)
    assert status == 200 and json.loads(data)["changed"] is True
    assert Vote.objects.filter(statement_id=world.statements[0]).count() == 1


def test_arbitrary_vote_bodies_never_cause_a_server_error(server):
    """Fuzzing the batched view (schemathesis covers the API in process through WSGI):
    whatever JSON arrives, the answer is a vote or the API's error shape, never a 5xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    world = World.build("fuzzed")
    path = f"/api/v1/conversations/{world.slug}/votes/"
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    ids = st.sampled_from(world.statements) | scalars
    bodies = st.fixed_dictionaries({"statement_id": ids, "value": scalars}) | st.recursive(
        scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(max_size=8), inner)
    )

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, token=st.sampled_from([world.tokens[0], "forged", ""]))
    def check(body: object, token: str) -> None:
        payload = json.dumps(body).encode()  # NaN and Infinity included, as sloppy clients send
        status, data, _ = _request(server, "POST", path, token=token or None, body=payload)
        assert status < 500, data
        answer = json.loads(data)
        if status == 200:
            assert set(answer) == {"statement_id", "value", "changed", "next", "progress"}
        else:
            assert {"message", "code"} <= set(answer), answer

    check()


def test_a_token_vote_for_a_host_django_refuses_is_refused(server):
    world = World.build("bad-host")
    path = f"/api/v1/conversations/{world.slug}/votes/"
    body = {"statement_id": world.statements[0], "value": 1}
    status, data, _ = _request(
        server, "POST", path, token=world.tokens[0], body=body, extra={"Host": "evil.example"}
    )
    assert status == 400 and json.loads(data)["message"]
    assert not Vote.objects.filter(statement_id=world.statements[0]).exists()


def test_token_votes_get_no_thread_per_request(server, monkeypatch):
    """Django would start (and join) a thread for each request's sync calls; a token vote's
    sync calls share asgiref's one sync thread instead (`VoteASGIHandler`)."""
    conversation = ConversationFactory(slug="threads")
    statements = [
        services.statement_seed(conversation=conversation, text=f"threads {i}").pk
        for i in range(13)
    ]
    token = services.participant_token(ParticipantFactory(conversation=conversation))

    def vote(sid: int) -> None:
        status, data, _ = _request(
            server,
            "POST",
            "/api/v1/conversations/threads/votes/",
            token=token,
            body={"statement_id": sid, "value": 1},
        )
        assert status == 200, data

    vote(statements[0])  # warm: the batch thread and asgiref's sync thread exist from here on
    started: list[str] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    for sid in statements[1:]:
        vote(sid)
    assert len(started) <= 2, started  # 12 votes: Django's default handler starts 12


JSON_TOKEN = {"x-participant-token": "t", "content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "headers", "route", "root", "expected"),
    [
        ("POST", JSON_TOKEN, "votes", "", True),
        (
            "POST",
            {**JSON_TOKEN, "content-type": "application/json; charset=utf-8"},
            "votes",
            "/app",
            True,
        ),
        ("GET", JSON_TOKEN, "votes", "", False),  # the researchers' list: the DRF view
        ("POST", {"content-type": "application/json"}, "votes", "", False),
        ("POST", {**JSON_TOKEN, "content-type": "text/plain"}, "votes", "", False),
        ("POST", JSON_TOKEN, "x/votes", "", False),
        ("GET", {"x-participant-token": "t"}, "next", "", True),
        ("GET", {}, "next", "", False),
        ("POST", JSON_TOKEN, "next", "", False),
    ],
)
def test_which_requests_skip_the_per_request_thread(method, headers, route, root, expected):
    """Only what a batched view will take: a token, and a JSON POST to the votes route or a
    GET of the next route."""
    full = f"{root}/api/v1/conversations/some-slug/{route}/"
    scope = {
        "type": "http",
        "method": method,
        "path": full,
        "root_path": root,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    assert vote_batching._token_vote_scope(scope) is expected


def test_a_room_opening_at_once_shares_its_first_statement_reads(server):
    """Concurrent `next/` reads land in shared batches, each answered with its own statement
    (a participant's own statement is never served to them)."""
    conversation = ConversationFactory(slug="opening")
    seed = services.statement_seed(conversation=conversation, text="opening seed").pk
    people = [ParticipantFactory(conversation=conversation) for _ in range(24)]
    tokens = [services.participant_token(p) for p in people]
    answers: dict[str, tuple[int, str]] = {}
    lock = threading.Lock()

    def read(token: str) -> None:
        status, data, _ = _request(
            server, "GET", "/api/v1/conversations/opening/next/", token=token
        )
        with lock:
            answers[token] = (status, data)

    threads = [threading.Thread(target=read, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 24
    assert all(
        status == 200 and json.loads(data)["id"] == seed for status, data in answers.values()
    )
    assert vote_batching._next_batcher.largest_batch > 1, "concurrent reads should share a batch"


def test_with_batching_off_every_request_keeps_djangos_own_thread(settings):
    """`CONCORD_VOTE_BATCHING=0` sends votes to the DRF view: each must keep the thread Django
    gives a request, not share asgiref's one sync thread with every other vote."""
    settings.CONCORD_VOTE_BATCHING = False
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/conversations/some-slug/votes/",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in JSON_TOKEN.items()],
    }
    assert vote_batching._token_vote_scope(scope) is False
