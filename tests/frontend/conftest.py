"""Fixtures for the browser tests: one uvicorn server and one chromium per session.

pytest-django's live_server is WSGI (no websockets), so the real ASGI app runs under uvicorn,
in one process with the in-memory channel layer, against a SQLite file migrated for the session.
See harness.py and asgi_app.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import CHROMIUM, ConcordServer, launched_chromium, running_server

# Assertions wait for their condition as long as actions do (Playwright's own default is 5 s):
# on a busy CI machine a vote or a submitted statement can take longer than that to show.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def concord_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConcordServer]:
    # `make test` installs chromium (scripts/setup_system.sh): missing means a broken setup.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run scripts/setup_system.sh"
    with running_server(tmp_path_factory.mktemp("concord-asgi")) as server:
        yield server


@pytest.fixture(scope="session")
def browser(concord_server: ConcordServer) -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


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
