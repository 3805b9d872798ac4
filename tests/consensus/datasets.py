"""Shared data locations for the consensus tests (pure Python, no Django)."""

from pathlib import Path

# <repo>/tests/consensus/conftest.py -> parents[2] is the repo root; shared/ sits beside it.
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
POLIS_DIR = SHARED_DATA / "polis"
POLIS_MATH_DIR = SHARED_DATA / "polis-math"
POLIS_CONVERSATIONS = ("15-per-hour-seattle", "scoop-hivemind.ubi", "vtaiwan.uberx")
POLIS_MATH_CONVERSATIONS = (
    "below-100-ptpts",
    "50ptpt-3gp-strict-no-meta",
    "25ptpt-3gp-no-strict-with-meta",
    "above-100-ptpts",
    "150ptpt-3gp-no-strict-no-meta",
)


def require(path: Path) -> Path:
    """The shared data must be there (CI clones beside shared/): missing data fails, never skips."""
    assert path.exists(), f"shared data not available: {path}"
    return path
