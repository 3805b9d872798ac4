"""The training page shows a run's evaluation over training seeds (`--seeds 0 1 2`).

A stored run record (no training: `training_run_record`) whose evaluation carries
`across_seeds` as the chain leaves it (`evaluate.aggregate_seeds` over three per-seed
evaluations): the page shows the number of seeds, each tuned-model figure's mean with its 95%
interval over seeds beside the base model's figure, in English and right to left in Arabic, at
360 px without scrolling sideways, and in no language with an English word left.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from alignment.evaluate import aggregate_seeds
from tests.frontend.harness import PASSWORD, REPO, log_in
from tests.frontend.test_phone_layout import PHONE, WIDE_ELEMENTS
from tests.frontend.test_untranslated import english_words

SEEDS = [0, 1, 2]


def _ci(value: float) -> dict[str, Any]:
    return {"value": value, "low": value - 0.05, "high": value + 0.05, "n": 8}


def _seed_evaluation(shift: float) -> dict[str, Any]:
    """One training seed's evaluation: the stored vTaiwan example plus group figures and checks."""
    example = json.loads((REPO / "docs" / "examples" / "vtaiwan-evaluation.json").read_text())
    ev = copy.deepcopy(example)
    ev.pop("across_seeds", None)  # the example comes from a seeded run
    ev["pairwise"]["win_rate"] = 0.55 + shift
    ev["reward"]["implicit_reward_accuracy"] = 0.7 + shift
    ev["reward"]["tuned_logprob_accuracy"] = 0.6 + shift
    ev["capability"]["perplexity_base"] = 12.5
    ev["capability"]["perplexity_tuned"] = 13.0 + 10 * shift
    ev["capability"]["facts_base"] = 0.8
    ev["capability"]["facts_tuned"] = 0.75 + shift
    ev["groups"] = {
        "base": {"groups": {"0": _ci(0.5), "1": _ci(0.4)}, "collective": _ci(0.45)},
        "tuned": {
            "groups": {"0": _ci(0.6 + shift), "1": _ci(0.5 + shift)},
            "collective": _ci(0.55 + shift),
            "least_represented": "1",
        },
    }
    ev["checks"] = {
        "capability_base": _ci(0.4),
        "capability_tuned": _ci(0.42 + shift),
        "bias_accuracy_base": _ci(0.5),
        "bias_accuracy_tuned": _ci(0.52 + shift),
        "bias_stereotyped_base": _ci(0.3),
        "bias_stereotyped_tuned": _ci(0.28 + shift),
    }
    return ev


def seeded_evaluation() -> dict[str, Any]:
    """What the chain stores with `--seeds 0 1 2`: the main seed's evaluation + `across_seeds`."""
    per_seed = [_seed_evaluation(shift) for shift in (0.0, 0.04, -0.02)]
    return {**per_seed[0], "training_seed": 0, "across_seeds": aggregate_seeds(per_seed, SEEDS)}


@pytest.fixture(scope="module")
def seeded_run(concord_server):  # type: ignore[no-untyped-def]
    """A conversation with a finished seeded run and, newer, one evaluated on a single seed."""
    slug = concord_server.unique("seeds")
    concord_server.call("conversation_create", slug=slug, topic="Seeds", statements=["One."])
    curve = [{"stage": "sft", "step": step, "loss": 2.0 - 0.1 * step} for step in (1, 2, 3)]
    common = {"status": "succeeded", "stage": "card", "progress": 1.0, "loss_curve": curve}
    # as the chain records the extra seeds' stages: "sft@seed1", "preference@seed2", ...
    seeded_curve = [
        {"stage": f"{stage}{suffix}", "step": step, "loss": 2.0 - 0.1 * step}
        for suffix in ("", "@seed1", "@seed2")
        for stage in ("sft", "preference")
        for step in (1, 2, 3)
    ]
    seeded = concord_server.call(
        "training_run_record", slug=slug, constitution_id=None, evaluation=seeded_evaluation(),
        **{**common, "loss_curve": seeded_curve},
    )["id"]  # fmt: skip
    single = concord_server.call(
        "training_run_record", slug=slug, constitution_id=None, evaluation=_seed_evaluation(0.0),
        **common,
    )["id"]  # fmt: skip
    username = concord_server.unique("sam")
    concord_server.call("user_create", username=username, password=PASSWORD, groups=["researchers"])
    return {"slug": slug, "username": username, "seeded": seeded, "single": single}


