"""INSERT … ON CONFLICT DO NOTHING on both backends.

SQLAlchemy's generic ``insert`` has no conflict clause; the PostgreSQL and SQLite dialects each
have one with the same spelling. Every "apply once however often it arrives" write in yimatong
(feed rows, mirrored facts, registrations, counters) goes through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["dialect_insert", "insert_ignore"]


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for ``table`` that knows ``on_conflict_do_nothing`` on this connection."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert one row unless a unique key is taken; True when the row was written."""
    result = conn.execute(dialect_insert(conn, table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)
