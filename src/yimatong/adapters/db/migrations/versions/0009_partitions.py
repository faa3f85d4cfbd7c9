"""partitions: stays, test_results and audit_log range-partitioned on PostgreSQL; keys hold sid

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 14:40:00

PostgreSQL only; on SQLite this is a no-op (its tables stay plain). Each table is converted
in the migration's transaction: a partitioned parent is made with the same columns and
defaults (``LIKE … INCLUDING DEFAULTS``: the id keeps its sequence), its partitions are made
for the periods the existing rows fall in (bounded) and the next ones ahead, and a DEFAULT
partition; the rows are copied, the old table dropped, the parent renamed, and the keys and
indexes made under the models' names. ``stays`` and ``test_results`` are partitioned daily by
``expires_at``; ``audit_log`` monthly by ``at`` (adapters/db/partitions.py says why, and
what the keys become). The tables are locked for the length of the copy: run it in a quiet
hour on a big node.

The partitions' DDL is written out here rather than imported, so that this migration does
what it did when it was written whatever the maintenance code becomes.

The other tables about a person get keys that hold ``sid`` on PostgreSQL (``_BY_SID``), so that
every large table can be distributed by the pseudonym on Citus (docs/operations.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

#: (table, key, monthly, primary key, foreign keys, indexes) as the conversion makes them.
_TABLES: tuple[
    tuple[
        str, str, bool, tuple[str, ...], dict[str, tuple[str, str, str]], dict[str, tuple[str, ...]]
    ],
    ...,
] = (
    (
        "stays",
        "expires_at",
        False,
        ("sid", "id", "expires_at"),
        {"fk_stays_sid_subjects": ("sid", "subjects", "sid")},
        {"ix_stays_sid_arrived": ("sid", "arrived"), "ix_stays_origin": ("origin",)},
    ),
    (
        "test_results",
        "expires_at",
        False,
        ("sid", "id", "expires_at"),
        {},
        {
            "ix_test_results_sid_sampled_at": ("sid", "sampled_at"),
            "ix_test_results_origin": ("origin",),
        },
    ),
    (
        "audit_log",
        "at",
        True,
        ("id", "at"),
        {},
        {"ix_audit_log_sid": ("sid",), "ix_audit_log_at": ("at",)},
    ),
)
#: The other tables about a person, on PostgreSQL: (table, mirrored, looked up by id alone).
#: Their keys are widened to hold ``sid`` (PRIMARY KEY (sid, id), UNIQUE (sid, origin)), which
#: a sharded PostgreSQL (Citus) needs of a table distributed by ``sid``; a feed seq has one
#: sid, so UNIQUE (sid, origin) is as strict as UNIQUE (origin) was.
_BY_SID: tuple[tuple[str, bool, bool], ...] = (
    ("declarations", False, False),
    ("corrections", False, True),
    ("link_requests", False, True),
    ("case_facts", True, False),
    ("contact_facts", True, False),
    ("quarantine_orders", True, False),
    ("summaries", True, False),
)
#: Periods made ahead of today: days (daily tables) or months (monthly).
_AHEAD_DAYS = 14
_AHEAD_MONTHS = 2
#: How far back partitions are made for existing rows; older ones go to DEFAULT.
_BACK_DAYS = 62
_BACK_MONTHS = 36


def _next(start: date, monthly: bool) -> date:
    if not monthly:
        return start + timedelta(days=1)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _start(day: date, monthly: bool) -> date:
    return day.replace(day=1) if monthly else day


def _at(day: date) -> str:
    return f"'{day.isoformat()} 00:00:00+00'"


def _periods(table: str, key: str, monthly: bool, today: date) -> list[date]:
    bind = op.get_bind()
    row = bind.execute(text(f"SELECT min({key}), max({key}) FROM {table}")).one()  # noqa: S608
    first, last = today, today
    if monthly:
        for _ in range(_AHEAD_MONTHS):
            last = _next(_start(last, True), True)
        floor = today
        for _ in range(_BACK_MONTHS):
            floor = (floor.replace(day=1) - timedelta(days=1)).replace(day=1)
    else:
        last = today + timedelta(days=_AHEAD_DAYS)
        floor = today - timedelta(days=_BACK_DAYS)
    if row[0] is not None:
        first = max(min(first, row[0].astimezone(UTC).date()), floor)
        # Ahead of the usual window only as far as the rows go, and never beyond a year.
        last = min(max(last, row[1].astimezone(UTC).date()), today + timedelta(days=366))
    starts, start = [], _start(first, monthly)
    while start <= last:
        starts.append(start)
        start = _next(start, monthly)
    return starts


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    today = datetime.now(UTC).date()
    for table, key, monthly, pk, fks, indexes in _TABLES:
        seq = bind.execute(text(f"SELECT pg_get_serial_sequence('{table}', 'id')")).scalar()
        new = f"{table}_part"
        op.execute(
            f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS) PARTITION BY RANGE ({key})"
        )
        for start in _periods(table, key, monthly, today):
            bounds = f"FROM ({_at(start)}) TO ({_at(_next(start, monthly))})"
            op.execute(
                f"CREATE TABLE {table}_p{start:%Y%m%d} PARTITION OF {new} FOR VALUES {bounds}"
            )
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
        op.execute(f"INSERT INTO {new} SELECT * FROM {table}")  # noqa: S608
        if seq:
            op.execute(f"ALTER SEQUENCE {seq} OWNED BY {new}.id")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {new} RENAME TO {table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(pk)})")
        for name, (column, other, other_column) in fks.items():
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                f"FOREIGN KEY ({column}) REFERENCES {other} ({other_column})"
            )
        for name, columns in indexes.items():
            op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")
    _widen_keys()


def _widen_keys() -> None:
    for table, mirrored, by_id in _BY_SID:
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, "
            f"ADD CONSTRAINT pk_{table} PRIMARY KEY (sid, id)"
        )
        if mirrored:
            op.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT uq_{table}_origin, "
                f"ADD CONSTRAINT uq_{table}_sid_origin UNIQUE (sid, origin)"
            )
        if by_id:
            op.execute(f"CREATE INDEX ix_{table}_id ON {table} (id)")


def _narrow_keys() -> None:
    for table, mirrored, by_id in _BY_SID:
        if by_id:
            op.execute(f"DROP INDEX ix_{table}_id")
        if mirrored:
            op.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT uq_{table}_sid_origin, "
                f"ADD CONSTRAINT uq_{table}_origin UNIQUE (origin)"
            )
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, "
            f"ADD CONSTRAINT pk_{table} PRIMARY KEY (id)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _narrow_keys()
    for table, _key, _monthly, _pk, fks, indexes in _TABLES:
        seq = bind.execute(text(f"SELECT pg_get_serial_sequence('{table}', 'id')")).scalar()
        plain = f"{table}_plain"
        op.execute(f"CREATE TABLE {plain} (LIKE {table} INCLUDING DEFAULTS)")
        op.execute(f"INSERT INTO {plain} SELECT * FROM {table}")  # noqa: S608
        if seq:
            op.execute(f"ALTER SEQUENCE {seq} OWNED BY {plain}.id")
        op.execute(f"DROP TABLE {table}")  # and its partitions
        op.execute(f"ALTER TABLE {plain} RENAME TO {table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        if table != "audit_log":
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT uq_{table}_origin UNIQUE (origin)")
        for name, (column, other, other_column) in fks.items():
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                f"FOREIGN KEY ({column}) REFERENCES {other} ({other_column})"
            )
        for name, columns in indexes.items():
            if not name.endswith("_origin"):
                op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")
