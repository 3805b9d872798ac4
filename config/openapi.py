"""OpenAPI post-processing: document the one error shape every endpoint can answer with."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "extra": {"type": "object", "additionalProperties": True},
    },
    "required": ["message", "code", "extra"],
}
ERROR_STATUSES = {
    "400": "Invalid input",
    "401": "Invalid credentials",
    "403": "Not allowed for this role",
    "404": "Not found",
    "409": "Conflicts with the current state (duplicate, closed, not accepted)",
    "429": "Rate limited; see Retry-After",
}
_METHODS = {"get", "post", "put", "patch", "delete"}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular hook: every operation may answer with the `Error` body on 4xx."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, text in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": text, "content": ref})
    return result
