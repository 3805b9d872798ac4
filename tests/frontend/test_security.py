"""Statement text is data, never markup: scripts, handlers and bidi overrides stay inert."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in

HOSTILE = [
    "<script>window.__pwned = 'script'; alert('script')</script> is what I think",
    "<img src=x onerror=\"window.__pwned='img'; alert('img')\"> should be allowed",
    "Pay \u202eexe.txt\u202c for \u202egnp.exe the invoice",
]


def _watch(page):  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def _assert_inert(page, dialogs):  # type: ignore[no-untyped-def]
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0


def test_hostile_statements_render_as_inert_text_for_participants(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = concord_server.unique("hostile")
    concord_server.call(
        "conversation_create", slug=slug, topic="<b>Bold</b> topic", statements=HOSTILE
    )
    page = new_context().new_page()
    dialogs = _watch(page)
    page.goto(concord_server.url(f"/c/{slug}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("<b>Bold</b> topic")
    card = page.locator("#statement-text")
    for text in HOSTILE:
        expect(card).to_have_text(text.strip())
        assert card.evaluate("node => node.textContent") == text.strip()
        assert card.get_attribute("dir") == "auto"
        _assert_inert(page, dialogs)
        page.keyboard.press("p")
    expect(card).to_contain_text("You have voted on every")
    _assert_inert(page, dialogs)


def test_hostile_statements_render_as_inert_text_for_moderators(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = concord_server.unique("hostile-queue")
    concord_server.call("conversation_create", slug=slug, topic="Queue", statements=[])
    username = concord_server.unique("mod")
    concord_server.call("user_create", username=username, password=PASSWORD, moderates=slug)
    for text in HOSTILE:
        concord_server.call("statement_submit_anonymously", slug=slug, text=text)
    page = new_context().new_page()
    dialogs = _watch(page)
    log_in(page, concord_server, username, f"/c/{slug}/moderate/")
    items = page.locator("#queue li .statement-text")
    expect(items).to_have_count(3)
    assert items.evaluate_all("nodes => nodes.map(n => n.textContent)") == [
        t.strip() for t in HOSTILE
    ]
    _assert_inert(page, dialogs)
