"""Audit rows of a hot path go in group commits: every row durable before its caller returns,
many rows to a commit under concurrency, and a failed commit fails every caller of its batch —
for callers in threads (``write``) and on the event loop (``awrite``, the writer thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from yimatong.adapters.db.audit import AuditWriter
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.tables import audit_log
from yimatong.credentials import Caller
from yimatong.domain.errors import Unavailable

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
GATE = Caller(role="checkpoint", name="gate-7")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    made = Database.from_url(db_url)
    yield made
    made.dispose()


def _rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def test_concurrent_readers_each_return_after_their_row_is_written_in_fewer_commits(
    db: Database,
) -> None:
    writer = AuditWriter(db)
    start = threading.Barrier(16)
    seen: list[int] = []

    def reader(i: int) -> None:
        start.wait()
        for j in range(20):
            writer.write(GATE, "code.verify", [f"{i:02d}{j:030d}"], "验码 (online)", NOW)
            seen.append(_rows(db))  # the row is there when write returns

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _rows(db) == 16 * 20
    assert writer.commits < 16 * 20  # grouped
    with db.read() as conn:
        row = conn.execute(select(audit_log).limit(1)).one()
    assert (row.actor, row.actor_role, row.action) == ("gate-7", "checkpoint", "code.verify")


def test_a_failed_commit_fails_its_callers_and_the_next_write_succeeds(
    db: Database, tmp_path: object
) -> None:
    writer = AuditWriter(db)
    kept = db.engine
    from sqlalchemy import create_engine

    db.engine = create_engine("sqlite:////nonexistent-dir/gone.db")
    try:
        with pytest.raises(Unavailable, match="audit log could not be written"):
            writer.write(GATE, "code.verify", ["a" * 32], "验码", NOW)
    finally:
        db.engine.dispose()
        db.engine = kept
    assert _rows(db) == 0
    writer.write(GATE, "code.verify", ["b" * 32], "验码", NOW)
    assert _rows(db) == 1


def _writers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "audit-writer"}


def test_awaiting_readers_each_return_after_their_row_is_committed_in_fewer_commits(
    db: Database,
) -> None:
    writer = AuditWriter(db)
    seen: list[int] = []

    async def reader(i: int) -> None:
        for j in range(10):
            await writer.awrite(GATE, "code.verify", [f"{i:02d}{j:030d}"], "验码 (online)", NOW)
            seen.append(i)
            assert _rows(db) >= len(seen)  # every row answered so far is committed

    async def main() -> None:
        await asyncio.gather(*(reader(i) for i in range(16)))

    asyncio.run(main())
    writer.close()
    assert _rows(db) == 16 * 10
    assert writer.commits < 16 * 10  # grouped


def test_threads_and_the_event_loop_write_side_by_side(db: Database) -> None:
    writer = AuditWriter(db)

    def thread_reader(i: int) -> None:
        for j in range(10):
            writer.write(GATE, "code.verify", [f"t{i:01d}{j:030d}"], "验码", NOW)

    async def main() -> None:
        threads = [threading.Thread(target=thread_reader, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        await asyncio.gather(
            *(writer.awrite(GATE, "code.verify", [f"a{i:031d}"], "验码", NOW) for i in range(40))
        )
        for t in threads:
            t.join()

    asyncio.run(main())
    writer.close()
    assert _rows(db) == 80


def test_a_failed_commit_fails_every_awaiting_caller_of_its_batch(db: Database) -> None:
    writer = AuditWriter(db)
    kept = db.engine
    from sqlalchemy import create_engine

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(
            *(writer.awrite(GATE, "code.verify", [f"{i:032d}"], "验码", NOW) for i in range(5)),
            return_exceptions=True,
        )

    db.engine = create_engine("sqlite:////nonexistent-dir/gone.db")
    try:
        outcomes = asyncio.run(main())
    finally:
        db.engine.dispose()
        db.engine = kept
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    assert _rows(db) == 0
    asyncio.run(writer.awrite(GATE, "code.verify", ["b" * 32], "验码", NOW))
    writer.close()
    assert _rows(db) == 1


def test_close_stops_the_writer_thread_and_a_later_write_starts_another(db: Database) -> None:
    writer = AuditWriter(db)
    before = _writers()
    asyncio.run(writer.awrite(GATE, "code.verify", ["c" * 32], "验码", NOW))
    started = _writers() - before
    assert len(started) == 1
    writer.close()
    assert not any(t.is_alive() for t in started)
    asyncio.run(writer.awrite(GATE, "code.verify", ["d" * 32], "验码", NOW))
    writer.close()
    assert _rows(db) == 2
    assert _writers() <= before
