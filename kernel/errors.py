"""One exception type for the domain boundary, translated to HTTP once (api_errors.py).

Services raise these deep inside; views, commands and tasks never build error responses by hand.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A request that cannot be honoured, with a message a person can act on."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, extra: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if code is not None:
            # A specific code lets a page tell this refusal from others without parsing prose.
            self.code = code


class NotFoundError(ApplicationError):
    status = 404
    code = "not_found"


class PermissionDeniedError(ApplicationError):
    status = 403
    code = "forbidden"


class ConflictError(ApplicationError):
    status = 409
    code = "conflict"


class ConversationClosedError(ConflictError):
    code = "conversation_closed"

    def __init__(
        self, message: str = "This conversation is closed; it takes no more votes."
    ) -> None:
        super().__init__(message)


class RateLimitedError(ApplicationError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class ServiceUnavailableError(ApplicationError):
    """The request was fine but could not be carried out now; nothing was stored. Retry."""

    status = 503
    code = "unavailable"
