"""Risk-area periods with their history: writing, change lists, and a cached RiskMap.

Each write takes the next ``version``; periods it cuts short are re-stamped with that version
too, so "everything since version N" is a complete delta for a mirror of this table.

Versions come from the ``risk`` counter (``counters.next_value``), whose row lock is held until
commit: concurrent writers are serialised, so a reader that has seen version N never later
finds a row with a version <= N appear (``max(version) + 1`` would allow both a duplicate
version and that). Several writes may share one version (``version=``): the national hub
changes sixteen cities in one action, one version.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import risk_periods
from yimatong.domain.facts import RiskAreaPeriod, RiskLevel, RiskMap

__all__ = [
    "RiskCache",
    "current_version",
    "next_risk_version",
    "risk_changes",
    "set_risk_period",
]


def current_version(conn: Connection) -> int:
    return int(conn.execute(select(func.max(risk_periods.c.version))).scalar() or 0)


def next_risk_version(conn: Connection) -> int:
    """The next version, from the ``risk`` counter, and above every version already stored.

    Rows may have been written without the counter (a mirror copying the hub's versions), so
    the counter is moved past them when it is behind.
    """
    version = next_value(conn, "risk")
    top = current_version(conn)  # read under the counter's lock: every earlier writer is done
    if top >= version:
        version = next_value(conn, "risk", by=top - version + 1)
    return version


def set_risk_period(
    conn: Connection,
    area: str,
    level: RiskLevel,
    start: datetime,
    end: datetime | None,
    set_by: str,
    *,
    version: int | None = None,
) -> int:
    """Record ``area`` at ``level`` from ``start``; overlapping periods end at ``start``.

    ``version`` lets several writes in one transaction share a version taken once with
    :func:`next_risk_version`; by default each write takes its own.
    """
    if version is None:
        version = next_risk_version(conn)
    open_rows = conn.execute(
        select(risk_periods.c.id, risk_periods.c.effective_from, risk_periods.c.until).where(
            risk_periods.c.area == area
        )
    ).all()
    for r in open_rows:
        if r.effective_from < start and (r.until is None or r.until > start):
            conn.execute(
                update(risk_periods)
                .where(risk_periods.c.id == r.id)
                .values(until=start, version=version)
            )
        elif r.effective_from >= start and (end is None or r.effective_from < end):
            # superseded entirely by the new setting
            conn.execute(
                update(risk_periods)
                .where(risk_periods.c.id == r.id)
                .values(until=r.effective_from, version=version)
            )
    conn.execute(
        insert(risk_periods).values(
            area=area,
            level=level.value,
            effective_from=start,
            until=end,
            set_by=set_by,
            version=version,
        )
    )
    return version


def risk_changes(conn: Connection, since: int = 0) -> dict[str, Any]:
    """Every period written or re-stamped after version ``since``, and the current version.

    The version is read first and the rows bounded by it: a write committed in between is then
    left for the next delta instead of being counted as seen without being sent.
    """
    version = current_version(conn)
    rows = conn.execute(
        select(risk_periods)
        .where(risk_periods.c.version > since, risk_periods.c.version <= version)
        .order_by(risk_periods.c.id)
    ).all()
    return {
        "version": version,
        "since": since,
        "periods": [
            {
                "id": r.id,
                "area": r.area,
                "level": r.level,
                "from": r.effective_from,
                "to": r.until,
                "version": r.version,
            }
            for r in rows
        ],
    }


class RiskCache:
    """The whole RiskMap, rebuilt only when the table's version moves."""

    def __init__(self) -> None:
        self._cached: tuple[int, RiskMap] | None = None
        self._lock = threading.Lock()

    def load(self, conn: Connection) -> RiskMap:
        version = current_version(conn)
        cached = self._cached
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = conn.execute(select(risk_periods)).all()
        risk = RiskMap(
            tuple(
                RiskAreaPeriod(
                    area=r.area,
                    level=RiskLevel(r.level),
                    effective_from=r.effective_from,
                    until=r.until,
                )
                for r in rows
                if r.until is None or r.until > r.effective_from
            )
        )
        with self._lock:
            self._cached = (version, risk)
        return risk
