"""The scan queue: durable on disk, drained in batches, each scan acknowledged once."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from yimatong.domain.errors import InvalidInput, Unavailable
from yimatong.verifier.queue import Scan, ScanQueue, new_scan_id, upload

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def scan(sid: str | None = "ab" * 16, at: datetime = NOW) -> Scan:
    return Scan(
        id=new_scan_id(),
        at=at,
        checkpoint="gate",
        area="330106",
        decision="PASS",
        temperature=36.5,
        sid=sid,
    )


class FakeHub:
    """Takes scans like the hub does (each id once), or fails as told."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.calls = 0
        self.fail: Exception | None = None
        self.bad: set[str] = set()

    def post_json(self, path: str, body: Any, **_: Any) -> Any:
        assert path == "/v1/scans"
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        ids = [s["id"] for s in body["scans"]]
        if self.bad & set(ids):
            raise InvalidInput("scans[0]: invalid")
        new = [i for i in ids if i not in self.seen]
        self.seen.update(ids)
        return {"accepted": len(new), "duplicates": len(ids) - len(new)}


def test_the_file_is_wal_with_full_sync_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "scans.sqlite"
    q = ScanQueue(path)
    q.add(scan())
    q.add(scan(sid=None))
    q.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    again = ScanQueue(path)
    assert again._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert again.count() == 1 and again.count("local") == 1
    again.close()


def test_drains_in_batches_and_acknowledged_scans_are_gone(tmp_path: Path) -> None:
    q = ScanQueue(tmp_path / "q.sqlite")
    for _ in range(7):
        q.add(scan())
    hub = FakeHub()
    report = upload(q, hub, batch=3)  # type: ignore[arg-type]
    assert (report.sent, report.duplicates, report.remaining, report.error) == (7, 0, 0, None)
    assert hub.calls == 3 and len(hub.seen) == 7
    assert upload(q, hub).sent == 0  # type: ignore[arg-type]


def test_a_lost_acknowledgement_sends_again_and_lands_once(tmp_path: Path) -> None:
    q = ScanQueue(tmp_path / "q.sqlite")
    s = scan()
    q.add(s)
    hub = FakeHub()
    hub.seen.add(s.id)  # the hub took it, but the answer never came back
    report = upload(q, hub)  # type: ignore[arg-type]
    assert (report.sent, report.duplicates, report.remaining) == (0, 1, 0)


def test_the_network_failing_keeps_everything(tmp_path: Path) -> None:
    q = ScanQueue(tmp_path / "q.sqlite")
    q.add(scan())
    hub = FakeHub()
    hub.fail = Unavailable("hub did not answer")
    report = upload(q, hub)  # type: ignore[arg-type]
    assert report.remaining == 1 and report.error and report.error.startswith("Unavailable")


def test_one_bad_scan_is_set_aside(tmp_path: Path) -> None:
    q = ScanQueue(tmp_path / "q.sqlite")
    good, bad, good2 = scan(), scan(), scan()
    for s in (good, bad, good2):
        q.add(s)
    hub = FakeHub()
    hub.bad = {bad.id}
    report = upload(q, hub)  # type: ignore[arg-type]
    assert (report.sent, report.rejected, report.remaining) == (2, 1, 0)
    assert q.count("rejected") == 1 and hub.seen == {good.id, good2.id}


def test_old_records_are_purged(tmp_path: Path) -> None:
    q = ScanQueue(tmp_path / "q.sqlite")
    q.add(scan(at=NOW - timedelta(days=40)))
    q.add(scan(at=NOW - timedelta(days=1)))
    assert q.purge(NOW, timedelta(days=30)) == 1
    assert q.count() == 1
