"""Scan records: a durable local queue, uploaded to the hub exactly once.

Every decision at the gate is a scan record (checkpoint, area, time, decision, temperature, the
``sid`` when known, and a random uuid). It is written to a SQLite file in the cache directory
(WAL, ``synchronous=FULL``) before the decision is shown, so a scan that was shown is on disk.

Upload: batches to the hub's ``POST /v1/scans``; a scan leaves the local queue only after the
hub acknowledged the batch holding it. The hub takes each uuid once (a repeated id counts as a
duplicate), so a batch whose acknowledgement was lost is simply sent again: exactly once at
the hub, at least once on the wire. A batch the hub refuses as invalid (422) is sent again one
scan at a time, and a scan refused on its own is set aside as ``rejected`` (kept for the
operator, never retried) so that one bad record cannot block the queue.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from yimatong.adapters.hubclient import NodeClient
from yimatong.domain.errors import InvalidInput, YimatongError

__all__ = ["BATCH", "Scan", "ScanQueue", "UploadReport", "new_scan_id", "upload"]

log = logging.getLogger("yimatong.verifier")

#: scans per upload request
BATCH = 200


def new_scan_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Scan:
    id: str
    at: datetime
    checkpoint: str
    area: str
    decision: str
    temperature: float | None = None
    sid: str | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "sid": self.sid,
            "at": self.at.isoformat(),
            "area": self.area,
            "decision": self.decision,
            "checkpoint": self.checkpoint,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Scan:
        return cls(
            id=str(raw["id"]),
            at=datetime.fromisoformat(raw["at"]),
            checkpoint=str(raw["checkpoint"]),
            area=str(raw["area"]),
            decision=str(raw["decision"]),
            temperature=raw.get("temperature"),
            sid=raw.get("sid"),
        )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    error TEXT
)
"""


class ScanQueue:
    """The queue file; safe to share between the gate's thread and the uploader's."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        # Autocommit (isolation_level=None): each statement is its own transaction, and with
        # synchronous=FULL a committed insert has been fsynced before add() returns.
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add(self, scan: Scan) -> None:
        """Keep ``scan`` (fsynced when this returns). One without a ``sid`` (an invalid code,
        a failed look-up) stays ``local``: the hub files scans under the holder, and there is
        none; it is kept for the gate's own counts until it expires."""
        state = "pending" if scan.sid else "local"
        with self._lock:
            self._conn.execute(
                "INSERT INTO scans (id, body, at, state) VALUES (?, ?, ?, ?)",
                (scan.id, orjson.dumps(scan.to_wire()), scan.at.isoformat(), state),
            )

    def pending(self, limit: int = BATCH) -> list[Scan]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM scans WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Scan.from_wire(orjson.loads(r[0])) for r in rows]

    def ack(self, ids: Sequence[str]) -> None:
        """Forget scans the hub has acknowledged."""
        if not ids:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("DELETE FROM scans WHERE id = ?", [(i,) for i in ids])
            self._conn.execute("COMMIT")

    def reject(self, scan_id: str, error: str) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE scans SET state = 'rejected', error = ? WHERE id = ?",
                (error[:200], scan_id),
            )

    def count(self, state: str = "pending") -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM scans WHERE state = ?", (state,)
            ).fetchone()
        return int(row[0])

    def purge(self, now: datetime, retention: timedelta) -> int:
        """Delete records older than ``retention`` (they hold a pseudonym: personal data)."""
        cutoff = (now - retention).astimezone(UTC).isoformat()
        with self._lock:
            done = self._conn.execute("DELETE FROM scans WHERE at < ?", (cutoff,))
        return int(done.rowcount)


@dataclass(frozen=True)
class UploadReport:
    sent: int = 0
    duplicates: int = 0
    rejected: int = 0
    remaining: int = 0
    #: why the upload stopped early (None: the queue is drained)
    error: str | None = None
    #: the error that stopped it, for the caller to act on (not its text)
    failure: YimatongError | None = field(default=None, compare=False, repr=False)


def upload(
    queue: ScanQueue,
    client: NodeClient,
    *,
    batch: int = BATCH,
    max_batches: int | None = None,
    timeout: float | None = None,
) -> UploadReport:
    """Send pending scans to the hub until the queue is empty, an error, or ``max_batches``."""
    sent = duplicates = rejected = 0
    error = None
    failure: YimatongError | None = None
    done = 0
    while max_batches is None or done < max_batches:
        scans = queue.pending(batch)
        if not scans:
            break
        done += 1
        try:
            answer = client.post_json(
                "/v1/scans", {"scans": [s.to_wire() for s in scans]}, timeout=timeout
            )
        except InvalidInput:
            # One bad record must not block the rest: send them one at a time.
            one_sent, one_dup, one_rej, failure = _one_by_one(queue, client, scans, timeout)
            sent, duplicates, rejected = sent + one_sent, duplicates + one_dup, rejected + one_rej
            if failure is not None:
                error = f"{type(failure).__name__}: {failure.message}"
                break
            continue
        except YimatongError as exc:
            error, failure = f"{type(exc).__name__}: {exc.message}", exc
            break
        queue.ack([s.id for s in scans])
        dup = _count(answer, "duplicates")
        sent += len(scans) - dup
        duplicates += dup
    return UploadReport(sent, duplicates, rejected, queue.count(), error, failure)


def _one_by_one(
    queue: ScanQueue, client: NodeClient, scans: Sequence[Scan], timeout: float | None
) -> tuple[int, int, int, YimatongError | None]:
    sent = duplicates = rejected = 0
    for scan in scans:
        try:
            answer = client.post_json("/v1/scans", {"scans": [scan.to_wire()]}, timeout=timeout)
        except InvalidInput as exc:
            log.warning("scan %s refused by the hub: %s", scan.id, exc.message)
            queue.reject(scan.id, exc.message)
            rejected += 1
            continue
        except YimatongError as exc:
            return sent, duplicates, rejected, exc
        queue.ack([scan.id])
        dup = _count(answer, "duplicates")
        sent += 1 - dup
        duplicates += dup
    return sent, duplicates, rejected, None


def _count(answer: Any, key: str) -> int:
    value = answer.get(key) if isinstance(answer, dict) else None
    if isinstance(value, list):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return 0
