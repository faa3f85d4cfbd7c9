"""Mode 3: the hub runs the issuer service for regions that have no system of their own.

Each hosted region is a complete issuer node (``yimatong.bootstrap.build_issuer``) with its own
rules, accounts, data and signing keys, served by the hub's process under
``/regions/{region}``: the same paths as any issuer (DESIGN §6.1), its own ``/openapi.json``
and ``/docs``, its own sign-in (citizens hold accounts of that region, not of the hub).

Why a whole node and not rows in the hub's tables: every table is per node (one schema for
every role), so a region's data stays separable — it can be handed over, exported or purged
when the region builds its own system, and nothing of one hosted region leaks into another.

Storage. With SQLite each hosted region gets ``hosted-{region}.db`` in the hub's state
directory. With PostgreSQL the hub's URL cannot be shared (the tables are not per region), so
each hosted region needs ``YMT_HOSTED_DB_{region}`` (carried in ``Settings.extra``); without it
the hub refuses to start and says which variable is missing.

Trust. The hosted node keeps its signing keys in its own database; at start-up the hub
registers the region as an issuer of kind ``hosted`` and publishes its public keys in the trust
list (through the registry's own rules: each key proved by itself and, once the region has a
current key, by that key too — the hub holds both), so its codes verify at every checkpoint.
``sync_keys`` does that publishing; it runs at start, in every round of the region's hub link,
when a code with an unknown kid of the region reaches Mode 2 verify (a key made with
``yimatong keys new --db <hosted db> --region R``), and **at once after every revocation of one
of the region's keys at the hub** (``DELETE /v1/issuers/{R}/keys/{kid}``, by the admin or the
node): the revocation is written into the hosted keystore, the hosted signer moves to its next
key — a fresh one if none is ready — and that key is published before the request returns, so
the next code verifies everywhere. Other workers' signers follow at their next code (they read
the active kid from the shared database); a file lock keeps two workers from both making a key.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from yimatong.adapters import keystore
from yimatong.adapters.crypto import VerifyingKey
from yimatong.adapters.db.tables import issuers
from yimatong.adapters.messages import prove_key, prove_rotation
from yimatong.adapters.sms import SmsGateway
from yimatong.bootstrap import Node, build_issuer, ensure_signing_key
from yimatong.config import ConfigError, Settings
from yimatong.credentials import Caller
from yimatong.domain.errors import Conflict
from yimatong.domain.regions import default_divisions
from yimatong.hub.context import HubContext
from yimatong.issuer.services import IssuerService

__all__ = [
    "HOSTED_DB_ENV",
    "HostedIssuer",
    "HostedRegions",
    "hosted_db_url",
    "hosted_settings",
]

log = logging.getLogger("yimatong.hub")

#: ``YMT_HOSTED_DB_540000=postgresql://…``: the database of one hosted region.
HOSTED_DB_ENV = "YMT_HOSTED_DB_{region}"

#: The hub acting for the regions it hosts (role ``hub``: no credential can carry it).
_HUB_ITSELF = Caller(role="hub", name="hub:hosting")


def hosted_db_url(hub: Settings, region: str) -> str:
    """Where a hosted region's data lives: explicit env, else a SQLite file beside the hub's."""
    explicit = hub.extra.get(HOSTED_DB_ENV.format(region=region))
    if explicit:
        return explicit
    if hub.db_url and not hub.db_url.startswith("sqlite"):
        key = HOSTED_DB_ENV.format(region=region)
        raise ConfigError(
            f"{key} must name the database of hosted region {region}: on PostgreSQL a hosted "
            "region cannot share the hub's database (every table is per node)"
        )
    return f"sqlite:///{hub.state_dir / f'hosted-{region}.db'}"


def hosted_settings(hub: Settings, region: str) -> Settings:
    """The hosted node's settings: the hub's secrets and limits, its own region and database."""
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise ConfigError(f"YMT_HOSTED must list six-digit region codes, got {region!r}")
    from yimatong.config import normalise_db_url

    return replace(
        hub,
        role="issuer",
        region=region,
        db_url=normalise_db_url(hosted_db_url(hub, region)),
        hosted=(),
        hub_url=None,  # in-process: it does not sync with the hub over HTTP
        hub_token=None,
    )


@contextlib.contextmanager
def _region_lock(state_dir: Path, region: str) -> Iterator[None]:
    """One worker at a time migrates, registers or publishes the keys of a hosted region.

    ``flock`` locks belong to an open file, so this also serialises threads of one process;
    it is not re-entrant (``sync_keys`` takes it, ``_sync_keys`` runs under it).
    """
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(state_dir / f"hosted-{region}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class HostedIssuer:
    """One hosted region as Mode 2 reaches it: status in-process, keys published on demand."""

    region: str
    node: Node
    regions: HostedRegions

    @property
    def service(self) -> IssuerService:
        service: IssuerService = self.node.service
        return service

    def verify(self, code: str) -> dict[str, Any]:
        # As over HTTP from a native issuer: the hub audits this read with its own caller.
        return self.service.verify(code)

    def sync_keys(self) -> bool:
        return self.regions.sync_keys(self.region)


class HostedRegions:
    """The hosted issuer nodes of one hub: built, registered in the trust list, mounted."""

    def __init__(self, ctx: HubContext, nodes: Mapping[str, Node]) -> None:
        self.ctx = ctx
        self.nodes = dict(nodes)

    @classmethod
    def build(
        cls,
        ctx: HubContext,
        regions: tuple[str, ...],
        *,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        sms: SmsGateway | None = None,
    ) -> HostedRegions:
        """Build (and migrate) a node per region, register it and publish its keys."""
        hosted = cls(ctx, {})
        try:
            for region in dict.fromkeys(regions):
                hosted._check_kind(region)
                settings = hosted_settings(ctx.settings, region)
                with _region_lock(ctx.settings.state_dir, region):
                    node = build_issuer(settings, clock=clock, rng=rng, sms=sms, migrate=True)
                    # Its hub is this hub: the hub's own key signs approvals of overrides.
                    node.service.hub_keys = hosted._hub_keys
                    hosted.nodes[region] = node
                    hosted._register(region)
                    hosted._sync_keys(region)
                ctx.hosted_services[region] = HostedIssuer(region, node, hosted)
        except BaseException:
            hosted.close()
            raise
        ctx.registry.on_revoke(hosted._revoked)
        return hosted

    def _hub_keys(self) -> dict[bytes, VerifyingKey]:
        key = self.ctx.hub_key()
        return {key.kid: key.public}

    def mount(self, app: FastAPI) -> None:
        """Serve each hosted node under ``/regions/{region}`` (its own auth, docs and limits)."""
        for region, node in self.nodes.items():
            app.mount(f"/regions/{region}", node.app, name=f"hosted-{region}")

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()

    # ---------------------------------------------------------------------- the trust list
    def _registered_kind(self, region: str) -> str | None:
        with self.ctx.db.read() as conn:
            kind = conn.execute(select(issuers.c.kind).where(issuers.c.region == region)).scalar()
        return None if kind is None else str(kind)

    def _check_kind(self, region: str) -> None:
        kind = self._registered_kind(region)
        if kind is not None and kind != "hosted":
            raise ConfigError(
                f"region {region} is registered at this hub as a {kind} issuer; "
                "it cannot also be hosted (remove it from YMT_HOSTED)"
            )

    def _register(self, region: str) -> None:
        registry = self.ctx.registry
        if self._registered_kind(region) == "hosted":
            return
        try:
            name = default_divisions().get(region).name
        except Exception:  # an unknown code still gets hosted; its name is only a label
            name = f"region {region}"
        registry.register_issuer(
            _HUB_ITSELF,
            region=region,
            name=f"{name} (hosted by the national platform)"[:100],
            kind="hosted",
            endpoint=f"/regions/{region}",
        )
        log.info("registered hosted region %s", region)

    def _revoked(self, region: str, kid: bytes) -> None:
        """A key was revoked at the hub: if it is a hosted region's, its signer moves now."""
        if region in self.nodes:
            self.sync_keys(region)

    def sync_keys(self, region: str) -> bool:
        """Bring the hosted keystore and the trust list into line; True if anything changed.

        In order: revocations made at the hub reach the hosted keystore; the hosted node gets a
        fresh key if it has none active; every local key the trust list lacks is published
        (proved by itself and, while the region has a current key, by that key); local
        revocations and retirements are published. A revocation is never undone: a kid revoked
        at either side stays revoked at both.
        """
        with _region_lock(self.ctx.settings.state_dir, region):
            return self._sync_keys(region)

    def _sync_keys(self, region: str) -> bool:
        node = self.nodes[region]
        service = node.service
        registry = self.ctx.registry
        now = self.ctx.clock()
        published = registry.region_keys(region)

        moved = False
        with node.db.uow() as uow:
            for kid, row in published.items():
                if row.revoked_at is not None:
                    moved |= keystore.mark_revoked(uow.conn, kid, at=row.revoked_at)
            uow.commit()
        if moved:
            log.warning("hosted region %s: a key revoked at the hub was revoked locally", region)
        moved |= ensure_signing_key(node.db, service.cipher, node.settings, now)
        if moved:
            service.forget_keys()

        changed = moved
        with node.db.read() as conn:
            local = keystore.list_keys(conn, region)
        for info in local:
            if info.kid not in published:
                if not self._publish(region, info, local, published, now):
                    continue
                published = registry.region_keys(region)
                changed = True
            row = published[info.kid]
            if info.revoked_at is not None and row.revoked_at is None:
                registry.revoke_key(
                    _HUB_ITSELF, region, info.kid.hex(), at=info.revoked_at, announce=False
                )
                changed = True
            elif info.not_after is not None and (
                row.not_after is None or info.not_after < row.not_after
            ):
                retired = registry.retire_key(_HUB_ITSELF, region, info.kid, info.not_after)
                changed |= retired is not None
        return changed

    def _publish(
        self,
        region: str,
        info: keystore.KeyInfo,
        local: Sequence[keystore.KeyInfo],
        published: Mapping[bytes, Any],
        now: datetime,
    ) -> bool:
        """Register one hosted key the way any issuer must: proved by itself and a current key.

        The prover is the newest key that is current at the hub and held, unrevoked, here.
        """
        node = self.nodes[region]
        held = {k.kid for k in local if k.revoked_at is None}
        provers = sorted(
            (
                row
                for kid, row in published.items()
                if kid in held
                and row.revoked_at is None
                and row.not_before <= now
                and (row.not_after is None or row.not_after > now)
            ),
            key=lambda row: row.not_before,
        )
        with node.db.read() as conn:
            key = keystore.load_key(conn, node.service.cipher, info.kid)
            prover = (
                keystore.load_key(conn, node.service.cipher, bytes(provers[-1].kid))
                if provers
                else None
            )
        entry = prove_key(key, region, info.not_before)
        rotation = (
            prove_rotation(prover, region, entry.public_key, info.not_before) if prover else {}
        )
        try:
            self.ctx.registry.add_key(
                _HUB_ITSELF,
                region,
                public_key=entry.public_key,
                not_before=info.not_before,
                possession=entry.possession,
                **rotation,
            )
        except Conflict:  # the kid is another region's: never publish it for this one
            log.error("kid %s of hosted region %s is registered elsewhere", info.kid.hex(), region)
            return False
        return True
