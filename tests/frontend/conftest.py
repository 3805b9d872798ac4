"""Fixtures for the browser tests: one uvicorn server and one chromium per session.

See harness.py for why the server is uvicorn (websockets) and not pytest-django's live_server.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    ConcordServer,
    free_port,
    server_env,
    wait_until_up,
)


@pytest.fixture(scope="session")
def concord_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConcordServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: run scripts/setup_system.sh")
    folder = tmp_path_factory.mktemp("concord-asgi")
    env = server_env(folder / "db.sqlite3")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True
    )
    port = free_port()
    log = folder / "uvicorn.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.frontend.asgi_app:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = ConcordServer(base_url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Any]:
    """Open browser contexts (separate cookie jars = separate people); all closed afterwards."""
    opened: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1100, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(15000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()
