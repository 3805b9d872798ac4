"""Polis import/export on the real shared conversations: round trip, idempotence, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from consensus.polis_export import read_polis_export
from deliberation.models import Conversation, Participant, Statement, Vote, VoteEvent

pytestmark = pytest.mark.django_db

POLIS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "polis"
CONVERSATIONS = ("15-per-hour-seattle", "scoop-hivemind.ubi", "vtaiwan.uberx")


def _votes(slug: str) -> set[tuple[int, int, int]]:
    rows = Vote.objects.filter(statement__conversation__slug=slug).values_list(
        "participant__polis_pid", "statement__polis_tid", "value"
    )
    return set(rows)


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_import_export_import_yields_identical_votes(name, tmp_path):
    source = read_polis_export(POLIS_DIR / name)
    call_command("import_polis", str(POLIS_DIR / name), slug="first")
    expected = {(v.pid, v.tid, v.vote) for v in source.latest_votes()}
    assert _votes("first") == expected
    call_command("export_polis", "first", str(tmp_path / "out"))
    call_command("import_polis", str(tmp_path / "out"), slug="second")
    assert _votes("second") == expected
    exported = read_polis_export(tmp_path / "out")
    assert [(v.pid, v.tid, v.vote, v.timestamp_ms) for v in exported.votes] == [
        (v.pid, v.tid, v.vote, v.timestamp_ms) for v in source.votes
    ]


def test_moderated_out_comments_become_rejected_statements():
    call_command("import_polis", str(POLIS_DIR / "vtaiwan.uberx"), slug="vt")
    source = read_polis_export(POLIS_DIR / "vtaiwan.uberx")
    rejected = {c.tid for c in source.comments if c.moderated == -1}
    assert rejected
    stored = set(
        Statement.objects.filter(conversation__slug="vt", moderation="rejected").values_list(
            "polis_tid", flat=True
        )
    )
    assert stored == rejected


def test_reimport_is_idempotent():
    folder = str(POLIS_DIR / "15-per-hour-seattle")
    call_command("import_polis", folder, slug="seattle")
    counts = (
        Statement.objects.count(),
        Participant.objects.count(),
        Vote.objects.count(),
        VoteEvent.objects.count(),
    )
    call_command("import_polis", folder, slug="seattle")
    assert counts == (
        Statement.objects.count(),
        Participant.objects.count(),
        Vote.objects.count(),
        VoteEvent.objects.count(),
    )
    assert Conversation.objects.filter(slug="seattle").count() == 1


def _broken_copy(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "broken"
    shutil.copytree(POLIS_DIR / "15-per-hour-seattle", folder)
    edit(folder)
    return folder


def _truncate_votes(folder: Path) -> None:
    text = (folder / "votes.csv").read_text()
    (folder / "votes.csv").write_text(text[: len(text) // 2] + '"unterminated')


def _bad_vote_value(folder: Path) -> None:
    lines = (folder / "votes.csv").read_text().splitlines()
    lines[5] = ",".join(lines[5].split(",")[:-1] + ["7"])
    (folder / "votes.csv").write_text("\n".join(lines) + "\n")


def _no_comments(folder: Path) -> None:
    (folder / "comments.csv").unlink()


@pytest.mark.parametrize("edit", [_truncate_votes, _bad_vote_value, _no_comments])
def test_malformed_exports_fail_clearly_and_write_nothing(tmp_path, edit):
    folder = _broken_copy(tmp_path, edit)
    with pytest.raises(CommandError) as failure:
        call_command("import_polis", str(folder), slug="broken")
    assert "csv" in str(failure.value).lower()
    assert not Conversation.objects.filter(slug="broken").exists()
    assert not Vote.objects.exists()


def test_export_of_unknown_conversation_fails(tmp_path):
    with pytest.raises(CommandError, match="nope"):
        call_command("export_polis", "nope", str(tmp_path))
