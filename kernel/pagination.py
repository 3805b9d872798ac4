"""Limit/offset pagination that refuses what it cannot serve, instead of guessing or crashing.

DRF's `LimitOffsetPagination` silently replaces a bad `offset` (`offset=null`) with 0, serves
any `limit` when no maximum is set (`limit=10^8` returned every row) and passes a huge `offset`
to the database (`10^20` overflows PostgreSQL's bigint: a 500). Here both must be decimal
integers in range, else 400 with the API's error shape; the schema states the same bounds.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# Far below bigint; no list here has a billion rows, so an offset past it is never useful.
MAX_OFFSET = 10**9


def _bounded_int(request: Request, name: str, *, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12 or not low <= int(text) <= high:
        raise ValidationError({name: [f"Must be an integer from {low} to {high}."]})
    return int(text)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """`limit` in 1..CONCORD_API_MAX_PAGE_SIZE (default PAGE_SIZE), `offset` in 0..10^9."""

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(getattr(settings, "CONCORD_API_MAX_PAGE_SIZE", 1000))

    def get_limit(self, request: Request) -> int:
        limit = _bounded_int(request, self.limit_query_param, low=1, high=self.max_limit)
        return int(self.default_limit or self.max_limit) if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = _bounded_int(request, self.offset_query_param, low=0, high=MAX_OFFSET)
        return offset or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
