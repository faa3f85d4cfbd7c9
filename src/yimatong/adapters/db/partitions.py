"""Time partitions on PostgreSQL: itineraries and scans, test results, the audit log.

On PostgreSQL (migration 0009) three tables are native range-partitioned parents:

============  =============  =======  ===========================================
table         partition key  period   dropped
============  =============  =======  ===========================================
stays         expires_at     a day    when the day has ended (every row expired)
test_results  expires_at     a day    when the day has ended (every row expired)
audit_log     at             a month  never: the audit log has no expiry (``sunset``)
scan_places   at             a day    when past and empty (migration 0016)
============  =============  =======  ===========================================

``scan_places`` (the hub's scans by place and time, for contact tracing) is partitioned by the
scan's own time, so that a tracing query over a window reads only the days it covers; its rows
are purged one by one as they expire (``purge_expired``), and a past day's partition is dropped
once it is empty (``drop_empty``).

A partition is named after the start of its period, ``stays_p20261202`` holding
``2026-12-02 00:00 UTC <= expires_at < 2026-12-03 00:00 UTC``, and each parent has a
DEFAULT partition (``stays_default``) so that an insert never fails for want of one.
Partitioning by ``expires_at`` makes a partition whose upper bound has passed hold expired
rows only, so dropping it removes exactly what ``purge_expired`` would have deleted row by
row, without the dead tuples, the WAL and the vacuum of a day's worth of deletes.

``maintain`` is the periodic part (``Housekeeper.run_once``, PostgreSQL only): it creates the
partitions of the next ``AHEAD_DAYS`` days (``AHEAD_MONTHS`` months for the audit log) and
drops every expiring partition whose upper bound is at or before ``now``, counting its rows
first (the counts are reported as the purge's). What is left to delete row by row is what
expired in the current day's partition and whatever sits in DEFAULT; ``purge_expired`` still
does that. Each partition is created or dropped in its own short transaction with a lock
timeout: both take a brief exclusive lock on the parent, and a partition that cannot have it
now is left for the next run rather than queueing every reader behind it.

A partitioned table cannot have a UNIQUE or PRIMARY KEY that leaves out the partition key,
so on PostgreSQL the keys differ from ``tables.py`` (which SQLite keeps as it is):

- ``stays``/``test_results``: PRIMARY KEY (sid, id, expires_at) - it leads with the
  pseudonym and holds the distribution column for a sharded PostgreSQL (docs/operations.md);
  ``UNIQUE (origin)`` becomes a plain index: a mirrored row's ``expires_at`` is the sync
  time plus the retention, not a function of the feed row, so ``(origin, expires_at)``
  would not stop a second copy. ``issuer/sync.py`` keeps mirror inserts idempotent itself
  (one writer at a time under an advisory lock, origins already present skipped).
- ``audit_log``: PRIMARY KEY (id, at).

The other tables about a person (``BY_SID``) are not partitioned, but on PostgreSQL their keys
lead with ``sid`` too: PRIMARY KEY (sid, id), UNIQUE (sid, origin), so that the same schema
distributes by the pseudonym on Citus, which needs the distribution column in every key.

``postgres_metadata`` describes that shape, for the test that holds migrations to the models.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Index, MetaData, UniqueConstraint, text
from sqlalchemy.exc import DBAPIError

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import metadata

__all__ = [
    "AHEAD_DAYS",
    "AHEAD_MONTHS",
    "SPECS",
    "Spec",
    "is_partition_name",
    "lock_mirror",
    "maintain",
    "partition_name",
    "partitions_of",
    "postgres_metadata",
]

log = logging.getLogger("yimatong.partitions")

#: Days of daily partitions kept ready ahead of today (stays, test_results).
AHEAD_DAYS = 14
#: Months of monthly partitions kept ready ahead of this month (audit_log).
AHEAD_MONTHS = 2
#: How long a partition's DDL waits for its locks before it is left for the next run: shorter
#: than PostgreSQL's deadlock_timeout (1 s), so that if anything is to give way it is the DDL.
LOCK_TIMEOUT = "500ms"


@dataclass(frozen=True, slots=True)
class Spec:
    table: str
    key: str
    monthly: bool  # else daily
    expiring: bool  # partitions past their upper bound are dropped
    primary_key: tuple[str, ...]
    #: Tables its foreign keys reference: a partition's DDL locks them too (see ``_locks``).
    references: tuple[str, ...] = ()
    #: a partition wholly in the past is dropped when it holds no row (not expiring by key)
    drop_empty: bool = False

    def start(self, day: date) -> date:
        """The first day of the period holding ``day``."""
        return day.replace(day=1) if self.monthly else day

    def next(self, start: date) -> date:
        if not self.monthly:
            return start + timedelta(days=1)
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)

    def periods(self, first: date, last: date) -> Iterator[date]:
        """The starts of the periods from the one holding ``first`` to the one holding ``last``."""
        start = self.start(first)
        while start <= last:
            yield start
            start = self.next(start)


SPECS: tuple[Spec, ...] = (
    Spec(
        "stays",
        "expires_at",
        monthly=False,
        expiring=True,
        primary_key=("sid", "id", "expires_at"),
        references=("subjects",),
    ),
    Spec(
        "test_results",
        "expires_at",
        monthly=False,
        expiring=True,
        primary_key=("sid", "id", "expires_at"),
    ),
    Spec("audit_log", "at", monthly=True, expiring=False, primary_key=("id", "at")),
    Spec(
        "scan_places",
        "at",
        monthly=False,
        expiring=False,
        primary_key=("sid", "seq", "at"),
        drop_empty=True,
    ),
)

#: The other tables about a person: on PostgreSQL their keys hold ``sid`` (migration 0009):
#: PRIMARY KEY (sid, id), and UNIQUE (sid, origin) for mirrored ones (a feed seq has one sid);
#: those looked up by id alone have an index on it. (table, mirrored, looked up by id)
BY_SID: tuple[tuple[str, bool, bool], ...] = (
    ("declarations", False, False),
    ("corrections", False, True),
    ("link_requests", False, True),
    ("case_facts", True, False),
    ("contact_facts", True, False),
    ("quarantine_orders", True, False),
    ("summaries", True, False),
)

_NAME = re.compile(r"^(?P<table>[a-z_]+)_p(?P<start>\d{8})$")


#: The advisory lock that writers of mirrored rows hold until their commit (see ``lock_mirror``).
MIRROR_LOCK = int.from_bytes(
    hashlib.sha256(b"yimatong mirror\x00").digest()[:8], "big", signed=True
)


def lock_mirror(conn: Connection) -> None:
    """Hold the mirror writers' lock until this transaction ends (PostgreSQL; else nothing).

    The partitioned mirror tables have no ``UNIQUE (origin)``: a writer that holds this lock
    and then reads which origins are present knows that nobody adds one before it commits.
    On SQLite the unique key is still there and one writer at a time is the rule anyway.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIRROR_LOCK})


