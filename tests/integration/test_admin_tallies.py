"""The dashboards' counts (``tallies``): kept as feed rows land, Mode 2 calls from memory, and
the migration that counts the feed already stored; on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from tests.conftest import FakeClock
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.tables import tallies
from yimatong.adapters.db.tallies import Tally, TallyBuffer, add_tallies, read_tallies
from yimatong.hub.data import append_feed

T0 = datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
SID = "0" * 32


def feed_row(kind: str, body: dict[str, object], *, region: str | None, **extra: object) -> dict:
    return {
        "sid": SID,
        "kind": kind,
        "region": region,
        "body": body,
        "dedupe": None,
        "created_at": T0,
        "expires_at": T0 + timedelta(days=30),
        **extra,
    }


def test_feed_rows_are_counted_once_as_they_land(db_url: str) -> None:
    upgrade(db_url)
    db = Database.from_url(db_url)
    rows = [
        feed_row("summary", {"colour": "green"}, region="330000"),
        feed_row("summary", {"colour": "red"}, region="330000"),
        feed_row(
            "scan", {"area": "520102017", "decision": "PASS"}, region="520000", dedupe="scan:a"
        ),
        feed_row("test", {"lab_id": "sh-1", "outcome": "negative"}, region="310000"),
        feed_row("case", {"status": "confirmed"}, region=None),  # no dashboard counts facts
    ]
    with db.uow() as uow:
        append_feed(uow.conn, rows)
        append_feed(uow.conn, [rows[2]])  # the same scan again: skipped, not counted
        uow.commit()
    with db.read() as conn:
        got = {(r.kind, r.region, r.grp, r.label): r.n for r in conn.execute(select(tallies)).all()}
        hours = {r.hour for r in conn.execute(select(tallies)).all()}
    assert got == {
        ("summary", "330000", "", "green"): 1,
        ("summary", "330000", "", "red"): 1,
        ("scan", "520000", "", "PASS"): 1,  # by the province of the area scanned
        ("test", "310000", "sh-1", "negative"): 1,
    }
    assert hours == {T0.replace(minute=0)}
    with db.read() as conn:
        mine = read_tallies(
            conn,
            "summary",
            T0 - timedelta(hours=1),
            T0 + timedelta(hours=1),
            by=("label",),
            region_prefix="33",
        )
        theirs = read_tallies(
            conn,
            "summary",
            T0 - timedelta(hours=1),
            T0 + timedelta(hours=1),
            by=("label",),
            region_prefix="52",
        )
    assert sorted((t.label, t.n) for t in mine) == [("green", 1), ("red", 1)]
    assert theirs == []
    db.dispose()


def test_mode2_calls_are_written_every_few_seconds_and_kept_when_the_write_fails(
    db_url: str,
) -> None:
    upgrade(db_url)
    db = Database.from_url(db_url)
    clock = FakeClock(T0)
    tick = [0.0]
    buffer = TallyBuffer(db, clock, interval=5.0, monotonic=lambda: tick[0])
    buffer.count("mode2", region="520000", grp="330000", label="verify")
    buffer.count("mode2", region="520000", grp="330000", label="verify")
    assert buffer.pending() == 2  # in memory: no write per call
    tick[0] = 6.0
    buffer.count("mode2", region="520000", label="refused")  # past the interval: written
    assert buffer.pending() == 0
    with db.read() as conn:
        rows = read_tallies(conn, "mode2", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert sorted((t.region, t.grp, t.label, t.n) for t in rows) == [
        ("520000", "", "refused", 1),
        ("520000", "330000", "verify", 2),
    ]
    # A database that cannot take the write: the counts wait for the next one.
    broken = TallyBuffer(Database.from_url("sqlite:////nonexistent/dir/x.db"), clock)
    broken.count("mode2", region="520000", label="verify")
    broken.flush()
    assert broken.pending() == 1
    db.dispose()


def test_a_count_on_the_event_loop_says_a_write_is_due_and_leaves_it_to_the_caller(
    db_url: str,
) -> None:
    upgrade(db_url)
    db = Database.from_url(db_url)
    tick = [0.0]
    buffer = TallyBuffer(db, FakeClock(T0), interval=5.0, monotonic=lambda: tick[0])
    assert buffer.count("mode2", region="520000", label="verify", write=False) is False
    tick[0] = 6.0
    assert buffer.count("mode2", region="520000", label="verify", write=False) is True
    assert buffer.pending() == 2  # not written by count
    buffer.flush(wait=False)  # what Mode 2 runs in a worker thread
    assert buffer.pending() == 0
    with db.read() as conn:
        rows = read_tallies(conn, "mode2", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [(t.region, t.label, t.n) for t in rows] == [("520000", "verify", 2)]
    db.dispose()


def test_the_migration_counts_the_feed_already_stored(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("sqlite"):
        # The same migration on PostgreSQL: a fresh database brought to 0006 first.
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        db_url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(db_url, "0006")
    engine = create_engine(db_url)
    hub_feed = Database(engine)
    from yimatong.adapters.db.tables import hub_feed as feed_table

    with hub_feed.uow() as uow:
        uow.conn.execute(
            insert(feed_table),
            [
                {**feed_row("summary", {"colour": "yellow"}, region="520000"), "seq": 1},
                {**feed_row("summary", {"colour": "yellow"}, region="520000"), "seq": 2},
                {
                    **feed_row("scan", {"area": "330106008", "decision": "DENY"}, region=None),
                    "seq": 3,
                },
            ],
        )
        uow.commit()
    upgrade(db_url)
    with engine.connect() as conn:
        got = {(r.kind, r.region, r.label): r.n for r in conn.execute(select(tallies)).all()}
    assert got == {("summary", "520000", "yellow"): 2, ("scan", "330000", "DENY"): 1}
    with engine.begin() as conn:
        add_tallies(conn, [Tally("summary", T0, "520000", "", "yellow", 3)])
    with engine.connect() as conn:
        assert conn.execute(select(tallies.c.n).where(tallies.c.kind == "summary")).scalar() == 5
    engine.dispose()
