"""Demographic breakdown of votes per statement, with a privacy floor.

Given each consenting participant's answers ``{participant_id: {question: answer}}``, count the
latest votes per statement in every (question, answer) cell. Cells with fewer than ``MIN_CELL``
people (the cell's participants who voted on that statement) are suppressed: counts and rates
become None and ``suppressed`` is True, so no small group can be singled out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consensus.matrix import VoteMatrix
from consensus.repness import group_counts

__all__ = ["MIN_CELL", "demographic_breakdown"]

MIN_CELL = 5  # privacy floor: never report a cell of fewer than 5 people


def _cells(
    answers: Mapping[int, Mapping[str, str]], known: set[int]
) -> dict[tuple[str, str], list[int]]:
    """(question, answer) -> participant ids that gave that answer and exist in the matrix."""
    cells: dict[tuple[str, str], list[int]] = {}
    for pid, qa in answers.items():
        if int(pid) not in known:
            continue
        for question, answer in qa.items():
            if answer is not None and answer != "":
                cells.setdefault((str(question), str(answer)), []).append(int(pid))
    return dict(sorted(cells.items()))


def _cell_row(n_agree: int, n_disagree: int, n_votes: int) -> dict[str, Any]:
    if n_votes < MIN_CELL:
        return {
            "n_votes": None,
            "n_agree": None,
            "n_disagree": None,
            "n_pass": None,
            "agree_rate": None,
            "disagree_rate": None,
            "suppressed": True,
        }
    return {
        "n_votes": n_votes,
        "n_agree": n_agree,
        "n_disagree": n_disagree,
        "n_pass": n_votes - n_agree - n_disagree,
        "agree_rate": n_agree / n_votes,
        "disagree_rate": n_disagree / n_votes,
        "suppressed": False,
    }


def demographic_breakdown(
    matrix: VoteMatrix, answers: Mapping[int, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """Per statement: ``{statement_id, cells: [{question, answer, n_votes, ..., suppressed}]}``.

    Only participants present in ``answers`` (i.e. who consented) are counted.
    """
    cells = _cells(answers, set(matrix.participant_ids.tolist()))
    groups = [matrix.rows_of(pids) for pids in cells.values()]
    counts = group_counts(matrix, groups)  # (c, m) per cell
    out = []
    for j, tid in enumerate(matrix.statement_ids.tolist()):
        rows = [
            {
                "question": q,
                "answer": a,
                **_cell_row(
                    int(counts.agree[c, j]), int(counts.disagree[c, j]), int(counts.seen[c, j])
                ),
            }
            for c, (q, a) in enumerate(cells)
        ]
        out.append({"statement_id": int(tid), "cells": rows})
    return out
