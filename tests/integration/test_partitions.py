"""Time partitions on PostgreSQL (migration 0009, ``adapters/db/partitions.py``).

The migration converts tables that hold rows and keeps every row; rows land in the partition
of their day (month for the audit log), or in DEFAULT; the housekeeper makes the partitions
ahead, moves rows out of DEFAULT into a partition it makes, drops the partitions wholly past
expiry and counts their rows as the purge does; mirrored feed rows are still applied once
(on both backends: SQLite keeps its unique key, PostgreSQL has the lock and the check).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, inspect, select, text

from tests.conftest import PG_URL
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.partitions import AHEAD_DAYS, SPECS, partitions_of
from yimatong.adapters.db.retention import Housekeeper
from yimatong.adapters.db.tables import (
    audit_log,
    case_facts,
    stays,
    subjects,
    sync_state,
    test_results,
)
from yimatong.issuer.sync import HubLink, SyncReport

SID = "a" * 32


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_OPEN: list[Engine | Database] = []


def _engine(url: str) -> Engine:
    engine = create_engine(url)
    _OPEN.append(engine)
    return engine


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """An empty PostgreSQL database of its own (these tests migrate and drop partitions)."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need YMT_TEST_PG_URL (CI sets it)")
    from yimatong.config import normalise_db_url

    admin_url = normalise_db_url(PG_URL)
    name = f"ymt_part_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        while _OPEN:  # a test that failed half-way leaves no connection behind
            _OPEN.pop().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _subject(expires: datetime) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sid": SID,
        "region": "330000",
        "doc_type": "111",
        "enc_name": b"x",
        "enc_id_number": b"x",
        "masked_name": "林*",
        "masked_id": "33**01",
        "created_at": now,
        "expires_at": expires,
    }


def _stay(expires: datetime, origin: int | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sid": SID,
        "area": "330106",
        "arrived": now,
        "left_at": now,
        "source": "scan" if origin else "declared",
        "origin": origin,
        "created_at": now,
        "expires_at": expires,
    }


def _test(expires: datetime, origin: int | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sid": SID,
        "sampled_at": now,
        "reported_at": now,
        "outcome": "negative",
        "lab": "sh-1",
        "origin": origin,
        "expires_at": expires,
    }


