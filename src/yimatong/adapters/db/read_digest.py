"""Each day's reads of personal data, as one digest for the transparency log.

A node's ``audit_log`` holds a row for every read of a person's data by anyone but the person
(``adapters/db/audit.py``). Once a UTC day is over, its rows go into the transparency log as a
count and a hash (docs/transparency.md): the hub's own from its job leader, an issuer's through
its hub link. Nothing in the digest names anyone; the node's auditors recompute the hash from
``audit_log``, and a row removed or changed afterwards no longer matches.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from yimatong.adapters.db.tables import audit_log
from yimatong.adapters.signed import canonical

__all__ = ["DIGEST_CATCH_UP", "DIGEST_MARGIN", "day_digest", "days_to_digest"]

#: How long after midnight (UTC) a day's reads are digested (reads still committing).
DIGEST_MARGIN = timedelta(minutes=10)
#: A node that was down for days digests at most this many missing days at once.
DIGEST_CATCH_UP = 31


def days_to_digest(now: datetime, last: date | None) -> list[date]:
    """The whole UTC days to digest at ``now`` after the ``last`` one digested (None: only
    yesterday), at most ``DIGEST_CATCH_UP`` back, oldest first."""
    yesterday = (now.astimezone(UTC) - DIGEST_MARGIN).date() - timedelta(days=1)
    first = yesterday if last is None else last + timedelta(days=1)
    first = max(first, yesterday - timedelta(days=DIGEST_CATCH_UP - 1))
    return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]


def day_digest(conn: Connection, day: date) -> dict[str, Any]:
    """The digest of one UTC day of the audit log, for the transparency log: how many reads,
    by role, and the hex SHA-256 of the RFC 8785 canonical JSON of that day's rows in order,
    each ``[at, actor, actor_role, action, sid, purpose]`` — what the node's auditors recompute
    from ``audit_log``; nothing in it names anyone. The rows are hashed as they stream by (the
    canonical form of a list is its items' canonical forms between brackets, comma-separated),
    so a busy day costs no memory."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    rows = conn.execute(
        select(
            audit_log.c.at,
            audit_log.c.actor,
            audit_log.c.actor_role,
            audit_log.c.action,
            audit_log.c.sid,
            audit_log.c.purpose,
        )
        .where(audit_log.c.at >= start, audit_log.c.at < start + timedelta(days=1))
        .order_by(audit_log.c.at, audit_log.c.id),
        execution_options={"yield_per": 5000},
    )
    digest = hashlib.sha256(b"[")
    roles: Counter[str] = Counter()
    for n, r in enumerate(rows):
        if n:
            digest.update(b",")
        digest.update(
            canonical([r.at.isoformat(), r.actor, r.actor_role, r.action, r.sid, r.purpose])
        )
        roles[r.actor_role] += 1
    digest.update(b"]")
    return {
        "day": day.isoformat(),
        "reads": sum(roles.values()),
        "by_role": dict(sorted(roles.items())),
        "sha256": digest.hexdigest(),
    }
