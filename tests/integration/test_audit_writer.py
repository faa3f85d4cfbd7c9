"""Audit rows of a hot path go in group commits: every row durable before its caller returns,
many rows to a commit under concurrency, and a failed commit fails every caller of its batch."""

from __future__ import annotations

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
