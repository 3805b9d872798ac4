"""WhiteNoise, able to run in an async middleware stack.

WhiteNoise's middleware is sync-only, and one sync-only middleware makes Django run everything
inside it — the batched vote view included — on the single thread it keeps for sync code, so
every request of a process waits in one line (tests/config/test_async_stack.py). This subclass
keeps WhiteNoise's lookup and serving (its own methods) and only adds the async entry.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None, settings: Any = settings) -> None:
        super().__init__(get_response, settings)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _static_file(self, path: str) -> Any:
        return self.find_file(path) if self.autorefresh else self.files.get(path)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(self.static_prefix):
            # With autorefresh (DEBUG) the lookup reads the disk: off the event loop.
            found = (
                await sync_to_async(self._static_file)(path)
                if self.autorefresh
                else self._static_file(path)
            )
            if found is not None:
                return self.serve(found, request)
        return await self.get_response(request)
