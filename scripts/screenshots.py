"""Take screenshots of the main pages in English and Arabic into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py

Runs the same harness as the browser tests (tests/frontend/): a fresh SQLite file, the real ASGI
app under uvicorn, Debian's chromium. It loads the demo conversation (with its simulated crowd) and
imports the Seattle Polis conversation for the report, then photographs each page. On Seattle
it also builds a constitution (GIC at 0.5) and runs a tiny training run over three training seeds
(executed in the server process, as the browser tests do) for the constitution and training pages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.frontend.harness import (  # noqa: E402
    SCREENSHOTS,
    ConcordServer,
    launched_chromium,
    running_server,
    shared_polis_folder,
)

DESKTOP = {"width": 1100, "height": 900}
MOBILE = {"width": 360, "height": 780}
KEYS = ["a", "d", "a", "p", "a", "d", "a", "a", "d", "a"] * 3


def _context(browser: Any, server: ConcordServer, language: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    context.add_cookies([{"name": "django_language", "value": language, "url": server.base_url}])
    context.set_default_timeout(20000)
    return context


def _shot(page: Any, name: str, max_height: int | None = None) -> None:
    page.wait_for_timeout(400)  # let the map and live status settle
    clip = None
    if max_height:  # long pages (a constitution of 29 principles): the top is enough
        height = min(max_height, page.evaluate("document.documentElement.scrollHeight"))
        clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height}
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, clip=clip)
    print("saved", SCREENSHOTS / f"{name}.png")


def _log_in(page: Any, server: ConcordServer, username: str, password: str, path: str) -> None:
    page.goto(server.url(f"/accounts/login/?next={path}"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(server.url(path))


def _prepare(server: ConcordServer) -> tuple[str, str]:
    slug = server.call("demo_load")["slug"]  # with its simulated crowd
    server.call(
        "statement_submit_anonymously",
        slug=slug,
        text="An AI assistant should always cite its sources.",
    )
    server.call(
        "statement_submit_anonymously",
        slug=slug,
        text="يجب أن يحترم المساعد الذكي خصوصية المستخدمين.",
    )
    seattle = "seattle"
    server.call("polis_load", folder=str(shared_polis_folder("15-per-hour-seattle")), slug=seattle)
    server.call("snapshot_build", slug=seattle)
    return slug, seattle


def _participant(browser: Any, server: ConcordServer, slug: str) -> None:
    context = _context(browser, server, "en", DESKTOP)
    page = context.new_page()
    page.goto(server.url(f"/c/{slug}/"))
    for key in KEYS:  # vote by keyboard until the deck is done
        page.locator("#vote-buttons .vote-agree:enabled, #card.done").first.wait_for()
        if page.locator("#card.done").count():
            break
        page.keyboard.press(key)
    page.locator("#card.done").wait_for()
    server.call("snapshot_build", slug=slug)
    page.locator("[data-testid=you-are-here]").wait_for()
    _shot(page, "participant-en")
    context.add_cookies([{"name": "django_language", "value": "ar", "url": server.base_url}])
    page.reload()
    page.locator("[data-testid=you-are-here]").wait_for()
    _shot(page, "participant-ar")
    for language in ("en", "ar"):
        mobile = _context(browser, server, language, MOBILE).new_page()
        mobile.goto(server.url(f"/c/{slug}/"))
        mobile.locator("#statement-text[data-statement-id]").wait_for()
        _shot(mobile, f"participant-mobile-{language}")


def _pages_for(
    browser: Any, server: ConcordServer, user: tuple[str, str], path: str, name: str
) -> None:
    for language in ("en", "ar"):
        page = _context(browser, server, language, DESKTOP).new_page()
        _log_in(page, server, *user, path)
        page.wait_for_load_state("networkidle")
        _shot(page, f"{name}-{language}")


def _alignment(browser: Any, server: ConcordServer, user: tuple[str, str], slug: str) -> None:
    """Constitution (built through the page) and a finished tiny training run."""
    page = _context(browser, server, "en", DESKTOP).new_page()
    _log_in(page, server, *user, f"/c/{slug}/constitution/")
    page.locator("#build-rule").select_option("gic")
    page.locator("#build-threshold").fill("0.5")
    page.locator("#build-form button[type=submit]").click()
    page.locator("#principles > li.principle").first.wait_for()
    page.locator("#principles details").first.evaluate("node => { node.open = true; }")
    _shot(page, "constitution-en", max_height=2400)
    arabic = _context(browser, server, "ar", DESKTOP).new_page()
    _log_in(arabic, server, *user, f"/c/{slug}/constitution/")
    arabic.locator("#principles > li.principle").first.wait_for()
    _shot(arabic, "constitution-ar", max_height=2400)

    page.goto(server.url(f"/c/{slug}/training/"))
    page.locator("#run-constitution option[value]:not([value=''])").first.wait_for(state="attached")
    page.locator("#run-model").fill("tiny")
    for field, value in (
        ("sft-steps", "2"),
        ("pref-steps", "2"),
        ("max-prompts", "4"),
        ("max-heldout", "2"),
    ):
        page.locator(f"#run-{field}").fill(value)
    # Three training seeds, so the page shows the evaluation over seeds; the form has no seeds
    # field, so the page's own API helper sends what the form would, plus `seeds`.
    run_id = page.evaluate(
        """async (slug) => {
          const v = (id) => Number(document.getElementById(id).value);
          const body = {
            model: "tiny", method: "dpo", constitution: v("run-constitution"),
            config: {
              sft_steps: v("run-sft-steps"), pref_steps: v("run-pref-steps"),
              max_prompts: v("run-max-prompts"), max_heldout: v("run-max-heldout"),
              seeds: [0, 1, 2],
            },
          };
          const url = "/api/v1/conversations/" + slug + "/training-runs/";
          return (await window.Concord.api("POST", url, body)).data.id;
        }""",
        slug,
    )
    page.goto(server.url(f"/c/{slug}/training/#run-{run_id}"))  # only the fragment changes:
    page.reload()  # load the page again to show the run
    page.locator(f"#run-detail[data-run-id='{run_id}']").wait_for()
    result = server.call("training_run_execute", run_id=run_id, timeout=900)
    print("training run", run_id, result["status"], result["error"][:200])
    page.locator(f"#run-status[data-status={result['status']}]").wait_for(timeout=30000)
    if result["status"] == "succeeded":
        page.locator("#seeds-table").wait_for()
    page.locator("#loss-table").evaluate("node => { node.closest('details').open = true; }")
    _shot(page, "training-en")
    arabic.goto(server.url(f"/c/{slug}/training/#run-{run_id}"))
    arabic.locator(f"#run-status[data-status={result['status']}]").wait_for()
    if result["status"] == "succeeded":
        arabic.locator("#seeds-table").wait_for()
    _shot(arabic, "training-ar")


def main() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="concord-shots-") as tmp,
        running_server(Path(tmp)) as server,
        launched_chromium() as browser,
    ):
        slug, seattle = _prepare(server)
        _participant(browser, server, slug)
        _pages_for(
            browser, server, ("moderator", "concord-moderator"), f"/c/{slug}/moderate/", "moderator"
        )
        _pages_for(
            browser, server, ("researcher", "concord-researcher"), f"/c/{seattle}/report/", "report"
        )
        _alignment(browser, server, ("researcher", "concord-researcher"), seattle)
        home = _context(browser, server, "en", DESKTOP).new_page()
        home.goto(server.url("/"))
        _shot(home, "home-en")


if __name__ == "__main__":
    main()