def partition_name(spec: Spec, start: date) -> str:
    return f"{spec.table}_p{start:%Y%m%d}"


def default_name(spec: Spec) -> str:
    return f"{spec.table}_default"


def is_partition_name(name: str | None) -> bool:
    """A partition this module makes (for the migration test, which compares parents)."""
    if not name:
        return False
    tables = {s.table for s in SPECS}
    match = _NAME.match(name)
    if match:
        return match["table"] in tables
    return name.endswith("_default") and name[: -len("_default")] in tables


def _at(day: date) -> str:
    """A period boundary as a SQL literal (midnight UTC): DDL takes no bind parameters."""
    return f"'{day.isoformat()} 00:00:00+00'"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _locks(conn: Connection, spec: Spec) -> None:
    """Take a partition DDL's locks in the order the application takes them, with a timeout.

    Creating or dropping a partition of ``stays`` locks ``subjects`` too (the foreign key's
    triggers). A request writes a subject, then its stays; DDL that locked ``stays`` first
    and then waited for ``subjects`` would deadlock with it. So the referenced tables come
    first, then the parent.
    """
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    for other in spec.references:
        conn.execute(text(f"LOCK TABLE {other} IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(text(f"LOCK TABLE {spec.table} IN ACCESS EXCLUSIVE MODE"))


def is_partitioned(conn: Connection, table: str) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:t)"),
            {"t": table},
        ).first()
    )


