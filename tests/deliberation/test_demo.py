"""The demo `make run` loads: statements, logins, and a simulated crowd whose votes give the
platform something to show — groups, common ground, a constitution — on first look."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from alignment import services as alignment_services
from consensus.snapshots.services import snapshot_compute
from deliberation.demo import DEMO_FILE, demo_load
from deliberation.models import Participant, Vote, VoteEvent

pytestmark = pytest.mark.django_db

SPEC = json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def test_the_demo_has_its_statements_logins_and_simulated_voters():
    conversation = demo_load()
    crowd = SPEC["simulated_crowd"]
    assert conversation.statements.count() == len(SPEC["statements"]) == len(crowd["agree"])
    voters = Participant.objects.filter(conversation=conversation)
    assert voters.count() == sum(crowd["group_sizes"])
    assert all(p.external_id.startswith("demo-voter-") for p in voters)
    votes = Vote.objects.filter(statement__conversation=conversation).count()
    seen = 1 - crowd["skip_rate"]  # each voter skips some statements
    expected = sum(crowd["group_sizes"]) * len(SPEC["statements"]) * seen
    assert 0.85 * expected < votes < 1.15 * expected


def test_loading_the_demo_twice_changes_nothing():
    conversation = demo_load()
    before = (
        Participant.objects.count(),
        Vote.objects.count(),
        VoteEvent.objects.count(),
        conversation.statements.count(),
    )
    call_command("load_demo")
    after = (
        Participant.objects.count(),
        Vote.objects.count(),
        VoteEvent.objects.count(),
        conversation.statements.count(),
    )
    assert after == before


def test_no_crowd_leaves_the_voters_out():
    call_command("load_demo", "--no-crowd")
    assert Participant.objects.count() == 0 and Vote.objects.count() == 0


def test_the_demo_crowd_yields_groups_and_a_constitution():
    conversation = demo_load()
    snapshot = snapshot_compute(conversation_id=conversation.pk)
    assert snapshot.k >= 2
    version = alignment_services.constitution_build(conversation=conversation)
    principles = version.document["principles"]
    assert principles, "the default rule found no common ground in the demo"
    in_order = sorted(conversation.statements.values_list("id", flat=True))  # seeding order
    agree = SPEC["simulated_crowd"]["agree"]
    consensual = {in_order[i] for i, row in enumerate(agree) if min(row) >= 0.85}
    divisive = {in_order[i] for i, row in enumerate(agree) if max(row) - min(row) >= 0.5}
    chosen = {int(s["id"]) for p in principles for s in p["sources"]}
    assert chosen & consensual and not chosen & divisive, (chosen, consensual, divisive)


def test_the_whole_chain_runs_from_the_demo(tmp_path):
    """`make run`'s demo, straight into `run_pipeline` (tiny model, CPU)."""
    demo_load()
    out = tmp_path / "demo-run"
    call_command(
        "run_pipeline", "ai-values", "--model", "tiny", "--out", str(out),
        "--sft-steps", "2", "--pref-steps", "2", "--max-prompts", "4", "--max-heldout", "2",
    )  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "finished", run.get("error")
    assert run["provenance"]["conversation"] == "ai-values"
    assert (out / "constitution.md").read_text().count("Choose the response that") >= 1
