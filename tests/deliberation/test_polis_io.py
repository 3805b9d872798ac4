"""Polis import/export on the real shared conversations: round trip, idempotence, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from consensus.polis_export import read_polis_export
from deliberation import services
from deliberation.models import Conversation, Participant, Statement, Vote, VoteEvent
from deliberation.polis_io import polis_import

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


# --------------------------------------------------------------------------- the whole corpus


def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _expected_counts(folder: Path) -> tuple[int, int, int]:
    """(statements, latest votes, external ids) counted straight from the CSV files."""
    comments = {row["comment-id"] for row in _csv_rows(folder / "comments.csv")}
    events = _csv_rows(folder / "votes.csv")
    matrix = _csv_rows(folder / "participants-votes.csv")
    if events:
        latest = len({(row["voter-id"], row["comment-id"]) for row in events})
    else:
        latest = sum(
            1
            for row in matrix
            for key, value in row.items()
            if key.isdigit() and value.strip() != ""
        )
    xids = sum(1 for row in matrix if (row.get("xid") or "").strip())
    return len(comments), latest, xids


CORPUS = sorted(p.name for p in POLIS_DIR.iterdir() if p.is_dir())


def test_the_corpus_holds_every_export_variant():
    assert len(CORPUS) >= 14
    assert any(not (POLIS_DIR / n / "votes.csv").exists() for n in CORPUS)  # matrix only
    assert any(not (POLIS_DIR / n / "participants-votes.csv").exists() for n in CORPUS)


@pytest.mark.parametrize("name", CORPUS)
def test_every_shared_export_imports_with_the_counts_of_its_files(name):
    folder = POLIS_DIR / name
    n_statements, n_votes, n_xids = _expected_counts(folder)
    call_command("import_polis", str(folder), slug="corpus")
    assert Statement.objects.filter(conversation__slug="corpus").count() == n_statements
    assert Vote.objects.filter(statement__conversation__slug="corpus").count() == n_votes
    external = Participant.objects.filter(conversation__slug="corpus", external_id__isnull=False)
    assert external.count() == n_xids
    topic = Conversation.objects.get(slug="corpus").topic
    assert topic == (read_polis_export(folder).summary.get("topic") or "corpus")[:300]


def test_an_xid_becomes_the_participants_external_id(tmp_path):
    folder = tmp_path / "xid"
    folder.mkdir()
    shutil.copy(POLIS_DIR / "london.youth.policing" / "comments.csv", folder)
    source = (POLIS_DIR / "london.youth.policing" / "participants-votes.csv").read_text()
    header, first, *rest = source.splitlines()
    assert header.startswith("participant,xid,")
    pid = first.split(",")[0]
    (folder / "participants-votes.csv").write_text(
        "\n".join([header, first.replace(f"{pid},,", f"{pid},user-7,", 1), *rest]) + "\n"
    )
    call_command("import_polis", str(folder), slug="xid")
    person = Participant.objects.get(conversation__slug="xid", external_id="user-7")
    assert person.polis_pid == int(pid)
    assert Vote.objects.filter(participant=person).exists()


@pytest.mark.django_db(transaction=True)
def test_a_vote_cast_between_two_chunks_of_an_import_is_accepted():
    """The import holds no transaction between its chunks, so voting goes on during it: a vote
    cast through the vote service at every pause (on this same connection, so any transaction the
    import held open would show) is accepted and committed, and stays after the import."""
    conversation = services.conversation_create(user=None, slug="live", topic="Live")
    statement = services.statement_seed(conversation=conversation, text="Voting goes on.")
    participant = services.participant_join(conversation=conversation)
    values: list[int] = []

    def vote_now() -> None:
        assert not connection.in_atomic_block, "the import holds a transaction between chunks"
        value = 1 if len(values) % 2 == 0 else -1
        services.vote_cast(participant=participant, statement_id=statement.pk, value=value)
        values.append(value)
        assert Vote.objects.get(participant=participant).value == value  # committed

    folder = POLIS_DIR / "15-per-hour-seattle"
    polis_import(folder=folder, slug="seattle", on_chunk=vote_now)
    first = len(values)
    polis_import(folder=folder, slug="seattle", on_chunk=vote_now)  # a re-import deletes first
    source = read_polis_export(folder)
    # a pause before the votes, after each delete of 200 participants' votes and after each
    # insert of 2,000 rows (events, then current votes); the re-import pauses as often
    assert first >= 1 + 2 * -(-len(source.votes) // 2000)
    assert len(values) == 2 * first
    assert VoteEvent.objects.filter(participant=participant).count() == len(values)
    assert Vote.objects.get(participant=participant).value == values[-1]
    assert Vote.objects.filter(statement__conversation__slug="seattle").count() == len(
        source.latest_votes()
    )
