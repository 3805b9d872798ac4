"""Accessibility: axe-core finds no serious problems, 360 px works, focus is always visible.

axe-core is the npm package (`npm install --no-save --no-package-lock axe-core@4`, into the
git-ignored node_modules/), which `make setup` installs; a missing axe-core fails the test.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, REPO

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
STATEMENTS = ["Statements should be short.", "Every vote should count.", "Maps help people."]


def _conversation(server):  # type: ignore[no-untyped-def]
    slug = server.unique("a11y")
    questions = [{"key": "age", "label": "Age", "choices": ["under 30", "30 or over"]}]
    server.call(
        "conversation_create",
        slug=slug,
        topic="Accessible deliberation",
        statements=STATEMENTS,
        demographic_questions=questions,
    )
    server.call("crowd_vote", slug=slug, n=12)
    server.call("snapshot_build", slug=slug)
    return slug


def _serious_violations(page):  # type: ignore[no-untyped-def]
    # Evaluated through the devtools protocol: the pages' CSP (rightly) refuses an added
    # <script> tag, and axe is the test's code, not the page's.
    page.evaluate(AXE.read_text())
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa']});
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
        }"""
    )
    return found


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_main_pages_have_no_serious_axe_violations(concord_server, new_context, language):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    username = concord_server.unique("ally")
    concord_server.call("user_create", username=username, password=PASSWORD, moderates=slug)
    context = new_context()
    cookie = {"name": "django_language", "value": language, "url": concord_server.base_url}
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    page.locator("[data-testid=you-are-here], #groups-table:not([hidden])").first.wait_for()
    page.locator("#demo-details summary").click()
    assert _serious_violations(page) == []
    log_in_path = f"/c/{slug}/moderate/"
    page.goto(concord_server.url(f"/accounts/login/?next={log_in_path}"))
    assert _serious_violations(page) == []
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator("#statements-table tbody tr").first.wait_for()
    assert _serious_violations(page) == []
    page.goto(concord_server.url(f"/c/{slug}/report/"))
    page.locator("#rank-gic li").first.wait_for()
    assert _serious_violations(page) == []


def test_the_participant_page_fits_a_360_pixel_phone(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    page = new_context(viewport={"width": 360, "height": 740}, has_touch=True).new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    expect(page.locator("#statement-text")).to_have_text(STATEMENTS[0])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    agree = page.locator("#vote-buttons .vote-agree")
    assert agree.bounding_box()["height"] >= 44  # a comfortable touch target
    agree.tap()
    expect(page.locator("#progress")).to_have_text("1 of 3")


def test_keyboard_focus_is_always_visible(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    expect(page.locator("#statement-text")).to_have_text(STATEMENTS[0])
    for _ in range(8):
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), page.evaluate("document.activeElement.outerHTML")
