"""Constitution and training pages on a real imported Polis conversation (15-per-hour Seattle).

A researcher builds a constitution (the default MEA rule finds nothing on this conversation and
the page says so; GIC at 0.5 does), reads each principle's provenance, exports and re-imports it,
then starts a tiny training run, which a scenario executes in the server process (no worker runs
in the browser tests), and watches the page turn to "succeeded" with a loss plot and evaluation.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in, shared_polis_folder
from tests.frontend.test_accessibility import AXE, _serious_violations


@pytest.fixture(scope="module")
def seattle(concord_server):  # type: ignore[no-untyped-def]
    """The imported Seattle conversation with a snapshot, and a researcher's login."""
    slug = concord_server.unique("seattle-cai")
    folder = shared_polis_folder("15-per-hour-seattle")
    concord_server.call("polis_load", folder=str(folder), slug=slug)
    concord_server.call("snapshot_build", slug=slug)
    username = concord_server.unique("rosa")
    concord_server.call("user_create", username=username, password=PASSWORD, groups=["researchers"])
    return {"slug": slug, "username": username}


def _build(page, rule: str, threshold: str = "") -> None:  # type: ignore[no-untyped-def]
    page.locator("#build-rule").select_option(rule)
    page.locator("#build-threshold").fill(threshold)
    page.get_by_role("button", name="Build constitution").click()


def _build_gic(page, *, first: bool = True) -> None:  # type: ignore[no-untyped-def]
    _build(page, "gic", "0.5")
    # The same rule on the same snapshot again makes no new version: it names the one it is.
    done = "Built 1 constitution" if first else re.compile("Built 1 constitution|already Version")
    expect(page.locator("#build-status")).to_contain_text(done)
    expect(page.locator("#principles > li.principle").first).to_be_visible()


