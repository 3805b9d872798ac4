"""Jobs under worker faults, with real processes: the worker killed (alone, or with its whole
process group), RQ's work horse killed as the OOM killer would, three kills in a row.

Each test failed before the fix (the horse computed on after its worker died and finished a job
already failed; a killed horse left its job "running" until a restart; a crash left RQ's
scheduler lock blocking delayed jobs) and passes now. Waits are on conditions with generous
deadlines; nothing asserts on elapsed time. The RQ tests use Redis database 12 of the local
server (emptied before and after), the rest the default database queue.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest
import redis

from kernel.processes import pid_alive
from tests.resilience.servers import Platform
from tests.resilience.test_crash import _wait_for

RQ_REDIS_URL = "redis://127.0.0.1:6379/12"
# A dead runner is noticed after 2 s without a heartbeat (beats every 0.5 s, sweeps as often).
FAST_RECOVERY = {
    "CONCORD_EXTRA_JOB_TASKS": "test.slow=tests.resilience.slow_tasks.slow_job",
    "CONCORD_JOB_STALE_S": "2",
}


def _platform(tmp_path, **extra: str) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    platform = Platform(workdir=tmp_path, env_extra={**FAST_RECOVERY, **extra})
    platform.manage("migrate", "--noinput", "-v0")
    try:
        yield platform
    finally:
        platform.destroy()


@pytest.fixture
def rq_platform(tmp_path) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    connection = redis.Redis.from_url(RQ_REDIS_URL)
    connection.flushdb()
    try:
        yield from _platform(tmp_path, REDIS_URL=RQ_REDIS_URL)
    finally:
        connection.flushdb()


@pytest.fixture
def db_platform(tmp_path) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    yield from _platform(tmp_path)


def enqueue_slow(platform: Platform, *, step_s: float, delay_s: float = 0.0) -> int:
    code = (
        "from tests.resilience.slow_tasks import enqueue_slow; "
        f"print(enqueue_slow({step_s}, {delay_s}))"
    )
    return int(platform.manage("shell", "-c", code).strip().splitlines()[-1])


def job_row(platform: Platform, job_id: int) -> dict:
    columns = "status, attempts, progress, runner, error, result"
    (row,) = platform.query(f"SELECT {columns} FROM deliberation_job WHERE id = {job_id}")
    return dict(zip(columns.split(", "), row, strict=True))


def running(platform: Platform, job_id: int, attempt: int) -> Callable[[], bool]:
    """The job is running its `attempt`-th try and has made progress (so it is mid-way)."""

    def check() -> bool:
        row = job_row(platform, job_id)
        return (row["status"], row["attempts"]) == ("running", attempt) and row["progress"] > 0

    return check


def runner_pid(platform: Platform, job_id: int) -> int:
    return int(job_row(platform, job_id)["runner"].rsplit(":", 1)[1])


def ended(platform: Platform, job_id: int) -> Callable[[], bool]:
    return lambda: job_row(platform, job_id)["status"] in {"succeeded", "failed"}


def test_a_killed_worker_takes_its_work_horse_with_it(rq_platform):
    job_id = enqueue_slow(rq_platform, step_s=0.3)
    rq_platform.start_worker()
    _wait_for(running(rq_platform, job_id, attempt=1))
    horse = runner_pid(rq_platform, job_id)
    assert horse != rq_platform.worker.pid  # RQ runs the job in a forked work horse
    rq_platform.kill(rq_platform.worker)
    _wait_for(lambda: not pid_alive(horse), timeout=30)  # it used to compute on, orphaned
    rq_platform.start_worker()  # at once, as a supervisor does
    _wait_for(ended(rq_platform, job_id), timeout=90)
    row = job_row(rq_platform, job_id)
    assert (row["status"], row["attempts"], row["error"]) == ("succeeded", 2, "")


def test_a_killed_work_horse_does_not_leave_its_job_running(rq_platform):
    job_id = enqueue_slow(rq_platform, step_s=0.3)
    rq_platform.start_worker()
    _wait_for(running(rq_platform, job_id, attempt=1))
    os.kill(runner_pid(rq_platform, job_id), signal.SIGKILL)  # the OOM killer's choice
    # The same worker, never restarted, notices the silent heartbeat and runs the job again.
    _wait_for(ended(rq_platform, job_id), timeout=90)
    row = job_row(rq_platform, job_id)
    assert (row["status"], row["attempts"]) == ("succeeded", 2)
    assert rq_platform.worker.poll() is None


@pytest.mark.parametrize("backend", ["db", "rq"])
def test_three_kills_never_flip_a_failed_job_to_succeeded(backend, request):
    platform: Platform = request.getfixturevalue(f"{backend}_platform")
    job_id = enqueue_slow(platform, step_s=0.3)
    runners = []
    platform.start_worker()
    for attempt in (1, 2, 3):
        _wait_for(running(platform, job_id, attempt), timeout=90)
        runners.append(runner_pid(platform, job_id))
        platform.kill(platform.worker)
        platform.start_worker()  # restarted at once, every time
    _wait_for(ended(platform, job_id))
    for pid in runners:  # every runner is gone: none can finish the job behind our back
        _wait_for(lambda pid=pid: not pid_alive(pid), timeout=30)
    row = job_row(platform, job_id)
    assert (row["status"], row["attempts"], row["result"]) == ("failed", 3, None)
    assert "gave up after 3 attempts" in row["error"]


LOCK = "rq:scheduler-lock:default"


def _scheduler_running(connection: redis.Redis) -> bool:
    """The scheduler holds its lock and has registered itself (its process is up)."""
    owner = connection.get(LOCK)
    return owner is not None and connection.exists(f"rq:scheduler:{owner.decode()}") == 1


def _worker_beats(platform: Platform, pid: int) -> bool:
    return bool(platform.query(f"SELECT 1 FROM kernel_workerbeat WHERE name LIKE '%:{pid}'"))


def test_the_rq_scheduler_runs_delayed_jobs_at_once_after_a_crash(rq_platform):
    connection = redis.Redis.from_url(RQ_REDIS_URL)
    rq_platform.start_worker()
    _wait_for(lambda: _scheduler_running(connection), timeout=60)
    rq_platform.kill_group(rq_platform.worker)  # worker and scheduler die together
    assert connection.exists(LOCK) == 1  # ...and the lock outlives them
    rq_platform.start_worker()  # restarted at once
    _wait_for(lambda: _worker_beats(rq_platform, rq_platform.worker.pid), timeout=60)
    job_id = enqueue_slow(rq_platform, step_s=0.01, delay_s=1)  # a debounced recompute, say
    # The stale lock used to hold scheduling up for 61 s, then until the 10-minute tick.
    _wait_for(ended(rq_platform, job_id), timeout=45)
    assert job_row(rq_platform, job_id)["status"] == "succeeded"
