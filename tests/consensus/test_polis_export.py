"""read_polis_export / write_polis_export on the real openData exports and on broken files."""

from pathlib import Path

import pytest

from consensus.polis_export import (
    PolisComment,
    PolisFormatError,
    PolisVote,
    read_polis_export,
    write_polis_export,
)
from tests.consensus.datasets import POLIS_CONVERSATIONS, POLIS_DIR, require

# Dedup counts of the shared exports (shared/reference/polis-math.md §7 and §1).
EXPECTED = {
    "15-per-hour-seattle": (54, 2995, 2872, 339),
    "scoop-hivemind.ubi": (71, 7174, 7153, 234),
    "vtaiwan.uberx": (197, 49997, 49443, 1921),
}


@pytest.mark.parametrize("name", POLIS_CONVERSATIONS)
def test_it_reads_every_shared_conversation(name: str) -> None:
    export = read_polis_export(require(POLIS_DIR / name))
    n_comments, n_events, n_latest, n_participants = EXPECTED[name]
    assert len(export.comments) == n_comments
    assert len(export.votes) == n_events
    assert len(export.latest_votes()) == n_latest
    assert len(export.group_ids) == n_participants


@pytest.mark.parametrize("name", POLIS_CONVERSATIONS)
def test_latest_votes_equal_the_participants_votes_cells(name: str, tmp_path: Path) -> None:
    folder = require(POLIS_DIR / name)
    only_pv = tmp_path / name
    only_pv.mkdir()
    for f in ("comments.csv", "participants-votes.csv"):
        (only_pv / f).write_bytes((folder / f).read_bytes())
    from_events = {(v.pid, v.tid): v.vote for v in read_polis_export(folder).latest_votes()}
    from_cells = {(v.pid, v.tid): v.vote for v in read_polis_export(only_pv).votes}
    assert from_events == from_cells


def test_votes_come_back_in_time_order() -> None:
    export = read_polis_export(require(POLIS_DIR / "15-per-hour-seattle"))
    stamps = [v.timestamp_ms for v in export.votes]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("name", POLIS_CONVERSATIONS)
def test_write_then_read_round_trips_latest_votes(name: str, tmp_path: Path) -> None:
    export = read_polis_export(require(POLIS_DIR / name))
    write_polis_export(
        tmp_path, comments=export.comments, votes=export.votes, group_ids=export.group_ids
    )
    again = read_polis_export(tmp_path)
    assert again.latest_votes() == export.latest_votes()
    assert again.comments == export.comments
    assert again.group_ids == export.group_ids


def test_written_files_use_the_real_export_headers(tmp_path: Path) -> None:
    folder = require(POLIS_DIR / "scoop-hivemind.ubi")
    export = read_polis_export(folder)
    write_polis_export(tmp_path, comments=export.comments, votes=export.votes, group_ids=None)
    for f in ("comments.csv", "votes.csv"):
        real = (folder / f).read_text(encoding="utf-8").splitlines()[0]
        assert (tmp_path / f).read_text(encoding="utf-8").splitlines()[0] == real
    pv_header = (tmp_path / "participants-votes.csv").read_text().splitlines()[0]
    assert pv_header.startswith("participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,")


def test_it_round_trips_votes_without_timestamps_and_unknown_groups(tmp_path: Path) -> None:
    comments = [PolisComment(tid=0, text='say "hi",\nthen go', moderated=-1), PolisComment(1, "b")]
    votes = [PolisVote(5, 0, 1), PolisVote(5, 1, 0), PolisVote(7, 1, -1), PolisVote(5, 0, -1)]
    write_polis_export(tmp_path, comments=comments, votes=votes, group_ids={5: None, 7: 2, 9: 1})
    again = read_polis_export(tmp_path)
    assert again.comments == comments
    assert again.latest_votes() == [PolisVote(5, 1, 0), PolisVote(7, 1, -1), PolisVote(5, 0, -1)]
    assert again.group_ids == {5: None, 7: 2, 9: 1}


# --------------------------------------------------------------------------- malformed input