def test_a_researcher_builds_reads_exports_and_imports_a_constitution(
    concord_server, new_context, seattle
):  # type: ignore[no-untyped-def]
    slug = seattle["slug"]
    page = new_context().new_page()
    log_in(page, concord_server, seattle["username"], f"/c/{slug}/constitution/")
    expect(page.locator("#constitution-meta")).to_have_text(
        "No constitution has been built for this conversation yet."
    )

    # the default MEA threshold (0.6) selects nothing here: the API's message is shown
    _build(page, "mea")
    status = page.locator("#build-status")
    expect(status).to_contain_text("no statement passes rule 'MEA' at threshold 0.6")
    expect(status).to_have_class(re.compile("error"))

    _build_gic(page)
    expect(page.locator("#current-version")).to_contain_text("Version 1")
    expect(page.locator("#constitution-meta")).to_contain_text("threshold 0.5")
    principles = page.locator("#principles > li.principle")
    first = principles.first
    text = first.locator(".principle-text")
    expect(text).to_contain_text("Choose the response that")
    expect(text).to_have_attribute("dir", "auto")
    # provenance: the source statement, its scores and the votes of every opinion group
    source = first.locator("li.source").first
    expect(source.locator(".statement-text")).to_have_attribute("dir", "auto")
    expect(source.locator(".chip").first).to_contain_text(re.compile(r"GIC \d\.\d{3}"))
    rows = source.locator("table.votes tbody tr")
    assert rows.count() >= 2
    expect(rows.first).to_contain_text(re.compile(r"Group A\s*\d+ \(\d+%\)"))

    # exports: Markdown through the button, JSON re-imported as version 2
    with page.expect_download() as download:
        page.locator("#export-md").click()
    markdown = open(download.value.path(), encoding="utf-8").read()
    assert markdown.startswith("# Constitution v1") and "Statement " in markdown
    json_href = page.locator("#export-json").get_attribute("href")
    exported = page.request.get(concord_server.url(json_href))
    document = json.loads(exported.body())
    assert len(document["principles"]) == principles.count()

    page.locator("#import-json").fill("{not json")
    page.get_by_role("button", name="Import as a new version").click()
    expect(page.locator("#import-status")).to_contain_text("not valid JSON")
    page.locator("#import-json").fill('{"principles": []}')
    page.get_by_role("button", name="Import as a new version").click()
    expect(page.locator("#import-status")).to_contain_text("Not a valid constitution document")
    # the download pasted back exactly as the page offered it: same content, no new version
    # (the page sends the text itself, so "-1.0" cannot turn into "-1" and break the hash)
    page.locator("#import-json").fill(exported.text())
    page.get_by_role("button", name="Import as a new version").click()
    expect(page.locator("#import-status")).to_have_text(
        "Nothing new: this content is already Version 1."
    )
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    # rebuilding the same rule on the same snapshot makes no new version either
    _build(page, "gic", "0.5")
    expect(page.locator("#build-status")).to_have_text(
        "Nothing new: this content is already Version 1."
    )
    # an out-of-range threshold is refused before it reaches the server
    _build(page, "mea", "-1")
    expect(page.locator("#build-status")).to_have_text(
        "The threshold must be above 0 and at most 1."
    )

    edited = {**document, "content_hash": None}
    edited["principles"] = [dict(p) for p in document["principles"]]
    edited["principles"][0]["text"] = "Choose the response that is edited by hand."
    page.locator("#import-json").fill(json.dumps(edited))
    page.get_by_role("button", name="Import as a new version").click()
    expect(page.locator("#import-status")).to_have_text("Imported as version 2.")
    expect(page.locator("#versions tbody tr")).to_have_count(2)

    # diff between the two versions: same principles
    page.locator("#diff-old").select_option(label="Version 1")
    page.locator("#diff-new").select_option(label="Version 2")
    page.get_by_role("button", name="Show changes").click()
    expect(page.locator("#diff")).to_contain_text("Changed (1)")

    # drafts: the public sees nothing until a version is published
    visitor = new_context().new_page()
    visitor.goto(concord_server.url(f"/c/{slug}/constitution/"))
    expect(visitor.locator("#constitution-meta")).to_have_text(
        "No constitution has been built for this conversation yet."
    )
    row1 = page.locator("#versions tbody tr", has_text="Version 1")
    expect(row1.locator("[data-testid=status]")).to_contain_text("Draft")
    row1.get_by_role("button", name="Publish: Version 1").click()
    expect(page.locator("#build-status")).to_contain_text("Version 1 is published")
    expect(row1.locator("[data-testid=status]")).to_have_text("Published")
    visitor.reload()
    expect(visitor.locator("#current-version")).to_have_text("· Version 1")
    expect(visitor.locator("#versions tbody tr")).to_have_count(1)

    # per-group constitutions
    page.locator("#build-threshold").fill("")
    page.locator("#build-per-group").check()
    page.get_by_role("button", name="Build constitution").click()
    expect(page.locator("#group-constitutions details.group-constitution").first).to_be_visible()
    assert AXE.exists() and _serious_violations(page) == []


