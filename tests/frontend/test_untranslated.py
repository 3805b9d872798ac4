"""Every word in the page's language: each page, in Arabic, Farsi and Mandarin, with real content
on it, shows no English UI text.

A catalog check (tests/frontend/test_catalogs.py) sees only strings someone wrapped for
translation; this walks what a person actually sees — text nodes, labels, placeholders, tooltips,
option texts, messages the server sends — on every page after its scripts ran, so a status, stage,
server message or unit that reaches the page untranslated is caught wherever it comes from.

What may stay Latin: user content (rendered with `dir="auto"` or `dir="ltr"`, or marked with a
`lang` of its own, as the language switcher's own names are), proper names and acronyms
(`ALLOWED`), hashes, and literals in quotation marks (a column name to type).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD, REPO, log_in

# Names and acronyms that are the same in every language of the UI.
ALLOWED = {
    "Concord",
    "PCA",
    "UMAP",
    "GIC",
    "MEA",
    "DPO",
    "KTO",
    "SFT",
    "LoRA",
    "JSON",
    "CSV",
    "Markdown",
    "Polis",
    "zip",
    "CAI",
    "AI",
    "ID",
    "smollm2",  # the model names one types into the training form
    "tiny",
}
STATEMENTS = [
    "يجب أن يعترف المساعد الذكي عندما لا يكون متأكدًا.",
    "يجب أن يحترم المساعد خصوصية المستخدمين.",
    "يجب أن يرفض المساعد المساعدة في الأذى.",
    "يجب أن يجيب المساعد بجميع اللغات بالجودة نفسها.",
    "يجب أن يشرح المساعد أسباب إجاباته.",
    "يجب أن يكون المساعد محايدًا في السياسة.",
]
# Everything a person reads on the page, with where it is, skipping user content.
VISIBLE_WORDS = """
() => {
  const pageLang = document.documentElement.lang;
  const isContent = node => {
    for (let el = node; el && el !== document.documentElement; el = el.parentElement) {
      if (el.matches("script, style, template, noscript")) return true;
      if (el.matches("[dir=auto], [dir=ltr]")) return true;
      if (el.hasAttribute("lang") && el.getAttribute("lang") !== pageLang) return true;
    }
    return false;
  };
  const shown = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    || el.matches("option, title, .visually-hidden, .visually-hidden *");
  const out = [];
  const where = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || isContent(el) || !shown(el)) continue;
    out.push([where(el), text]);
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title], [alt]")) {
    if (isContent(el)) continue;
    for (const name of ["aria-label", "placeholder", "title", "alt"]) {
      const value = el.getAttribute(name);
      if (value) out.push([where(el) + "@" + name, value]);
    }
  }
  out.push(["title", document.title]);
  return out;
}
"""
HEX = re.compile(r"\b[0-9a-f]{8,}\b")
QUOTED = re.compile(r"“[^”]*”|«[^»]*»")  # a literal to type, e.g. a CSV column name
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]+")


def english_words(found: list[list[str]]) -> list[str]:
    """The pieces of page text that hold a Latin word other than an allowed name."""
    bad = []
    for where, text in found:
        words = [
            w for w in LATIN_WORD.findall(QUOTED.sub("", HEX.sub("", text))) if w not in ALLOWED
        ]
        if words:
            bad.append(f"{where}: {text[:120]!r}")
    return sorted(set(bad))


def _evaluation() -> dict[str, Any]:
    """A finished run's evaluation: the stored vTaiwan example plus the per-group figures."""
    example = json.loads((REPO / "docs" / "examples" / "vtaiwan-evaluation.json").read_text())
    ci = {"value": 0.62, "low": 0.55, "high": 0.7}
    return {
        **example,
        "groups": {
            "base": {"groups": {"0": ci, "1": ci}, "collective": ci},
            "tuned": {"groups": {"0": ci, "1": ci}, "collective": ci, "least_represented": "1"},
        },
        "checks": {
            "capability_base": ci,
            "capability_tuned": ci,
            "bias_stereotyped_base": ci,
            "bias_stereotyped_tuned": ci,
        },
        "judge_calibration": {"accuracy": ci},
    }


@pytest.fixture(scope="module")
def arabic(concord_server):  # type: ignore[no-untyped-def]
    """An Arabic conversation with votes, a snapshot, a constitution, runs in every state, a
    pending statement and a moderator-researcher whose name is Arabic too."""
    slug = concord_server.unique("words-ar")
    made = concord_server.call(
        "conversation_create", slug=slug, topic="قيم المساعد الذكي", statements=STATEMENTS
    )
    concord_server.call("crowd_vote", slug=slug, n=16)
    concord_server.call("snapshot_build", slug=slug)
    concord_server.call(
        "statement_submit_anonymously", slug=slug, text="يجب أن يعتذر المساعد عن أخطائه."
    )
    constitution = concord_server.call(
        "constitution_build", slug=slug, statement_ids=made["statement_ids"][:2]
    )["id"]
    curve = [
        {"stage": stage, "step": step, "loss": 2.5 - 0.1 * step}
        for stage in ("sft", "preference")
        for step in (1, 2, 3)
    ]
    common = {"constitution_id": constitution, "loss_curve": curve, "progress": 1.0}
    for status, stage in (("failed", "sft"), ("interrupted", "preference"), ("queued", "")):
        concord_server.call(
            "training_run_record", slug=slug, status=status, stage=stage, **common,
            error="RuntimeError: out of memory" if status == "failed" else "",
        )  # fmt: skip
    finished = concord_server.call(
        "training_run_record", slug=slug, status="succeeded", stage="card", **common,
        metrics={"preference_pairs": {"n": 4}, "sft": {"train_loss": 2.2}, "dpo": {"loss": 0.7}},
        evaluation=_evaluation(),
    )["id"]  # fmt: skip
    username = concord_server.unique("مشرف")
    concord_server.call(
        "user_create", username=username, password=PASSWORD, groups=["moderators", "researchers"],
        moderates=slug,
    )  # fmt: skip
    return {"slug": slug, "username": username, "run": finished}


