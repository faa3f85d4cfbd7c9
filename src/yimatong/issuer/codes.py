"""制码 and 验码: signed YMT1 codes, their verification, and this issuer's public keys.

``verify`` is the hot path: one signature check against a keyring kept for a few seconds, then
one prepared primary-key lookup (``_STATUS_QUERY``). The signing-key and keyring caches are
made in ``IssuerCore.__init__``; the methods that fill and read them live here.

How long a revocation takes to reach them: the signer reads the active kid from the database
for every code (``keystore.SigningKeyCache``), so it never signs with a key revoked in the
database, whichever process revoked it. The keyring that ``verify`` checks this node's own
codes against is kept ``KEYRING_TTL`` seconds: a process that revokes (the hub link applying
a revocation from the hub, the hub's hosted regions) drops its own at once with
``forget_keys``; another worker of the same node still accepts the revoked key's codes for at
most ``KEYRING_TTL`` seconds, and the hub and checkpoints refuse them from the next trust
version anyway.
"""

from __future__ import annotations

import base64
import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import OperationalError

from yimatong.adapters import keystore
from yimatong.adapters.crypto import SigningKey
from yimatong.adapters.db.tables import assessments, subjects
from yimatong.adapters.wire.code import Keyring, encode_code, verify_code_at
from yimatong.credentials import Caller
from yimatong.domain.errors import InvalidCode, Unavailable, UnknownKey
from yimatong.domain.token import CodeKind, new_claims
from yimatong.issuer.core import IssuerCore

__all__ = ["KEYRING_TTL", "CodeUseCases"]

log = logging.getLogger("yimatong.issuer")

#: Seconds a parsed keyring is used before it is read again (at once on an unknown kid).
KEYRING_TTL = 5.0