def test_the_arabic_constitution_page_is_right_to_left(concord_server, new_context, seattle):  # type: ignore[no-untyped-def]
    slug = seattle["slug"]
    context = new_context()
    cookie = {"name": "django_language", "value": "ar", "url": concord_server.base_url}
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(concord_server.url(f"/c/{slug}/constitution/"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    expect(page.locator("#versions-title")).to_have_text("الإصدارات")
    expect(page.locator("#build-form")).to_have_count(0)  # anonymous: read only
    principle = page.locator("#principles .principle-text").first
    if principle.count():  # the first test built one; alone, the page is simply empty
        expect(principle).to_have_attribute("dir", "auto")
        assert principle.evaluate("n => getComputedStyle(n).direction") == "ltr"  # English text


def test_training_pages_are_closed_to_participants(concord_server, new_context, seattle):  # type: ignore[no-untyped-def]
    slug = seattle["slug"]
    page = new_context().new_page()
    page.goto(concord_server.url(f"/c/{slug}/training/"))
    expect(page).to_have_url(re.compile("/accounts/login/"))
    username = concord_server.unique("paul")
    concord_server.call("user_create", username=username, password=PASSWORD)
    log_in(page, concord_server, username, "/")
    expect(page.get_by_role("link", name="Constitution").first).to_be_visible()
    expect(page.get_by_role("link", name="Training runs")).to_have_count(0)
    assert page.request.get(concord_server.url(f"/c/{slug}/training/")).status == 403
    page.goto(concord_server.url(f"/c/{slug}/constitution/"))
    expect(page.locator("#versions-title")).to_be_visible()
    expect(page.locator("#build-form")).to_have_count(0)


@pytest.mark.slow
def test_a_researcher_trains_a_tiny_model_and_watches_it_finish(
    concord_server, new_context, seattle
):  # type: ignore[no-untyped-def]
    slug = seattle["slug"]
    page = new_context().new_page()
    log_in(page, concord_server, seattle["username"], "/")
    expect(page.get_by_role("link", name="Training runs").first).to_be_visible()
    page.goto(concord_server.url(f"/c/{slug}/report/"))
    page.get_by_role("link", name="Constitution").click()
    _build_gic(page, first=False)  # the module's first test may have built this one already
    page.get_by_role("link", name="Training runs").click()
    expect(page).to_have_url(re.compile(f"/c/{slug}/training/"))

    expect(page.locator("#run-constitution")).to_have_value(re.compile(r"\d+"))
    page.locator("#run-model").fill("tiny")
    page.locator("#run-method").select_option("dpo")
    page.locator("#run-sft-steps").fill("0")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#start-status")).to_contain_text("must be a whole number")
    for field, value in (
        ("sft-steps", "2"),
        ("pref-steps", "2"),
        ("max-prompts", "4"),
        ("max-heldout", "2"),
    ):
        page.locator(f"#run-{field}").fill(value)
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#start-status")).to_contain_text("queued")
    detail = page.locator("#run-detail")
    expect(detail).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "queued")
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    run_id = int(detail.get_attribute("data-run-id"))

    result = concord_server.call("training_run_execute", run_id=run_id, timeout=900)
    assert result["status"] == "succeeded", result["error"]

    # the page polls every 2 s and turns to succeeded on its own
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=30000)
    expect(page.locator("#run-progress")).to_have_js_property("value", 1)
    lines = page.locator("#loss-plot svg path.loss-line")
    expect(lines.first).to_be_attached()
    stages = [lines.nth(i).get_attribute("data-stage") for i in range(lines.count())]
    assert "sft" in stages and "preference" in stages, stages
    assert re.match(r"^M[\d.]+,[\d.]+", lines.first.get_attribute("d"))
    assert page.locator("#loss-plot svg circle").count() == result["points"] >= 2
    assert page.locator("#loss-table tbody tr").count() == result["points"]
    expect(page.locator("[data-metric=win_rate] dd").first).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator("[data-metric=reward_accuracy] dd")).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator("[data-metric=perplexity] dd")).to_contain_text("→")
    expect(page.locator("#run-error")).to_be_hidden()
    page.locator("#loss-table").evaluate("node => { node.closest('details').open = true; }")
    assert _serious_violations(page) == []

    export = page.request.get(concord_server.url(page.locator("#run-export").get_attribute("href")))
    assert export.status == 200
    assert "training_run.json" in zipfile.ZipFile(io.BytesIO(export.body())).namelist()


def test_imported_principle_texts_render_as_inert_text(concord_server, new_context, seattle):  # type: ignore[no-untyped-def]
    slug = concord_server.unique("hostile-constitution")
    concord_server.call("conversation_create", slug=slug, topic="Hostile", statements=["One."])
    hostile = '<img src=x onerror="window.pwned=1">Be kind \u202eevil'
    source = {"id": "1", "text": hostile, "scores": {}, "group_votes": []}
    principle = {
        "id": "p-1", "text": "Choose the response that " + hostile, "statement": hostile,
        "critique_request": hostile, "revision_request": hostile, "rewrite": "template",
        "sources": [source],
    }  # fmt: skip
    document = {
        "version": 1, "created_at": "2026-01-01T00:00:00+00:00", "rule": "manual",
        "params": {}, "source": {"conversation": slug}, "principles": [principle],
    }  # fmt: skip
    page = new_context().new_page()
    log_in(page, concord_server, seattle["username"], f"/c/{slug}/constitution/")
    page.locator("#import-json").fill(json.dumps(document))
    page.get_by_role("button", name="Import as a new version").click()
    expect(page.locator("#import-status")).to_have_text("Imported as version 1.")
    text = page.locator("#principles .principle-text")
    expect(text).to_have_text("Choose the response that " + hostile)
    assert page.locator("#principles img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    # the override stays inside the principle (dir=auto + unicode-bidi: isolate)
    assert text.evaluate("n => getComputedStyle(n).unicodeBidi") == "isolate"
