"""Live updates on the defaults: the worker is its own process, and its snapshots reach the pages.

No Redis: the default embedded channel layer (kernel/channel_layer.py) carries the worker's
`snapshot` broadcast to the server's websocket consumers. The server here runs without the
session fixture's 1-hour recompute debounce, so every vote schedules a recompute 0.5 s later
that only the worker executes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, ConcordServer, log_in, running_server

STATEMENTS = [f"Statement number {n} about what AI assistants should value." for n in range(10)]
LIVE_TIMEOUT_MS = 45_000  # generous: the two shared cores also run other suites


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConcordServer]:
    with running_server(tmp_path_factory.mktemp("live"), worker=True) as server:
        yield server


def test_a_participant_is_placed_and_the_report_redraws_without_a_reload(
    installation: ConcordServer, new_context
):  # type: ignore[no-untyped-def]
    server = installation
    slug = server.unique("live")
    server.call(
        "conversation_create", slug=slug, topic="What should AI value?", statements=STATEMENTS
    )
    server.call("crowd_vote", slug=slug, n=16)
    researcher = server.unique("rhea")
    server.call("user_create", username=researcher, password=PASSWORD, groups=["researchers"])

    report = new_context().new_page()
    log_in(report, server, researcher, f"/c/{slug}/report/")
    # The crowd's votes already made the worker compute a first snapshot of 16 people.
    expect(report.locator("#snapshot-meta")).to_contain_text(
        "16 participants", timeout=LIVE_TIMEOUT_MS
    )

    page = new_context().new_page()
    page.goto(server.url(f"/c/{slug}/"))
    expect(page.locator("#map-status")).to_contain_text("16 participants", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#your-group")).to_contain_text("Vote on a few more statements")
    for i in range(len(STATEMENTS)):
        expect(page.locator("#progress")).to_have_text(f"{i} of 10")
        page.keyboard.press("a" if i % 2 == 0 else "d")
    expect(page.locator("#progress")).to_have_text("10 of 10")

    # Nobody reloads: the worker's snapshot arrives over the websocket.
    expect(page.locator("#your-group")).to_contain_text(
        re.compile(r"You are in group [A-Z]"), timeout=LIVE_TIMEOUT_MS
    )
    expect(page.locator("[data-testid=you-are-here]")).to_be_visible()
    expect(page.locator("#map-status")).to_contain_text("17 participants")
    expect(report.locator("#snapshot-meta")).to_contain_text(
        "17 participants", timeout=LIVE_TIMEOUT_MS
    )
