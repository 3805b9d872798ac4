"""Every middleware runs async under ASGI, so the batched vote view is not serialised.

One sync-only middleware makes Django run the whole stack (and the async view inside it) on
its single thread for sync code: every request of a process then waits in one line. The load
benchmark measured that as 340 votes/s instead of the batched rate; this test keeps it out.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string


def test_every_middleware_can_run_async() -> None:
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


def test_the_asgi_middleware_chain_is_a_coroutine() -> None:
    assert iscoroutinefunction(ASGIHandler()._middleware_chain)
