"""The researcher report on a real imported Polis conversation (15-per-hour Seattle)."""

from __future__ import annotations

import io
import json
import re
import zipfile

from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in, shared_polis_folder


def test_the_report_shows_groups_and_rankings_for_an_imported_polis_conversation(
    concord_server, new_context
):  # type: ignore[no-untyped-def]
    folder = shared_polis_folder("15-per-hour-seattle")
    slug = concord_server.unique("seattle")
    summary = concord_server.call("polis_load", folder=str(folder), slug=slug)
    assert summary["votes"] > 1000
    snapshot = concord_server.call("snapshot_build", slug=slug)
    assert snapshot["k"] >= 2
    username = concord_server.unique("rhea")
    concord_server.call("user_create", username=username, password=PASSWORD, groups=["researchers"])

    page = new_context().new_page()
    log_in(page, concord_server, username, f"/c/{slug}/report/")
    expect(page.locator("#snapshot-meta")).to_contain_text(re.compile(r"\d+ participants"))
    cards = page.locator("#group-cards article")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 2
    expect(cards.first.locator("li").first).to_be_visible()  # a representative statement
    for metric in ("gic", "mea", "bridging"):
        items = page.locator(f"#rank-{metric} > li")
        expect(items.first).to_be_visible()
        assert 1 <= items.count() <= 10
        expect(items.first.locator(".bar").first).to_have_attribute(
            "aria-label", re.compile("% agree")
        )
    expect(page.locator("#opinion-map svg circle[data-pid]").first).to_be_attached()
    expect(page.locator("#groups-table")).to_be_visible()

    polis = page.request.get(concord_server.url(f"/c/{slug}/export/polis.zip"))
    assert polis.status == 200 and polis.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(polis.body())).namelist()
    assert "comments.csv" in names
    snapshot_json = page.request.get(concord_server.url(f"/c/{slug}/export/snapshot.json"))
    assert json.loads(snapshot_json.body())["result"]["groups"]


def test_reports_and_exports_are_closed_to_participants(concord_server, new_context):  # type: ignore[no-untyped-def]
    slug = concord_server.unique("closed-report")
    concord_server.call("conversation_create", slug=slug, topic="Private", statements=["One."])
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/report/"))
    expect(page).to_have_url(re.compile("/accounts/login/"))
    username = concord_server.unique("pat")
    concord_server.call("user_create", username=username, password=PASSWORD)
    log_in(page, concord_server, username, "/")
    assert page.request.get(concord_server.url(f"/c/{slug}/export/polis.zip")).status == 403
    assert page.request.get(concord_server.url(f"/c/{slug}/report/")).status == 403
