"""Every word in the participant's language, and input the user can see: server refusals are
translated and shown as they are (not as "something went wrong"), long text is refused with a
live counter instead of being cut, language codes are checked, an empty conversation says so."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in

ARABIC = "يجب أن يعترف المساعد الذكي عندما لا يكون متأكدًا."


def _conversation(server, statements, **fields):  # type: ignore[no-untyped-def]
    slug = server.unique("words")
    server.call("conversation_create", slug=slug, topic="قيم", statements=statements, **fields)
    return slug


def _arabic_page(server, new_context, slug):  # type: ignore[no-untyped-def]
    context = new_context()
    context.add_cookies([{"name": "django_language", "value": "ar", "url": server.url("/")}])
    page = context.new_page()
    page.goto(server.url(f"/c/{slug}/"))
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    return page


def test_a_duplicate_is_refused_in_arabic_without_something_went_wrong(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server, [ARABIC])
    page = _arabic_page(concord_server, new_context, slug)
    expect(page.locator("#statement-text")).to_have_text(ARABIC)
    page.locator("#submit-text").fill(ARABIC)
    page.locator("#submit-form button[type=submit]").click()
    status = page.locator("#submit-status")
    expect(status).to_have_text("هذه العبارة تكرار لعبارة موجودة.")
    expect(status).not_to_contain_text("حدث خطأ")


def test_a_long_statement_is_counted_live_and_refused_not_cut(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server, ["A first statement."])
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    field = page.get_by_label("A short statement others can agree or disagree with")
    expect(page.locator("#submit-count")).to_have_text("0 / 1000 characters")
    long_text = "Word " * 1000  # 5,000 characters pasted at once
    field.fill(long_text)
    expect(field).to_have_value(long_text)  # nothing cut off
    expect(page.locator("#submit-count")).to_have_text("4999 / 1000 characters")
    page.get_by_role("button", name="Submit statement").click()
    expect(page.locator("#submit-status")).to_have_text(
        "That is 4999 characters; a statement may have at most 1000. Please shorten it."
    )
    assert concord_server.call("statement_count", slug=slug)["count"] == 1


def test_an_empty_conversation_says_it_is_empty(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server, [])
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    expect(page.locator("#statement-text")).to_have_text(
        "This conversation has no statements yet. New ones will appear here as they are added."
    )
    arabic = _arabic_page(concord_server, new_context, slug)
    expect(arabic.locator("#statement-text")).to_contain_text("لا توجد عبارات في هذا النقاش بعد")


def test_unknown_language_codes_are_refused_in_the_settings(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server, ["A statement."])
    username = concord_server.unique("mona")
    concord_server.call("user_create", username=username, password=PASSWORD, moderates=slug)
    page = new_context().new_page()
    log_in(page, concord_server, username, f"/c/{slug}/moderate/")
    page.get_by_label("Languages (codes separated by commas)").fill("en, xx")
    page.get_by_role("button", name="Save settings").click()
    status = page.locator("#settings-status")
    expect(status).to_contain_text("Unknown language codes: xx")
    expect(status).not_to_contain_text("Something went wrong")
    page.get_by_label("Languages (codes separated by commas)").fill("en, ar, zh-hans")
    page.get_by_role("button", name="Save settings").click()
    expect(status).to_have_text("Settings saved.")
