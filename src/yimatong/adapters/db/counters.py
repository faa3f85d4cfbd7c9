"""Version counters for the lists a node serves.

``next_value`` increments with an UPDATE that holds the row lock until the transaction
commits, so on PostgreSQL two writers of the same list are serialised and a reader that has
seen version N will never later find a row with a version ≤ N appear (which a plain sequence
would allow: sequence values are handed out before commit, not in commit order).
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from yimatong.adapters.db.tables import counters
from yimatong.adapters.db.upsert import insert_ignore

__all__ = ["current_value", "next_value"]


def next_value(conn: Connection, name: str, by: int = 1) -> int:
    """Advance counter ``name`` by ``by`` and return its new value (the last one taken)."""
    row = conn.execute(
        update(counters)
        .where(counters.c.name == name)
        .values(value=counters.c.value + by)
        .returning(counters.c.value)
    ).first()
    if row is not None:
        return int(row.value)
    insert_ignore(conn, counters, {"name": name, "value": 0})
    return next_value(conn, name, by)


def current_value(conn: Connection, name: str) -> int:
    value = conn.execute(select(counters.c.value).where(counters.c.name == name)).scalar()
    return int(value or 0)