def _where(engine: Engine, table: str) -> dict[int, str]:
    """Each row's id and the partition it sits in."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, tableoid::regclass::text FROM {table}")).all()
    return {int(r[0]): str(r[1]) for r in rows}


def test_the_migration_partitions_tables_that_hold_rows_and_keeps_them(fresh_pg: str) -> None:
    upgrade(fresh_pg, "0007")
    today = datetime.now(UTC).date()
    soon = _midnight(today) + timedelta(days=3, hours=5)
    later = _midnight(today) + timedelta(days=40, hours=1)  # beyond the usual 14 days ahead
    ancient = _midnight(today) - timedelta(days=400)  # before any partition: DEFAULT
    engine = _engine(fresh_pg)
    with engine.begin() as conn:
        conn.execute(insert(subjects), [_subject(later)])
        conn.execute(insert(stays), [_stay(soon, 7), _stay(later), _stay(ancient, 8)])
        conn.execute(insert(test_results), [_test(soon, 9), _test(ancient)])
        conn.execute(
            insert(audit_log),
            [
                {
                    "at": at,
                    "actor": "cdc",
                    "actor_role": "authority",
                    "action": "a.read",
                    "sid": SID,
                    "purpose": "p",
                }
                for at in (datetime.now(UTC), ancient)
            ],
        )
        before = {}
        for t in ("stays", "test_results", "audit_log"):
            result = conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))
            before[t] = (", ".join(result.keys()), result.all())
    upgrade(fresh_pg)
    with engine.begin() as conn:
        for t, (columns, rows) in before.items():  # later migrations may add columns
            assert conn.execute(text(f"SELECT {columns} FROM {t} ORDER BY id")).all() == rows
            kind = conn.execute(text(f"SELECT relkind FROM pg_class WHERE relname = '{t}'"))
            assert kind.scalar() == "p"
        # hub_feed stays one plain table, paged by seq on one index (docs/operations.md).
        kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'hub_feed'"))
        assert kind.scalar() == "r"
        # The sequences went with the ids: a new row takes the next id.
        new = conn.execute(insert(stays).values(**_stay(soon)).returning(stays.c.id)).scalar()
        assert new == 4
    assert _where(engine, "stays") == {
        1: f"stays_p{soon:%Y%m%d}",
        2: f"stays_p{later:%Y%m%d}",
        3: "stays_default",
        4: f"stays_p{soon:%Y%m%d}",
    }
    assert _where(engine, "test_results") == {
        1: f"test_results_p{soon:%Y%m%d}",
        2: "test_results_default",
    }
    assert _where(engine, "audit_log") == {
        1: f"audit_log_p{today:%Y%m}01",
        2: f"audit_log_p{ancient:%Y%m}01",  # months are made 36 back, days only 62
    }
    keys = inspect(engine)
    assert keys.get_pk_constraint("stays")["constrained_columns"] == ["sid", "id", "expires_at"]
    assert keys.get_pk_constraint("test_results")["constrained_columns"] == [
        "sid",
        "id",
        "expires_at",
    ]
    assert keys.get_pk_constraint("audit_log")["constrained_columns"] == ["id", "at"]
    assert keys.get_foreign_keys("stays")[0]["referred_table"] == "subjects"
    # The other tables about a person: keys that hold the pseudonym (for Citus).
    assert keys.get_pk_constraint("case_facts")["constrained_columns"] == ["sid", "id"]
    assert keys.get_pk_constraint("corrections")["constrained_columns"] == ["sid", "id"]
    assert [u["column_names"] for u in keys.get_unique_constraints("case_facts")] == [
        ["sid", "origin"]
    ]

    # And back: plain tables with the unique key on origin, every row still there.
    upgrade_down(fresh_pg, "0007")
    with engine.begin() as conn:
        for t, (columns, rows) in before.items():
            found = conn.execute(text(f"SELECT {columns} FROM {t} WHERE id < 4 ORDER BY id"))
            assert found.all() == rows
        kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'stays'"))
        assert kind.scalar() == "r"
    back = inspect(engine)
    assert {u["name"] for u in back.get_unique_constraints("stays")} == {"uq_stays_origin"}
    assert {u["name"] for u in back.get_unique_constraints("case_facts")} == {
        "uq_case_facts_origin"
    }
    assert back.get_pk_constraint("case_facts")["constrained_columns"] == ["id"]
    upgrade(fresh_pg)
    engine.dispose()


def upgrade_down(url: str, revision: str) -> None:
    from alembic import command

    from yimatong.adapters.db.engine import alembic_config, make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def test_the_housekeeper_makes_partitions_ahead_and_drops_the_expired_ones(fresh_pg: str) -> None:
    upgrade(fresh_pg)
    db = Database.from_url(fresh_pg)
    _OPEN.append(db)
    engine = db.engine
    today = datetime.now(UTC).date()
    day = today + timedelta(days=5)  # "now" is noon of that day
    now = _midnight(day) + timedelta(hours=12)
    gone_whole = _midnight(day) - timedelta(days=2) + timedelta(hours=1)  # a day wholly past
    gone_today = _midnight(day) + timedelta(hours=1)  # today's partition, expired
    kept_today = _midnight(day) + timedelta(hours=13)  # today's partition, not yet
    in_default_later = _midnight(day) + timedelta(days=AHEAD_DAYS, hours=2)  # made ahead now
    with engine.begin() as conn:
        conn.execute(insert(subjects), [_subject(now + timedelta(days=900))])
        conn.execute(
            insert(stays),
            [
                _stay(gone_whole),
                _stay(gone_whole),
                _stay(gone_today),
                _stay(kept_today),
                _stay(in_default_later),
                _stay(now - timedelta(days=500)),  # DEFAULT, expired: deleted row by row
                _stay(now + timedelta(days=800)),  # DEFAULT, kept
            ],
        )
        conn.execute(insert(test_results), [_test(gone_whole), _test(kept_today)])
    assert _where(engine, "stays")[5] == "stays_default"  # the migration made 14 days, not 19

    counts = Housekeeper(db, clock=lambda: now).run_once(now=now)

    assert counts["stays"] == 4  # two in a dropped partition, one from today's, one from DEFAULT
    assert counts["test_results"] == 1
    assert _where(engine, "stays") == {
        4: f"stays_p{day:%Y%m%d}",
        5: f"stays_p{in_default_later:%Y%m%d}",  # moved out of DEFAULT into its new partition
        7: "stays_default",
    }
    with engine.connect() as conn:
        for spec in SPECS:
            made = [start for _, start in partitions_of(conn, spec)]
            if spec.expiring:
                assert min(made) == day  # nothing whose end has passed is left
                assert max(made) == day + timedelta(days=AHEAD_DAYS)
                assert made == [day + timedelta(days=i) for i in range(AHEAD_DAYS + 1)]
            elif spec.drop_empty:  # scan_places: past empty days go, the days ahead are made
                assert min(made) == day
                assert max(made) == day + timedelta(days=AHEAD_DAYS)
            else:
                assert today.replace(day=1) in made  # the audit log's months are never dropped
    # Twice is harmless, and the next day drops one more partition.
    assert Housekeeper(db, clock=lambda: now).run_once() == {}
    later = now + timedelta(days=1)
    assert Housekeeper(db, clock=lambda: later).run_once() == {"stays": 1, "test_results": 1}
    db.dispose()


def test_rows_land_in_the_partition_of_their_day(fresh_pg: str) -> None:
    upgrade(fresh_pg)
    engine = _engine(fresh_pg)
    today = datetime.now(UTC).date()
    try:
        with engine.begin() as conn:
            conn.execute(insert(subjects), [_subject(_midnight(today) + timedelta(days=90))])
            for offset in (0, 1, 13):
                at = _midnight(today + timedelta(days=offset)) + timedelta(hours=23, minutes=59)
                conn.execute(insert(stays).values(**_stay(at)))
                conn.execute(insert(test_results).values(**_test(at)))
        for table in ("stays", "test_results"):
            assert set(_where(engine, table).values()) == {
                f"{table}_p{today + timedelta(days=d):%Y%m%d}" for d in (0, 1, 13)
            }
    finally:
        engine.dispose()


class _FakeHub:
    """A hub whose feed and registration both answer with the same rows."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def get_json(self, path: str, **kwargs: Any) -> Any:
        since = kwargs.get("params", {}).get("since", 0)
        items = [i for i in self.items if i["seq"] > since]
        return {"items": items, "next": max(i["seq"] for i in self.items), "more": False}

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        assert path == "/v1/subjects/register"
        return {"items": self.items}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError("not used")