COMMENTS = (
    "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
    "1,x,0,3,1,0,1,first\n"
    "2,x,1,3,0,1,1,second\n"
)
VOTES = "timestamp,datetime,comment-id,voter-id,vote\n10,x,0,1,1\n11,x,1,1,-1\n"
PV = "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1\n1,0,0,2,1,1,1,-1\n"


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name.replace('_', '-')}.csv").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_minimal_valid_folder_reads(tmp_path: Path) -> None:
    export = read_polis_export(
        _folder(tmp_path, comments=COMMENTS, votes=VOTES, participants_votes=PV)
    )
    assert [v.vote for v in export.votes] == [1, -1]
    assert export.group_ids == {1: 0}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"votes": VOTES}, "comments.csv: file not found"),
        (
            {"comments": COMMENTS.replace("comment-body", "text"), "votes": VOTES},
            "missing column(s) comment-body",
        ),
        (
            {"comments": COMMENTS, "votes": VOTES.replace(",vote\n", ",v\n")},
            "missing column(s) vote",
        ),
        ({"comments": COMMENTS, "votes": VOTES + "12,x,zero,1,1\n"}, "line 4: column 'comment-id'"),
        ({"comments": COMMENTS, "votes": VOTES + "12,x,0,1,2\n"}, "line 4: vote must be one of"),
        ({"comments": COMMENTS, "votes": VOTES + "12,x,9,1,1\n"}, "unknown comment-id 9"),
        ({"comments": COMMENTS, "votes": VOTES + "12,x,0\n"}, "line 4: row has 3 fields"),
        ({"comments": COMMENTS + '3,x,2,3,0,0,1,"never closed\n', "votes": VOTES}, "malformed CSV"),
        ({"comments": COMMENTS.replace(",1,first", ",7,first"), "votes": VOTES}, "moderated must"),
        ({"comments": COMMENTS, "participants_votes": PV + "2,0,0,1,1,0,1\n"}, "line 3: row has"),
        (
            {"comments": COMMENTS, "participants_votes": PV + "2,,0,1,1,0,1,x\n"},
            "must be an integer",
        ),
        (
            {"comments": COMMENTS, "participants_votes": PV.replace(",0,1\n", ",0,8\n", 1)},
            "unknown comment-id 8",
        ),
        ({"comments": "", "votes": VOTES}, "empty file"),
    ],
)
def test_it_rejects_malformed_exports(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(PolisFormatError) as info:
        read_polis_export(_folder(tmp_path, **files))
    assert message in str(info.value)


def test_the_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolisFormatError, match=r"^votes\.csv, line 4"):
        read_polis_export(_folder(tmp_path, comments=COMMENTS, votes=VOTES + "12,x,0,1,2\n"))


def test_a_missing_folder_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(PolisFormatError, match="not a directory"):
        read_polis_export(tmp_path / "nope")


# --------------------------------------------------------------------------- export variants

PV_XID = (
    "participant,xid,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,extra\n"
    "1,alice@site,0,0,2,1,1,1,-1,z\n"
    "4,,1,0,1,0,0,0,,z\n"
)


def test_the_xid_column_is_kept_as_external_id_and_extra_columns_are_ignored(
    tmp_path: Path,
) -> None:
    export = read_polis_export(_folder(tmp_path, comments=COMMENTS, participants_votes=PV_XID))
    assert export.xids == {1: "alice@site"}
    assert export.group_ids == {1: 0, 4: 1}
    assert sorted((v.pid, v.tid, v.vote) for v in export.votes) == [
        (1, 0, 1),
        (1, 1, -1),
        (4, 0, 0),
    ]
    assert any("extra" in note for note in export.notes)


def test_without_votes_csv_the_matrix_is_read_and_has_no_timestamps(tmp_path: Path) -> None:
    export = read_polis_export(_folder(tmp_path, comments=COMMENTS, participants_votes=PV))
    assert export.vote_source == "participants-votes.csv"
    assert not export.has_timestamps
    assert any("no votes.csv" in note for note in export.notes)


def test_a_comments_only_export_reads_with_no_votes(tmp_path: Path) -> None:
    export = read_polis_export(_folder(tmp_path, comments=COMMENTS))
    assert [c.tid for c in export.comments] == [0, 1]
    assert export.votes == [] and export.vote_source == "none"


def test_bom_unsorted_rows_and_a_repeated_comment_row_read(tmp_path: Path) -> None:
    header, first, second = COMMENTS.splitlines()
    comments = "\ufeff" + "\n".join([header, second, first, "3,x,1,3,0,0,1,again"]) + "\n"
    votes = "timestamp,datetime,comment-id,voter-id,vote\n11,x,1,1,-1\n10,x,0,1,1\n10,x,0,1,1\n"
    export = read_polis_export(_folder(tmp_path, comments=comments, votes=votes))
    assert [(c.tid, c.text) for c in export.comments] == [(0, "first"), (1, "again")]
    assert [v.timestamp_ms for v in export.votes] == [10, 10, 11]
    assert len(export.latest_votes()) == 2
    assert any("repeats 1 comment-id" in note for note in export.notes)


def test_missing_optional_columns_take_defaults(tmp_path: Path) -> None:
    comments = "comment-id,comment-body,is-meta\n0,first,0\n1,meta one,1\n"
    export = read_polis_export(_folder(tmp_path, comments=comments, votes=VOTES))
    assert [(c.moderated, c.is_meta, c.author_pid) for c in export.comments] == [
        (1, False, None),
        (1, True, None),
    ]
    assert any("no 'moderated' column" in note for note in export.notes)


def test_summary_csv_is_read_with_multiline_values(tmp_path: Path) -> None:
    summary = 'topic,Tax\nvoters,12\nconversation-description,"two\nlines"\n'
    export = read_polis_export(_folder(tmp_path, comments=COMMENTS, votes=VOTES, summary=summary))
    assert export.summary == {
        "topic": "Tax",
        "voters": "12",
        "conversation-description": "two\nlines",
    }
