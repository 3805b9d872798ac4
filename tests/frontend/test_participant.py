"""The participant page, used as a person would: keyboard voting, the live map, a statement."""

from __future__ import annotations

import re

from playwright.sync_api import expect

STATEMENTS = [
    "AI assistants should say when they are unsure.",
    "AI assistants should respect local customs.",
    "AI assistants should refuse to help hurt anyone.",
    "AI assistants should answer equally well in every language.",
    "AI assistants should never pretend to be human.",
    "AI assistants should protect the privacy of their users.",
    "AI assistants should explain the reasons for their answers.",
    "AI assistants should avoid taking political sides.",
    "AI assistants should follow the law of the user's country.",
    "AI assistants should be free of charge for students.",
]
KEYS = ["a", "d", "p", "ArrowRight", "ArrowLeft", "ArrowDown", "a", "A", "d", "p"]


def _conversation(server, **fields):  # type: ignore[no-untyped-def]
    slug = server.unique("participant")
    server.call(
        "conversation_create",
        slug=slug,
        topic="What should AI value?",
        statements=STATEMENTS,
        **fields,
    )
    return slug


def test_a_participant_votes_through_ten_statements_by_keyboard_and_sees_themselves_on_the_map(
    concord_server, new_context
):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    concord_server.call("crowd_vote", slug=slug, n=16)
    served_before = concord_server.call("votes_batched")
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    requests: list[str] = []

    card = page.locator("#statement-text")
    expect(page.locator("#progress")).to_have_text("0 of 10")
    expect(card).to_have_text(STATEMENTS[0])
    page.on("request", lambda request: requests.append(request.url))
    for i, key in enumerate(KEYS):
        expect(card).to_have_text(STATEMENTS[i])
        page.keyboard.press(key)
        expect(page.locator("#progress")).to_have_text(f"{i + 1} of 10")
    expect(card).to_contain_text("You have voted on every statement")
    served = concord_server.call("votes_batched")  # the page votes by token, cookie-free
    assert served["votes"] - served_before["votes"] == 10
    # One request per vote: the vote's answer carries the next card and the progress.
    assert sum(url.endswith("/votes/") for url in requests) == 10
    assert not [url for url in requests if url.endswith(("/next/", "/me/"))], requests
    expect(page.get_by_role("button", name=re.compile("Agree"))).to_be_disabled()

    result = concord_server.call("snapshot_build", slug=slug)
    expect(page.locator("[data-testid=you-are-here]")).to_be_visible()
    expect(page.locator("#your-group")).to_contain_text(re.compile(r"You are in group [A-Z]"))
    expect(page.get_by_role("img", name=re.compile("Opinion map: 17 participants"))).to_be_visible()
    expect(page.locator("#groups-table tbody tr")).to_have_count(result["k"] or 2)


def test_a_participant_is_told_their_statement_awaits_moderation(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = _conversation(concord_server)
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    expect(page.locator("#statement-text")).to_have_text(STATEMENTS[0])
    page.get_by_label("A short statement others can agree or disagree with").fill(
        "AI assistants should admit their mistakes."
    )
    page.get_by_role("button", name="Submit statement").click()
    expect(page.locator("#submit-status")).to_contain_text("awaits moderation")


def test_demographic_answers_need_consent_and_can_be_revoked_in_one_click(
    concord_server, new_context
):  # type: ignore[no-untyped-def]
    questions = [{"key": "age", "label": "Age", "choices": ["under 30", "30 or over"]}]
    slug = _conversation(concord_server, demographic_questions=questions)
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    expect(page.locator("#statement-text")).to_have_text(STATEMENTS[0])
    page.get_by_text("About you (optional)").click()
    page.get_by_label("Age", exact=True).select_option("under 30")
    page.get_by_role("button", name="Save my answers").click()
    expect(page.locator("#demo-status")).to_contain_text("tick the consent box")
    page.get_by_label("I agree that these answers are stored").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.locator("#demo-status")).to_contain_text("your answers are saved")
    page.get_by_role("button", name="Withdraw consent and delete my answers").click()
    expect(page.locator("#demo-status")).to_contain_text("deleted (1)")
    expect(page.get_by_label("I agree that these answers are stored")).not_to_be_checked()
