"""Insert-if-absent on a unique column, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_if_absent(conn: Connection, table: Table, values: dict[str, Any], unique: str) -> int | None:
    """Insert `values` unless a row with the same `unique` value exists.

    Returns the new row's id, or None when it was already there (safe under concurrency).
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=[unique])
    row = conn.execute(stmt.returning(table.c.id)).first()
    return None if row is None else int(row[0])
