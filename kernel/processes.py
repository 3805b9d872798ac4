"""Process hygiene for the worker: children die with it, and RQ's scheduler lock of a dead
scheduler does not hold scheduling up.

* RQ forks a *work horse* per job and calls `setpgrp` in it, and runs its scheduler in a forked
  process too; neither dies when the worker is SIGKILLed, so an orphaned horse went on
  computing while the restarted worker ran the same job again. `children_die_with_parent` asks
  Linux (PR_SET_PDEATHSIG) to SIGKILL every child the worker forks the moment it dies. Where
  that is unavailable the job lease (kernel/jobs.py) still keeps an orphan from recording.
* RQ's scheduler lock outlives a killed scheduler by up to 61 s, and a worker that finds it
  taken tries again only at its 10-minute maintenance tick: debounced recomputes wait that long.
  `scheduler_locks_clear_stale` removes a lock whose owner is provably dead.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

logger = logging.getLogger("concord.jobs")
_PR_SET_PDEATHSIG = 1
_forking_pid = 0
_inherited: list[object] = []  # a forked child's copies of the parent's connections (see below)


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (dead, not yet reaped) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _before_fork() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _forget_inherited_db_connections() -> None:
    """In a forked child: open fresh database connections instead of the parent's.

    The parent's sockets (and its PostgreSQL pool) are shared with the child after fork; the
    worker's sweep thread keeps using them, and two processes on one socket corrupt each other
    ("the last operation didn't produce records"). The old objects are kept referenced, never
    closed: closing or collecting them would end the parent's sessions. The child leaves by
    os._exit, which runs no finalisers.
    """
    from django.db import connections

    local = connections._connections  # type: ignore[attr-defined]  # the per-thread wrappers
    for alias in list(connections):
        if hasattr(local, alias):
            _inherited.append(connections[alias])
            del connections[alias]
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:  # no psycopg installed
        return
    pools = DatabaseWrapper._connection_pools  # type: ignore[attr-defined]  # one per alias
    _inherited.append(dict(pools))
    pools.clear()


def die_with_parent(parent_pid: int) -> None:
    """In a just-forked child: be SIGKILLed when the parent dies (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the job lease is the only guard
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _in_child() -> None:
    _forget_inherited_db_connections()
    die_with_parent(_forking_pid)


def children_die_with_parent() -> None:
    """From now on every process this one forks is SIGKILLed when this one dies (Linux)."""
    os.register_at_fork(before=_before_fork, after_in_child=_in_child)


def _owner_dead(connection: Any, owner: str) -> bool:
    from rq.scheduler import SCHEDULER_KEY_TEMPLATE

    raw = connection.hgetall(SCHEDULER_KEY_TEMPLATE % owner)
    record = {key.decode(): value.decode() for key, value in raw.items()}
    if not record:  # its record expired or was never written: nobody runs under that lock
        return True
    pid = int(record.get("pid") or 0)
    return record.get("hostname") == socket.gethostname() and (pid <= 0 or not pid_alive(pid))


def scheduler_locks_clear_stale(connection: Any, queue_names: list[str]) -> list[str]:
    """Release RQ scheduler locks held by a dead scheduler; returns the queues freed."""
    from rq.scheduler import RQScheduler
    from rq.scripts import release_lock

    freed = []
    for name in queue_names:
        key = RQScheduler.get_locking_key(name)
        owner = connection.get(key)
        if owner is not None and _owner_dead(connection, owner.decode()):
            if release_lock(connection, key, owner.decode()):
                logger.warning("released the scheduler lock of a dead scheduler on %s", name)
                freed.append(name)
    return freed
