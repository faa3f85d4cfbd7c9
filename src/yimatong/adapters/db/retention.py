"""Retention: every personal record expires, and the programme itself can end.

``purge_expired`` deletes what has passed its ``expires_at`` (run it daily: ``yimatong db
purge`` from cron or a systemd timer, or let each node's ``Housekeeper`` do it; on PostgreSQL
``housekeep`` first drops the time partitions that have wholly expired and makes the next
ones, ``partitions.py``); a subject that expires takes everything that hangs off
it (links, link requests, declarations, itineraries, status, corrections). ``sunset`` deletes
every personal record of the node at once, for the day the programme ends — after it, destroy
the node's secrets (``YMT_FEDERATION_SECRET``, ``YMT_DATA_KEYS``) too, so nothing left can be
linked or read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, delete, exists, select

from yimatong.adapters.db import partitions
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import (
    accounts,
    assessments,
    audit_log,
    case_facts,
    colour_changes,
    contact_facts,
    corrections,
    declarations,
    department_batches,
    department_records,
    feed_quarantine,
    hub_feed,
    identity_checks,
    link_requests,
    links,
    otps,
    override_subjects,
    quarantine_orders,
    rate_counts,
    scan_places,
    sessions,
    stays,
    subject_regions,
    subjects,
    summaries,
    test_results,
    uploads,
)
from yimatong.adapters.periodic import Periodic

__all__ = ["PERSONAL_TABLES", "Housekeeper", "housekeep", "purge_expired", "sunset"]

log = logging.getLogger("yimatong.retention")

#: Rows that carry ``expires_at`` and can go on their own.
_EXPIRING: tuple[Table, ...] = (
    declarations,
    stays,
    test_results,
    case_facts,
    contact_facts,
    quarantine_orders,
    corrections,
    summaries,
    hub_feed,
    scan_places,
    department_records,
    department_batches,
    identity_checks,
    feed_quarantine,
    link_requests,
    colour_changes,
    override_subjects,
    rate_counts,  # a limit's window ends: its counter goes (it holds addresses, phone hashes)
)

#: Children of ``subjects`` (by ``sid``), deleted before the subject itself.
_CHILDREN: tuple[Table, ...] = (
    links, link_requests, declarations, stays, assessments, corrections, colour_changes,
    override_subjects,
)  # fmt: skip

#: Every table holding personal data (pseudonymous or encrypted), in a safe deletion order.
PERSONAL_TABLES: tuple[Table, ...] = (
    sessions,
    otps,
    link_requests,
    links,
    declarations,
    stays,
    assessments,
    colour_changes,
    override_subjects,
    corrections,
    test_results,
    case_facts,
    contact_facts,
    quarantine_orders,
    summaries,
    hub_feed,
    scan_places,
    department_records,
    department_batches,
    identity_checks,
    feed_quarantine,
    subject_regions,
    uploads,
    audit_log,
    rate_counts,
    subjects,
    accounts,
)


def purge_expired(conn: Connection, now: datetime) -> dict[str, int]:
    """Delete expired records; returns how many rows went, by table (zeros left out)."""
    counts: dict[str, int] = {}

    def note(table: Table, n: int | None) -> None:
        if n:
            counts[table.name] = counts.get(table.name, 0) + int(n)

    for table in _EXPIRING:
        note(table, conn.execute(delete(table).where(table.c.expires_at <= now)).rowcount)
    gone = select(subjects.c.sid).where(subjects.c.expires_at <= now)
    for table in _CHILDREN:
        note(table, conn.execute(delete(table).where(table.c.sid.in_(gone))).rowcount)
    note(subjects, conn.execute(delete(subjects).where(subjects.c.expires_at <= now)).rowcount)
    note(sessions, conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount)
    note(otps, conn.execute(delete(otps).where(otps.c.expires_at <= now)).rowcount)
    # An account nobody is linked to any more, and with no live session, holds only a phone.
    orphan = (
        ~exists().where(links.c.account_id == accounts.c.id)
        & ~exists().where(sessions.c.account_id == accounts.c.id)
        & ~exists().where(link_requests.c.account_id == accounts.c.id)
    )
    note(accounts, conn.execute(delete(accounts).where(orphan)).rowcount)
    return counts


def housekeep(db: Database, now: datetime) -> dict[str, int]:
    """What the daily job does: partitions (PostgreSQL), then ``purge_expired``; rows gone."""
    counts = partitions.maintain(db, now) if db.dialect == "postgresql" else {}
    with db.uow() as uow:
        for name, n in purge_expired(uow.conn, now).items():
            counts[name] = counts.get(name, 0) + n
        uow.commit()
    if counts:
        log.info("purged %d expired records", sum(counts.values()))
    return counts


def sunset(conn: Connection) -> dict[str, int]:
    """Delete every personal record of this node; returns rows deleted by table."""
    counts: dict[str, int] = {}
    for table in PERSONAL_TABLES:
        n = conn.execute(delete(table)).rowcount
        if n:
            counts[table.name] = int(n)
    return counts


class Housekeeper:
    """Runs ``purge_expired`` once at start and then every ``interval`` (a day by default).

    Each node runs one inside its process, so retention holds without an outside scheduler;
    ``yimatong db purge`` does the same by hand. With several workers only the one holding
    the node's job lock runs it (``adapters/db/leader.py``).
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        interval: timedelta = timedelta(days=1),
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval
        self._runner = Periodic("purge", self.run_once, interval.total_seconds())

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """One round at ``now`` (the clock's time by default); rows gone by table.

        On PostgreSQL the time partitions come first (``partitions.maintain``): expired ones
        are dropped whole, their rows counted here, and the next days' are made ahead; the
        row deletes then find only what expired in today's partition and in DEFAULT.
        """
        return housekeep(self.db, self.clock() if now is None else now)

    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._runner.stop()
