"""The judge calibration set and its scoring: accuracy, decisiveness, position bias."""

from __future__ import annotations

import pytest

from alignment.calibration import TIE_EPS, calibrate_judge, judge_verdict, load_calibration


def test_the_calibration_set_is_large_multilingual_and_well_formed() -> None:
    pairs = load_calibration()
    assert len(pairs) >= 50
    assert len({p["language"] for p in pairs}) >= 6
    assert len({p["id"] for p in pairs}) == len(pairs)
    for p in pairs:
        assert p["principle"].startswith("Choose the response that")
        assert p["good"].strip() and p["bad"].strip() and p["good"] != p["bad"]


def test_calibration_scores_a_judge_with_intervals(tiny) -> None:
    pairs = load_calibration(limit=12)
    report = calibrate_judge(*tiny, pairs, n_boot=200)
    assert report["n_pairs"] == 12 and len(report["items"]) == 12
    for key in ("accuracy", "decisiveness", "order_consistency"):
        ci = report[key]
        assert 0 <= ci["low"] <= ci["value"] <= ci["high"] <= 1
    assert -0.5 <= report["position_bias"]["value"] <= 0.5
    hits = sum(item["p_good"] > 0.5 + TIE_EPS for item in report["items"])
    assert report["accuracy"]["value"] == pytest.approx(hits / 12)


def test_a_judge_below_the_threshold_gets_a_loud_warning(tiny) -> None:
    report = calibrate_judge(*tiny, load_calibration(limit=6), n_boot=0)
    assert judge_verdict(report, minimum=1.01).startswith("JUDGE BELOW CALIBRATION THRESHOLD")
    assert judge_verdict(report, minimum=0.0) is None
