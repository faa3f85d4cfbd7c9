"""The audit log: who read or changed whose data, when, and for what purpose.

Every read of a person's data by anyone but that person leaves a row, at the issuer and at the
hub alike (both have ``audit_log``: one schema for every role). A row names the reader (the
credential's name and role), the action, the subject's pseudonym and the purpose — never a
name, an ID number or a phone: the log must be safe to show the person it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, insert

from yimatong.adapters.db.tables import audit_log
from yimatong.credentials import Caller

__all__ = ["ANONYMOUS", "audit"]

#: The reader of a public route (a conversion: the code is the proof).
ANONYMOUS = Caller(role="anonymous", name="anonymous")


def audit(
    conn: Connection,
    caller: Caller | None,
    action: str,
    sids: Iterable[str | None],
    purpose: str,
    now: datetime,
) -> int:
    """One row per distinct sid in ``sids`` (in order); how many were written."""
    who = caller or ANONYMOUS
    rows = [
        {
            "at": now,
            "actor": who.name[:100],
            "actor_role": who.role[:20],
            "action": action[:40],
            "sid": sid,
            "purpose": purpose[:200],
        }
        for sid in dict.fromkeys(sids)
    ]
    if rows:
        conn.execute(insert(audit_log), rows)
    return len(rows)
