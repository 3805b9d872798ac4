"""The moderator console: seed, moderate, close; a participant's page follows along live."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in


def _setup(server):  # type: ignore[no-untyped-def]
    slug = server.unique("moderated")
    server.call(
        "conversation_create",
        slug=slug,
        topic="How should our city use AI?",
        statements=["The city should publish every algorithm it uses."],
    )
    username = server.unique("mona")
    server.call("user_create", username=username, password=PASSWORD, moderates=slug)
    return slug, username


def test_a_moderator_accepts_a_statement_and_another_browser_sees_it_without_reloading(
    concord_server, new_context
):  # type: ignore[no-untyped-def]
    slug, username = _setup(concord_server)
    participant = new_context().new_page()
    participant.goto(concord_server.url(f"/c/{slug}/"))
    expect(participant.locator("#statement-text")).to_have_text(
        "The city should publish every algorithm it uses."
    )
    participant.keyboard.press("a")
    expect(participant.locator("#statement-text")).to_contain_text("You have voted on every")

    moderator = new_context().new_page()
    log_in(moderator, concord_server, username, f"/c/{slug}/moderate/")
    expect(moderator.locator("[data-stat=votes]")).to_have_text("1")

    concord_server.call(
        "statement_submit_anonymously",
        slug=slug,
        text="Residents should be able to opt out of AI decisions.",
    )
    queued = moderator.locator("#queue li", has_text="opt out of AI decisions")
    expect(queued).to_be_visible()  # arrived over the websocket
    queued.get_by_role("button", name=re.compile("^Accept")).click()
    expect(moderator.locator("#queue-status")).to_have_text("Accepted.")
    expect(participant.locator("#statement-text")).to_have_text(
        "Residents should be able to opt out of AI decisions."
    )
    expect(participant.locator("#progress")).to_have_text("1 of 2")


def test_a_moderator_bulk_seeds_rejects_with_a_reason_and_closes(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug, username = _setup(concord_server)
    participant = new_context().new_page()
    participant.goto(concord_server.url(f"/c/{slug}/"))
    expect(participant.locator("#progress")).to_have_text("0 of 1")

    moderator = new_context().new_page()
    log_in(moderator, concord_server, username, f"/c/{slug}/moderate/")
    moderator.get_by_label("Several statements, one per line").fill(
        "Buses should be routed by AI.\n\nThe city should publish every algorithm it uses.\n"
        "Parking fines should never be automated."
    )
    moderator.get_by_role("button", name="Add all").click()
    expect(moderator.locator("#seed-results")).to_contain_text("2 added, 1 not added.")
    expect(participant.locator("#progress")).to_have_text("0 of 3")  # live, no reload

    concord_server.call("statement_submit_anonymously", slug=slug, text="Buy me a coffee!!!")
    queued = moderator.locator("#queue li", has_text="Buy me a coffee")
    queued.get_by_role("button", name=re.compile("^Reject")).click()
    expect(moderator.locator("#queue-status")).to_have_text("Give a reason for rejecting.")
    queued.get_by_label("Reason for rejecting").fill("Spam")
    queued.get_by_role("button", name=re.compile("^Reject")).click()
    expect(moderator.locator("#queue li", has_text="Buy me a coffee")).to_have_count(0)
    expect(moderator.locator("[data-stat=statements_rejected]")).to_have_text("1")

    moderator.get_by_role("button", name="Close the conversation").click()
    expect(moderator.locator("#open-state")).to_have_text("Closed: no more votes")
    expect(participant.locator("#closed-banner")).to_be_visible()
    expect(participant.get_by_role("button", name=re.compile("Agree"))).to_be_disabled()


def test_only_moderators_reach_the_console(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug, _ = _setup(concord_server)
    outsider = concord_server.unique("otto")
    concord_server.call("user_create", username=outsider, password=PASSWORD)
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/moderate/"))
    expect(page).to_have_url(re.compile("/accounts/login/"))
    log_in(page, concord_server, outsider, "/")
    response = page.goto(concord_server.url(f"/c/{slug}/moderate/"))
    assert response.status == 403


def test_a_moderator_creates_a_conversation_and_lands_in_its_console(concord_server, new_context):  # type: ignore[no-untyped-def]
    username = concord_server.unique("nina")
    concord_server.call("user_create", username=username, password=PASSWORD, groups=["moderators"])
    page = new_context().new_page()
    log_in(page, concord_server, username, "/new/")
    slug = concord_server.unique("created")
    page.get_by_label("Topic").fill("Should the library open on Sundays?")
    page.get_by_label("Link name").fill(slug)
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(concord_server.url(f"/c/{slug}/moderate/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Should the library open on Sundays?")
    expect(page.locator("#queue")).to_contain_text("No statements are waiting")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(concord_server.url("/"))
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_role("link", name="Should the library open on Sundays?")).to_be_visible()


def test_a_moderator_changes_the_settings(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug, username = _setup(concord_server)
    page = new_context().new_page()
    log_in(page, concord_server, username, f"/c/{slug}/moderate/")
    page.get_by_label("Topic").fill("How should our region use AI?")
    page.get_by_label("Participant statements wait for a moderator").uncheck()
    page.get_by_label("Demographic questions (JSON)").fill("not json")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text(
        "The demographic questions are not valid JSON."
    )
    page.get_by_label("Demographic questions (JSON)").fill(
        '[{"key": "age", "choices": ["young", "old"]}]'
    )
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Settings saved.")

    participant = new_context().new_page()
    participant.goto(concord_server.url(f"/c/{slug}/"))
    expect(participant.get_by_role("heading", level=1)).to_have_text(
        "How should our region use AI?"
    )
    expect(participant.locator("#demo-age option")).to_have_count(3)
    participant.get_by_label("A short statement others can agree or disagree with").fill(
        "Open data."
    )
    participant.get_by_role("button", name="Submit statement").click()
    expect(participant.locator("#submit-status")).to_contain_text("now open for votes")
