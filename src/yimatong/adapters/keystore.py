"""An issuer's signing keys, kept in its database with the private half encrypted.

Rotation: a new key starts signing at once; the previous key's ``not_after`` is set to the
moment of rotation, so codes it signed before then keep verifying until they expire and no
code it signs afterwards would. Revocation (``revoked_at``) makes every code of that ``kid``
fail from then on.

How a node picks its signing key: ``SigningKeyCache.get`` asks the database for the active
kid on every call (one indexed look-up, no decryption) and decrypts only when that kid
changes. So a revocation or rotation written by any process — another worker, ``yimatong keys
revoke``, the hub link applying a revocation made at the hub — moves every worker's signer at
its next code; nothing keeps signing with a revoked key for a cache lifetime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from yimatong.adapters.crypto import (
    Algorithm,
    FieldCipher,
    SigningKey,
    generate_signing_key,
    load_signing_key,
    load_verifying_key,
)
from yimatong.adapters.db.tables import signing_keys
from yimatong.adapters.messages import ProvedKey, prove_key
from yimatong.adapters.wire.code import Keyring, TrustedKey
from yimatong.domain.errors import Conflict, NotFound

__all__ = [
    "ALGORITHMS",
    "KeyInfo",
    "SigningKeyCache",
    "active_key",
    "active_kid",
    "create_key",
    "keyring",
    "list_keys",
    "load_key",
    "mark_revoked",
    "registrations",
    "revoke",
]

ALGORITHMS = {"ed25519": Algorithm.EDDSA, "p256": Algorithm.ES256, "sm2": Algorithm.SM2_SM3}


@dataclass(frozen=True)
class KeyInfo:
    kid: bytes
    region: str
    alg: Algorithm
    public_der: bytes
    not_before: datetime
    not_after: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.not_after is not None and self.not_after <= now:
            return "retired"
        if self.not_before > now:
            return "pending"
        return "active"


def create_key(
    conn: Connection,
    cipher: FieldCipher,
    alg: Algorithm,
    *,
    region: str,
    now: datetime,
    starts: datetime | None = None,
) -> SigningKey:
    """Make a new key for ``region`` that signs from ``starts`` (default: now).

    The key signing until then stops at that moment. A later start lets the key be published
    first: the hub announces its next list-signing key in a trust list signed by the current
    one, so checkpoints that pinned the old key learn the new one before it is used.
    """
    # Codes carry whole seconds; a window that starts mid-second would refuse the first codes.
    now = now.replace(microsecond=0)
    start = (starts or now).replace(microsecond=0)
    if start < now:
        raise ValueError("a new key cannot start in the past")
    key = generate_signing_key(alg)
    conn.execute(
        update(signing_keys)
        .where(
            signing_keys.c.region == region,
            or_(signing_keys.c.not_after.is_(None), signing_keys.c.not_after > start),
            signing_keys.c.revoked_at.is_(None),
        )
        .values(not_after=start)
    )
    conn.execute(
        insert(signing_keys).values(
            kid=key.kid,
            region=region,
            alg=alg.value,
            enc_private=cipher.encrypt(key.private_pem().decode("ascii"), aad=key.kid),
            public_der=key.public.spki_der(),
            not_before=start,
            not_after=None,
            revoked_at=None,
            created_at=now,
        )
    )
    return key


_ACTIVE = (
    select(signing_keys.c.kid)
    .where(
        signing_keys.c.region == bindparam("region"),
        signing_keys.c.revoked_at.is_(None),
        signing_keys.c.not_before <= bindparam("now"),
        or_(signing_keys.c.not_after.is_(None), signing_keys.c.not_after > bindparam("now")),
    )
    .order_by(signing_keys.c.not_before.desc())
    .limit(1)
)


def active_kid(conn: Connection, *, region: str, now: datetime) -> bytes | None:
    """The kid of ``region``'s signing key now: one indexed look-up, no decryption."""
    kid = conn.execute(_ACTIVE, {"region": region, "now": now}).scalar()
    return bytes(kid) if kid is not None else None


