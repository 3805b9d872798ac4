"""The layers import one way, modules import without cycles, and the consensus math needs no
Django (docs/architecture.md). Read from the source with `ast`, function-level imports included:
an import hidden inside a function is still a dependency."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "deliberation", "consensus", "alignment", "frontend", "config")

# Each layer and what it may import (besides itself, the standard library and third parties).
ALLOWED = {
    "kernel": set(),
    "consensus": set(),  # the Django-free math library
    "deliberation": {"kernel", "consensus"},
    "consensus.snapshots": {"kernel", "consensus", "deliberation"},
    "alignment": {"kernel", "consensus", "consensus.snapshots", "deliberation"},
    "frontend": {"kernel", "consensus", "consensus.snapshots", "deliberation", "alignment"},
    "config": set(PACKAGES) | {"consensus.snapshots"},
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _layer(module: str) -> str:
    if module == "consensus.snapshots" or module.startswith("consensus.snapshots."):
        return "consensus.snapshots"
    return module.split(".")[0]


def _imports(module: str, path: Path) -> set[str]:
    """Project modules `module` imports, resolved to the longest existing module name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in _imports(module, path):
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def test_layers_import_one_way() -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) != _layer(module) and _layer(target) not in ALLOWED[_layer(module)]
    )
    assert wrong == []


def test_no_import_cycles_between_modules() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


BLOCK_DJANGO = """
import importlib, importlib.abc, pkgutil, sys

class NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError("Django is not on the path here")
        return None

sys.meta_path.insert(0, NoDjango())
import consensus
names = [m.name for m in pkgutil.walk_packages(consensus.__path__, "consensus.")
         if not m.name.startswith("consensus.snapshots")]
for name in names:
    importlib.import_module(name)
import numpy as np
from consensus.matrix import VoteMatrix
from consensus.pipeline import run
rng = np.random.default_rng(0)
pids, tids = np.meshgrid(np.arange(40), np.arange(12), indexing="ij")
side = np.where(pids < 20, 1, -1)
values = np.where(tids % 2 == 0, side, -side).ravel()
result = run(VoteMatrix.from_votes(pids.ravel(), tids.ravel(), values))
print(len(names), result.k)
"""


def test_the_consensus_math_runs_with_django_unimportable() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_DJANGO],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    n_modules, k = (int(x) for x in done.stdout.split())
    assert n_modules >= 12 and k == 2
