"""Group commit for async views: everything that arrives while one batch runs forms the next.

Why: a commit per request is what a database cannot keep up with under a burst (a live
assembly voting at once), one commit per batch is. There is no timer and no batch size to tune:
a request waits only for the batch before it, so a quiet server answers each request alone and
a busy one batches more. One thread per batcher runs the batches, so its database connection
lives as long as the process and the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection

from kernel.db_retry import retried_once_if_lost

logger = logging.getLogger(__name__)

Ask = TypeVar("Ask")
Answer = TypeVar("Answer")
MAX_BATCH = 256


class GroupCommit(Generic[Ask, Answer]):
    """Runs `handler` on the list of asks submitted while its previous call ran.

    `handler` returns one answer per ask, in order. If it raises, every ask of that batch is
    answered with the exception (the handler's transaction rolled back, so nothing of the batch
    is stored) and the thread's database connection is closed, so a broken connection cannot
    poison the next batch. A batch whose connection the database dropped before anything of it
    committed is run once more on a fresh connection first (`kernel.db_retry`).
    """

    def __init__(self, name: str, handler: Callable[[list[Ask]], Sequence[Answer]]) -> None:
        self._handler = handler
        self._run = sync_to_async(
            self._guarded,
            thread_sensitive=False,
            executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"batch-{name}"),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[Ask, asyncio.Future[Answer | Exception]]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only a weak one
        self._holding = False  # the batch thread kept its connection for the next batch
        self.served = 0  # asks answered and the largest batch so far, for tests and operators
        self.largest_batch = 0

    async def submit(self, ask: Ask) -> Answer | Exception:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop (tests run one per test)
            self._loop, self._pending, self._wakeup = loop, [], asyncio.Event()
            self._task = loop.create_task(self._drain())
        future: asyncio.Future[Answer | Exception] = loop.create_future()
        self._pending.append((ask, future))
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    def _guarded(self, asks: list[Ask]) -> Sequence[Answer]:
        # A burst of back-to-back batches is this thread's request: the connection hygiene
        # Django applies around every request (CONN_MAX_AGE, the pool's check of a connection
        # as it hands it out, dropping one the database closed) applies around the burst. Why
        # not around each batch: returning the connection to the pool and checking it out again
        # cost a round trip and a seventh of a batch's CPU, once per batch. A connection that
        # dies within a burst is caught by the retry below, as one that dies mid-batch is.
        if not self._holding:
            close_old_connections()
        self._holding = False
        try:
            answers = retried_once_if_lost(lambda: self._handler(asks))
            if len(answers) != len(asks):
                raise RuntimeError(f"{len(answers)} answers for {len(asks)} asks")
            return answers
        except Exception:
            logger.exception("a batch of %d requests failed; none of it was stored", len(asks))
            connection.close()
            raise
        finally:
            if self._pending:  # the next batch is waiting: it runs on this connection
                self._holding = connection.connection is not None
            else:
                close_old_connections()

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
                answers: Sequence[Answer | Exception]
                try:
                    answers = await self._run([ask for ask, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiter must hear of it
                    answers = [exc] * len(batch)
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
