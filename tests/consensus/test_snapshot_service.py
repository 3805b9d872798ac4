"""The consensus Django layer: snapshots from the database, commands, API, export, privacy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from sklearn.metrics import adjusted_rand_score

from consensus.snapshots.models import Snapshot
from consensus.snapshots.services import snapshot_compute
from consensus.snapshots.tasks import recompute_conversation
from deliberation import selectors, services
from deliberation.models import Conversation, Participant
from kernel import jobs

pytestmark = pytest.mark.django_db
POLIS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "polis"


@pytest.fixture
def seattle() -> Conversation:
    call_command("import_polis", str(POLIS / "15-per-hour-seattle"), slug="seattle")
    return Conversation.objects.get(slug="seattle")


def _polis_groups() -> dict[int, int]:
    with open(POLIS / "15-per-hour-seattle" / "participants-votes.csv") as handle:
        return {
            int(r["participant"]): int(r["group-id"])
            for r in csv.DictReader(handle)
            if r["group-id"]
        }


def test_a_snapshot_holds_groups_metrics_priorities_and_state(seattle):
    snapshot = snapshot_compute(conversation_id=seattle.pk)
    result = snapshot.result
    assert snapshot.k == len(result["groups"]) >= 2
    assert snapshot.n_votes == 2872 and snapshot.n_participants == 339
    statement = result["statements"][0]
    assert {"gic", "gic_normalized", "mea", "bridging", "groups"} <= set(statement)
    assert set(snapshot.priorities) == {str(s["id"]) for s in result["statements"]}
    assert snapshot.state["n_updates"] == 1
    again = snapshot_compute(conversation_id=seattle.pk)
    assert again.state["n_updates"] == 2
    groups = {p["id"]: p["group"] for p in snapshot.result["participants"]}
    assert groups == {p["id"]: p["group"] for p in again.result["participants"]}  # stable ids


def test_the_command_writes_json_with_polis_ids_that_agree_with_polis(seattle, tmp_path):
    call_command("consensus", "seattle", "--json", str(tmp_path / "out.json"))
    result = json.loads((tmp_path / "out.json").read_text())
    ours = {p["id"]: p["group"] for p in result["participants"] if p["group"] is not None}
    polis = _polis_groups()
    both = sorted(set(ours) & set(polis))
    assert len(both) > 100
    assert adjusted_rand_score([polis[p] for p in both], [ours[p] for p in both]) > 0.4


def test_export_polis_fills_group_id_after_a_snapshot(seattle, tmp_path):
    snapshot_compute(conversation_id=seattle.pk)
    call_command("export_polis", "seattle", str(tmp_path))
    with open(tmp_path / "participants-votes.csv") as handle:
        groups = [row["group-id"] for row in csv.DictReader(handle)]
    assert any(groups) and any(g == "" for g in groups)


def test_the_api_serves_the_latest_snapshot_and_queues_recomputes(seattle, researcher):
    url = "/api/v1/conversations/seattle/consensus/"
    assert APIClient().get(url).status_code == 404
    snapshot_compute(conversation_id=seattle.pk)
    body = APIClient().get(url).json()
    assert body["k"] >= 2 and body["result"]["groups"]
    assert APIClient().post(url + "recompute/").status_code == 403
    client = APIClient()
    client.force_authenticate(researcher)
    job = client.post(url + "recompute/").json()
    assert job["status"] == "queued" and job["kind"] == "consensus.recompute"


def test_the_worker_task_records_the_snapshot_on_its_job(seattle):
    job = jobs.job_create(kind="consensus.recompute", conversation_id=seattle.pk)
    recompute_conversation.call(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.result["snapshot_id"] == Snapshot.objects.get().pk


def test_next_statement_follows_snapshot_priorities_after_seeds_and_fresh(seattle):
    snapshot = snapshot_compute(conversation_id=seattle.pk)
    newcomer = Participant.objects.create(conversation=seattle)
    chosen = selectors.statement_next_for(newcomer)
    assert chosen is not None and str(chosen.pk) in snapshot.priorities


def test_demographic_cells_under_five_people_are_suppressed_and_revocation_removes_answers(
    conversation, moderator
):
    conversation.demographic_questions = [{"key": "age", "choices": ["young", "old"]}]
    conversation.save()
    statement = services.statement_seed(conversation=conversation, text="Be kind.", user=moderator)
    people = [services.participant_join(conversation=conversation) for _ in range(7)]
    for i, person in enumerate(people):
        services.vote_cast(participant=person, statement_id=statement.pk, value=1)
        services.demographics_set(
            participant=person, answers={"age": "young" if i < 5 else "old"}, consent=True
        )
    cells = {c["answer"]: c for c in _cells(snapshot_compute(conversation_id=conversation.pk))}
    assert cells["young"]["n_votes"] == 5 and not cells["young"]["suppressed"]
    assert cells["old"]["suppressed"] and cells["old"].get("n_votes") is None
    services.demographics_revoke(participant=people[0])
    cells = {c["answer"]: c for c in _cells(snapshot_compute(conversation_id=conversation.pk))}
    assert cells["young"]["suppressed"]  # 4 left: below the floor


def _cells(snapshot: Snapshot) -> list[dict]:
    return snapshot.result["demographics"][0]["cells"]


@pytest.mark.slow
def test_a_recompute_can_add_the_umap_map_beside_pca(seattle):
    snapshot = snapshot_compute(conversation_id=seattle.pk, config={"with_umap": True})
    participant = snapshot.result["participants"][0]
    assert {"x", "y", "umap_x", "umap_y"} <= set(participant)
    assert snapshot.result["meta"]["projection"] == "pca"


def test_unknown_consensus_options_are_refused_clearly(seattle):
    from kernel.errors import ApplicationError

    with pytest.raises(ApplicationError, match="projection"):
        snapshot_compute(conversation_id=seattle.pk, config={"projection": "tsne"})
    with pytest.raises(ApplicationError, match="Unknown consensus option"):
        snapshot_compute(conversation_id=seattle.pk, config={"colour": "red"})


def test_old_snapshots_are_pruned_but_those_behind_a_constitution_are_kept(seattle, monkeypatch):
    from alignment.services import constitution_build
    from consensus.snapshots import services as consensus_services

    monkeypatch.setattr(consensus_services, "SNAPSHOTS_KEPT", 2)
    first = snapshot_compute(conversation_id=seattle.pk)
    constitution_build(conversation=seattle, rule="gic", threshold=0.5)
    for _ in range(3):
        latest = snapshot_compute(conversation_id=seattle.pk)
    kept = set(Snapshot.objects.values_list("pk", flat=True))
    assert kept == {first.pk, latest.pk - 1, latest.pk}
