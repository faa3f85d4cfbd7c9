"""The audit log: who read or changed whose data, when, and for what purpose.

Every read of a person's data by anyone but that person leaves a row, at the issuer and at the
hub alike (both have ``audit_log``: one schema for every role). A row names the reader (the
credential's name and role), the action, the subject's pseudonym and the purpose — never a
name, an ID number or a phone: the log must be safe to show the person it is about.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import audit_log
from yimatong.credentials import Caller
from yimatong.domain.errors import Unavailable

__all__ = ["ANONYMOUS", "GATHER_SECONDS", "AuditWriter", "audit", "audit_rows"]

#: How long the writer thread lets rows gather before a commit while it is busy (its last
#: commit held more than one row): a SQLite commit (an fsync) costs its writer ~0.3 ms of CPU
#: however few rows it holds, so under load each awaited row waits up to this much longer
#: and shares its commit with more. An idle writer commits a lone row at once.
GATHER_SECONDS = 0.005

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
    #: an awaiting caller (``AuditWriter.awrite``): resolved on its own event loop
    future: asyncio.Future[None] | None = None


class AuditWriter:
    """Audit rows in group commits, for hot paths: each caller returns once its row is durable.

    A read is not answered before its audit row is committed (a crash must not lose it), but
    one commit per read makes the database's flush the limit of every audited hot path (an
    fsync per Mode 2 answer on SQLite). So rows are committed in batches: every row queued
    while a commit runs goes into the next one, and each caller is woken when the commit that
    holds its row is done. A failed commit fails every caller of that batch (503, nothing
    answered).

    ``write`` (a worker thread): the first caller that finds no commit running becomes the
    writer, and goes on while more rows arrived meanwhile; the others wait for their turn.
    ``awrite`` (the event loop, which must not wait on the database): the row goes to the
    writer thread, started at the first ``awrite``, and the caller awaits its commit; the
    thread resolves a batch's waiters with one wake-up per event loop. While busy, the thread
    lets rows gather for ``gather`` seconds before each commit (``GATHER_SECONDS``). Either
    way nothing is answered before its row is committed, so a clean shutdown (which lets the
    requests in flight finish) loses no row; ``close`` then stops the thread.
    """

    def __init__(self, db: Database, *, gather: float = GATHER_SECONDS) -> None:
        self.db = db
        self.gather = gather
        self._last_batch = 0  # callers in the last commit
        self._cond = threading.Condition()
        self._queue: list[tuple[list[dict[str, Any]], _Ticket]] = []
        self._writing = False
        self._thread: threading.Thread | None = None
        self._idle = False  # the writer thread waits for rows: an awrite must wake it
        self._closed = False
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

    async def awrite(
        self,
        caller: Caller | None,
        action: str,
        sids: Iterable[str | None],
        purpose: str,
        now: datetime,
    ) -> None:
        """``write`` for a caller on the event loop: returns once the row is committed."""
        rows = audit_rows(caller, action, sids, purpose, now)
        if not rows:
            return
        ticket = _Ticket(future=asyncio.get_running_loop().create_future())
        with self._cond:
            self._queue.append((rows, ticket))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="audit-writer", daemon=True
                )
                self._thread.start()
            elif self._idle:  # a busy writer takes the row with its next batch, unwoken
                self._cond.notify_all()
        assert ticket.future is not None
        await asyncio.shield(ticket.future)  # a caller gone away does not undo its row
        self._raise(ticket)

    def close(self) -> None:
        """Commit what is queued and stop the writer thread (the node is stopping).

        A later ``awrite`` (the node started again, as a test does) starts a new one.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._cond:
            self._thread, self._closed = None, False

    def _serve(self) -> None:
        """The writer thread: commits what ``awrite`` queues, until ``close``."""
        while True:
            with self._cond:
                self._idle = True
                self._cond.wait_for(lambda: (self._queue or self._closed) and not self._writing)
                self._idle = False
                if not self._queue:
                    return  # closed, and nothing left to write
                self._writing = True
            try:
                if self._last_batch > 1:  # under load: let more rows join this commit
                    time.sleep(self.gather)
                self._drain()
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()

    def _drain(self) -> None:
        while True:
            with self._cond:
                batch, self._queue = self._queue, []
            if not batch:
                return
            error: BaseException | None = None
            self._last_batch = len(batch)
            try:
                with self.db.uow() as uow:
                    uow.conn.execute(insert(audit_log), [r for rows, _ in batch for r in rows])
                    uow.commit()
                self.commits += 1
            except Exception as exc:  # the database: every caller of the batch is told
                error = exc
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            with self._cond:
                for _, ticket in batch:
                    ticket.done, ticket.error = True, error
                    if ticket.future is not None:
                        waiting.setdefault(ticket.future.get_loop(), []).append(ticket.future)
                self._cond.notify_all()
            for loop, futures in waiting.items():
                with suppress(RuntimeError):  # a loop that closed has nobody waiting any more
                    loop.call_soon_threadsafe(_resolve, futures)

    @staticmethod
    def _raise(ticket: _Ticket) -> None:
        if ticket.error is not None:
            raise Unavailable(
                f"the audit log could not be written ({type(ticket.error).__name__}); "
                "nothing was answered"
            ) from ticket.error


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
