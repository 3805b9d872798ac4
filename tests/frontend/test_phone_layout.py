"""Phones first: at 360 px no page scrolls sideways (English and Arabic), the vote card and its
buttons fit the first 360 × 640 screen, and the opinion map's labels never overlap."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, log_in, shared_polis_folder

PHONE = {"width": 360, "height": 640}
# The innermost elements sticking out on the right or left, to say what overflows.
WIDE_ELEMENTS = """
() => [...document.querySelectorAll("body *")].filter(node => {
  const box = node.getBoundingClientRect();
  if (box.width === 0 || node.matches(".skip, .visually-hidden")) return false;
  if (box.right <= innerWidth + 0.5 && box.left >= -0.5) return false;
  for (let up = node.parentElement; up; up = up.parentElement)
    if (getComputedStyle(up).overflowX !== "visible") return false;
  return true;
}).slice(-8).map(n => n.tagName + "#" + n.id + "." + n.className + " "
  + Math.round(n.getBoundingClientRect().left) + ".." + Math.round(n.getBoundingClientRect().right))
"""
LABELS_OVERLAP = """
svg => {
  const boxes = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim())
    .map(t => ({ text: t.textContent, box: t.getBoundingClientRect() }));
  const hits = [];
  for (let i = 0; i < boxes.length; i += 1) for (let j = i + 1; j < boxes.length; j += 1) {
    const a = boxes[i].box, b = boxes[j].box;
    const apart = a.right - 0.5 <= b.left || b.right - 0.5 <= a.left
      || a.bottom - 0.5 <= b.top || b.bottom - 0.5 <= a.top;
    if (!apart) hits.push(boxes[i].text + " / " + boxes[j].text);
  }
  return hits;
}
"""


@pytest.fixture(scope="module")
def seattle(concord_server):  # type: ignore[no-untyped-def]
    """An imported real conversation with a snapshot, a constitution, a moderator login."""
    slug = concord_server.unique("phone")
    concord_server.call(
        "polis_load", folder=str(shared_polis_folder("15-per-hour-seattle")), slug=slug
    )
    concord_server.call("snapshot_build", slug=slug)
    username = concord_server.unique("mo")
    concord_server.call(
        "user_create", username=username, password=PASSWORD, groups=["moderators", "researchers"],
        moderates=slug,
    )  # fmt: skip
    return {"slug": slug, "username": username}


def _pages(slug: str) -> list[str]:
    return [
        "/",
        f"/c/{slug}/",
        f"/c/{slug}/moderate/",
        f"/c/{slug}/report/",
        f"/c/{slug}/constitution/",
        f"/c/{slug}/training/",
        "/new/",
    ]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_no_page_scrolls_sideways_at_360_pixels(concord_server, new_context, seattle, language):  # type: ignore[no-untyped-def]
    context = new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    log_in(page, concord_server, seattle["username"], "/")  # the English form, then switch
    cookie = {"name": "django_language", "value": language, "url": concord_server.url("/")}
    context.add_cookies([cookie])
    wide = {}
    for path in [*_pages(seattle["slug"]), "/accounts/login/"]:
        page.goto(concord_server.url(path))
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = (width, page.evaluate(WIDE_ELEMENTS))
    assert wide == {}, f"pages wider than 360 px ({language}): {wide}"


def test_the_vote_card_and_its_buttons_fit_the_first_phone_screen(
    concord_server, new_context, seattle
):  # type: ignore[no-untyped-def]
    slug = concord_server.call("demo_load")["slug"]  # a long topic and description
    page = new_context(viewport=PHONE, has_touch=True).new_page()
    page.goto(concord_server.url(f"/c/{slug}/"))
    agree = page.get_by_role("button", name=re.compile("Agree"))
    expect(agree).to_be_enabled()
    for locator in (page.locator("#statement-text"), page.locator("#vote-buttons")):
        box = locator.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (
            box
        )


@pytest.mark.parametrize("width", [360, 1100])
def test_map_labels_never_overlap(concord_server, new_context, seattle, width):  # type: ignore[no-untyped-def]
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    log_in(page, concord_server, seattle["username"], f"/c/{seattle['slug']}/report/")
    svg = page.locator("#opinion-map svg").first
    expect(svg).to_be_visible()
    expect(svg.locator("text").first).to_be_visible()
    assert svg.evaluate(LABELS_OVERLAP) == []
    participant = new_context(viewport={"width": width, "height": 900}).new_page()
    participant.goto(concord_server.url(f"/c/{seattle['slug']}/"))
    map_svg = participant.locator("#opinion-map svg").first
    expect(map_svg.locator("text").first).to_be_visible()
    assert map_svg.evaluate(LABELS_OVERLAP) == []
