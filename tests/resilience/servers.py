"""Run the real platform in subprocesses for crash and load tests.

Each run gets its own database: a SQLite file, or a freshly created PostgreSQL database when
`DATABASE_URL` points at PostgreSQL (so CI's PostgreSQL pass exercises PostgreSQL here too).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_admin(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        dbname="postgres",
        autocommit=True,
    )


@dataclass
class Platform:
    """One isolated Concord installation: database, server process, worker process."""

    workdir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    server: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    database_url: str = ""
    _pg_name: str = ""

    def __post_init__(self) -> None:
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith("postgres"):
            self._pg_name = f"concord_sys_{uuid.uuid4().hex[:10]}"
            with _postgres_admin(base) as conn:
                conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            parsed = urlparse(base)
            self.database_url = parsed._replace(path=f"/{self._pg_name}").geturl()
        else:
            self.database_url = f"sqlite:///{self.workdir / 'concord.sqlite3'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
        env.update({"DATABASE_URL": self.database_url, "DJANGO_DEBUG": "1", **self.env_extra})
        return env

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        handle = open(self.workdir / log, "ab")  # noqa: SIM115 (lives as long as the process)
        # A session of its own: a test can kill the process group (worker + RQ scheduler) as a
        # container runtime or a supervisor would, without hitting pytest.
        return subprocess.Popen(
            args, cwd=ROOT, env=self.env(), stdout=handle, stderr=handle, start_new_session=True
        )

    def start_server(self, *extra: str) -> None:
        uvicorn = [sys.executable, "-m", "uvicorn", "config.asgi:application"]
        args = [*uvicorn, "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.server = self._spawn([*args, *extra], "server.log")
        self._wait_http()

    def start_worker(self, *extra: str) -> None:
        args = [sys.executable, "manage.py", "worker", "--interval", "0.1", *extra]
        self.worker = self._spawn(args, "worker.log")

    def _wait_http(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/v1/conversations/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; see {self.workdir / 'server.log'}")

    @staticmethod
    def kill(process: subprocess.Popen | None) -> None:
        """SIGKILL: no clean shutdown, exactly as a crash."""
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)

    @staticmethod
    def kill_group(process: subprocess.Popen | None) -> None:
        """SIGKILL the process and everything in its process group, as a crash of the whole
        container would (RQ's work horse is not in it: it calls setpgrp)."""
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def stop(self) -> None:
        for process in (self.server, self.worker):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.kill(process)
            if process is not None:  # anything it left in its group (RQ's scheduler)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)

    def query(self, sql: str) -> list[tuple]:
        """Read the platform's database directly (no Django in the test process)."""
        if self._pg_name:
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return list(conn.execute(sql).fetchall())
        import sqlite3

        with sqlite3.connect(self.workdir / "concord.sqlite3", timeout=30) as conn:
            return list(conn.execute(sql).fetchall())

    def destroy(self) -> None:
        self.stop()
        if self._pg_name:
            with _postgres_admin(os.environ["DATABASE_URL"]) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')


def call_json(
    url: str, *, data: dict | None = None, token: str = "", timeout: float = 10
) -> tuple[int, dict]:
    """One JSON request to a platform (POST when `data` is given): status and parsed body,
    error statuses included; transport errors are raised for the caller to retry or count."""
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Participant-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@contextlib.contextmanager
def seeded_platform(workdir: Path, env_extra: dict[str, str]) -> Iterator[tuple[Platform, dict]]:
    """A migrated platform seeded by `tests.api.live_seed` (a conversation and a login for each
    role), its server started: the platform and the seed's credentials; destroyed afterwards."""
    platform = Platform(workdir=workdir, env_extra=env_extra)
    try:
        platform.manage("migrate", "--noinput", "-v0")
        out = platform.manage("shell", "-c", "from tests.api import live_seed; live_seed.main()")
        credentials = json.loads(out.strip().splitlines()[-1])
        platform.start_server()
        yield platform, credentials
    finally:
        platform.destroy()
