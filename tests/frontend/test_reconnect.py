"""Pages catch up after their websocket drops: what changed meanwhile shows without a reload.

The server is SIGKILLed (every socket drops at once, as in a crash or a restart). While nothing
serves, a statement is accepted and a new snapshot written into the database by a process of
its own, whose broadcasts nobody hears. The server starts again on the same port. The pages,
never reloaded, reconnect with back-off and show both changes: the participant page the new
statement, its progress and the new map, the report the new snapshot. No live event carried
them; only the refetch after a reconnect (`Concord.connect` in concord.js) can have.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, ConcordServer, log_in, running_server

STATEMENTS = [
    "AI assistants should say when they are unsure.",
    "AI assistants should respect local customs.",
    "AI assistants should refuse to help hurt anyone.",
    "AI assistants should never pretend to be human.",
]
NEW_STATEMENT = "AI assistants should show where their facts come from."
# The pages wait longer between tries each time one fails (1, 2, 4, 8, 16 s, jittered): by the
# time the server is back, the next try may be 16 s away. This bounds the wait; it is no sleep.
RECONNECT_TIMEOUT_MS = 60_000
# Counts the page's websocket opens and closes (the page's own sockets, real ones, only
# observed), so the test knows when a socket is open and when it has dropped.
SOCKET_LOG = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = { opened: 0, closed: 0 };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { window.__sockets.opened += 1; });
      this.addEventListener("close", () => { window.__sockets.closed += 1; });
    }
  };
})();
"""


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConcordServer]:
    """A server of this module's own: the test kills and restarts it."""
    with running_server(tmp_path_factory.mktemp("reconnect")) as server:
        yield server


def _observed_page(new_context: Any) -> Any:
    context = new_context()
    context.add_init_script(SOCKET_LOG)
    return context.new_page()


def test_pages_show_what_changed_while_their_socket_was_down_without_a_reload(
    installation: ConcordServer, new_context: Any
) -> None:
    server = installation
    slug = server.unique("reconnect")
    server.call(
        "conversation_create", slug=slug, topic="What should AI value?", statements=STATEMENTS
    )
    server.call("crowd_vote", slug=slug, n=16)
    server.call("snapshot_build", slug=slug)
    researcher = server.unique("rhea")
    server.call("user_create", username=researcher, password=PASSWORD, groups=["researchers"])

    report = _observed_page(new_context)
    log_in(report, server, researcher, f"/c/{slug}/report/")
    expect(report.locator("#snapshot-meta")).to_contain_text("16 participants")

    page = _observed_page(new_context)
    page.goto(server.url(f"/c/{slug}/"))
    for i in range(len(STATEMENTS)):
        expect(page.locator("#progress")).to_have_text(f"{i} of 4")
        expect(page.locator("#statement-text")).to_have_text(re.compile("^AI assistants"))
        page.keyboard.press("a")
    expect(page.locator("#progress")).to_have_text("4 of 4")
    expect(page.locator("#statement-text")).to_contain_text("You have voted on every statement")
    expect(page.locator("#map-status")).to_contain_text("16 participants")
    expect(page.locator("#live-status")).to_have_text("Live updates on")
    for opened in (page, report):
        opened.wait_for_function("window.__sockets.opened === 1")
        opened.evaluate("window.__notReloaded = true")  # a reload would lose this

    server.crash()
    for opened in (page, report):
        opened.wait_for_function("window.__sockets.closed >= 1")
    expect(page.locator("#live-status")).to_contain_text("reconnecting")

    # Meanwhile, with no server to tell anyone: a statement is accepted, a snapshot written.
    server.call_offline("statement_seed", slug=slug, text=NEW_STATEMENT)
    assert server.call_offline("snapshot_build", slug=slug)["id"]
    server.start_again()

    expect(page.locator("#statement-text")).to_have_text(
        NEW_STATEMENT, timeout=RECONNECT_TIMEOUT_MS
    )
    expect(page.locator("#progress")).to_have_text("4 of 5")
    expect(page.locator("#map-status")).to_contain_text("17 participants")
    expect(report.locator("#snapshot-meta")).to_contain_text(
        "17 participants", timeout=RECONNECT_TIMEOUT_MS
    )
    for opened in (page, report):
        assert opened.evaluate("window.__notReloaded") is True
        assert opened.evaluate("window.__sockets.opened") >= 2
