"""Every page runs under the Content-Security-Policy without a single violation.

The policy (settings.CONCORD_CSP) allows scripts and styles from this origin only: an inline
`<script>`, an `on…=` handler or a `style=` attribute in a template or set by page code would be
refused by the browser and reported as a `securitypolicyviolation` event, which this test
collects from the first moment of each page load (an init script) while the page's own script
runs, including the live-updates socket and the API calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.frontend.harness import PASSWORD, log_in

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline")
    + " " + (event.sourceFile || "") + ":" + (event.lineNumber || 0));
});
"""

PUBLIC = ["/", "/c/{slug}/", "/c/{slug}/constitution/", "/accounts/login/"]
MODERATOR = ["/new/", "/c/{slug}/moderate/", "/c/{slug}/report/", "/c/{slug}/training/"]


@pytest.fixture(scope="module")
def voted(concord_server: Any) -> dict[str, str]:
    slug = concord_server.unique("csp")
    statements = [f"Statement number {i} about parks" for i in range(6)]
    concord_server.call("conversation_create", slug=slug, topic="CSP", statements=statements)
    concord_server.call("crowd_vote", slug=slug, n=12)
    concord_server.call("snapshot_build", slug=slug)
    username = concord_server.unique("csp-mod")
    concord_server.call(
        "user_create", username=username, password=PASSWORD, groups=["moderators"], moderates=slug
    )
    return {"slug": slug, "username": username}


def _visit(page: Any, url: str) -> list[str]:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security" in m.text else None)
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__cspViolations") + console


def _context(new_context: Any) -> Any:
    context = new_context()
    context.add_init_script(WATCH)
    return context


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_pass_the_csp(concord_server, new_context, voted, path):  # type: ignore[no-untyped-def]
    page = _context(new_context).new_page()
    assert _visit(page, concord_server.url(path.format(**voted))) == []


@pytest.mark.parametrize("path", MODERATOR)
def test_moderator_pages_pass_the_csp(concord_server, new_context, voted, path):  # type: ignore[no-untyped-def]
    page = _context(new_context).new_page()
    log_in(page, concord_server, voted["username"], "/")
    assert _visit(page, concord_server.url(path.format(**voted))) == []
