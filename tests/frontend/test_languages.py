"""Languages: the switcher, right-to-left layout for Arabic and Farsi, translated UI strings."""

from __future__ import annotations

from playwright.sync_api import expect

STATEMENTS = [
    "يجب أن يعترف المساعد الذكي عندما لا يكون متأكدًا.",
    "AI assistants should answer equally well in every language.",
]


def _conversation(server):  # type: ignore[no-untyped-def]
    slug = server.unique("languages")
    server.call(
        "conversation_create", slug=slug, topic="قيم الذكاء الاصطناعي", statements=STATEMENTS
    )
    return slug


def _switch_language(page, code):  # type: ignore[no-untyped-def]
    page.locator("#language-select").select_option(code)
    page.locator("form.lang button[type=submit]").click()
    page.wait_for_function(f"document.documentElement.lang === '{code}'")


def test_the_arabic_page_is_right_to_left_and_translated(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    _switch_language(page, "ar")

    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    expect(page.get_by_role("button", name="أوافق", exact=True)).to_be_visible()
    expect(page.locator("#progress")).to_have_text("0 من 2")
    card = page.locator("#statement-text")
    expect(card).to_have_text(STATEMENTS[0])
    expect(card).to_have_attribute("dir", "auto")

    page.keyboard.press("ArrowLeft")  # in RTL the agree button is on the left
    expect(page.locator("#vote-status")).to_have_text("سُجِّل: أوافق")
    expect(card).to_have_text(STATEMENTS[1])
    assert card.evaluate("node => getComputedStyle(node).direction") == "ltr"  # dir=auto: English


def test_farsi_is_right_to_left_and_mandarin_left_to_right(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    _switch_language(page, "fa")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("button", name="موافقم", exact=True)).to_be_visible()
    _switch_language(page, "zh-hans")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("button", name="同意", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="投票", exact=True)).to_be_visible()
