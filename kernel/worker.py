"""The worker's two helpers: the periodic sweep that runs beside the queue, and the supervisor
that keeps a worker process alive (`manage.py worker --supervise`, what `make run` starts).

Recovery used to run only when a worker started, so a job whose runner died (an OOM-killed RQ
work horse) or whose task the queue lost (a claim that hit a database error) stayed "running"
or "queued" until somebody restarted the worker. The sweep makes that a matter of seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Protocol

from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

from kernel import jobs, taskqueue
from kernel.processes import die_with_parent

logger = logging.getLogger("concord.jobs")
PERIODIC_HOOKS: list[str] = []


def periodic_register(path: str) -> None:
    """Apps add a function the sweep calls each time (the snapshot catch-up), by dotted path."""
    if path not in PERIODIC_HOOKS:
        PERIODIC_HOOKS.append(path)


def sweep_interval_s() -> float:
    return min(jobs.heartbeat_interval_s(), 10.0)


class Sweeper(threading.Thread):
    """Every sweep interval: say this worker is alive, send back to the queue the jobs whose
    runner died or whose task was lost, and run the apps' periodic hooks.

    A failing pass (SQLite "database is locked" during a long import, PostgreSQL restarting)
    is logged and the next one tries again: the sweep never takes the worker down.
    """

    def __init__(self, interval_s: float | None = None) -> None:
        super().__init__(daemon=True, name="concord-sweeper")
        self.interval_s = interval_s or sweep_interval_s()
        self.stopped = threading.Event()
        self.started_at = timezone.now()

    def sweep(self, *, running_older_than: timedelta | None = None) -> list[int]:
        jobs.worker_beat(name=jobs.runner_name(), started_at=self.started_at)
        recovered = taskqueue.jobs_sweep(running_older_than=running_older_than)
        for path in PERIODIC_HOOKS:
            hook: Callable[[], object] = import_string(path)
            hook()
        return recovered

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval_s):
                self._sweep_safely()
        finally:
            connection.close()

    def _sweep_safely(self) -> None:
        try:
            recovered = self.sweep()
        except Exception:  # noqa: BLE001 (the sweep must outlive any one failure)
            logger.exception("worker sweep failed; trying again in %.0f s", self.interval_s)
            connection.close()
            return
        if recovered:
            logger.warning("worker sweep: re-queued jobs %s", recovered)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(timeout=30)


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def _killpg(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Output(Protocol):
    def write(self, text: str) -> object: ...
    def flush(self) -> object: ...


def supervise(argv: list[str], *, out: _Output, max_wait_s: float = 30.0) -> int:
    """Run `argv` (a worker) and start it again whenever it dies, saying so on `out`.

    The worker gets a session of its own, so the supervisor can end everything it left in its
    process group (RQ's scheduler), and a Ctrl-C meant for the server does not reach it
    half-way; SIGTERM or SIGINT here stops the worker cleanly and then the supervisor.
    A worker that dies at once is restarted after a growing pause (1 s, 2 s, … 30 s).
    """
    stop = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        if child is not None and child.poll() is None:
            _killpg(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wait_s = 1.0
    while not stop.is_set():
        started = time.monotonic()
        child = subprocess.Popen(
            argv, start_new_session=True, preexec_fn=partial(die_with_parent, os.getpid())
        )  # a supervisor that is SIGKILLed itself leaves no worker behind
        out.write(f"worker: started (pid {child.pid})\n")
        code = child.wait()
        _killpg(child.pid, signal.SIGKILL)  # whatever it left behind in its group
        if stop.is_set():
            break
        wait_s = 1.0 if time.monotonic() - started > 60 else min(wait_s * 2, max_wait_s)
        out.write(f"worker: died ({_describe(code)}); restarting in {wait_s:.0f} s\n")
        out.flush()
        stop.wait(wait_s)
    out.write("worker: stopped\n")
    return 0
