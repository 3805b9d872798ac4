"""CAI generation: record format, seeded principle sampling, and crash-safe resumption."""

from __future__ import annotations

import json

import pytest

from alignment.cai_data import fixture_prompts, generate_cai, load_prompts, read_records
from alignment.config import GenerationError, GenerationSettings
from alignment.constitution import build_constitution

from .conftest import FAST_GENERATION, SOURCE, make_consensus_result

SETTINGS = GenerationSettings(**FAST_GENERATION)


class Interrupt(Exception):
    pass


def _stop_after(k: int):
    def progress(done: int, total: int) -> None:
        if done == k:
            raise Interrupt

    return progress


def test_records_hold_the_bai_et_al_steps_and_provenance(cai_file, constitution) -> None:
    records = read_records(cai_file)
    assert [r["prompt_id"] for r in records] == [f"train-{i:03d}" for i in range(1, 9)]
    r = records[0]
    assert set(r) >= {"prompt", "language", "tags", "initial", "rounds", "final", "feedback"}
    [step] = r["rounds"]
    principle = constitution.principle(step["principle_id"])
    assert step["critique_request"] == principle.critique_request
    assert step["revision_request"] == principle.revision_request
    assert r["final"] == step["revision"]
    assert 0 <= r["feedback"]["soft_label"] <= 1
    assert r["feedback"]["soft_label"] == pytest.approx(
        (r["feedback"]["p_first_as_a"] + r["feedback"]["p_first_as_b"]) / 2
    )
    assert (r["constitution_version"], r["constitution_hash"]) == (1, constitution.content_hash)


def test_an_interrupted_run_resumes_without_duplicates(
    tmp_path, tiny, constitution, cai_file
) -> None:
    prompts = load_prompts(fixture_prompts("train"), limit=8)
    path = tmp_path / "cai.jsonl"
    with pytest.raises(Interrupt):
        generate_cai(*tiny, constitution, prompts, path, settings=SETTINGS, progress=_stop_after(3))
    assert [r["prompt_id"] for r in read_records(path)] == ["train-001", "train-002", "train-003"]
    seen: list[tuple[int, int]] = []
    stats = generate_cai(
        *tiny,
        constitution,
        prompts,
        path,
        settings=SETTINGS,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert (stats.skipped, stats.generated, stats.total) == (3, 5, 8)
    assert seen[0] == (4, 8) and seen[-1] == (8, 8)
    resumed = read_records(path)
    assert [r["prompt_id"] for r in resumed] == [f"train-{i:03d}" for i in range(1, 9)]
    # Same principles as an uninterrupted run: sampling is seeded per prompt id.
    uninterrupted = read_records(cai_file)
    assert [r["rounds"][0]["principle_id"] for r in resumed] == [
        r["rounds"][0]["principle_id"] for r in uninterrupted
    ]


def test_a_torn_last_line_is_cut_before_resuming(tmp_path, tiny, constitution) -> None:
    prompts = load_prompts(fixture_prompts("train"), limit=2)
    path = tmp_path / "cai.jsonl"
    with pytest.raises(Interrupt):
        generate_cai(*tiny, constitution, prompts, path, settings=SETTINGS, progress=_stop_after(1))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"prompt_id": "train-002", "prom')  # crash mid-write
    assert len(read_records(path)) == 1
    generate_cai(*tiny, constitution, prompts, path, settings=SETTINGS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["prompt_id"] for line in lines] == ["train-001", "train-002"]


def test_resuming_with_another_constitution_is_refused(tmp_path, tiny, cai_file) -> None:
    other = build_constitution(make_consensus_result(), source=SOURCE, threshold=0.7)
    prompts = load_prompts(fixture_prompts("train"), limit=8)
    with pytest.raises(GenerationError, match="another constitution"):
        generate_cai(*tiny, other, prompts, cai_file, settings=SETTINGS)


def test_a_corrupt_middle_line_is_an_error(tmp_path) -> None:
    path = tmp_path / "cai.jsonl"
    path.write_text('{"prompt_id": "a"}\nnot json\n{"prompt_id": "b"}\n', encoding="utf-8")
    with pytest.raises(GenerationError, match="cai.jsonl:2"):
        read_records(path)


def test_several_rounds_chain_revisions(tmp_path, tiny, constitution) -> None:
    prompts = load_prompts(fixture_prompts("heldout"), limit=2)
    settings = GenerationSettings(rounds=2, max_new_tokens=6, batch_size=2, ai_feedback=False)
    generate_cai(*tiny, constitution, prompts, tmp_path / "c.jsonl", settings=settings)
    for r in read_records(tmp_path / "c.jsonl"):
        assert len(r["rounds"]) == 2 and r["feedback"] is None
        assert r["final"] == r["rounds"][1]["revision"]
