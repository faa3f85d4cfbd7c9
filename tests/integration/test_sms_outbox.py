"""SMS leave through the outbox: only for what committed, never lost to a gateway that was down."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.conftest import Issuer
from yimatong.adapters.crypto import FieldCipher
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.tables import sms_outbox
from yimatong.adapters.sms import SmsOutbox, SmsUnavailable

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PHONE = "13912345678"


@dataclass
class Gateway:
    """A gateway that is down while ``down`` is set, and keeps what it took."""

    down: bool = False
    taken: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        if self.down:
            raise SmsUnavailable("the operator's gateway does not answer")
        self.taken.append((phone, text))


@pytest.fixture
def outbox(db_url: str, cipher: FieldCipher) -> Any:
    upgrade(db_url)
    db = Database.from_url(db_url)
    box = SmsOutbox(db, Gateway(), cipher, retry=timedelta(seconds=30), max_attempts=3)
    yield box
    db.dispose()


def test_a_message_of_a_transaction_that_rolled_back_is_never_sent(outbox: SmsOutbox) -> None:
    with outbox.db.uow() as uow:
        outbox.enqueue(uow.conn, PHONE, "验证码 111111", now=NOW)
        # no commit: the code's hash was not stored, so its text must not go out
    assert outbox.deliver(now=NOW) == 0
    assert outbox.gateway.taken == []  # type: ignore[attr-defined]
    assert outbox.pending() == 0


def test_a_committed_message_is_sent_once_and_leaves_the_table(outbox: SmsOutbox) -> None:
    with outbox.db.uow() as uow:
        outbox.enqueue(uow.conn, PHONE, "验证码 222222", now=NOW)
        uow.commit()
    assert outbox.deliver(now=NOW) == 1
    assert outbox.deliver(now=NOW + timedelta(minutes=5)) == 0  # not twice
    assert outbox.gateway.taken == [(PHONE, "验证码 222222")]  # type: ignore[attr-defined]
    assert outbox.pending() == 0


def test_the_phone_and_the_code_are_stored_encrypted(outbox: SmsOutbox) -> None:
    with outbox.db.uow() as uow:
        outbox.enqueue(uow.conn, PHONE, "验证码 333333", now=NOW)
        uow.commit()
    with outbox.db.read() as conn:
        row = conn.execute(select(sms_outbox)).one()
    stored = bytes(row.enc_phone) + bytes(row.enc_text)
    assert PHONE.encode() not in stored and b"333333" not in stored


def test_a_gateway_that_is_down_keeps_the_message_for_the_next_round(
    outbox: SmsOutbox,
) -> None:
    gateway: Gateway = outbox.gateway  # type: ignore[assignment]
    gateway.down = True
    with outbox.db.uow() as uow:
        outbox.enqueue(uow.conn, PHONE, "验证码 444444", now=NOW)
        uow.commit()
    assert outbox.deliver(now=NOW) == 0
    assert outbox.pending() == 1
    gateway.down = False
    # A second worker at the same moment finds it claimed by the first try: not sent twice.
    assert outbox.deliver(now=NOW + timedelta(seconds=1)) == 0
    assert outbox.deliver(now=NOW + timedelta(seconds=31)) == 1
    assert gateway.taken == [(PHONE, "验证码 444444")]


def test_a_message_the_gateway_refuses_every_time_is_dropped_after_the_last_try(
    outbox: SmsOutbox,
) -> None:
    gateway: Gateway = outbox.gateway  # type: ignore[assignment]
    gateway.down = True
    with outbox.db.uow() as uow:
        outbox.enqueue(uow.conn, PHONE, "验证码 555555", now=NOW)
        uow.commit()
    for i in range(3):
        outbox.deliver(now=NOW + timedelta(seconds=31 * i))
    assert outbox.pending() == 0 and gateway.taken == []


def test_a_one_time_code_is_accepted_while_the_gateway_is_down_and_arrives_after(
    issuer: Issuer,
) -> None:
    inbox = issuer.inbox
    real_send = inbox.send

    def down(phone: str, text: str, *, now: datetime) -> None:
        raise SmsUnavailable("down")

    inbox.send = down  # type: ignore[method-assign]
    r = issuer.client.post("/v1/auth/otp", json={"phone": PHONE})
    assert r.status_code == 202, r.text  # accepted for delivery: it is in the outbox
    assert not [m for m in inbox.messages if m[0] == PHONE]
    inbox.send = real_send  # type: ignore[method-assign]
    outbox = issuer.node.service.phonebook.outbox
    assert outbox.pending() == 1
    # The job leader's next round, after the retry delay on the node's own clock.
    assert outbox.deliver(now=issuer.node.service.clock() + outbox.retry) == 1
    code = inbox.last_code(PHONE)
    r = issuer.client.post("/v1/auth/session", json={"phone": PHONE, "otp": code})
    assert r.status_code == 200, r.text
