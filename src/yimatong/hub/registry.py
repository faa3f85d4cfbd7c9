"""The issuer registry and the trust list (the hub's part of mutual recognition).

Every issuer is registered with its region, kind, endpoint and public keys. The trust list is
the signed, versioned view of that registry which every verifier caches: each change takes the
next ``trust`` version, so ``GET /v1/trust-list?since=N`` returns exactly what changed.

Key rotation by an issuer is proved with a signature by one of its keys that is active now, over
the canonical bytes of ``{"region", "public_key", "not_before"}``; revocation takes effect at
the next refresh of every verifier (a revoked ``kid`` fails everywhere after that).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from random import Random
from typing import Any

from sqlalchemy import Connection, insert, select, update

from yimatong.adapters import keystore
from yimatong.adapters.crypto import (
    BadSignature,
    FieldCipher,
    SigningKey,
    VerifyingKey,
    load_verifying_key,
)
from yimatong.adapters.db.counters import current_value, next_value
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import issuer_keys, issuers
from yimatong.adapters.signed import canonical, sign_document
from yimatong.adapters.wire.code import Keyring, TrustedKey
from yimatong.credentials import Caller, add_credential, require_role
from yimatong.domain.edge import is_digits
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["ISSUER_KINDS", "NATIONAL", "Registry", "rotation_message"]

#: The hub's own issuer code: national codes (Mode 2 conversions) carry it as ``iss``.
NATIONAL = "000000"
ISSUER_KINDS = ("native", "legacy", "hosted", "national")


def rotation_message(region: str, public_key_b64: str, not_before: str) -> bytes:
    """What a current key signs to introduce a new one."""
    return canonical({"region": region, "public_key": public_key_b64, "not_before": not_before})


def _parse_key(b64: str, field: str) -> VerifyingKey:
    try:
        return load_verifying_key(base64.b64decode(b64, validate=True))
    except (ValueError, TypeError):
        raise InvalidInput(
            "public_key must be a base64 DER SubjectPublicKeyInfo", field=field
        ) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Registry:
    def __init__(
        self,
        *,
        db: Database,
        cipher: FieldCipher,
        clock: Callable[[], datetime],
        rng: Random,
        signing_key: Callable[[], SigningKey],
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.rng = rng
        self._signing_key = signing_key
        self._lock = threading.Lock()
        self._keyring: tuple[int, Keyring] | None = None

    # ------------------------------------------------------------------ writes
    def register_issuer(
        self,
        caller: Caller,
        *,
        region: str,
        name: str,
        kind: str,
        endpoint: str | None,
        legacy_prefix: str | None = None,
        keys: Sequence[str | tuple[str, datetime]] = (),
        outbound_token: str | None = None,
    ) -> dict[str, Any]:
        """Register (or update) an issuer; returns its node credential the first time.

        ``keys`` are base64 DER public keys, each optionally with the time it began to sign
        (``(key, not_before)``): an issuer that ran on its own before joining keeps its
        earlier printed codes valid. A key without a time counts from now.
        """
        require_role(caller, "admin")
        if kind not in ISSUER_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(ISSUER_KINDS)}", field="kind")
        if not is_digits(region, 6):
            raise InvalidInput("region must be a six-digit code", field="region")
        if kind == "legacy" and not legacy_prefix:
            raise InvalidInput(
                "a legacy issuer needs the prefix of its codes", field="legacy_prefix"
            )
        now = self.clock()
        parsed = []
        for i, entry in enumerate(keys):
            b64, start = entry if isinstance(entry, tuple) else (entry, now)
            if start > now:
                raise InvalidInput("a key cannot start in the future", field=f"keys[{i}]")
            parsed.append((_parse_key(b64, f"keys[{i}]"), start))
        token = None
        with self.db.uow() as uow:
            conn = uow.conn
            version = next_value(conn, "trust")
            values: dict[str, Any] = {
                "name": name,
                "kind": kind,
                "endpoint": endpoint,
                "legacy_prefix": legacy_prefix,
                "status": "active",
                "version": version,
                "updated_at": now,
            }
            if outbound_token:
                values["enc_outbound"] = self.cipher.encrypt(outbound_token, aad=region.encode())
            exists = conn.execute(
                select(issuers.c.region).where(issuers.c.region == region)
            ).first()
            if exists:
                conn.execute(update(issuers).where(issuers.c.region == region).values(**values))
            else:
                conn.execute(insert(issuers).values(region=region, created_at=now, **values))
                if kind != "hosted" and kind != "national":
                    token = add_credential(
                        conn,
                        name=f"issuer-{region}",
                        role="node",
                        now=now,
                        rng=self.rng,
                        scope=region,
                    )
            for key, start in parsed:
                # Codes carry whole seconds: a window starting mid-second would refuse a code
                # issued in the second of registration.
                self._insert_key(conn, region, key, start.replace(microsecond=0), now, version)
            uow.commit()
        result: dict[str, Any] = {"region": region, "version": version}
        if token:
            result["credential"] = token
        return result

    def add_key(
        self,
        caller: Caller,
        region: str,
        *,
        public_key: str,
        not_before: datetime | None,
        proof: str | None,
        proof_kid: str | None,
    ) -> dict[str, Any]:
        """POST /v1/issuers/{region}/keys: an issuer rotates (proved by a current key)."""
        self._require_region(caller, region)
        now = self.clock()
        start = (not_before or now).replace(microsecond=0)
        key = _parse_key(public_key, "public_key")
        with self.db.uow() as uow:
            conn = uow.conn
            if (
                conn.execute(select(issuers.c.region).where(issuers.c.region == region)).first()
                is None
            ):
                raise NotFound(f"issuer {region} is not registered")
            if caller.role != "admin":
                self._check_proof(conn, region, public_key, start, proof, proof_kid, now)
            version = next_value(conn, "trust")
            self._insert_key(conn, region, key, start, now, version)
            uow.commit()
        return {"region": region, "kid": key.kid.hex(), "not_before": start, "version": version}

    def revoke_key(self, caller: Caller, region: str, kid_hex: str) -> dict[str, Any]:
        """DELETE /v1/issuers/{region}/keys/{kid}: the kid fails from the next refresh on."""
        self._require_region(caller, region)
        try:
            kid = bytes.fromhex(kid_hex)
        except ValueError:
            raise InvalidInput("kid must be hex", field="kid") from None
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            row = conn.execute(
                select(issuer_keys.c.revoked_at).where(
                    issuer_keys.c.kid == kid, issuer_keys.c.region == region
                )
            ).first()
            if row is None:
                raise NotFound(f"issuer {region} has no key {kid_hex}")
            if row.revoked_at is not None:
                raise Conflict(f"key {kid_hex} is already revoked")
            version = next_value(conn, "trust")
            conn.execute(
                update(issuer_keys)
                .where(issuer_keys.c.kid == kid)
                .values(revoked_at=now, version=version)
            )
            uow.commit()
        return {"region": region, "kid": kid_hex, "revoked_at": now, "version": version}

    def ensure_national(self, now: datetime) -> None:
        """The hub itself is the issuer of national codes (``iss`` 000000)."""
        with self.db.uow() as uow:
            conn = uow.conn
            if conn.execute(select(issuers.c.region).where(issuers.c.region == NATIONAL)).first():
                return
            conn.execute(
                insert(issuers).values(
                    region=NATIONAL,
                    name="全国一体化政务服务平台",
                    kind="national",
                    endpoint=None,
                    legacy_prefix=None,
                    status="active",
                    version=next_value(conn, "trust"),
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.commit()

    def publish_own_keys(self, regions: Sequence[str]) -> None:
        """Put the hub's own keys (national, hosted regions) into the registry it serves."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            known = {r.kid for r in conn.execute(select(issuer_keys.c.kid)).all()}
            for info in keystore.list_keys(conn):
                if info.region not in regions:
                    continue
                if info.kid in known:
                    row = conn.execute(
                        select(issuer_keys.c.not_after, issuer_keys.c.revoked_at).where(
                            issuer_keys.c.kid == info.kid
                        )
                    ).one()
                    if (row.not_after, row.revoked_at) == (info.not_after, info.revoked_at):
                        continue
                    version = next_value(conn, "trust")
                    conn.execute(
                        update(issuer_keys)
                        .where(issuer_keys.c.kid == info.kid)
                        .values(
                            not_after=info.not_after, revoked_at=info.revoked_at, version=version
                        )
                    )
                    continue
                version = next_value(conn, "trust")
                conn.execute(
                    insert(issuer_keys).values(
                        kid=info.kid,
                        region=info.region,
                        alg=info.alg.value,
                        public_der=info.public_der,
                        not_before=info.not_before,
                        not_after=info.not_after,
                        revoked_at=info.revoked_at,
                        version=version,
                        created_at=now,
                    )
                )
            uow.commit()

    # ------------------------------------------------------------------- reads
    def version(self) -> int:
        """The trust list's current version (after publishing the hub's own new keys)."""
        self.publish_own_keys((NATIONAL,))
        with self.db.read() as conn:
            return current_value(conn, "trust")

    def trust_list(self, since: int = 0) -> tuple[int, dict[str, Any]]:
        """(version, signed document) of everything changed after ``since`` (0: everything)."""
        # The hub's own keys (a rotation announced ahead of use) enter the list they sign.
        self.publish_own_keys((NATIONAL,))
        with self.db.read() as conn:
            version = current_value(conn, "trust")
            issuer_rows = conn.execute(
                select(issuers).where(issuers.c.version > since).order_by(issuers.c.region)
            ).all()
            key_rows = conn.execute(
                select(issuer_keys)
                .where(issuer_keys.c.version > since)
                .order_by(issuer_keys.c.version)
            ).all()
        payload = {
            "type": "trust-list",
            "version": version,
            "since": since,
            "issued_at": self.clock().isoformat(),
            "issuers": [
                {
                    "region": r.region,
                    "name": r.name,
                    "kind": r.kind,
                    "endpoint": r.endpoint,
                    "legacy_prefix": r.legacy_prefix,
                    "status": r.status,
                    "version": r.version,
                }
                for r in issuer_rows
            ],
            "keys": [
                {
                    "kid": k.kid.hex(),
                    "region": k.region,
                    "alg": k.alg,
                    "public_key": base64.b64encode(k.public_der).decode("ascii"),
                    "not_before": _iso(k.not_before),
                    "not_after": _iso(k.not_after),
                    "revoked_at": _iso(k.revoked_at),
                    "version": k.version,
                }
                for k in key_rows
            ],
        }
        return version, sign_document(payload, self._signing_key())

    def keyring(self) -> Keyring:
        """Every registered key, parsed once per trust-list version (Mode 2's verify path)."""
        with self.db.read() as conn:
            version = current_value(conn, "trust")
            cached = self._keyring
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = conn.execute(
                select(issuer_keys)
                .join(issuers, issuers.c.region == issuer_keys.c.region)
                .where(issuers.c.status == "active")  # a suspended issuer's codes fail
            ).all()
        ring = Keyring(
            TrustedKey(
                kid=r.kid,
                issuer=r.region,
                key=load_verifying_key(r.public_der),
                not_before=r.not_before,
                not_after=r.not_after,
                revoked_at=r.revoked_at,
            )
            for r in rows
        )
        with self._lock:
            self._keyring = (version, ring)
        return ring

    def issuer(self, region: str) -> Any:
        with self.db.read() as conn:
            row = conn.execute(select(issuers).where(issuers.c.region == region)).first()
        if row is None:
            raise NotFound(f"issuer {region} is not registered")
        return row

    def issuers_by_kind(self, kind: str) -> list[Any]:
        with self.db.read() as conn:
            return list(conn.execute(select(issuers).where(issuers.c.kind == kind)).all())

    def outbound_token(self, row: Any) -> str | None:
        if row.enc_outbound is None:
            return None
        return self.cipher.decrypt(row.enc_outbound, aad=row.region.encode())

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _require_region(caller: Caller, region: str) -> None:
        if caller.role == "admin":
            return
        require_role(caller, "node")
        if caller.scope != region:
            raise Forbidden(f"this credential may act only for region {caller.scope}")

    @staticmethod
    def _insert_key(
        conn: Connection,
        region: str,
        key: VerifyingKey,
        start: datetime,
        now: datetime,
        version: int,
    ) -> None:
        if conn.execute(select(issuer_keys.c.kid).where(issuer_keys.c.kid == key.kid)).first():
            raise Conflict(f"key {key.kid.hex()} is registered already")
        conn.execute(
            insert(issuer_keys).values(
                kid=key.kid,
                region=region,
                alg=key.alg.value,
                public_der=key.spki_der(),
                not_before=start,
                not_after=None,
                revoked_at=None,
                version=version,
                created_at=now,
            )
        )

    @staticmethod
    def _check_proof(
        conn: Connection,
        region: str,
        public_key: str,
        start: datetime,
        proof: str | None,
        proof_kid: str | None,
        now: datetime,
    ) -> None:
        if not proof or not proof_kid:
            raise Forbidden("a new key must be proved with a signature by a current key")
        try:
            kid = bytes.fromhex(proof_kid)
            signature = base64.urlsafe_b64decode(proof + "=" * (-len(proof) % 4))
        except ValueError:
            raise InvalidInput(
                "proof and proof_kid must be base64url and hex", field="proof"
            ) from None
        row = conn.execute(
            select(issuer_keys).where(issuer_keys.c.kid == kid, issuer_keys.c.region == region)
        ).first()
        active = (
            row is not None
            and row.revoked_at is None
            and row.not_before <= now
            and (row.not_after is None or row.not_after > now)
        )
        if not active or row is None:
            raise Forbidden("the proving key is not a current key of this issuer")
        try:
            load_verifying_key(row.public_der).verify(
                signature, rotation_message(region, public_key, start.isoformat())
            )
        except BadSignature:
            raise Forbidden("the proof signature does not verify") from None
