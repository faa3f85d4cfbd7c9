"""What every part of the hub is built from: one object, made once in ``hub.app.build_hub``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Any

import httpx

from yimatong.adapters import keystore
from yimatong.adapters.crypto import FieldCipher, SigningKey, VerifyingKey, load_verifying_key
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.limits import Limiter
from yimatong.adapters.db.tallies import TallyBuffer
from yimatong.config import Settings
from yimatong.domain.errors import Unavailable
from yimatong.hub.registry import NATIONAL, Registry
from yimatong.hub.translog import HubLog

__all__ = ["HubContext"]


@dataclass
class HubContext:
    settings: Settings
    db: Database
    cipher: FieldCipher
    clock: Callable[[], datetime]
    rng: Random
    federation_secret: bytes
    #: regions this hub hosts in Mode 3 (each an issuer service under /regions/{region})
    hosted: tuple[str, ...] = ()
    #: Mode 3: each hosted region, reached in-process (hub/hosting.py HostedIssuer)
    hosted_services: dict[str, Any] = field(default_factory=dict)
    #: Mode 2: the HTTP client to use for an issuer's endpoint; None means a pooled httpx
    #: client with a short timeout. Tests hand in Starlette TestClients of in-process issuers.
    clients: Callable[[str], httpx.Client] | None = None
    #: Mode 2 seam for entry policies (see docs/modes.md): called with the verification
    #: result; what it returns is answered under "decision". None: no decision is made.
    decider: Callable[..., Any] | None = None
    registry: Registry = field(init=False)
    #: per-client limits (look-ups, conversions, refused tokens), counted in the hub's database
    limits: Limiter = field(init=False)
    #: Mode 2 calls counted in memory for the dashboards, written every few seconds
    tallies: TallyBuffer = field(init=False)
    #: the transparency log: its signed tree heads, entries and proofs
    translog: HubLog = field(init=False)
    _keys: keystore.SigningKeyCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = keystore.SigningKeyCache(self.cipher)
        self.limits = Limiter(self.db, self.clock, self.settings.limits)
        self.tallies = TallyBuffer(self.db, self.clock)
        self.translog = HubLog(self.db, self.clock, self.hub_key, self._issuer_log_keys)
        self.registry = Registry(
            db=self.db,
            cipher=self.cipher,
            clock=self.clock,
            rng=self.rng,
            signing_key=self.hub_key,
        )

    def _issuer_log_keys(self, region: str) -> dict[bytes, VerifyingKey]:
        """The keys that may sign the heads of ``region``'s own log: its unrevoked keys."""
        return {
            kid: load_verifying_key(row.public_der)
            for kid, row in self.registry.region_keys(region).items()
            if row.revoked_at is None
        }

    def hub_key(self) -> SigningKey:
        """The hub's key: signs the lists it serves and national (converted) codes."""
        return self.signing_key(NATIONAL)

    def signing_key(self, region: str) -> SigningKey:
        """The active key of ``region`` (the nation, or a hosted region), parsed once per kid."""
        with self.db.read() as conn:
            key = self._keys.get(conn, region=region, now=self.clock())
        if key is None:
            raise Unavailable(f"the hub has no active signing key for {region}")
        return key
