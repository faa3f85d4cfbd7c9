"""Hourly counts for the hub's dashboards, kept as they happen (``tallies``).

A dashboard must not scan the feed: a national hub receives millions of scans an hour, and a
``GROUP BY`` over two days of ``hub_feed`` reads every one of them. So each figure is counted
when its rows arrive, into one row per (kind, hour, region, group, label), and a chart reads a
few thousand rows however large the feed is (docs/pages.md, "Dashboards", has the figures).

- **Feed rows** (Mode 1 summaries, scans, test results) are counted by :func:`tally_feed` in
  the transaction that appends them, after the insert: the feed's writers already queue on the
  ``feed`` counter's row lock until they commit, so the upsert adds a little time inside that
  queue and no new point of contention. A row skipped as a duplicate is not counted. A bulk
  writer (a lab's batch, ``hub.data.copy_feed``) counts its rows by key itself and adds each
  key's count once (:func:`add_counts`).
- **Mode 2 calls** are the verification hot path, whose only write today is the audit row;
  one upsert per call on a shared row would serialise every checkpoint's verify on it. They
  are added up in memory (:class:`TallyBuffer`, per worker) and written every few seconds and
  when the node stops, so a crash loses at most those seconds of counts.

Counts only: no sid, no code, no checkpoint name — a dashboard may be shown to anyone who may
see the region's figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import tallies

__all__ = [
    "FLUSH_SECONDS",
    "TALLY_KINDS",
    "Key",
    "Tally",
    "TallyBuffer",
    "add_counts",
    "add_tallies",
    "feed_tally",
    "read_tallies",
    "tally_feed",
    "truncate_hour",
]

log = logging.getLogger("yimatong.tallies")

TALLY_KINDS = ("summary", "scan", "test", "mode2")
#: How often a worker writes the Mode 2 calls it counted (and at the latest when it stops).
FLUSH_SECONDS = 5.0

Key = tuple[str, datetime, str, str, str]  # kind, hour, region, grp, label


@dataclass(frozen=True, slots=True)
class Tally:
    """One counted row: ``n`` events of ``kind`` in ``hour`` (UTC) for region/group/label."""

    kind: str
    hour: datetime
    region: str
    grp: str
    label: str
    n: int


def truncate_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _province(area: object) -> str:
    return area[:2] + "0000" if isinstance(area, str) and len(area) >= 6 else ""


def _text(value: object, size: int) -> str:
    return value[:size] if isinstance(value, str) else ""


def feed_tally(row: Mapping[str, Any]) -> Key | None:
    """The tally key of one feed row, or None for kinds no dashboard counts (facts)."""
    kind = row.get("kind")
    body = row.get("body") or {}
    hour = truncate_hour(row["created_at"])
    if kind == "summary":
        return ("summary", hour, _text(row.get("region"), 6), "", _text(body.get("colour"), 16))
    if kind == "scan":
        # By the province of the area scanned in: a national chart reads 34 regions an hour,
        # not every county.
        return ("scan", hour, _province(body.get("area")), "", _text(body.get("decision"), 16))
    if kind == "test":
        return (
            "test",
            hour,
            _text(row.get("region"), 6),
            _text(body.get("lab_id"), 32),
            _text(body.get("outcome"), 16),
        )
    return None


def _upsert(conn: Connection, counts: Mapping[Key, int]) -> None:
    if not counts:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(tallies)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            tallies.c.kind,
            tallies.c.hour,
            tallies.c.region,
            tallies.c.grp,
            tallies.c.label,
        ],
        set_={"n": tallies.c.n + stmt.excluded.n},
    )
    # Sorted, so two writers touching the same rows take their locks in the same order.
    conn.execute(
        stmt,
        [
            {"kind": k, "hour": h, "region": r, "grp": g, "label": lab, "n": n}
            for (k, h, r, g, lab), n in sorted(counts.items())
        ],
    )


def tally_feed(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Count feed rows that just landed (in their transaction); how many tally rows changed."""
    counts: dict[Key, int] = {}
    for row in rows:
        key = feed_tally(row)
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    _upsert(conn, counts)
    return len(counts)


