"""Plain SQL for the lean vote path's batch queries (deliberation/fastpath.py).

Why not the ORM there: building a query costs a few hundred microseconds of CPU, more than
these single-table lookups take in the database, and a batch runs several of them. The SQL is
kept to what SQLite and PostgreSQL both accept; table names come from the models.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from datetime import datetime
from typing import Any

from django.db import connection

from deliberation.models import Conversation, Participant, Statement, Vote, VoteEvent

CONVERSATION = Conversation._meta.db_table
PARTICIPANT = Participant._meta.db_table
STATEMENT = Statement._meta.db_table
VOTE = Vote._meta.db_table
VOTE_EVENT = VoteEvent._meta.db_table


def placeholders(values: Sized) -> str:
    return ", ".join(["%s"] * len(values))


def rows(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def insert_many(table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
    """One multi-row INSERT (SQLite and PostgreSQL both take `VALUES (...), (...)`)."""
    if not values:
        return
    row = f"({placeholders(columns)})"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(values))}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for r in values for v in r])


def execute_many(sql: str, params: Sequence[Sequence[Any]]) -> None:
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def for_update() -> str:
    """Row locks where the database has them; SQLite's IMMEDIATE transaction locks it all."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def timestamp(value: datetime) -> Any:
    """A datetime as this database's driver wants it in a raw query."""
    return connection.ops.adapt_datetimefield_value(value)