def active_key(
    conn: Connection, cipher: FieldCipher, *, region: str, now: datetime
) -> SigningKey | None:
    kid = active_kid(conn, region=region, now=now)
    if kid is None:
        return None
    blob = conn.execute(
        select(signing_keys.c.enc_private).where(signing_keys.c.kid == kid)
    ).scalar_one()
    return load_signing_key(cipher.decrypt(blob, aad=kid).encode("ascii"))


def load_key(conn: Connection, cipher: FieldCipher, kid: bytes) -> SigningKey:
    """The private key ``kid`` (for proving a rotation to the hub)."""
    blob = conn.execute(
        select(signing_keys.c.enc_private).where(signing_keys.c.kid == kid)
    ).scalar()
    if blob is None:
        raise NotFound(f"no key with kid {kid.hex()}")
    return load_signing_key(cipher.decrypt(blob, aad=kid).encode("ascii"))


class SigningKeyCache:
    """The active key per region, decrypted and parsed only when the active kid changes."""

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher
        self._keys: dict[str, SigningKey] = {}

    def get(self, conn: Connection, *, region: str, now: datetime) -> SigningKey | None:
        kid = active_kid(conn, region=region, now=now)
        if kid is None:
            return None
        cached = self._keys.get(region)
        if cached is not None and cached.kid == kid:
            return cached
        key = active_key(conn, self._cipher, region=region, now=now)
        if key is not None:
            self._keys[region] = key
        return key


def list_keys(conn: Connection, region: str | None = None) -> Sequence[KeyInfo]:
    query = select(signing_keys).order_by(signing_keys.c.created_at)
    if region is not None:
        query = query.where(signing_keys.c.region == region)
    return [
        KeyInfo(
            kid=r.kid,
            region=r.region,
            alg=Algorithm(r.alg),
            public_der=r.public_der,
            not_before=r.not_before,
            not_after=r.not_after,
            revoked_at=r.revoked_at,
            created_at=r.created_at,
        )
        for r in conn.execute(query).all()
    ]


def revoke(conn: Connection, kid: bytes, *, now: datetime) -> None:
    row = conn.execute(select(signing_keys.c.revoked_at).where(signing_keys.c.kid == kid)).first()
    if row is None:
        raise NotFound(f"no key with kid {kid.hex()}")
    if row.revoked_at is not None:
        raise Conflict(f"key {kid.hex()} is already revoked")
    conn.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(revoked_at=now, not_after=signing_keys.c.not_after)
    )


def mark_revoked(conn: Connection, kid: bytes, *, at: datetime) -> bool:
    """Revoke ``kid`` if it is not revoked yet (a revocation learnt from the hub); True if so."""
    done = conn.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid, signing_keys.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(done.rowcount)


def registrations(
    conn: Connection, cipher: FieldCipher, region: str, *, kids: Sequence[bytes] = ()
) -> list[ProvedKey]:
    """The node's unrevoked keys (all, or ``kids``) as the hub registers them, each proved.

    What ``yimatong keys proof`` prints and the demo sends: the entries of ``keys`` in
    ``POST /v1/issuers``, or the body of ``POST /v1/issuers/{region}/keys``.
    """
    wanted = set(kids)
    return [
        prove_key(load_key(conn, cipher, k.kid), region, k.not_before, k.not_after)
        for k in list_keys(conn, region)
        if k.revoked_at is None and (not wanted or k.kid in wanted)
    ]


def keyring(conn: Connection, region: str) -> Keyring:
    """The trust entries of this node's own keys for ``region``, to verify its own codes."""
    return Keyring(
        TrustedKey(
            kid=k.kid,
            issuer=k.region,
            key=load_verifying_key(k.public_der),
            not_before=k.not_before,
            not_after=k.not_after,
            revoked_at=k.revoked_at,
        )
        for k in list_keys(conn, region)
    )
