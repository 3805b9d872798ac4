"""The pure consensus modules must never pull in Django (CONVENTIONS habit 3)."""

import subprocess
import sys
from pathlib import Path

PURE = [
    "consensus",
    "consensus.matrix",
    "consensus.polis_export",
    "consensus.pca",
    "consensus.clusters",
    "consensus.repness",
    "consensus.gic",
    "consensus.approval",
    "consensus.bridging",
    "consensus.crossfit",
    "consensus.demographics",
    "consensus.pipeline",
    "consensus.replay",
    "consensus.bench",
    "consensus.synthetic",
    "consensus.__main__",
]


def test_importing_every_pure_module_leaves_django_unloaded() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {PURE!r}: importlib.import_module(name)\n"
        "bad = sorted(k for k in sys.modules if k == 'django' or k.startswith('django.'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": ""},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_importing_the_package_is_light() -> None:
    code = "import sys, consensus; sys.exit(1 if 'numpy' in sys.modules else 0)"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 0
