"""The issuer registry and the trust list (the hub's part of mutual recognition).

Every issuer is registered with its region, kind, endpoint and public keys. The trust list is
the signed, versioned view of that registry which every verifier caches: each change takes the
next ``trust`` version, so ``GET /v1/trust-list?since=N`` returns exactly what changed.

Who may change what:

- Region ``000000`` is the hub's own: no registration and no key route touches it; its keys
  come only from the hub's keystore (``publish_own_keys``).
- A key enters the registry only with a **proof of possession**: a signature by that key over
  the possession message of ``adapters.messages`` (region, key, start). An issuer that has a
  current key (active now) gets a new one only by **rotation**: the new key's proof plus a
  signature by a current key over the rotation message. The admin is no exception; only when
  an issuer has no current key (the first keys, or after every key was revoked) may the hub
  admin give it keys on possession alone.
- Revocation takes effect in the next trust version; the hub's own signers that use the key
  (hosted regions, Mode 3) hear of it at once through ``on_revoke``. Mode 2 verifies against
  :meth:`Registry.keyring`, which looks at the trust version at most every ``KEYRING_TTL``
  seconds: a change made through this process is seen at its next verify, one made by
  another worker or process within ``KEYRING_TTL``.

Every change (issuer registered or updated, key added, rotated, retired or revoked) is
appended to ``registry_changes`` with who made it: the credential's name and role (``hub`` for
the hub itself), when, and what; and, in the same transaction, to the public transparency log
(``hub/translog.py``), there with the credential's role and scope only.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from random import Random
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from yimatong.adapters import keystore
from yimatong.adapters.crypto import (
    BadSignature,
    FieldCipher,
    SigningKey,
    VerifyingKey,
    load_verifying_key,
)
from yimatong.adapters.db.counters import current_value, next_value
from yimatong.adapters.db.database import Database, UnitOfWork
from yimatong.adapters.db.tables import issuer_keys, issuers, registry_changes
from yimatong.adapters.messages import (
    ProvedKey,
    decode_signature,
    possession_message,
    public_key_b64,
    rotation_message,
)
from yimatong.adapters.signed import sign_document
from yimatong.adapters.wire.code import Keyring, TrustedKey
from yimatong.credentials import Caller, add_credential
from yimatong.domain.edge import is_digits
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, YimatongError
from yimatong.hub import translog

__all__ = [
    "HUB_KEYSTORE",
    "ISSUER_KINDS",
    "KEYRING_TTL",
    "MAX_CHANGES_PAGE",
    "NATIONAL",
    "Registry",
]

log = logging.getLogger("yimatong.hub")

#: The hub's own issuer code: national codes (Mode 2 conversions) carry it as ``iss``.
NATIONAL = "000000"
ISSUER_KINDS = ("native", "legacy", "hosted", "national")
MAX_CHANGES_PAGE = 1000
#: Seconds Mode 2 verifies against its keyring before it reads the trust version again: the
#: bound within which a key revoked (or an issuer suspended) by another hub worker or process
#: stops verifying here. A change made through this process's registry is seen at once.
KEYRING_TTL = 1.0

#: The hub publishing its own keystore's keys (role ``hub``: no credential can carry it).
HUB_KEYSTORE = Caller(role="hub", name="hub:keystore")

#: Told (region, kid) after a revocation is committed.
RevocationListener = Callable[[str, bytes], None]


def _parse_key(b64: str, field: str) -> VerifyingKey:
    try:
        return load_verifying_key(base64.b64decode(b64, validate=True))
    except (ValueError, TypeError):
        raise InvalidInput(
            "public_key must be a base64 DER SubjectPublicKeyInfo", field=field
        ) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _not_reserved(region: str) -> None:
    if region == NATIONAL:
        raise Forbidden(
            f"region {NATIONAL} is the hub's own: its keys come only from the hub's keystore"
        )


def _require_admin(caller: Caller) -> None:
    if caller.role not in ("admin", "hub"):
        raise Forbidden("this needs the hub administrator")


def _check_possession(
    region: str, key: VerifyingKey, start: datetime, possession: str, field: str
) -> None:
    """The new key signed the possession message for this region and start."""
    try:
        signature = decode_signature(possession)
        key.verify(signature, possession_message(region, public_key_b64(key), start))
    except (ValueError, BadSignature):
        raise Forbidden(
            "the proof of possession does not verify: the new key must sign the possession "
            "message for this region and not_before",
            field=field,
        ) from None


class Registry:
    def __init__(
        self,
        *,
        db: Database,
        cipher: FieldCipher,
        clock: Callable[[], datetime],
        rng: Random,
        signing_key: Callable[[], SigningKey],
        monotonic: Callable[[], float] = time.monotonic,
        keyring_ttl: float = KEYRING_TTL,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.rng = rng
        self._signing_key = signing_key
        self._monotonic = monotonic
        self._keyring_ttl = keyring_ttl
        self._lock = threading.Lock()
        self._keyring: tuple[int, Keyring] | None = None
        #: when the trust version was last read (monotonic), None: read it at the next verify
        self._keyring_checked: float | None = None
        #: moves with every change made here, so a version read before it is not trusted after
        self._changes = 0
        self._revocation_listeners: list[RevocationListener] = []

    def on_revoke(self, listener: RevocationListener) -> None:
        """Call ``listener(region, kid)`` right after each revocation is committed.

        The hub's hosted regions listen, so that their signer leaves a revoked key at once.
        """
        self._revocation_listeners.append(listener)

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
        keys: Sequence[ProvedKey] = (),
        outbound_token: str | None = None,
    ) -> dict[str, Any]:
        """Register (or update) an issuer; returns its node credential the first time.

        ``keys`` each carry their start (an issuer that ran on its own before joining keeps
        its earlier printed codes valid), optionally their end, and a proof of possession. An
        issuer that has a current key takes no keys here: a new key is then a rotation.
        """
        _require_admin(caller)
        if not is_digits(region, 6):
            raise InvalidInput("region must be a six-digit code", field="region")
        _not_reserved(region)
        if kind not in ISSUER_KINDS or kind == "national":
            kinds = ", ".join(k for k in ISSUER_KINDS if k != "national")
            raise InvalidInput(f"kind must be one of {kinds}", field="kind")
        if kind == "legacy" and not legacy_prefix:
            raise InvalidInput(
                "a legacy issuer needs the prefix of its codes", field="legacy_prefix"
            )
        now = self.clock()
        parsed = []
        for i, entry in enumerate(keys):
            field = f"keys[{i}]"
            key = _parse_key(entry.public_key, field)
            start = entry.not_before.replace(microsecond=0)
            if start > now:
                raise InvalidInput("a key cannot start in the future", field=field)
            if entry.not_after is not None and entry.not_after <= start:
                raise InvalidInput("a key's not_after must follow its not_before", field=field)
            _check_possession(region, key, start, entry.possession, field)
            parsed.append((key, start, entry.not_after))
        token = None
        with self._change() as uow:
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
                if kind != "hosted":
                    token = add_credential(
                        conn,
                        name=f"issuer-{region}",
                        role="node",
                        now=now,
                        rng=self.rng,
                        scope=region,
                    )
            self._record(
                conn,
                caller,
                "issuer.updated" if exists else "issuer.registered",
                region,
                version,
                now,
                name=name,
                kind=kind,
                endpoint=endpoint,
                legacy_prefix=legacy_prefix,
                status="active",
                outbound_token="set" if outbound_token else "kept" if exists else None,
            )
            if parsed and self._current_keys(conn, region, now):
                raise Forbidden(
                    f"issuer {region} has a current key: a new key is a rotation "
                    f"(POST /v1/issuers/{region}/keys, proved by a current key)",
                    field="keys",
                )
            for key, start, end in parsed:
                self._insert_key(conn, region, key, start, now, version, not_after=end)
                self._record(
                    conn,
                    caller,
                    "key.added",
                    region,
                    version,
                    now,
                    kid=key.kid,
                    alg=key.alg.value,
                    not_before=_iso(start),
                    not_after=_iso(end),
                )
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
        not_before: datetime,
        possession: str,
        proof: str | None = None,
        proof_kid: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/issuers/{region}/keys: a key proved by itself and, to rotate, a current key.

        With a current key the new key is a rotation, which needs ``proof`` by that key
        (``proof_kid``); whoever asks, the admin included. Without one (the first key, or every
        key revoked) only the hub administrator may add it, on its proof of possession.
        """
        _not_reserved(region)
        self._require_region(caller, region)
        now = self.clock()
        start = not_before.replace(microsecond=0)
        key = _parse_key(public_key, "public_key")
        _check_possession(region, key, start, possession, "possession")
        with self._change() as uow:
            conn = uow.conn
            if (
                conn.execute(select(issuers.c.region).where(issuers.c.region == region)).first()
                is None
            ):
                raise NotFound(f"issuer {region} is not registered")
            current = self._current_keys(conn, region, now)
            detail: dict[str, Any] = {"alg": key.alg.value, "not_before": _iso(start)}
            if current:
                prover = self._check_rotation(current, region, key, start, proof, proof_kid)
                action, detail["proved_by"] = "key.rotated", prover.hex()
            elif caller.role in ("admin", "hub"):
                action = "key.added"
            else:
                raise Forbidden(
                    f"issuer {region} has no current key: only the hub administrator can give "
                    "it one, with the key's proof of possession"
                )
            version = next_value(conn, "trust")
            self._insert_key(conn, region, key, start, now, version)
            self._record(conn, caller, action, region, version, now, kid=key.kid, **detail)
            uow.commit()
        return {"region": region, "kid": key.kid.hex(), "not_before": start, "version": version}

    def revoke_key(
        self,
        caller: Caller,
        region: str,
        kid_hex: str,
        *,
        at: datetime | None = None,
        announce: bool = True,
    ) -> dict[str, Any]:
        """DELETE /v1/issuers/{region}/keys/{kid}: the kid fails from the next trust version.

        The hub's own signers hear of it at once (``on_revoke``), unless ``announce`` is
        False: the hosted keystore publishing a revocation it made itself. ``at`` (the hub
        only) carries the time a keystore revoked the key, never later than now.
        """
        _not_reserved(region)
        self._require_region(caller, region)
        try:
            kid = bytes.fromhex(kid_hex)
        except ValueError:
            raise InvalidInput("kid must be hex", field="kid") from None
        now = self.clock()
        when = min(at, now) if at is not None and caller.role == "hub" else now
        with self._change() as uow:
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
                .values(revoked_at=when, version=version)
            )
            self._record(
                conn, caller, "key.revoked", region, version, now, kid=kid, revoked_at=_iso(when)
            )
            uow.commit()
        if announce:
            self._announce_revocation(region, kid)
        return {"region": region, "kid": kid_hex, "revoked_at": when, "version": version}

    def retire_key(
        self, caller: Caller, region: str, kid: bytes, not_after: datetime
    ) -> dict[str, Any] | None:
        """End a published key's window earlier (a keystore rotated); None if nothing changed.

        For the hub's own keystores (hosted regions); an issuer's rotation is ``add_key``.
        """
        if caller.role != "hub":
            raise Forbidden("only the hub retires keys from its own keystores")
        now = self.clock()
        with self._change() as uow:
            conn = uow.conn
            row = conn.execute(
                select(issuer_keys.c.not_after).where(
                    issuer_keys.c.kid == kid, issuer_keys.c.region == region
                )
            ).first()
            if row is None:
                raise NotFound(f"issuer {region} has no key {kid.hex()}")
            if row.not_after is not None and row.not_after <= not_after:
                return None
            version = next_value(conn, "trust")
            conn.execute(
                update(issuer_keys)
                .where(issuer_keys.c.kid == kid)
                .values(not_after=not_after, version=version)
            )
            self._record(
                conn,
                caller,
                "key.retired",
                region,
                version,
                now,
                kid=kid,
                not_after=_iso(not_after),
            )
            uow.commit()
        return {"region": region, "kid": kid.hex(), "not_after": not_after, "version": version}

    def ensure_national(self, now: datetime) -> None:
        """The hub itself is the issuer of national codes (``iss`` 000000)."""
        with self._change() as uow:
            conn = uow.conn
            if conn.execute(select(issuers.c.region).where(issuers.c.region == NATIONAL)).first():
                return
            version = next_value(conn, "trust")
            name = "全国一体化政务服务平台"
            conn.execute(
                insert(issuers).values(
                    region=NATIONAL,
                    name=name,
                    kind="national",
                    endpoint=None,
                    legacy_prefix=None,
                    status="active",
                    version=version,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._record(
                conn,
                HUB_KEYSTORE,
                "issuer.registered",
                NATIONAL,
                version,
                now,
                name=name,
                kind="national",
                status="active",
            )
            uow.commit()

    def publish_own_keys(self, regions: Sequence[str]) -> None:
        """Put the hub's own keys (national, hosted regions) into the registry it serves."""
        now = self.clock()
        # Called for every trust-list read: the keyring is read again only if it changed.
        with self.db.uow() as uow:
            conn = uow.conn
            known = {r.kid for r in conn.execute(select(issuer_keys.c.kid)).all()}
            changed = False
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
                    if row.revoked_at != info.revoked_at:
                        action, detail = "key.revoked", {"revoked_at": _iso(info.revoked_at)}
                    else:
                        action, detail = "key.retired", {"not_after": _iso(info.not_after)}
                    self._record(
                        conn,
                        HUB_KEYSTORE,
                        action,
                        info.region,
                        version,
                        now,
                        kid=info.kid,
                        **detail,
                    )
                    changed = True
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
                self._record(
                    conn,
                    HUB_KEYSTORE,
                    "key.added",
                    info.region,
                    version,
                    now,
                    kid=info.kid,
                    alg=info.alg.value,
                    not_before=_iso(info.not_before),
                    not_after=_iso(info.not_after),
                    revoked_at=_iso(info.revoked_at),
                )
                changed = True
            if changed:
                uow.commit()
        if changed:
            self._changed()

    @contextmanager
    def _change(self) -> Iterator[UnitOfWork]:
        """A transaction that moves the trust version: the keyring is read again after it."""
        try:
            with self.db.uow() as uow:
                yield uow
        finally:
            self._changed()

    def _changed(self) -> None:
        with self._lock:
            self._changes += 1
            self._keyring_checked = None

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
            # Nothing is newer than the current version; and a signed number stays within
            # what JCS (RFC 8785) can write, whatever cursor a client sends.
            since = min(since, version)
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

    def cached_keyring(self) -> Keyring | None:
        """The keyring if its trust version was read less than ``KEYRING_TTL`` ago, else None.

        No database work: the event loop may call it (Mode 2's verify route).
        """
        checked, cached = self._keyring_checked, self._keyring
        if checked is None or cached is None or self._monotonic() - checked >= self._keyring_ttl:
            return None
        return cached[1]

    def keyring(self) -> Keyring:
        """Every registered key, parsed once per trust-list version (Mode 2's verify path).

        The trust version is read at most every ``KEYRING_TTL`` seconds (and at once after a
        change made through this registry), so a verify costs no database round trip.
        """
        ring = self.cached_keyring()
        if ring is not None:
            return ring
        tick = self._monotonic()
        changes = self._changes
        with self.db.read() as conn:
            version = current_value(conn, "trust")
            cached = self._keyring
            if cached is not None and cached[0] == version:
                ring = cached[1]
            else:
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
            current = self._keyring
            if current is None or current[0] <= version:
                self._keyring = (version, ring)
            if changes == self._changes:  # no change of ours committed while we read
                self._keyring_checked = tick
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

    def region_keys(self, region: str) -> dict[bytes, Any]:
        """The published keys of ``region`` by kid (rows of ``issuer_keys``)."""
        with self.db.read() as conn:
            rows = conn.execute(select(issuer_keys).where(issuer_keys.c.region == region)).all()
        return {bytes(r.kid): r for r in rows}

    def changes(self, caller: Caller, since: int = 0, limit: int = 100) -> dict[str, Any]:
        """GET /v1/registry/changes: the registry's change log after ``since``, oldest first."""
        _require_admin(caller)
        if not 1 <= limit <= MAX_CHANGES_PAGE:
            raise InvalidInput(f"limit must be 1 to {MAX_CHANGES_PAGE}", field="limit")
        with self.db.read() as conn:
            rows = conn.execute(
                select(registry_changes)
                .where(registry_changes.c.id > since)
                .order_by(registry_changes.c.id)
                .limit(limit + 1)
            ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [
                {
                    "id": r.id,
                    "at": r.at,
                    "actor": r.actor,
                    "actor_role": r.actor_role,
                    "action": r.action,
                    "region": r.region,
                    "kid": r.kid.hex() if r.kid is not None else None,
                    "trust_version": r.trust_version,
                    "detail": r.detail,
                }
                for r in rows
            ],
            "next": rows[-1].id if rows else since,
            "more": more,
        }

    def latest_changes(self, caller: Caller, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` changes, newest first (the admin page; the API pages forward)."""
        _require_admin(caller)
        with self.db.read() as conn:
            top = conn.execute(select(func.max(registry_changes.c.id))).scalar() or 0
        items: list[dict[str, Any]] = self.changes(caller, max(0, int(top) - limit), limit)["items"]
        return items[::-1]

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _require_region(caller: Caller, region: str) -> None:
        if caller.role in ("admin", "hub"):
            return
        if caller.role != "node":
            raise Forbidden("this needs the hub administrator or the issuer's node credential")
        if caller.scope != region:
            raise Forbidden(f"this credential may act only for region {caller.scope}")

    @staticmethod
    def _record(
        conn: Connection,
        caller: Caller,
        action: str,
        region: str,
        version: int,
        now: datetime,
        *,
        kid: bytes | None = None,
        **detail: Any,
    ) -> None:
        """Append one change to ``registry_changes`` (never a name, ID number or secret) and
        to the transparency log (who by role and scope, not by credential name)."""
        detail = {k: v for k, v in detail.items() if v is not None}
        conn.execute(
            insert(registry_changes).values(
                at=now,
                actor=caller.name[:100],
                actor_role=caller.role[:20],
                action=action,
                region=region,
                kid=kid,
                trust_version=version,
                detail=detail,
            )
        )
        translog.append(
            conn,
            action,
            now,
            by=translog.actor(caller),
            region=region,
            kid=kid.hex() if kid is not None else None,
            trust_version=version,
            detail=detail,
        )

    def _announce_revocation(self, region: str, kid: bytes) -> None:
        for listener in self._revocation_listeners:
            try:
                listener(region, kid)
            except (YimatongError, SQLAlchemyError, OSError) as exc:
                # The revocation stands; the listener's own loop retries (hosted: next sync).
                log.error(
                    "revocation of %s (%s) not yet applied by a signer: %s",
                    kid.hex(),
                    region,
                    type(exc).__name__,
                )

    @staticmethod
    def _current_keys(conn: Connection, region: str, now: datetime) -> dict[bytes, Any]:
        """The keys of ``region`` that are active now: the ones that may prove a rotation."""
        rows = conn.execute(
            select(issuer_keys).where(
                issuer_keys.c.region == region, issuer_keys.c.revoked_at.is_(None)
            )
        ).all()
        return {
            bytes(r.kid): r
            for r in rows
            if r.not_before <= now and (r.not_after is None or r.not_after > now)
        }

    @staticmethod
    def _check_rotation(
        current: Mapping[bytes, Any],
        region: str,
        key: VerifyingKey,
        start: datetime,
        proof: str | None,
        proof_kid: str | None,
    ) -> bytes:
        """A current key of the issuer signed the rotation message; its kid."""
        if not proof or not proof_kid:
            raise Forbidden(
                "a new key must be proved with a signature by a current key (proof, proof_kid)"
            )
        try:
            kid = bytes.fromhex(proof_kid)
            signature = decode_signature(proof)
        except ValueError:
            raise InvalidInput(
                "proof and proof_kid must be base64url and hex", field="proof"
            ) from None
        row = current.get(kid)
        if row is None:
            raise Forbidden("the proving key is not a current key of this issuer")
        try:
            load_verifying_key(row.public_der).verify(
                signature, rotation_message(region, public_key_b64(key), start)
            )
        except BadSignature:
            raise Forbidden("the proof signature does not verify") from None
        return kid

    @staticmethod
    def _insert_key(
        conn: Connection,
        region: str,
        key: VerifyingKey,
        start: datetime,
        now: datetime,
        version: int,
        *,
        not_after: datetime | None = None,
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
                not_after=not_after,
                revoked_at=None,
                version=version,
                created_at=now,
            )
        )
