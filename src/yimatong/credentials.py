"""Who is calling: citizens' sessions and staff/machine credentials, and role checks.

Two kinds of bearer token, told apart by prefix so a lookup touches one table:

- ``ymt_s_…`` a citizen's session, made by signing in with phone + one-time code;
- ``ymt_c_…`` a scoped credential for staff, checkpoints, the health authority, labs,
  other nodes and the node's administrator, made with ``yimatong creds add``.

Only a SHA-256 of a token is stored. Credential lookups are cached for a few seconds on the
hot path (every 验码 carries one); revocation takes effect within that time.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from random import Random

from sqlalchemy import Connection, insert, select, update

from yimatong.adapters.db.tables import credentials
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = [
    "CREDENTIAL_ROLES",
    "Caller",
    "CredentialCache",
    "add_credential",
    "hash_token",
    "new_token",
    "require_role",
    "revoke_credential",
]

#: roles a credential may carry; "citizen" is only ever a session. "department": at the hub a
#: department that feeds records (docs/travel.md; scope: its id), at a road node a department
#: that reads findings (docs/road.md; scope: traffic_police, transport, municipal); "team": a
#: road node's maintenance team (scope: its team id).
CREDENTIAL_ROLES = (
    "admin",
    "staff",
    "checkpoint",
    "authority",
    "lab",
    "node",
    "department",
    "team",
)


@dataclass(frozen=True, slots=True)
class Caller:
    role: str  # citizen | admin | staff | checkpoint | authority | lab | node | department | team
    name: str  # credential name, or "account:<id>" for a citizen
    account_id: int | None = None
    #: a region (nodes, authorities), a lab's or a department's id; None: unrestricted
    scope: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "admin", "authority")


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token(kind: str, rng: Random) -> str:
    """A bearer token with 256 random bits from ``rng`` (a SystemRandom outside tests)."""
    raw = rng.getrandbits(256).to_bytes(32, "big")
    return f"ymt_{kind}_" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def add_credential(
    conn: Connection,
    *,
    name: str,
    role: str,
    now: datetime,
    rng: Random,
    scope: str | None = None,
) -> str:
    if role not in CREDENTIAL_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(CREDENTIAL_ROLES)}", field="role")
    if not name or len(name) > 100:
        raise InvalidInput("name must be 1 to 100 characters", field="name")
    if conn.execute(select(credentials.c.name).where(credentials.c.name == name)).first():
        raise Conflict(f"a credential named {name!r} exists already")
    token = new_token("c", rng)
    conn.execute(
        insert(credentials).values(
            token_hash=hash_token(token),
            name=name,
            role=role,
            scope=scope,
            created_at=now,
            revoked_at=None,
        )
    )
    return token


def revoke_credential(conn: Connection, *, name: str, now: datetime) -> None:
    done = conn.execute(
        update(credentials)
        .where(credentials.c.name == name, credentials.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if done.rowcount == 0:
        raise NotFound(f"no active credential named {name!r}")


class CredentialCache:
    """Token hash → Caller for credentials, kept ``ttl`` seconds (misses are not cached)."""

    def __init__(self, ttl: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[bytes, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def peek(self, token_hash: bytes) -> Caller | None:
        """The caller while its entry is fresh; None otherwise (no database, never blocks)."""
        hit = self._entries.get(token_hash)
        if hit is not None and hit[0] > self._monotonic():
            return hit[1]
        return None

    def lookup(
        self, conn_factory: Callable[[], AbstractContextManager[Connection]], token_hash: bytes
    ) -> Caller | None:
        now = self._monotonic()
        hit = self._entries.get(token_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        with conn_factory() as conn:
            row = conn.execute(
                select(credentials.c.name, credentials.c.role, credentials.c.scope).where(
                    credentials.c.token_hash == token_hash, credentials.c.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        caller = Caller(role=row.role, name=row.name, scope=row.scope)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token_hash] = (now + self.ttl, caller)
        return caller