class CodeUseCases(IssuerCore):
    """制码 (``generate_code``), 验码 (``verify``) and the public keys the hub lists."""

    def generate_code(self, caller: Caller, sid: str, kind: CodeKind) -> dict[str, Any]:
        """制码: a signed YMT1 code carrying the current colour and a masked identity."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            self._access(conn, caller, sid, action="code.make")
            status = self.reassess(conn, sid, now)
            assessment = status.assessment
            subject = conn.execute(
                select(subjects.c.masked_name, subjects.c.masked_id).where(subjects.c.sid == sid)
            ).one()
            key = self._signing_key(conn, now)
            uow.commit()
        claims = new_claims(
            issuer=self.region,
            sid=sid,
            colour=assessment.colour,
            colour_since=status.colour_since,
            reasons=tuple(r.code for r in assessment.reasons),
            hours_since_negative_test=assessment.hours_since_negative_test,
            masked_name=subject.masked_name,
            masked_id=subject.masked_id,
            kind=kind,
            now=now,
        )
        return {
            "code": encode_code(claims, key),
            "colour": claims.colour.value,
            "kind": kind.value,
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "display": _display(claims.masked_name, claims.masked_id, claims.colour.value),
        }

    def verify(
        self, code: str, *, reader: Caller | None = None, purpose: str | None = None
    ) -> dict[str, Any]:
        """验码: signature, key and expiry offline, then the current colour from the status table.

        The hot path: one signature check, one primary-key lookup, no ORM objects. A read by
        staff or an administrator (``reader``) is written to the audit log with ``purpose``. A
        checkpoint's read is not: it is accounted for by the scan the checkpoint reports
        (``POST /v1/scans`` at the hub, which reaches this node's itineraries); nor is the hub's
        (a node asking for Mode 2, with no ``reader``): the hub audits it with the caller it
        asked for. So the checkpoint's path, direct or through the hub, stays one signature
        check and one lookup here.
        """
        now = self.clock()
        try:
            claims = self._verify_claims(code, now)
        except InvalidCode as exc:
            log.info("code refused: %s", exc.detail)  # the operator's reason; no code, no data
            raise
        try:
            # The replica if YMT_DB_READ_URL is set, else the primary; straight to the driver.
            row = self.db.first(_STATUS_QUERY, {"sid": claims.sid})
        except OperationalError:
            if reader is not None and reader.role != "checkpoint":
                raise  # a read that must be audited waits for the database (503)
            log.warning("status table unavailable: answering 验码 from the signed claims")
            return _from_claims(claims)
        if row is None:
            raise InvalidCode("subject unknown or purged")
        if row.review_at is not None and row.review_at <= now:
            # A recovery date has passed since the last assessment: bring the status up to date.
            with self.db.uow() as uow:
                self.reassess(uow.conn, claims.sid, now)
                uow.commit()
            with self.db.read() as conn:
                row = conn.execute(_STATUS_QUERY, {"sid": claims.sid}).one()
        if reader is not None and reader.role != "checkpoint":
            why = purpose or _READ_PURPOSE.get(reader.role, "验码 code verification")
            with self.db.uow() as uow:
                self._audit(uow.conn, reader, "code.verify", claims.sid, why, now)
                uow.commit()
        body = row.body
        return {
            "valid": True,
            "issuer": claims.issuer,
            "kind": claims.kind.value,
            "colour": row.colour,
            "claimed_colour": claims.colour.value,
            "colour_since": row.colour_since,
            "reasons": body.get("reasons", []),
            "turns_green": body.get("turns_green"),
            "hours_since_negative_test": body.get("hours_since_negative_test"),
            "status": "online",
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "display": _display(row.masked_name, row.masked_id, row.colour),
        }

    def _verify_claims(self, code: str, now: datetime) -> Any:
        ring = self._current_keyring(force=False)
        try:
            return verify_code_at(code, ring, now)
        except UnknownKey:
            pass
        # A key made a moment ago by another worker: refresh once and try again.
        return verify_code_at(code, self._current_keyring(force=True), now)

    def public_keys(self) -> dict[str, Any]:
        """The trust entries of this issuer's keys, as the hub's trust list carries them."""
        with self.db.read() as conn:
            infos = keystore.list_keys(conn, self.region)
        return {
            "issuer": self.region,
            "keys": [
                {
                    "kid": k.kid.hex(),
                    "alg": k.alg.value,
                    "public_key": base64.b64encode(k.public_der).decode("ascii"),
                    "not_before": k.not_before,
                    "not_after": k.not_after,
                    "revoked_at": k.revoked_at,
                }
                for k in infos
            ],
        }

    def forget_keys(self) -> None:
        """Drop the cached keyring: a key was revoked or made by this process just now."""
        self._keyring = None

    # ------------------------------------------------------------------ helpers
    def _signing_key(self, conn: Connection, now: datetime) -> SigningKey:
        key = self._signing.get(conn, region=self.region, now=now)
        if key is None:
            raise Unavailable("this issuer has no active signing key; run `yimatong keys new`")
        return key

    def _current_keyring(self, *, force: bool) -> Keyring:
        now = time.monotonic()
        cached = self._keyring
        if cached is not None and not force and cached[0] > now:
            return cached[1]
        with self._lock, self.db.read() as conn:
            ring = keystore.keyring(conn, self.region)
        self._keyring = (now + KEYRING_TTL, ring)
        return ring


#: What an audited 验码 is for, by the reader's role, when the reader does not say.
_READ_PURPOSE = {
    "staff": "验码 by staff",
    "admin": "验码 by an administrator",
}


def _from_claims(claims: Any) -> dict[str, Any]:
    """验码 while the database is down: what the signed code itself says, marked as of when.

    The colour is the one signed into the code at ``issued_at`` (a dynamic code is at most a
    few minutes old); ``status: "claims"`` and ``as_of`` tell the checkpoint that it is not the
    current status, so its policy can weigh it (as an offline decision).
    """
    return {
        "valid": True,
        "issuer": claims.issuer,
        "kind": claims.kind.value,
        "colour": claims.colour.value,
        "claimed_colour": claims.colour.value,
        "colour_since": claims.colour_since,
        "reasons": [{"code": r} for r in claims.reasons],
        "turns_green": None,
        "hours_since_negative_test": claims.hours_since_negative_test,
        "status": "claims",
        "as_of": claims.issued_at,
        "issued_at": claims.issued_at,
        "expires_at": claims.expires_at,
        "display": _display(claims.masked_name, claims.masked_id, claims.colour.value),
    }


def _display(masked_name: str, masked_id: str, colour: str) -> dict[str, str]:
    labels = {"green": ("绿码", "green"), "yellow": ("黄码", "yellow"), "red": ("红码", "red")}
    zh, en = labels[colour]
    return {"masked_name": masked_name, "masked_id": masked_id, "colour_zh": zh, "colour_en": en}


_STATUS_QUERY = (
    select(
        assessments.c.colour,
        assessments.c.colour_since,
        assessments.c.body,
        assessments.c.review_at,
        subjects.c.masked_name,
        subjects.c.masked_id,
    )
    .join(subjects, subjects.c.sid == assessments.c.sid)
    .where(assessments.c.sid == bindparam("sid"))
)
