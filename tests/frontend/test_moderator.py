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
    page.get_by_role("button", name="Add a question").click()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Every question needs a key.")
    page.get_by_label("Key (short, stored with each answer)").fill("age")
    page.get_by_label("Question", exact=True).fill("Age")
    page.get_by_label("Choices, one per line").fill("young\nold")
    page.get_by_text("In Arabic", exact=True).click()
    page.get_by_label("Question in Arabic").fill("العمر")
    page.get_by_label("Choices in Arabic, one per line, in the same order").fill("شاب\nكبير")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Settings saved.")

    participant = new_context().new_page()
    participant.goto(concord_server.url(f"/c/{slug}/"))
    expect(participant.get_by_role("heading", level=1)).to_have_text(
        "How should our region use AI?"
    )
    expect(participant.locator("#demo-age option")).to_have_count(3)
    expect(participant.get_by_label("Age", exact=True)).to_be_attached()
    arabic = new_context()
    arabic.add_cookies([{"name": "django_language", "value": "ar", "url": concord_server.url("/")}])
    arabic_page = arabic.new_page()
    arabic_page.goto(concord_server.url(f"/c/{slug}/"))
    expect(arabic_page.locator("label[for=demo-age]")).to_have_text("العمر")
    expect(arabic_page.locator("#demo-age option[value=old]")).to_have_text("كبير")
    participant.get_by_label("A short statement others can agree or disagree with").fill(
        "Open data."
    )
    participant.get_by_role("button", name="Submit statement").click()
    expect(participant.locator("#submit-status")).to_contain_text("now open for votes")


def test_a_moderator_corrects_decisions_and_participants_follow_live(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug, username = _setup(concord_server)
    wrong = "Everyone who disagrees with me is an idiot."
    concord_server.call("statement_seed", slug=slug, text=wrong)  # accepted by mistake
    participant = new_context().new_page()
    participant.goto(concord_server.url(f"/c/{slug}/"))
    expect(participant.locator("#progress")).to_have_text("0 of 2")

    moderator = new_context().new_page()
    log_in(moderator, concord_server, username, f"/c/{slug}/moderate/")
    row = moderator.locator("#statements-table tbody tr", has_text=wrong)
    row.get_by_role("button", name=re.compile("^Reject")).click()
    expect(moderator.locator("#table-status")).to_have_text("Give a reason for rejecting.")
    row.get_by_label("Reason for the change").fill("Insulting")
    row.get_by_role("button", name=re.compile("^Reject")).click()
    expect(row.locator("[data-testid=state]")).to_have_text("rejected")
    expect(row).to_contain_text("Insulting")
    expect(participant.locator("#progress")).to_have_text("0 of 1")  # live, no reload

    row.get_by_role("button", name=re.compile("^Back to the queue")).click()
    expect(moderator.locator("#table-status")).to_have_text(
        "Give a reason for changing this decision."
    )
    row.get_by_label("Reason for the change").fill("Second look")
    row.get_by_role("button", name=re.compile("^Back to the queue")).click()
    expect(moderator.locator("#queue li", has_text=wrong)).to_be_visible()

    # bulk: select the queued one and the seed, accept both at once
    moderator.locator("#queue li", has_text=wrong).get_by_role("checkbox").check()
    seed_row = moderator.locator("#statements-table tbody tr", has_text="publish every algorithm")
    seed_row.get_by_role("checkbox").check()
    moderator.get_by_role("button", name="Reject selected").click()
    expect(moderator.locator("#bulk-status")).to_have_text("Give a reason for rejecting.")
    moderator.get_by_label("Reason (needed to reject or to change a decision)").fill("Tidy up")
    moderator.get_by_role("button", name="Reject selected").click()
    expect(moderator.locator("#bulk-status")).to_have_text("2 rejected.")
    expect(participant.locator("#progress")).to_have_text("0 of 0")

    audit = moderator.request.get(concord_server.url(f"/api/v1/conversations/{slug}/audit/"))
    actions = [e["action"] for e in audit.json()["results"]]
    assert actions.count("statement.rejected") == 3 and "statement.pending" in actions


def test_bulk_paste_keeps_only_the_lines_not_added_and_seeds_from_a_file(
    concord_server, new_context, tmp_path
):  # type: ignore[no-untyped-def]
    slug, username = _setup(concord_server)
    moderator = new_context().new_page()
    log_in(moderator, concord_server, username, f"/c/{slug}/moderate/")
    box = moderator.get_by_label("Several statements, one per line")
    box.fill(
        "Buses should be routed by AI.\nThe city should publish every algorithm it uses.\n"
        + "x" * 1001
    )
    moderator.get_by_role("button", name="Add all").click()
    results = moderator.locator("#seed-results")
    expect(results).to_contain_text("1 added, 2 not added.")
    expect(results).to_contain_text("Line 2 not added (This statement duplicates an existing one.)")
    expect(results).not_to_contain_text("Something went wrong")
    expect(box).to_have_value("The city should publish every algorithm it uses.\n" + "x" * 1001)
    moderator.get_by_role("button", name="Add all").click()  # a second click adds nothing twice
    expect(results).to_contain_text("0 added, 2 not added.")

    seeds = tmp_path / "seeds.csv"
    seeds.write_text(
        'id,text\n1,"Trams, not cars, downtown."\n2,"Say ""no"" to facial recognition."\n',
        encoding="utf-8",
    )
    moderator.get_by_label(re.compile("Or read them from a file")).set_input_files(str(seeds))
    expect(moderator.locator("#seed-status")).to_contain_text("2 statements read from seeds.csv")
    expect(box).to_have_value('Trams, not cars, downtown.\nSay "no" to facial recognition.')
    moderator.get_by_role("button", name="Add all").click()
    expect(results).to_contain_text("2 added, 0 not added.")
    expect(box).to_have_value("")
    table = moderator.locator("#statements-table tbody")
    expect(table).to_contain_text('Say "no" to facial recognition.')
