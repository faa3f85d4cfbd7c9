"""The audit log: who read or changed whose data, when, and for what purpose.

Every read of a person's data by anyone but that person leaves a row, at the issuer and at the
hub alike (both have ``audit_log``: one schema for every role). A row names the reader (the
credential's name and role), the action, the subject's pseudonym and the purpose — never a
name, an ID number or a phone: the log must be safe to show the person it is about.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import audit_log
from yimatong.credentials import Caller
from yimatong.domain.errors import Unavailable

__all__ = ["ANONYMOUS", "AuditWriter", "audit", "audit_rows"]

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
    rows = audit_rows(caller, action, sids, purpose, now)
    if rows:
        conn.execute(insert(audit_log), rows)
    return len(rows)


def audit_rows(
    caller: Caller | None, action: str, sids: Iterable[str | None], purpose: str, now: datetime
) -> list[dict[str, Any]]:
    who = caller or ANONYMOUS
    return [
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


@dataclass
class _Ticket:
    done: bool = False
    error: BaseException | None = None


class AuditWriter:
    """Audit rows in group commits, for hot paths: each caller returns once its row is durable.

    A read is not answered before its audit row is committed (a crash must not lose it), but
    one commit per read makes the database's flush the limit of every audited hot path (an
    fsync per Mode 2 answer on SQLite). Here the first caller that finds no commit running
    becomes the writer: it commits every row queued so far in one transaction, wakes their
    callers, and goes on while more arrived meanwhile; the others wait for their turn. No
    thread of its own; a failed commit fails every caller of that batch (503, nothing answered).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cond = threading.Condition()
        self._queue: list[tuple[list[dict[str, Any]], _Ticket]] = []
        self._writing = False
        self.commits = 0  # for the tests and the curious: batches written

    def write(
        self,
        caller: Caller | None,
        action: str,
        sids: Iterable[str | None],
        purpose: str,
        now: datetime,
    ) -> None:
        rows = audit_rows(caller, action, sids, purpose, now)
        if not rows:
            return
        ticket = _Ticket()
        with self._cond:
            self._queue.append((rows, ticket))
            if self._writing:
                self._cond.wait_for(lambda: ticket.done)
                self._raise(ticket)
                return
            self._writing = True
        try:
            self._drain()
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
        self._raise(ticket)

    def _drain(self) -> None:
        while True:
            with self._cond:
                batch, self._queue = self._queue, []
            if not batch:
                return
            error: BaseException | None = None
            try:
                with self.db.uow() as uow:
                    uow.conn.execute(insert(audit_log), [r for rows, _ in batch for r in rows])
                    uow.commit()
                self.commits += 1
            except Exception as exc:  # the database: every caller of the batch is told
                error = exc
            with self._cond:
                for _, ticket in batch:
                    ticket.done, ticket.error = True, error
                self._cond.notify_all()

    @staticmethod
    def _raise(ticket: _Ticket) -> None:
        if ticket.error is not None:
            raise Unavailable(
                f"the audit log could not be written ({type(ticket.error).__name__}); "
                "nothing was answered"
            ) from ticket.error
