"""SFT / DPO / KTO files: TRL's conversational columns plus provenance, readable by `datasets`."""

from __future__ import annotations

import pytest

from alignment import datasets_io as dio
from alignment.cai_data import read_records
from alignment.config import ConfigError, TrainingError

RECORD = {
    "prompt_id": "p1",
    "prompt": "Is lying ok?",
    "initial": "Sure, lie.",
    "rounds": [
        {"principle_id": "p-3", "revision": "Usually not."},
        {"principle_id": "p-7", "revision": "Honesty matters."},
    ],
    "final": "Honesty matters.",
    "feedback": {"principle_id": "p-1", "soft_label": 0.3},
    "constitution_version": 2,
    "constitution_hash": "abc",
}
SAME = RECORD | {"prompt_id": "p2", "final": "Sure, lie."}
META = {"prompt_id": "p1", "constitution_version": 2, "constitution_hash": "abc"}


def test_sft_rows_in_both_formats() -> None:
    [row] = dio.sft_rows([RECORD])
    assert (
        row
        == {
            "prompt": [{"role": "user", "content": "Is lying ok?"}],
            "completion": [{"role": "assistant", "content": "Honesty matters."}],
            "principle_ids": ["p-3", "p-7"],
        }
        | META
    )
    [row] = dio.sft_rows([RECORD], fmt="messages")
    assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
    with pytest.raises(ConfigError):
        dio.sft_rows([RECORD], fmt="alpaca")  # type: ignore[arg-type]


def test_dpo_rows_from_revisions_skip_identical_pairs() -> None:
    [row] = dio.dpo_rows([RECORD, SAME])
    assert row["chosen"][0]["content"] == "Honesty matters."
    assert row["rejected"][0]["content"] == "Sure, lie."
    assert row["principle_ids"] == ["p-3", "p-7"]


def test_dpo_rows_from_ai_feedback_follow_the_soft_label() -> None:
    [row] = dio.dpo_rows([RECORD], source="ai_feedback")
    assert row["chosen"][0]["content"] == "Sure, lie."  # judge preferred the initial (0.3)
    assert row["soft_label"] == pytest.approx(0.7)
    assert row["principle_ids"] == ["p-3", "p-7", "p-1"]
    assert dio.dpo_rows([RECORD], source="ai_feedback", margin=0.25) == []


def test_kto_rows_have_both_labels() -> None:
    rows = dio.kto_rows([RECORD, SAME])
    assert [(r["completion"][0]["content"], r["label"]) for r in rows] == [
        ("Honesty matters.", True),
        ("Sure, lie.", False),
    ]


def test_files_load_with_datasets(tmp_path, cai_file) -> None:
    records = read_records(cai_file)
    for name, rows, columns in [
        ("sft", dio.sft_rows(records), {"prompt", "completion"}),
        ("msgs", dio.sft_rows(records, fmt="messages"), {"messages"}),
        ("dpo", dio.dpo_rows(records), {"prompt", "chosen", "rejected"}),
        ("kto", dio.kto_rows(records), {"prompt", "completion", "label"}),
    ]:
        digest = dio.write_jsonl(rows, tmp_path / f"{name}.jsonl")
        assert digest == dio.file_sha256(tmp_path / f"{name}.jsonl")
        ds = dio.load_jsonl_dataset(tmp_path / f"{name}.jsonl")
        assert len(ds) == len(rows) > 0
        assert columns | {"principle_ids", "constitution_version", "constitution_hash"} <= set(
            ds.column_names
        )


def test_empty_datasets_and_bad_files_are_training_errors(tmp_path) -> None:
    with pytest.raises(TrainingError, match="no rows"):
        dio.write_jsonl([], tmp_path / "x.jsonl")
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    with pytest.raises(TrainingError, match="cannot read dataset"):
        dio.load_jsonl_dataset(tmp_path / "bad.jsonl")
