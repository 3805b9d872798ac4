"""The alignment library stays Django-free (CONVENTIONS habit 3): checked in a fresh process."""

import subprocess
import sys

MODULES = [
    "config",
    "principles",
    "dedup",
    "constitution",
    "modeling",
    "generation",
    "cai_data",
    "cleaning",
    "relevance",
    "grounding",
    "calibration",
    "stats",
    "datasets_io",
    "train",
    "evaluate",
    "pipeline",
    "cli",
]


def test_pure_modules_do_not_import_django() -> None:
    code = (
        "import sys\n"
        + "".join(f"import alignment.{m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        + "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_config_and_constitution_stay_light() -> None:
    code = (
        "import sys\nimport alignment.config, alignment.constitution\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