def _open(new_context, server, run: dict[str, Any], language: str, run_id: int):  # type: ignore[no-untyped-def]
    context = new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    log_in(page, server, run["username"], "/")
    cookie = {"name": "django_language", "value": language, "url": server.url("/")}
    context.add_cookies([cookie])
    page.goto(server.url(f"/c/{run['slug']}/training/#run-{run_id}"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#run-detail")).to_have_attribute("data-run-id", str(run_id))
    return page


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], page.evaluate(WIDE_ELEMENTS)
    box = page.locator("#seeds-table").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_the_seed_table_in_english_at_360_pixels(concord_server, new_context, seeded_run):  # type: ignore[no-untyped-def]
    page = _open(new_context, concord_server, seeded_run, "en", seeded_run["seeded"])
    table = page.locator("#seeds-table")
    expect(table).to_be_visible()
    expect(table.locator("caption")).to_have_text("Over 3 training seeds (0, 1, 2)")
    expect(page.locator("#run-seeds")).to_contain_text("95% interval")
    win = table.locator("tr[data-seed-metric=win_rate]")
    expect(win.locator("th")).to_have_text("Win rate against the base model")
    # mean of 0.55, 0.59, 0.53 and its t interval; the base model is the reference: no figure
    expect(win.locator(".seed-mean")).to_have_text("0.56")
    expect(win.locator(".seed-ci")).to_have_text(re.compile(r"^\[0\.\d\d, 0\.\d\d\]$"))
    expect(win.locator(".seed-tuned")).to_have_attribute("title", "Per seed: 0.550 · 0.590 · 0.530")
    expect(win.locator(".seed-base")).to_have_text("–")
    perplexity = table.locator("tr[data-seed-metric=perplexity]")
    expect(perplexity.locator("th")).to_have_text("Perplexity")
    expect(perplexity.locator(".seed-mean")).to_have_text("13.07")
    expect(perplexity.locator(".seed-base")).to_have_text("12.50")
    group = table.locator("tr[data-seed-metric=representativeness_group_1]")
    expect(group.locator("th")).to_have_text("Representativeness of group 1")
    expect(group.locator(".seed-base")).to_have_text("0.40")
    names = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-seed-metric'))"
    )
    assert names[:2] == ["win_rate", "implicit_reward_accuracy"], names
    assert names[-2:] == ["representativeness_group_0", "representativeness_group_1"], names
    _fits(page)

    # a run evaluated on one seed has no seed table
    page.locator(f"#runs tr[data-run-id='{seeded_run['single']}'] button").click()
    expect(page.locator("#run-detail")).to_have_attribute("data-run-id", str(seeded_run["single"]))
    expect(page.locator("[data-metric=win_rate]")).to_be_visible()
    expect(page.locator("#run-seeds")).to_be_hidden()


def test_the_seed_table_in_arabic_is_right_to_left(concord_server, new_context, seeded_run):  # type: ignore[no-untyped-def]
    page = _open(new_context, concord_server, seeded_run, "ar", seeded_run["seeded"])
    table = page.locator("#seeds-table")
    expect(table.locator("caption")).to_have_text("عبر 3 من بذور التدريب (0, 1, 2)")
    assert table.evaluate("n => getComputedStyle(n).direction") == "rtl"
    win = table.locator("tr[data-seed-metric=win_rate]")
    expect(win.locator("th")).to_have_text("معدل الفوز مقابل النموذج الأساسي")
    # the numbers stay left to right inside the right-to-left row: "[low, high]" is not mirrored
    ci = win.locator(".seed-ci")
    assert ci.evaluate("n => getComputedStyle(n).direction") == "ltr"
    # the figure's name on the right, the tuned mean left of it, the base figure leftmost
    name, tuned, base = (win.locator(s).bounding_box() for s in ("th", ".seed-tuned", ".seed-base"))
    assert name and tuned and base
    assert base["x"] + base["width"] <= tuned["x"] + 1
    assert tuned["x"] + tuned["width"] <= name["x"] + 1
    _fits(page)


@pytest.mark.parametrize("language", ["ar", "fa", "zh-hans"])
def test_the_seed_table_has_no_english_word(concord_server, new_context, seeded_run, language):  # type: ignore[no-untyped-def]
    page = _open(new_context, concord_server, seeded_run, language, seeded_run["seeded"])
    expect(page.locator("#seeds-table")).to_be_visible()
    expect(page.locator("#seeds-table caption")).not_to_contain_text("training seeds")
    # everything a person reads in it: text and tooltips (the numbers are marked dir="ltr")
    seen = page.locator("#run-seeds").evaluate(
        "n => [n.innerText, ...[...n.querySelectorAll('[title]')].map(e => e.title)]"
    )
    assert english_words([["#run-seeds", text] for text in seen]) == []


def test_the_seed_stages_are_named_and_the_loss_legend_fits(
    concord_server, new_context, seeded_run
):  # type: ignore[no-untyped-def]
    """Six loss lines (two stages on three seeds): each named in the page's language with its
    seed, and the legend wraps into rows inside the plot instead of running off its edge."""
    page = _open(new_context, concord_server, seeded_run, "ar", seeded_run["seeded"])
    legend = page.locator("#loss-plot .legend-text")
    expect(legend).to_have_count(6)
    names = legend.all_text_contents()
    assert sum("(البذرة 1)" in n for n in names) == 2, names  # "seed 1" of both stages
    assert not any("@seed" in n for n in names), names
    table = page.locator("#loss-table").text_content() or ""  # folded away: its text
    assert "@seed" not in table and "(البذرة 2)" in table, table
    inside = page.locator("#loss-plot svg").evaluate(
        """svg => [...svg.querySelectorAll('.legend-text')].map(t => {
             const box = t.getBBox();
             return box.x >= 0 && box.x + box.width <= svg.viewBox.baseVal.width;
           })"""
    )
    assert all(inside), inside


def test_base_to_tuned_intervals_are_not_mirrored_in_arabic(
    concord_server, new_context, seeded_run
):  # type: ignore[no-untyped-def]
    """A right-to-left page reorders "0.45 [0.40, 0.50]" into "[0.50 ,[0.40 0.45" unless each
    figure is its own left-to-right run; the arrow still points the way the page reads."""
    page = _open(new_context, concord_server, seeded_run, "ar", seeded_run["seeded"])
    value = page.locator("[data-metric=representativeness-collective] dd").first
    expect(value).to_contain_text("←")
    runs = value.locator("span[dir=ltr]")
    expect(runs).to_have_count(2)
    assert runs.all_text_contents() == ["0.45 [0.40, 0.50]", "0.55 [0.50, 0.60]"]
    base, tuned = (runs.nth(i).bounding_box() for i in (0, 1))
    assert base and tuned
    # read first: on the right of the same line, or on the line above when the card wraps
    assert tuned["x"] + tuned["width"] <= base["x"] + 1 or tuned["y"] >= base["y"] + base["height"]
