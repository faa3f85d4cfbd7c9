"""Per-client limits, counted in the node's own database so that every worker shares them.

One row of ``rate_counts`` per (limit, key, window): each counted event is one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits``) per window of the
limit, in one short transaction. That holds across the processes of ``serve --workers N`` on
SQLite (one file, WAL) and across machines on PostgreSQL (the row lock serialises the
increments), with nothing in memory to drift apart. A row expires when its window ends and
the daily purge (``retention.purge_expired``) deletes it.

What is limited, and the defaults, are in ``yimatong.domain.limits``; over a limit the event
is refused with ``TooManyRequests`` (429 and ``Retry-After`` at the HTTP edge). A refused
event counts too, so a caller who keeps on fills the longer window and waits longer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import rate_counts
from yimatong.domain.errors import TooManyRequests
from yimatong.domain.limits import LIMITS, Rate, parse_rates, window_start

__all__ = ["Limiter", "default_limits"]

#: the width of ``rate_counts.key``
_KEY = 128


def default_limits() -> dict[str, tuple[Rate, ...]]:
    """Every limit at its default rates."""
    return {name: parse_rates(default) for name, (default, _what) in LIMITS.items()}


class Limiter:
    """Counts events per (limit, key) in ``db`` and refuses those over a limit."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        limits: Mapping[str, tuple[Rate, ...]] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.limits = {**default_limits(), **(limits or {})}

    def hit(self, name: str, key: str, *, what: str = "requests") -> None:
        """Count one event of ``name`` for ``key``; TooManyRequests if that is one too many.

        ``what`` names the event in the refusal ("one-time codes from this address"); the key
        itself is never put in a message (it may be a phone's hash or an address).
        """
        if name not in self.limits:
            raise ValueError(f"no limit named {name!r}")
        rates = self.limits[name]
        if not rates:
            return
        now = self.clock()
        key = _fit(key)
        wait = 0
        with self.db.uow() as uow:
            for rate in rates:
                start = window_start(now, rate.seconds)
                if _count(uow.conn, name, key, rate, start) > rate.count:
                    wait = max(wait, start + rate.seconds - int(now.timestamp()))
            uow.commit()
        if wait:
            raise TooManyRequests(f"too many {what}; try again in {wait} s", retry_after=wait)


def _count(conn: Connection, name: str, key: str, rate: Rate, start: int) -> int:
    """Add one to the window's counter and return the new count (one atomic statement)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(rate_counts)
        .values(
            name=name,
            key=key,
            window_seconds=rate.seconds,
            window_start=start,
            hits=1,
            expires_at=datetime.fromtimestamp(start + rate.seconds, UTC),
        )
        .on_conflict_do_update(
            index_elements=[
                rate_counts.c.name,
                rate_counts.c.key,
                rate_counts.c.window_seconds,
                rate_counts.c.window_start,
            ],
            set_={"hits": rate_counts.c.hits + 1},
        )
        .returning(rate_counts.c.hits)
    )
    return int(conn.execute(stmt).scalar_one())


def _fit(key: str) -> str:
    """Keys longer than the column (none of ours are) are stored as their SHA-256."""
    if len(key) <= _KEY:
        return key
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
