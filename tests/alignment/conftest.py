"""Shared fixtures for the alignment library tests: a synthetic consensus result and the tiny model.

The consensus result mimics the pure consensus pipeline's output (two opinion groups); the tiny
model is built once per test session into a temporary cache, never downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

STATEMENTS = [
    # (id, text, gic_normalized, mea, needs_more_votes, bridging, (agree, disagree, pass) per group)
    (
        1,
        "AI should respect the privacy of every user.",
        0.86,
        0.74,
        False,
        0.71,
        (40, 4, 2),
        (35, 5, 3),
    ),
    (
        2,
        "AI should respect the privacy of all users.",
        0.83,
        0.70,
        False,
        0.69,
        (38, 5, 3),
        (33, 6, 4),
    ),
    (3, "AI should not pretend to be a human.", 0.80, 0.66, False, 0.66, (36, 6, 4), (30, 8, 5)),
    (
        4,
        "It is important that AI admits when it is uncertain.",
        0.78,
        0.62,
        False,
        0.63,
        (34, 8, 4),
        (29, 9, 5),
    ),
    (
        5,
        "AI should always defer to religious authorities.",
        0.45,
        0.12,
        False,
        0.30,
        (5, 38, 3),
        (36, 4, 3),
    ),
    (
        6,
        "AI should prioritise economic growth over the environment.",
        0.40,
        0.10,
        False,
        0.25,
        (36, 6, 4),
        (4, 37, 2),
    ),
    (7, "Never help someone build a weapon.", 0.88, 0.76, False, 0.80, (42, 2, 2), (38, 3, 2)),
    (8, "AI should explain its reasoning.", 0.70, None, True, None, (3, 1, 0), (2, 1, 0)),
]


def _group_votes(agree: int, disagree: int, passes: int) -> dict[str, int]:
    return {
        "n_agree": agree,
        "n_disagree": disagree,
        "n_pass": passes,
        "n_votes": agree + disagree + passes,
    }


def make_consensus_result() -> dict[str, Any]:
    """A consensus result dict as the pure consensus pipeline returns it."""
    statements = [
        {
            "id": sid,
            "text": text,
            "gic": g**2,
            "gic_normalized": g,
            "mea": mea,
            "mea_needs_more_votes": needs,
            "bridging": bridging,
            "groups": {"0": _group_votes(*v0), "1": _group_votes(*v1)},
        }
        for sid, text, g, mea, needs, bridging, v0, v1 in STATEMENTS
    ]
    groups = [
        {
            "id": 0,
            "size": 52,
            "repness": [
                {"statement_id": 6, "repful": "agree", "repness": 2.1},
                {"statement_id": 5, "repful": "disagree", "repness": 1.9},
            ],
        },
        {
            "id": 1,
            "size": 47,
            "repness": [
                {"statement_id": 5, "repful": "agree", "repness": 2.4},
                {"statement_id": 6, "repful": "disagree", "repness": 2.0},
            ],
        },
    ]
    return {"statements": statements, "groups": groups}


SOURCE = {"conversation": "ai-values-2026", "snapshot_id": 17}


@pytest.fixture
def consensus_result() -> dict[str, Any]:
    return make_consensus_result()


@pytest.fixture
def source() -> dict[str, Any]:
    return dict(SOURCE)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def tiny_path(model_cache: Path) -> Path:
    """The tiny random Llama, built once per session into a temporary cache."""
    from alignment.modeling import resolve_model_path

    return resolve_model_path("tiny", cache_dir=model_cache)


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) of the tiny model, on CPU."""
    from alignment.modeling import load_from_path, load_tokenizer

    return load_from_path(tiny_path, device="cpu"), load_tokenizer(tiny_path)


@pytest.fixture(scope="session")
def constitution() -> Any:
    from alignment.constitution import build_constitution

    return build_constitution(
        make_consensus_result(), source=SOURCE, created_at="2026-01-01T00:00:00+00:00"
    )


FAST_GENERATION = {"max_new_tokens": 8, "batch_size": 4}


@pytest.fixture(scope="session")
def cai_file(
    tmp_path_factory: pytest.TempPathFactory, tiny: tuple[Any, Any], constitution: Any
) -> Path:
    """CAI records for 8 training prompts, generated once by the tiny model."""
    from alignment.cai_data import fixture_prompts, generate_cai, load_prompts
    from alignment.config import GenerationSettings

    path = tmp_path_factory.mktemp("cai") / "cai.jsonl"
    generate_cai(
        *tiny,
        constitution,
        load_prompts(fixture_prompts("train"), limit=8),
        path,
        settings=GenerationSettings(**FAST_GENERATION),
        model_name="tiny",
    )
    return path
