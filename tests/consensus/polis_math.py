"""Load a shared/data/polis-math conversation with Polis' own math output (test helper).

Provenance: pol.is API snapshots collected by polis-community/red-dwarf (tests/fixtures,
commit 4dbbab1) for the same purpose; see shared/data/polis-math/SOURCE.md.
"""

import json
from dataclasses import dataclass
from functools import cache

import numpy as np

from consensus.matrix import VoteMatrix, matrix_from_export
from consensus.polis_export import read_any
from tests.consensus.datasets import POLIS_MATH_DIR, require

# 50ptpt-3gp-strict-no-meta: its votes.json lacks some votes (SOURCE.md caveat; one
# participant of user-vote-counts has no votes at all), so the PCA cannot match there.
COMPLETE = (
    "below-100-ptpts",
    "25ptpt-3gp-no-strict-with-meta",
    "above-100-ptpts",
    "150ptpt-3gp-no-strict-no-meta",
)


@dataclass(frozen=True)
class PolisMath:
    matrix: VoteMatrix
    math: dict
    group_ids: list[int]  # Polis group ids, in group-clusters order
    group_rows: list[np.ndarray]  # matrix rows of each Polis group (via base clusters)

    def column(self, key: str) -> np.ndarray:
        """A per-tid dict of the math blob as an array in matrix column order."""
        return np.array([self.math[key][str(t)] for t in self.matrix.statement_ids.tolist()])


@cache
def load(name: str) -> PolisMath:
    folder = require(POLIS_MATH_DIR / name)
    matrix = matrix_from_export(read_any(folder))
    math = json.loads((folder / "math-pca2.json").read_text())
    base = dict(zip(math["base-clusters"]["id"], math["base-clusters"]["members"], strict=True))
    groups = math["group-clusters"]
    rows = [matrix.rows_of([p for b in g["members"] for p in base[b]]) for g in groups]
    return PolisMath(matrix, math, [g["id"] for g in groups], rows)
