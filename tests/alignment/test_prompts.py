"""Prompt sets: the bundled fixtures and validation of user-supplied JSONL."""

import json

import pytest

from alignment.cai_data import fixture_prompts, load_prompts
from alignment.config import PromptFileError


def test_bundled_prompt_sets_are_multilingual() -> None:
    train, heldout = (
        load_prompts(fixture_prompts("train")),
        load_prompts(fixture_prompts("heldout")),
    )
    assert len(train) == 40 and len(heldout) == 12
    assert {"en", "ar", "fa", "zh", "es", "hi"} <= {p.language for p in train}
    assert {"en", "ar", "fa", "zh", "es", "hi"} <= {p.language for p in heldout}
    assert not {p.id for p in train} & {p.id for p in heldout}
    assert all(p.tags for p in train + heldout)


def test_limit_takes_the_first_prompts() -> None:
    assert [p.id for p in load_prompts(fixture_prompts("train"), limit=2)] == [
        "train-001",
        "train-002",
    ]


def _write(tmp_path, *lines: str):
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "a", "prompt": "Hello?", "language": "en", "tags": ["x"]})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "prompts.jsonl:3: invalid JSON"),
        ("[1, 2]", "prompts.jsonl:3: expected a JSON object"),
        (json.dumps({"id": "b"}), "prompts.jsonl:3: missing or empty 'prompt'"),
        (json.dumps({"prompt": "x"}), "prompts.jsonl:3: missing or empty 'id'"),
        (json.dumps({"id": "b", "prompt": "x", "tags": "t"}), "prompts.jsonl:3: 'tags'"),
        (json.dumps({"id": "a", "prompt": "again"}), "prompts.jsonl:3: duplicate id 'a'"),
    ],
)
def test_a_malformed_line_is_named(tmp_path, bad: str, message: str) -> None:
    path = _write(tmp_path, GOOD, "", bad)
    with pytest.raises(PromptFileError, match=message):
        load_prompts(path)


def test_user_files_with_the_same_fields_are_accepted(tmp_path) -> None:
    prompts = load_prompts(_write(tmp_path, GOOD, json.dumps({"id": 7, "prompt": " Hi "})))
    assert [(p.id, p.prompt, p.language, p.tags) for p in prompts] == [
        ("a", "Hello?", "en", ("x",)),
        ("7", "Hi", "und", ()),
    ]


def test_missing_or_empty_files_are_errors(tmp_path) -> None:
    with pytest.raises(PromptFileError, match="cannot read"):
        load_prompts(tmp_path / "nope.jsonl")
    with pytest.raises(PromptFileError, match="no prompts"):
        load_prompts(_write(tmp_path, ""))
