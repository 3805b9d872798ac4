"""`manage.py worker --supervise` (what `make run` starts): a worker that dies is restarted and
the supervisor says so; /api/v1/health/ tells whether a worker is alive. Real processes, on
SQLite or PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
import os
import re
import signal
import urllib.request
from collections.abc import Iterator

import pytest

from kernel.processes import pid_alive
from tests.resilience.servers import Platform
from tests.resilience.test_crash import _wait_for


@pytest.fixture
def platform(tmp_path) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    platform = Platform(workdir=tmp_path, env_extra={"CONCORD_JOB_STALE_S": "2"})
    platform.manage("migrate", "--noinput", "-v0")
    try:
        yield platform
    finally:
        platform.destroy()


def _worker_pids(platform: Platform) -> list[int]:
    log = (platform.workdir / "worker.log").read_text(errors="replace")
    return [int(pid) for pid in re.findall(r"worker: started \(pid (\d+)\)", log)]


def _beating(platform: Platform, pid: int) -> bool:
    rows = platform.query(f"SELECT name FROM kernel_workerbeat WHERE name LIKE '%:{pid}'")
    return bool(rows)


def _health(platform: Platform) -> dict:
    with urllib.request.urlopen(f"{platform.url}/api/v1/health/", timeout=10) as response:
        return json.loads(response.read())


def test_a_supervised_worker_that_dies_is_restarted_and_says_so(platform):
    platform.start_server()
    assert _health(platform)["worker"]["alive"] is False
    platform.start_worker("--supervise")
    _wait_for(lambda: len(_worker_pids(platform)) == 1)
    (first,) = _worker_pids(platform)
    _wait_for(lambda: _beating(platform, first))
    assert _health(platform)["status"] == "ok"
    os.kill(first, signal.SIGKILL)
    _wait_for(lambda: len(_worker_pids(platform)) == 2)
    second = _worker_pids(platform)[1]
    log = (platform.workdir / "worker.log").read_text(errors="replace")
    assert "worker: died (signal SIGKILL); restarting" in log
    _wait_for(lambda: _beating(platform, second))
    platform.worker.send_signal(signal.SIGTERM)  # stopping the supervisor stops its worker
    assert platform.worker.wait(timeout=60) == 0
    _wait_for(lambda: not pid_alive(second), timeout=30)
