"""Bootstrap intervals for evaluation figures.

Why the bootstrap: every figure here is a mean over a few dozen items (prompts, statements,
calibration pairs), so a point estimate alone ("reward accuracy 1.000" on 4 pairs) says nothing
about what the next set would give. Percentile intervals over items resampled with replacement
need no distributional assumption; the RNG is seeded so a figure and its interval reproduce.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

CONFIDENCE = 0.95


def mean_ci(
    values: Sequence[float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    stat: Callable[[np.ndarray], float] | None = None,
) -> dict[str, Any]:
    """{"value", "low", "high", "n"}: the statistic and its 95% percentile bootstrap interval.

    Empty input gives None everywhere; `n_boot=0` gives the value without an interval.
    """
    data = np.asarray([float(v) for v in values], dtype=float)
    if data.size == 0:
        return {"value": None, "low": None, "high": None, "n": 0}
    fn = stat or (lambda a: float(a.mean()))
    value = float(fn(data))
    if n_boot <= 0 or data.size < 2:
        return {"value": value, "low": None, "high": None, "n": int(data.size)}
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(n_boot, data.size))  # (n_boot, n)
    stats = np.array([fn(data[row]) for row in picks])
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return {"value": value, "low": float(low), "high": float(high), "n": int(data.size)}


def fmt_ci(ci: dict[str, Any] | None) -> str:
    """'0.625 [0.500, 0.750] (n=8)' for cards and tables ('n/a' when missing)."""
    if not ci or ci.get("value") is None:
        return "n/a"
    if ci.get("low") is None:
        return f"{ci['value']:.3f} (n={ci['n']})"
    return f"{ci['value']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}] (n={ci['n']})"


def seed_ci(
    values: Sequence[float | None], *, bounds: tuple[float, float] | None = None
) -> dict[str, Any]:
    """Mean over training seeds with a 95% Student-t interval (mean ± t·sd/√n).

    `bounds` clips the interval to a figure's range (a rate cannot leave [0, 1]).

    Why t and not the bootstrap: there are only a handful of seeds (3 by default), too few to
    resample; the t interval is the usual report for "mean over n seeds". Missing values (a
    metric a seed could not compute) are left out; `n` says how many counted.
    """
    data = np.asarray([float(v) for v in values if v is not None], dtype=float)
    out: dict[str, Any] = {"value": None, "low": None, "high": None, "n": int(data.size)}
    out["values"] = [float(v) for v in data]
    if data.size == 0:
        return out | {"sd": None}
    mean = float(data.mean())
    if data.size < 2:
        return out | {"value": mean, "sd": None}
    from scipy import stats as st

    sd = float(data.std(ddof=1))
    half = float(st.t.ppf(1 - (1 - CONFIDENCE) / 2, data.size - 1)) * sd / float(np.sqrt(data.size))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return out | {"value": mean, "low": low, "high": high, "sd": sd}
