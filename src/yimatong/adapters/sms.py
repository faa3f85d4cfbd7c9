"""SMS gateways: the interface, the demo implementation that writes to a file, and the outbox
that hands messages to a gateway only after the transaction they belong to has committed.

A real deployment plugs in its operator's gateway behind :class:`SmsGateway`; the demo's
:class:`FileSms` appends each message to ``sms.log`` so a person trying the federation can
read their one-time code there. That file is the demo's *phone*, not a log: it is the only
place a phone number is written in clear, and only because it stands in for delivery.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, delete, func, insert, select, update

from yimatong.adapters.crypto import FieldCipher
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import sms_outbox

__all__ = ["FileSms", "SmsGateway", "SmsOutbox", "SmsUnavailable"]

log = logging.getLogger("yimatong.sms")


class SmsUnavailable(Exception):
    """The gateway could not take the message."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, now: datetime) -> None: ...


class FileSms:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        line = f"{now.isoformat(timespec='seconds')}\t{phone}\t{text}\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line)
        except OSError as exc:
            raise SmsUnavailable(str(exc)) from exc


class SmsOutbox:
    """Messages committed with their transaction (``enqueue``) and sent after it (``deliver``).

    ``deliver`` claims each due row with a conditional UPDATE that moves its next try
    ``retry`` ahead (so with N workers one of them sends it), commits the claim, gives the
    message to the gateway outside any transaction, and deletes the row when the gateway took
    it. A message the gateway refused stays for the next try (the job leader's round); one
    refused ``max_attempts`` times is dropped, counted in the log without the phone or text.
    A crash between the send and the delete sends it again after ``retry``: at least once.
    """

    def __init__(
        self,
        db: Database,
        gateway: SmsGateway,
        cipher: FieldCipher,
        *,
        retry: timedelta = timedelta(seconds=30),
        max_attempts: int = 20,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.cipher = cipher
        self.retry = retry
        self.max_attempts = max_attempts

    def enqueue(self, conn: Connection, phone: str, text: str, *, now: datetime) -> None:
        """Add a message to the caller's transaction; it is sent only if that commits."""
        conn.execute(
            insert(sms_outbox).values(
                enc_phone=self.cipher.encrypt(phone, aad=_AAD_PHONE),
                enc_text=self.cipher.encrypt(text, aad=_AAD_TEXT),
                created_at=now,
                next_try_at=now,
                attempts=0,
            )
        )

    def deliver(self, *, now: datetime, limit: int = 100) -> int:
        """Send the messages due at ``now`` (at most ``limit``); how many the gateway took."""
        with self.db.read() as conn:
            due = [
                row.id
                for row in conn.execute(
                    select(sms_outbox.c.id)
                    .where(sms_outbox.c.next_try_at <= now)
                    .order_by(sms_outbox.c.next_try_at)
                    .limit(limit)
                )
            ]
        sent = 0
        for message_id in due:
            message = self._claim(message_id, now)
            if message is None:
                continue  # another worker has it
            phone, text, attempts = message
            try:
                self.gateway.send(phone, text, now=now)
            except SmsUnavailable as exc:
                self._refused(message_id, attempts, str(exc), now)
                continue
            with self.db.uow() as uow:
                uow.conn.execute(delete(sms_outbox).where(sms_outbox.c.id == message_id))
                uow.commit()
            sent += 1
        return sent

    def pending(self) -> int:
        """Messages not yet taken by the gateway."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(sms_outbox)).scalar_one())

    def _claim(self, message_id: int, now: datetime) -> tuple[str, str, int] | None:
        with self.db.uow() as uow:
            claimed = uow.conn.execute(
                update(sms_outbox)
                .where(sms_outbox.c.id == message_id, sms_outbox.c.next_try_at <= now)
                .values(next_try_at=now + self.retry, attempts=sms_outbox.c.attempts + 1)
            ).rowcount
            if not claimed:
                return None
            row = uow.conn.execute(
                select(sms_outbox.c.enc_phone, sms_outbox.c.enc_text, sms_outbox.c.attempts)
                .where(sms_outbox.c.id == message_id)
            ).one()  # fmt: skip
            uow.commit()
        return (
            self.cipher.decrypt(row.enc_phone, aad=_AAD_PHONE),
            self.cipher.decrypt(row.enc_text, aad=_AAD_TEXT),
            int(row.attempts),
        )

    def _refused(self, message_id: int, attempts: int, why: str, now: datetime) -> None:
        with self.db.uow() as uow:
            if attempts >= self.max_attempts:
                uow.conn.execute(delete(sms_outbox).where(sms_outbox.c.id == message_id))
                log.warning("an SMS was dropped after %d refusals by the gateway", attempts)
            else:
                uow.conn.execute(
                    update(sms_outbox).where(sms_outbox.c.id == message_id).values(error=why[:200])
                )
                log.warning("the SMS gateway refused a message (try %d); it stays queued", attempts)
            uow.commit()


_AAD_PHONE = b"sms_outbox\x00phone"
_AAD_TEXT = b"sms_outbox\x00text"