def partitions_of(conn: Connection, spec: Spec) -> list[tuple[str, date]]:
    """The named (not DEFAULT) partitions of ``spec``'s table and their starts, in order."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": spec.table},
    ).scalars()
    found = []
    for name in names:
        match = _NAME.match(name)
        if match and match["table"] == spec.table:
            found.append((name, datetime.strptime(match["start"], "%Y%m%d").date()))
    return sorted(found, key=lambda p: p[1])


def create_partition(conn: Connection, spec: Spec, start: date) -> bool:
    """Create the partition of the period starting at ``start``; False if it exists.

    Rows already in DEFAULT for that period are moved into it: PostgreSQL refuses a new
    partition whose range the DEFAULT partition holds rows of.
    """
    name = partition_name(spec, start)
    if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
        return False
    _locks(conn, spec)
    lo, hi = _midnight(start), _midnight(spec.next(start))
    bounds = f"FROM ({_at(start)}) TO ({_at(spec.next(start))})"
    default = default_name(spec)
    in_default = conn.execute(
        text(
            f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {spec.key} >= :lo AND {spec.key} < :hi)"  # noqa: S608
        ),
        {"lo": lo, "hi": hi},
    ).scalar()
    if not in_default:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {spec.table} FOR VALUES {bounds}"))
        return True
    conn.execute(text(f"CREATE TABLE {name} (LIKE {spec.table} INCLUDING DEFAULTS)"))
    where = f"WHERE {spec.key} >= :lo AND {spec.key} < :hi"
    conn.execute(text(f"INSERT INTO {name} SELECT * FROM {default} {where}"), {"lo": lo, "hi": hi})  # noqa: S608
    conn.execute(text(f"DELETE FROM {default} {where}"), {"lo": lo, "hi": hi})  # noqa: S608
    conn.execute(text(f"ALTER TABLE {spec.table} ATTACH PARTITION {name} FOR VALUES {bounds}"))
    return True


def maintain(
    db: Database,
    now: datetime,
    *,
    ahead_days: int = AHEAD_DAYS,
    ahead_months: int = AHEAD_MONTHS,
) -> dict[str, int]:
    """Drop the expiring partitions wholly past ``now``, create those ahead; rows dropped by table.

    PostgreSQL only, and only for tables the migration has partitioned. Each partition is
    its own transaction (a lock timeout leaves it for the next run, said in the log).
    """
    dropped: dict[str, int] = {}
    today = now.astimezone(UTC).date()
    for spec in SPECS:
        with db.uow() as uow:
            if not is_partitioned(uow.conn, spec.table):
                continue
            existing = partitions_of(uow.conn, spec)
        for name, start in existing:
            if spec.drop_empty and _midnight(spec.next(start)) <= now:
                _drop_if_empty(db, spec, name)
                continue
            if not spec.expiring or _midnight(spec.next(start)) > now:
                continue
            try:
                # Counted before the drop's exclusive lock, not under it: nothing is written
                # to a day that has expired (rows expire the retention after they are made).
                with db.read() as conn:
                    rows = int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0)  # noqa: S608
                with db.uow() as uow:
                    _locks(uow.conn, spec)
                    uow.conn.execute(text(f"DROP TABLE {name}"))
                    uow.commit()
            except DBAPIError as exc:
                log.warning("partition %s not dropped now (%s)", name, type(exc.orig).__name__)
                continue
            if rows:
                dropped[spec.table] = dropped.get(spec.table, 0) + rows
            log.info("dropped partition %s", name)
        if spec.monthly:
            last = today
            for _ in range(ahead_months):
                last = spec.next(spec.start(last))
        else:
            last = today + timedelta(days=ahead_days)
        for start in spec.periods(today, last):
            name = partition_name(spec, start)
            try:
                with db.uow() as uow:
                    made = create_partition(uow.conn, spec, start)
                    uow.commit()
            except DBAPIError as exc:
                log.warning("partition %s not created now (%s)", name, type(exc.orig).__name__)
                continue
            if made:
                log.info("created partition %s", name)
    return dropped


def _drop_if_empty(db: Database, spec: Spec, name: str) -> None:
    """Drop a past partition of a ``drop_empty`` table if it holds no row (under its lock)."""
    try:
        with db.uow() as uow:
            _locks(uow.conn, spec)
            if uow.conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {name})")).scalar():  # noqa: S608
                return
            uow.conn.execute(text(f"DROP TABLE {name}"))
            uow.commit()
    except DBAPIError as exc:
        log.warning("partition %s not dropped now (%s)", name, type(exc.orig).__name__)
        return
    log.info("dropped empty partition %s", name)


def postgres_metadata() -> MetaData:
    """``tables.metadata`` as migration 0009 leaves it on PostgreSQL (parents, not partitions).

    The partitioned tables lose ``UNIQUE (origin)`` and gain an index on it. (Alembic does not
    compare primary keys; tests/integration/test_partitions.py reads them from the catalogue.)
    """
    shaped = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(shaped)
    for spec in SPECS:
        table = shaped.tables[spec.table]
        for constraint in list(table.constraints):
            if isinstance(constraint, UniqueConstraint):
                table.constraints.discard(constraint)
        if "origin" in table.columns:
            table.c.origin.unique = False
            Index(f"ix_{spec.table}_origin", table.c.origin)
    for name, mirrored, by_id in BY_SID:
        table = shaped.tables[name]
        if mirrored:
            for constraint in list(table.constraints):
                if isinstance(constraint, UniqueConstraint):
                    table.constraints.discard(constraint)
            table.c.origin.unique = False
            table.append_constraint(UniqueConstraint("sid", "origin"))
        if by_id:
            Index(f"ix_{name}_id", table.c.id)
    return shaped
