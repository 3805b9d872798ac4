"""Guard every /api/ request against hostile input and keep every /api/ answer JSON.

Hostile input used to reach a 500: 1,500-deep JSON (3 KB) overflowed the parser's recursion
(`RecursionError`), a NUL byte in a query parameter reached PostgreSQL (which refuses NUL in
text), and 10 MB bodies got Django's HTML error page. This middleware runs first and answers
those with the API's error shape (`{"message", "code", "extra"}`, see `api_errors.py`):

* a body over `CONCORD_API_MAX_BODY_BYTES` → 413;
* a JSON body nested deeper than `CONCORD_API_MAX_JSON_DEPTH`, or carrying `\\u0000` → 400
  (measured by a linear scan, never by recursion);
* a NUL byte in the path or query string → 400;
* any other non-JSON error answer under /api/ (Django's 400/403/404/500 pages) is replaced by
  the same shape with the same status, so API clients always get JSON.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("concord.api")

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_NUL_ESCAPE = re.compile(rb"\\u0000", re.IGNORECASE)


def error_response(status: int, message: str, code: str, **extra: object) -> JsonResponse:
    """A response in the API's one error shape."""
    body = {"message": message, "code": code, "extra": extra}
    return JsonResponse(body, status=status)


def json_depth(body: bytes) -> int:
    """Deepest bracket nesting of a JSON text, ignoring brackets inside strings. Linear time."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _declared_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    return int(raw) if raw.isdigit() else None


def _body_problem(request: HttpRequest) -> JsonResponse | None:
    """413/400 for a body too large, too deep or carrying NUL; None when it may be parsed."""
    limit = int(settings.CONCORD_API_MAX_BODY_BYTES)
    declared = _declared_length(request)
    if declared is None:
        return error_response(400, "Invalid Content-Length header.", "invalid_header")
    if declared > limit:
        message = f"Request body larger than {limit} bytes."
        return error_response(413, message, "payload_too_large", max_bytes=limit)
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    # DRF parses only bodies with a Content-Length; only JSON can nest.
    if declared == 0:
        return None
    if "x-www-form-urlencoded" in content_type:
        if b"\x00" in unquote_to_bytes(request.body):
            return error_response(400, "Text may not contain NUL characters.", "invalid")
        return None
    if "json" not in content_type:
        return None
    body = request.body
    max_depth = int(settings.CONCORD_API_MAX_JSON_DEPTH)
    if json_depth(body) > max_depth:
        message = f"JSON nested deeper than {max_depth} levels."
        return error_response(400, message, "too_deep", max_depth=max_depth)
    if _NUL_ESCAPE.search(body) or b"\x00" in body:
        return error_response(400, "Text may not contain NUL characters.", "invalid")
    return None


def _query_problem(request: HttpRequest) -> JsonResponse | None:
    raw = request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
    if b"\x00" in unquote_to_bytes(raw) or "\x00" in request.path:
        return error_response(400, "Parameters may not contain NUL characters.", "invalid")
    return None


def _is_json(response: HttpResponse) -> bool:
    return "json" in response.get("Content-Type", "").lower()


def _as_json_error(response: HttpResponse) -> JsonResponse:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = "Error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    replaced = error_response(response.status_code, f"{phrase}.", code)
    for header in ("Retry-After", "Allow", "WWW-Authenticate"):
        if header in response:
            replaced[header] = response[header]
    return replaced


class _SyncAndAsync:
    """A middleware that runs in whichever mode the stack around it runs.

    Why: one sync-only middleware makes Django run the whole stack, and the async vote view
    inside it, on the one thread it keeps for sync code, which serialises every request of a
    process (measured: 340 votes/s instead of the batched view's rate). Subclasses write
    `_before` (an early answer or None) and `_after` once; both modes call them.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def _after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        early = self._before(request)
        return early if early is not None else self._after(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        early = self._before(request)
        if early is not None:
            return early
        return self._after(request, await self.get_response(request))


class ApiGuardMiddleware(_SyncAndAsync):
    """Refuse hostile /api/ input before parsing; make every /api/ error answer JSON."""

    def _before(self, request: HttpRequest) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        return _query_problem(request) or _body_problem(request)

    def _after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return response
        if response.status_code >= 400 and not _is_json(response):
            logger.info("non-JSON %s at %s made JSON", response.status_code, request.path)
            return _as_json_error(response)
        return response


# Pages whose HTML is a third-party app's and carries inline script (Swagger UI).
CSP_EXEMPT_PREFIXES = ("/api/docs/",)


class ContentSecurityPolicyMiddleware(_SyncAndAsync):
    """Send `CONCORD_CSP` with every answer, so injected markup can run no script.

    The pages load their scripts and styles from /static/ only (no inline `<script>`, no
    `style=` attributes: page code sets styles through the CSSOM), which the browser test
    `tests/frontend/test_csp.py` checks page by page.
    """

    def _after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        policy = getattr(settings, "CONCORD_CSP", "")
        if policy and not request.path.startswith(CSP_EXEMPT_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
