"""A participant's own record in the browser: change and withdraw votes, delete my data, and the
exports (Polis CSV zip, snapshot JSON) that a researcher downloads afterwards hold none of it."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in

STATEMENTS = [
    "Public money should fund open AI models.",
    "AI tutors should be free for every pupil.",
    "Automated hiring should be banned.",
]
MINE = "My own statement that should leave with me."


def _export(page, server, slug):  # type: ignore[no-untyped-def]
    """(voter ids in votes.csv, statement texts in comments.csv) of the Polis export."""
    response = page.request.get(server.url(f"/c/{slug}/export/polis.zip"))
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(response.body()))
    votes = list(csv.DictReader(io.StringIO(archive.read("votes.csv").decode())))
    comments = list(csv.DictReader(io.StringIO(archive.read("comments.csv").decode())))
    return {row["voter-id"] for row in votes}, {row["comment-body"] for row in comments}


def _snapshot_participants(page, server, slug):  # type: ignore[no-untyped-def]
    response = page.request.get(server.url(f"/c/{slug}/export/snapshot.json"))
    return json.loads(response.body())["n_participants"]


def test_a_participant_changes_withdraws_and_deletes_their_data_and_exports_honour_it(
    concord_server, new_context
):  # type: ignore[no-untyped-def]
    server = concord_server
    slug = server.unique("record")
    server.call(
        "conversation_create",
        slug=slug,
        topic="Public AI",
        statements=STATEMENTS,
        strict_moderation=False,
        erased_statements="delete",
    )
    server.call("crowd_vote", slug=slug, n=3)
    page = new_context().new_page()
    page.goto(server.url(f"/c/{slug}/"))
    for i in range(3):
        expect(page.locator("#progress")).to_have_text(f"{i} of 3")
        expect(page.locator("#statement-text")).to_have_text(STATEMENTS[i])
        page.keyboard.press("a")
    page.get_by_label("A short statement others can agree or disagree with").fill(MINE)
    page.get_by_role("button", name="Submit statement").click()
    expect(page.locator("#submit-status")).to_contain_text("now open for votes")

    page.get_by_text("My votes and my data").click()
    votes = page.locator("#my-votes li[data-statement-id]")
    expect(votes).to_have_count(3)
    first = votes.filter(has_text=STATEMENTS[0])
    expect(first).to_contain_text("Your vote: Agree")
    first.get_by_role("button", name=f"Disagree: {STATEMENTS[0]}").click()
    expect(page.locator("#record-status")).to_have_text("Your vote was changed.")
    expect(votes.filter(has_text=STATEMENTS[0])).to_contain_text("Your vote: Disagree")
    votes.filter(has_text=STATEMENTS[1]).get_by_role("button", name="Withdraw:").click()
    expect(page.locator("#record-status")).to_contain_text("Your vote was withdrawn")
    expect(votes).to_have_count(2)
    expect(page.locator("#progress")).to_have_text("2 of 3")
    expect(page.locator("#statement-text")).to_have_text(STATEMENTS[1])  # back on the card

    researcher = server.unique("rhea")
    server.call("user_create", username=researcher, password=PASSWORD, groups=["researchers"])
    report = new_context().new_page()
    log_in(report, server, researcher, f"/c/{slug}/report/")
    server.call("snapshot_build", slug=slug)
    voters, texts = _export(report, server, slug)
    assert len(voters) == 4 and MINE in texts
    assert _snapshot_participants(report, server, slug) == 4

    page.get_by_role("button", name="Delete my data").click()
    page.get_by_role("button", name="Yes, delete everything of mine").click()
    expect(page.locator("#erase-status")).to_contain_text(
        "Your data was deleted: 2 votes, 0 answers, 1 statements."
    )
    expect(page.get_by_role("button", name="Agree", exact=False).first).to_be_disabled()

    voters, texts = _export(report, server, slug)
    assert len(voters) == 3 and MINE not in texts
    server.call("snapshot_build", slug=slug)  # what the worker does with the recompute asked for
    assert _snapshot_participants(report, server, slug) == 3
