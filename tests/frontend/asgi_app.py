"""The real Concord ASGI app, plus a test-only door for setting up data inside the server process.

The browser tests run this under uvicorn (one process, in-memory channel layer). Data set-up goes
through `POST /__test__/<scenario>` so that it runs in the same process as the websocket
consumers: a statement seeded or a snapshot computed there is broadcast to the open pages exactly
as in production. Only tests import this module; the door is never part of config.asgi.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from asgiref.sync import sync_to_async

from config.asgi import application as concord_application
from tests.frontend import scenarios

PREFIX = "/__test__/"


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _respond(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _run_scenario(scope: dict[str, Any], receive: Any, send: Any) -> None:
    name = scope["path"][len(PREFIX) :].strip("/")
    function = getattr(scenarios, name, None)
    if name.startswith("_") or function is None or name not in scenarios.__all__:
        await _respond(send, 404, {"error": f"unknown scenario {name!r}"})
        return
    kwargs = json.loads((await _read_body(receive)) or b"{}")
    try:
        result = await sync_to_async(function)(**kwargs)
    except Exception:  # noqa: BLE001 - the test prints the server's traceback
        await _respond(send, 500, {"error": traceback.format_exc()})
        return
    await _respond(send, 200, result)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith(PREFIX):
        await _run_scenario(scope, receive, send)
        return
    await concord_application(scope, receive, send)
