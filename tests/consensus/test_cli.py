"""python -m consensus on a real export folder."""

import json
from pathlib import Path

from consensus.__main__ import main
from tests.consensus.datasets import POLIS_DIR, POLIS_MATH_DIR, require


def test_cli_writes_the_result_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.json"
    assert main([str(require(POLIS_DIR / "15-per-hour-seattle")), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["meta"]["n_participants"] == 339
    assert {p["id"] for p in data["participants"]} >= {0, 1}  # Polis pids
    assert "ARI vs Polis group-id" in capsys.readouterr().out


def test_cli_reads_api_json_folders_with_options(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    folder = require(POLIS_MATH_DIR / "below-100-ptpts")
    assert main([str(folder), "--pass-handling", "exclude", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["meta"]["pass_handling"] == "exclude"


def test_cli_reports_format_errors(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path), "--json", str(tmp_path / "o.json")]) == 2
    assert "comments.csv" in capsys.readouterr().err


def test_cli_replays_in_time_order(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.json"
    folder = require(POLIS_MATH_DIR / "below-100-ptpts")
    assert main([str(folder), "--replay", "--replay-every-ms", "3600000", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["meta"]["n_votes"] == 504


def test_cli_refuses_to_replay_an_export_without_vote_times(tmp_path: Path, capsys) -> None:
    folder = require(POLIS_DIR / "austria-climate.7z7ejpbmv5.2022-08-08")  # no votes.csv
    assert main([str(folder), "--replay", "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "no votes.csv" in err and "cannot replay" in err


def test_cli_reads_an_export_with_an_xid_column(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.json"
    assert main([str(require(POLIS_DIR / "london.youth.policing")), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["meta"]["n_participants"] == 26