def add_counts(conn: Connection, counts: Mapping[Key, int]) -> None:
    """Add ``counts`` by tally key (:func:`feed_tally`): a bulk writer counts its rows once
    per distinct key, not row by row."""
    _upsert(conn, {key: n for key, n in counts.items() if n})


def add_tallies(conn: Connection, items: Iterable[Tally]) -> None:
    """Add counts as they are (a migration's backfill, a test's history)."""
    counts: dict[Key, int] = {}
    for t in items:
        key = (t.kind, truncate_hour(t.hour), t.region, t.grp, t.label)
        counts[key] = counts.get(key, 0) + t.n
    _upsert(conn, counts)


def read_tallies(
    conn: Connection,
    kind: str,
    start: datetime,
    end: datetime,
    *,
    by: Sequence[str] = ("region", "grp", "label"),
    region_prefix: str | None = None,
) -> list[Tally]:
    """The counts of ``kind`` from ``start`` to ``end`` (hours), summed over what ``by`` omits.

    One range scan of the primary key (kind, hour, …): it reads the rows of those hours only,
    however large the tables are. ``region_prefix`` keeps the regions that start with it.
    """
    columns = [getattr(tallies.c, name) for name in by]
    stmt = (
        select(tallies.c.hour, *columns, func.sum(tallies.c.n).label("n"))
        .where(tallies.c.kind == kind, tallies.c.hour >= start, tallies.c.hour < end)
        .group_by(tallies.c.hour, *columns)
        .order_by(tallies.c.hour)
    )
    if region_prefix:
        stmt = stmt.where(tallies.c.region.startswith(region_prefix, autoescape=True))
    out = []
    for row in conn.execute(stmt):
        values = row._mapping
        out.append(
            Tally(
                kind=kind,
                hour=row.hour,
                region=values.get("region", ""),
                grp=values.get("grp", ""),
                label=values.get("label", ""),
                n=int(row.n),
            )
        )
    return out


class TallyBuffer:
    """Counts kept in memory by one worker and written every ``FLUSH_SECONDS`` (Mode 2 calls).

    ``count`` is a dict update under a lock; the write happens in the request that finds the
    buffer older than the interval (one short transaction every few seconds per worker; on the
    event loop, in a worker thread that request starts), in
    ``flush`` (a dashboard reads the figures: it writes this worker's first) and at close. A
    write that fails (the database busy) keeps the counts for the next one.
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        interval: float = FLUSH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval
        self._monotonic = monotonic
        self._counts: dict[Key, int] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._last = monotonic()

    def count(
        self, kind: str, *, region: str = "", grp: str = "", label: str = "", write: bool = True
    ) -> bool:
        """Count one event; True if the buffer is due to be written.

        With ``write`` (a worker thread) a due buffer is written here; without it (the event
        loop, which must not wait on the database) the caller has ``flush`` run elsewhere.
        """
        key = (kind, truncate_hour(self.clock()), region[:6], grp[:32], label[:16])
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
        due = self._monotonic() - self._last >= self.interval
        if due and write:
            self.flush(wait=False)
        return due

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def flush(self, *, wait: bool = True) -> None:
        """Write what was counted; with ``wait=False`` skip if another thread is writing."""
        if not self._flushing.acquire(blocking=wait):
            return
        try:
            with self._lock:
                counts, self._counts = self._counts, {}
                self._last = self._monotonic()
            if not counts:
                return
            try:
                with self.db.uow() as uow:
                    _upsert(uow.conn, counts)
                    uow.commit()
            except SQLAlchemyError as exc:
                log.warning("dashboard counts not written yet (%s)", type(exc).__name__)
                with self._lock:
                    for key, n in counts.items():
                        self._counts[key] = self._counts.get(key, 0) + n
        finally:
            self._flushing.release()