def _pages(slug: str, run: int) -> list[str]:
    return [
        "/",
        f"/c/{slug}/",
        f"/c/{slug}/moderate/",
        f"/c/{slug}/report/",
        f"/c/{slug}/constitution/",
        f"/c/{slug}/training/#run-{run}",
        f"/c/{slug}/training/#run-{run - 1}",  # the queued one
        f"/c/{slug}/training/#run-{run - 2}",  # the interrupted one
        f"/c/{slug}/training/#run-{run - 3}",  # the failed one
        "/new/",
    ]


@pytest.mark.parametrize("language", ["ar", "fa", "zh-hans"])
def test_no_page_shows_english(concord_server, new_context, arabic, language):  # type: ignore[no-untyped-def]
    context = new_context()
    page = context.new_page()
    log_in(page, concord_server, arabic["username"], "/")
    cookie = {"name": "django_language", "value": language, "url": concord_server.url("/")}
    context.add_cookies([cookie])
    english = {}
    for path in _pages(arabic["slug"], arabic["run"]):
        page.goto("about:blank")  # a new document even where only the #run- fragment changes
        page.goto(concord_server.url(path))
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.wait_for_load_state("networkidle")
        if "/training/" in path:
            expect(page.locator("#run-detail")).to_be_visible()
        found = english_words(page.evaluate(VISIBLE_WORDS))
        if found:
            english[path] = found
    # the login page, signed out
    anonymous = new_context()
    anonymous.add_cookies([cookie])
    login = anonymous.new_page()
    login.goto(concord_server.url("/accounts/login/"))
    found = english_words(login.evaluate(VISIBLE_WORDS))
    if found:
        english["/accounts/login/"] = found
    assert english == {}, f"English on {language} pages:\n" + json.dumps(
        english, ensure_ascii=False, indent=1
    )


def _arabic_page(concord_server, new_context, arabic, name: str):  # type: ignore[no-untyped-def]
    """The Arabic conversation's `name` page, signed in as its moderator-researcher, in Arabic."""
    context = new_context()
    page = context.new_page()
    log_in(page, concord_server, arabic["username"], "/")
    cookie = {"name": "django_language", "value": "ar", "url": concord_server.url("/")}
    context.add_cookies([cookie])
    page.goto(concord_server.url(f"/c/{arabic['slug']}/{name}/"))
    return page


def test_a_refusal_from_the_training_api_is_in_arabic(concord_server, new_context, arabic):  # type: ignore[no-untyped-def]
    """A server message shown on the page (no model named) comes in the page's language."""
    page = _arabic_page(concord_server, new_context, arabic, "training")
    page.locator("#run-model").fill(" ")
    page.locator("#start-form button[type=submit]").click()
    status = page.locator("#start-status")
    expect(status).not_to_be_empty()
    assert english_words([["#start-status", status.text_content() or ""]]) == []


def test_a_build_nothing_passes_is_refused_in_arabic(concord_server, new_context, arabic):  # type: ignore[no-untyped-def]
    """The commonest refusal of the constitution page (no statement reaches the threshold)."""
    page = _arabic_page(concord_server, new_context, arabic, "constitution")
    page.locator("#build-rule").select_option("mea")
    page.locator("#build-threshold").fill("0.99")
    page.locator("#build-form button[type=submit]").click()
    status = page.locator("#build-status")
    expect(status).to_contain_text("لا تتجاوز أي عبارة عتبة القاعدة")
    assert english_words([["#build-status", status.text_content() or ""]]) == []


def test_a_field_refusal_names_no_api_field(concord_server, new_context, arabic):  # type: ignore[no-untyped-def]
    """A validation refusal is shown as its messages, without the API's field names
    ("topic: …" is an identifier, not an Arabic word), in the page's language."""
    page = _arabic_page(concord_server, new_context, arabic, "moderate")
    page.locator("#set-topic").fill("   ")  # passes the form's `required`; the server refuses it
    page.locator("#settings-form button[type=submit]").click()
    status = page.locator("#settings-status")
    expect(status).to_contain_text("لا يمكن لهذا الحقل ان يكون فارغاً")
    assert english_words([["#settings-status", status.text_content() or ""]]) == []
