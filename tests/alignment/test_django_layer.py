"""Alignment Django layer: constitution versions, API, a whole training run on the tiny model."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from alignment import services
from alignment.models import ConstitutionVersion, TrainingRun
from consensus.snapshots.services import snapshot_compute
from deliberation.models import Conversation
from kernel.errors import ApplicationError

pytestmark = pytest.mark.django_db
POLIS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "polis"


@pytest.fixture
def seattle(settings, tmp_path) -> Conversation:  # type: ignore[no-untyped-def]
    settings.CONCORD_DATA_DIR = tmp_path
    call_command("import_polis", str(POLIS / "15-per-hour-seattle"), slug="seattle")
    conversation = Conversation.objects.get(slug="seattle")
    snapshot_compute(conversation_id=conversation.pk)
    return conversation


def test_versions_are_numbered_immutable_and_diffable(seattle):
    first = services.constitution_build(conversation=seattle, rule="gic", threshold=0.5)
    second = services.constitution_build(conversation=seattle, rule="mea", threshold=0.3)
    assert (first.version, second.version, second.parent_id) == (1, 2, first.pk)
    assert first.n_principles > 0 and len(first.content_hash) == 64
    principle = first.document["principles"][0]
    assert principle["text"].startswith("Choose the response that")
    assert principle["sources"][0]["group_votes"]  # provenance: per-group votes at build time
    with pytest.raises(ValueError, match="immutable"):
        first.save()
    diff = services.constitution_diff(first, second)
    assert set(diff) >= {"added", "removed", "changed"}


def test_per_group_constitutions_one_per_group(seattle):
    stored = services.constitution_build_groups(conversation=seattle)
    assert len(stored) >= 1 and all(row.group_id is not None for row in stored)


def test_building_without_a_snapshot_fails_clearly(conversation):
    with pytest.raises(ApplicationError, match="no consensus snapshot"):
        services.constitution_build(conversation=conversation)


def test_a_rule_nothing_passes_fails_clearly(seattle):
    with pytest.raises(ApplicationError):
        services.constitution_build(conversation=seattle, rule="mea", threshold=0.999)
    assert not ConstitutionVersion.objects.exists()


def test_bad_training_config_is_refused_before_queueing(seattle):
    with pytest.raises(ApplicationError, match="Invalid training configuration"):
        services.training_run_create(conversation=seattle, model="tiny", config={"nope": 1})
    with pytest.raises(ApplicationError, match="DPO or KTO, not ppo"):
        services.training_run_create(conversation=seattle, model="tiny", method="ppo")
    assert not TrainingRun.objects.exists()


def test_export_and_import_round_trip_through_the_api(seattle, researcher):
    client = APIClient()
    client.force_authenticate(researcher)
    built = client.post(
        "/api/v1/conversations/seattle/constitutions/",
        {"rule": "gic", "threshold": 0.5},
        format="json",
    )
    assert built.status_code == 201, built.json()
    row = built.json()[0]
    markdown = client.get(f"/api/v1/constitutions/{row['id']}/?export=md")
    assert markdown.status_code == 200 and b"Choose the response that" in markdown.content
    imported = client.post(
        "/api/v1/conversations/seattle/constitutions/", {"document": row["document"]}, format="json"
    )
    assert imported.status_code == 201
    assert imported.json()[0]["content_hash"] == row["content_hash"]
    # identical content reuses its version (issue 12): an unedited re-import is the same row
    assert (imported.json()[0]["version"], imported.json()[0]["id"]) == (1, row["id"])
    bad = client.post(
        "/api/v1/conversations/seattle/constitutions/", {"document": {"x": 1}}, format="json"
    )
    assert bad.status_code == 400 and "constitution" in bad.json()["message"]
    assert APIClient().post("/api/v1/conversations/seattle/constitutions/", {}).status_code == 403


@pytest.mark.slow
def test_run_pipeline_runs_the_whole_chain_on_the_tiny_model(seattle, tmp_path, researcher):
    out = tmp_path / "chain"
    call_command(
        "run_pipeline",
        "seattle",
        "--model",
        "tiny",
        "--out",
        str(out),
        "--method",
        "kto",
        "--threshold",
        "0.3",
        "--sft-steps",
        "2",
        "--pref-steps",
        "2",
        "--max-prompts",
        "4",
        "--max-heldout",
        "2",
    )
    for name in (
        "constitution.json",
        "constitution.md",
        "sft.jsonl",
        "kto.jsonl",
        "run.json",
        "README.md",
    ):
        assert (out / name).exists(), name
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["status"] == "finished"
    assert run_json["provenance"]["conversation"] == "seattle"
    run = TrainingRun.objects.get()
    assert run.status == "succeeded" and run.progress == 1.0
    assert run.loss_curve and run.evaluation and run.constitution.version == 1
    assert "seattle" in (out / "README.md").read_text()
    client = APIClient()
    client.force_authenticate(researcher)
    detail = client.get(f"/api/v1/training-runs/{run.pk}/").json()
    assert detail["status"] == "succeeded"
    archive = zipfile.ZipFile(
        BytesIO(b"".join(client.get(f"/api/v1/training-runs/{run.pk}/export/").streaming_content))
    )
    assert "run.json" in archive.namelist() and "constitution.json" in archive.namelist()


def test_an_unknown_model_fails_the_run_with_a_clear_status(seattle, tmp_path):
    with pytest.raises(CommandError, match="no/such/model"):
        call_command(
            "run_pipeline",
            "seattle",
            "--model",
            "no/such/model",
            "--out",
            str(tmp_path / "x"),
            "--max-prompts",
            "2",
            "--threshold",
            "0.3",
        )
    run = TrainingRun.objects.get()
    assert run.status == "failed" and "no/such/model" in run.error
    assert json.loads((tmp_path / "x" / "run.json").read_text())["status"] == "failed"


def test_model_output_with_nul_characters_is_stored_safely(seattle):
    run = services.training_run_create(conversation=seattle, model="tiny")
    state = {"metrics": {"sample": "a\x00b"}, "evaluation": {"texts": ["\x00"]}}
    services._finish(run, status=TrainingRun.Status.FAILED, state=state, error="bad\x00output")
    run.refresh_from_db()
    assert run.metrics == {"sample": "a\ufffdb"} and run.evaluation == {"texts": ["\ufffd"]}
    assert run.error == "bad\ufffdoutput"


@pytest.mark.slow
def test_a_run_started_through_the_api_is_executed_by_the_worker_task(seattle, researcher):
    from alignment.tasks import run_pipeline_task
    from kernel.models import Job

    client = APIClient()
    client.force_authenticate(researcher)
    config = {"sft_steps": 1, "pref_steps": 1, "max_prompts": 2, "max_heldout": 1, "threshold": 0.3}
    started = client.post(
        "/api/v1/conversations/seattle/training-runs/",
        {"model": "tiny", "config": config},
        format="json",
    )
    assert started.status_code == 202, started.json()
    run = TrainingRun.objects.get(pk=started.json()["id"])
    assert run.status == "queued" and run.job.status == "queued"
    run_pipeline_task.call(run.job.pk)  # what the worker does with the queued task
    run.refresh_from_db()
    job = Job.objects.get(pk=run.job_id)
    assert (run.status, job.status) == ("succeeded", "succeeded")
    assert job.result == {"run_id": run.pk, "status": "succeeded"}
    assert run.constitution is not None and run.evaluation


def test_a_run_whose_worker_died_becomes_interrupted_and_can_be_resumed(seattle, researcher):
    from kernel.models import Job

    run = services.training_run_start(conversation=seattle, model="tiny", user=researcher)
    Path(run.out_dir).mkdir(parents=True)
    (Path(run.out_dir) / "run.json").write_text(
        json.dumps({"status": "running", "current_step": "sft", "steps": {"sft": {}}})
    )
    TrainingRun.objects.filter(pk=run.pk).update(status="running")
    Job.objects.filter(pk=run.job_id).update(status="failed")  # the worker was killed
    assert services.training_runs_mark_interrupted() == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted"
    assert json.loads((Path(run.out_dir) / "run.json").read_text())["status"] == "interrupted"
    client = APIClient()
    client.force_authenticate(researcher)
    resumed = client.post(f"/api/v1/training-runs/{run.pk}/resume/")
    assert resumed.status_code == 202 and resumed.json()["status"] == "queued"
    assert TrainingRun.objects.get(pk=run.pk).job_id != run.job_id
    again = client.post(f"/api/v1/training-runs/{run.pk}/resume/")
    assert again.status_code == 400  # a queued run is not resumable


def test_a_stop_from_outside_records_interrupted_not_failed(seattle, monkeypatch):
    from alignment import pipeline

    def stop(*args, **kwargs):
        raise pipeline.RunInterrupted("worker shutting down")

    monkeypatch.setattr(pipeline, "run_chain", stop)
    run = services.training_run_create(
        conversation=seattle, model="tiny", config={"threshold": 0.3}
    )
    with pytest.raises(pipeline.RunInterrupted):
        services.training_run_execute(run_id=run.pk)
    assert TrainingRun.objects.get(pk=run.pk).status == "interrupted"


def test_the_grounded_prompt_set_can_be_downloaded_and_uploaded(seattle, researcher):
    constitution = services.constitution_build(conversation=seattle, rule="gic", threshold=0.5)
    client = APIClient()
    client.force_authenticate(researcher)
    body = client.get(f"/api/v1/constitutions/{constitution.pk}/prompts/").json()
    principle_ids = {p["id"] for p in constitution.document["principles"]}
    assert body["train"] and body["heldout"]
    assert all(set(p["principle_ids"]) <= principle_ids for p in body["train"])
    edited = body["train"][:2]
    edited[0]["prompt"] = "An edited scenario about the minimum wage?"
    run = services.training_run_create(
        conversation=seattle, model="tiny", config={"prompts": edited}
    )
    assert run.config["prompts"][0]["prompt"].startswith("An edited")
    with pytest.raises(ApplicationError, match="prompt"):
        services.training_run_create(conversation=seattle, model="tiny", config={"prompts": [{}]})


def test_statements_carry_polis_comment_ids_into_the_constitution(seattle):
    constitution = services.constitution_build(conversation=seattle, rule="gic", threshold=0.5)
    sources = [s for p in constitution.document["principles"] for s in p["sources"]]
    assert all(isinstance(s.get("polis_comment_id"), int) for s in sources)
    assert constitution.document["params"]["group_sizes"]
