"""Citizen sign-in: phone + one-time code (OTP) → a session; and consent codes for links.

Phones are found by a keyed hash and kept only encrypted. A code lives five minutes and allows
five attempts; codes are compared in constant time and stored only as an HMAC. How many codes
a phone or an address may ask for, and how many sign-ins an address may try, are per-client
limits (``otp.phone``, ``otp.address``, ``signin.address``), counted by ``IssuerService``.
The same code policy governs the consent code that a link request (``issuer/proxies.py``)
sends to a subject's phone on record.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from sqlalchemy import Connection, delete, insert, select, update

from yimatong.adapters.crypto import FieldCipher
from yimatong.adapters.db.database import inserted_id
from yimatong.adapters.db.tables import accounts, otps, sessions
from yimatong.adapters.sms import SmsOutbox
from yimatong.credentials import Caller, hash_token, new_token
from yimatong.domain.errors import InvalidInput, Unauthorized

__all__ = ["OtpPolicy", "PhoneBook", "mask_phone", "normalise_phone"]

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalise_phone(phone: str) -> str:
    """A mainland mobile number: 11 digits starting 13–19; "+86" and spaces are allowed."""
    digits = phone.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidInput("phone must be a mainland mobile number (11 digits)", field="phone")
    return digits


def mask_phone(phone: str) -> str:
    """A phone for display: the first three and last four digits (138****8000)."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


@dataclass(frozen=True)
class OtpPolicy:
    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    session_ttl: timedelta = timedelta(hours=12)


class PhoneBook:
    """Accounts, one-time codes and sessions of one issuer node."""

    def __init__(
        self,
        *,
        lookup_key: bytes,
        cipher: FieldCipher,
        outbox: SmsOutbox,
        rng: Random,
        policy: OtpPolicy | None = None,
    ) -> None:
        self._lookup_key = lookup_key
        self._cipher = cipher
        self.outbox = outbox  # messages go out after their transaction commits
        self._rng = rng
        self.policy = policy or OtpPolicy()

    def phone_hash(self, phone: str) -> bytes:
        return hmac.new(self._lookup_key, b"phone\x00" + phone.encode(), "sha256").digest()

    def _code_hash(self, phone_hash: bytes, code: str) -> bytes:
        return hmac.new(
            self._lookup_key, b"otp\x00" + phone_hash + code.encode(), "sha256"
        ).digest()

    def send_code(self, conn: Connection, phone: str, *, now: datetime) -> None:
        phone = normalise_phone(phone)
        ph = self.phone_hash(phone)
        code = f"{self._rng.randrange(1_000_000):06d}"
        row = conn.execute(select(otps.c.phone_hash).where(otps.c.phone_hash == ph)).first()
        values = {
            "code_hash": self._code_hash(ph, code),
            "sent_at": now,
            "expires_at": now + self.policy.ttl,
            "attempts": 0,
        }
        if row is None:
            conn.execute(insert(otps).values(phone_hash=ph, **values))
        else:
            conn.execute(update(otps).where(otps.c.phone_hash == ph).values(**values))
        minutes = int(self.policy.ttl.total_seconds() // 60)
        self.outbox.enqueue(
            conn, phone, f"【一码通】验证码 {code}，{minutes} 分钟内有效。", now=now
        )

    def sign_in(
        self, conn: Connection, phone: str, code: str, *, now: datetime
    ) -> tuple[str, datetime]:
        phone = normalise_phone(phone)
        ph = self.phone_hash(phone)
        row = conn.execute(select(otps).where(otps.c.phone_hash == ph)).first()
        wrong = Unauthorized("the one-time code is wrong or has expired")
        if row is None or row.expires_at <= now or row.attempts >= self.policy.max_attempts:
            raise wrong
        if not hmac.compare_digest(row.code_hash, self._code_hash(ph, code.strip())):
            conn.execute(
                update(otps).where(otps.c.phone_hash == ph).values(attempts=otps.c.attempts + 1)
            )
            conn.commit()  # a failed attempt counts even though we refuse
            raise wrong
        conn.execute(delete(otps).where(otps.c.phone_hash == ph))
        account = conn.execute(select(accounts.c.id).where(accounts.c.phone_hash == ph)).first()
        if account is None:
            account_id = inserted_id(
                conn.execute(
                    insert(accounts).values(
                        phone_hash=ph,
                        enc_phone=self._cipher.encrypt(phone, aad=ph),
                        created_at=now,
                    )
                )
            )
        else:
            account_id = account.id
        token = new_token("s", self._rng)
        expires = now + self.policy.session_ttl
        conn.execute(
            insert(sessions).values(
                token_hash=hash_token(token),
                account_id=account_id,
                created_at=now,
                expires_at=expires,
            )
        )
        return token, expires

    # ------------------------------------------------------------ consent codes
    def send_link_code(
        self,
        conn: Connection,
        phone: str,
        *,
        sid: str,
        account_id: int,
        requester: str,
        relationship: str,
        now: datetime,
    ) -> bytes:
        """Queue, in ``conn``'s transaction, a text to a subject's phone on record with a code
        that consents to one link; its HMAC back.

        The message names who asks by the last four digits of their phone, so the person can
        tell a relative from a stranger, and what they ask for. It carries nothing else the
        requester typed (a relationship is free text: it could be written to deceive).
        """
        code = f"{self._rng.randrange(1_000_000):06d}"
        minutes = int(self.policy.ttl.total_seconds() // 60)
        asked = "以您本人的身份关联" if relationship == "self" else "代办"
        self.outbox.enqueue(
            conn,
            phone,
            f"【一码通】手机尾号 {requester[-4:]} 的用户申请{asked}您的健康码。"
            f"如同意，请把验证码 {code} 告诉对方，{minutes} 分钟内有效；如不认识对方，请勿告知。",
            now=now,
        )
        return self.link_code_hash(sid, account_id, code)

    def link_code_hash(self, sid: str, account_id: int, code: str) -> bytes:
        message = b"link\x00" + sid.encode() + b"\x00" + str(account_id).encode() + b"\x00"
        return hmac.new(self._lookup_key, message + code.strip().encode(), "sha256").digest()

    @staticmethod
    def end_session(conn: Connection, token: str) -> None:
        """Sign out: the session's token stops working at once."""
        conn.execute(delete(sessions).where(sessions.c.token_hash == hash_token(token)))

    @staticmethod
    def session_caller(conn: Connection, token: str, *, now: datetime) -> Caller | None:
        row = conn.execute(
            select(sessions.c.account_id, sessions.c.expires_at).where(
                sessions.c.token_hash == hash_token(token)
            )
        ).first()
        if row is None or row.expires_at <= now:
            return None
        return Caller(role="citizen", name=f"account:{row.account_id}", account_id=row.account_id)

    def account_phone(self, conn: Connection, account_id: int) -> str:
        row = conn.execute(
            select(accounts.c.phone_hash, accounts.c.enc_phone).where(accounts.c.id == account_id)
        ).one()
        return self._cipher.decrypt(row.enc_phone, aad=row.phone_hash)