def test_mirrored_rows_are_applied_once_however_often_they_come(issuer: Any, clock: Any) -> None:
    me = issuer.sign_in("13800138000")
    sid = issuer.apply(me)["sid"]
    at = clock().isoformat()
    items = [
        {"seq": 11, "sid": sid, "kind": "scan", "region": "330000",
         "body": {"at": at, "area": "330106"}, "created_at": at},
        {"seq": 12, "sid": sid, "kind": "test", "region": "310000",
         "body": {"sampled_at": at, "reported_at": at, "outcome": "negative", "lab": "sh-1"},
         "created_at": at},
        {"seq": 13, "sid": sid, "kind": "case", "region": "000000",
         "body": {"status": "recovered", "since": at}, "created_at": at},
    ]  # fmt: skip
    link = HubLink(issuer.node.service, _FakeHub(items), clock=clock)
    db = issuer.node.db

    def rewind() -> None:
        with db.uow() as uow:
            uow.conn.execute(sync_state.update().values(cursor=0))
            uow.commit()

    link._pull_feed(SyncReport())
    clock.advance(hours=1)  # a later sync: another expires_at, the same origin
    rewind()
    link._pull_feed(SyncReport())
    link._backfill(SyncReport(), only=[sid])
    # Two writers at once (the feed and a newcomer's backfill, say), both late.
    rewind()
    clock.advance(hours=1)
    threads = [threading.Thread(target=link._pull_feed, args=(SyncReport(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as conn:
        for table, seq in ((stays, 11), (test_results, 12), (case_facts, 13)):
            n = conn.execute(select(func.count()).where(table.c.origin == seq)).scalar()
            assert n == 1, table.name


def test_partition_ddl_on_stays_locks_subjects_first(fresh_pg: str) -> None:
    """The order requests take them (a subject, then its stays), so the DDL adds no deadlock."""
    from yimatong.adapters.db.partitions import _locks

    upgrade(fresh_pg)
    db = Database.from_url(fresh_pg)
    _OPEN.append(db)
    spec = next(s for s in SPECS if s.table == "stays")
    with db.uow() as uow:
        _locks(uow.conn, spec)
        held = dict(
            uow.conn.execute(
                text(
                    "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c "
                    "ON c.oid = l.relation WHERE l.pid = pg_backend_pid() "
                    "AND c.relname IN ('subjects', 'stays')"
                )
            ).all()
        )
        timeout = uow.conn.execute(text("SHOW lock_timeout")).scalar()
    assert held == {"subjects": "ShareRowExclusiveLock", "stays": "AccessExclusiveLock"}
    assert timeout == "500ms"
