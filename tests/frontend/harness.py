"""Browser-test helpers: the real ASGI app under uvicorn, driven by Debian's chromium.

pytest-django's live_server is WSGI (no websockets), so one uvicorn process serves the whole
session from a file SQLite database migrated here, with the in-memory channel layer. Data is set
up through scenarios run inside that process (asgi_app.py). Chromium is the system one
(/usr/bin/chromium, from scripts/setup_system.sh); nothing downloads a browser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHARED_POLIS = REPO / ".." / "shared" / "data" / "polis"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = os.environ.get("CONCORD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ConcordServer:
    """A running uvicorn serving Concord, and the door to run scenarios inside it."""

    base_url: str
    process: subprocess.Popen
    log: Path
    counter: list[int] = field(default_factory=lambda: [0])
    command: list[str] = field(default_factory=list)  # how it was started, for start_again
    env: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def call(self, scenario: str, *, timeout: float = 120, **kwargs: Any) -> Any:
        request = urllib.request.Request(
            self.url(f"/__test__/{scenario}"), data=json.dumps(kwargs).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"scenario {scenario} failed:\n{exc.read().decode()}") from exc

    def unique(self, prefix: str) -> str:
        """A slug or username no other test in this session uses."""
        self.counter[0] += 1
        return f"{prefix}-{self.counter[0]}"

    def crash(self) -> None:
        """SIGKILL the server, as a crash would: every open websocket drops at once."""
        self.process.kill()
        self.process.wait(timeout=30)

    def call_offline(self, scenario: str, **kwargs: Any) -> Any:
        """Run a scenario against the database in a process of its own, while no server runs.

        Its broadcasts go to a channel-layer file nobody reads: an open page can learn of the
        change only by asking the server again.
        """
        env = dict(self.env, CONCORD_CHANNEL_LAYER_PATH=str(self.log.parent / "nobody-listens"))
        code = (
            "import django, json, sys; django.setup(); from tests.frontend import scenarios; "
            f"print(json.dumps(scenarios.{scenario}(**json.loads(sys.argv[1]))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(kwargs)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"scenario {scenario} failed:\n{done.stderr}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start_again(self) -> None:
        """Start the server again on the same port and database, as a supervisor would."""
        assert self.process.poll() is not None, "still running"
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command, cwd=REPO, env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        wait_until_up(self)


def server_env(db_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "CONCORD_DATA_DIR": str(db_path.parent),
            "DJANGO_DEBUG": "1",
            "CONCORD_RECOMPUTE_DEBOUNCE_S": "3600",  # no worker runs; snapshots come from scenarios
        }
    )
    return env


def wait_until_up(server: ConcordServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"uvicorn exited:\n{server.log.read_text()}")
        try:
            with urllib.request.urlopen(server.url("/"), timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"uvicorn did not answer in {timeout}s:\n{server.log.read_text()}")


def log_in(page: Any, server: ConcordServer, username: str, next_path: str) -> None:
    """Sign in through the login page, as a person would."""
    page.goto(server.url(f"/accounts/login/?next={next_path}"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").last.click()
    page.wait_for_url(server.url(next_path))


def shared_polis_folder(name: str) -> Path:
    folder = SHARED_POLIS / name
    assert folder.exists(), f"shared Polis data missing: {folder}"
    return folder.resolve()


def save_screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _uvicorn_command(port: int) -> list[str]:
    app = "tests.frontend.asgi_app:application"
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def running_server(folder: Path, *, worker: bool = False) -> Iterator[ConcordServer]:
    """Migrate a fresh SQLite file in folder, serve it with uvicorn, stop it afterwards.

    With `worker`, `manage.py worker` runs beside it as its own process, as under `make run`,
    recomputing snapshots 0.5 s after votes; its broadcasts reach the pages only through the
    default (embedded, cross-process) channel layer.
    """
    env = server_env(folder / "db.sqlite3")
    if worker:
        env["CONCORD_RECOMPUTE_DEBOUNCE_S"] = "0.5"
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=REPO, env=env, check=True)
    port = free_port()
    log = folder / "uvicorn.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _uvicorn_command(port), cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = ConcordServer(
        base_url=f"http://127.0.0.1:{port}",
        process=process,
        log=log,
        command=_uvicorn_command(port),
        env=env,
    )
    processes: list[subprocess.Popen] = []  # beside the server, which may have been restarted
    try:
        wait_until_up(server)
        if worker:
            command = [sys.executable, "manage.py", "worker", "--interval", "0.1"]
            with (folder / "worker.log").open("wb") as sink:
                processes.append(
                    subprocess.Popen(
                        command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
                    )
                )
        yield server
    finally:
        for running in [*reversed(processes), server.process]:
            _stop(running)


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
