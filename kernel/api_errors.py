"""Map every error an API view can raise to one JSON shape: {"message", "code", "extra"}."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel.errors import ApplicationError, RateLimitedError, ServiceUnavailableError

logger = logging.getLogger("concord.api")


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        parts = [f"{key}: {_flatten(value)}" for key, value in detail.items()]
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def application_error_body(exc: ApplicationError) -> dict[str, Any]:
    return {"message": exc.message, "code": exc.code, "extra": exc.extra}


def _out_of_range(exc: Exception) -> Response:
    """A schema-valid integer the database cannot hold (10^25 overflows bigint on PostgreSQL,
    SQLite raises OverflowError) is the client's mistake: 400, not a 500. Fields should bound
    their integers; this is the net under the ones that do not."""
    logger.warning("out-of-range input reached the database: %s", exc)
    body = {"message": "A value is out of range.", "code": "out_of_range", "extra": {}}
    return Response(body, status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OverflowError | DataError):
        return _out_of_range(exc)
    if isinstance(exc, ApplicationError):
        response = Response(application_error_body(exc), status=exc.status)
        if isinstance(exc, RateLimitedError):
            response["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, ServiceUnavailableError):
            response["Retry-After"] = "1"
        return response
    if isinstance(exc, ValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    handled: Response | None = drf_exception_handler(exc, context)
    if handled is None:
        return None
    response = handled
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        detail = detail["detail"]  # DRF's non-field errors: the message, not "detail: message"
    code = getattr(exc, "default_code", "error")
    extra = {"fields": detail} if isinstance(exc, drf_exceptions.ValidationError) else {}
    response.data = {"message": _flatten(detail), "code": code, "extra": extra}
    return response


UNAVAILABLE = "This could not be done just now and nothing was stored; please try again."


def error_parts(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, JSON body and headers for `exc`, as `exception_handler` answers it, for views
    that are not DRF's (the batched vote view). An unexpected failure is a 503: the work was
    rolled back, so the client may simply retry."""
    response = exception_handler(exc, {}) or exception_handler(
        ServiceUnavailableError(UNAVAILABLE), {}
    )
    assert response is not None
    headers = {name: value for name, value in response.items() if name != "Content-Type"}
    return response.status_code, response.data, headers
