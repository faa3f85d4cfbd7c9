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
registers the region as an issuer of kind ``hosted`` and copies its public keys into the trust
list, so its codes verify at every checkpoint. A key made later (``yimatong keys new --db
<hosted db> --region R``) is picked up the first time a code signed by it reaches the hub's
Mode 2 verify (``sync_keys``), or at the next start. A revocation at the hub
(``DELETE /v1/issuers/{R}/keys/{kid}``) is carried back into the hosted keystore, and the
hosted node gets a fresh key, so it never goes on signing with a key the federation refuses.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import insert, select, update

from yimatong.adapters import keystore
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import issuer_keys, issuers
from yimatong.adapters.sms import SmsGateway
from yimatong.bootstrap import Node, build_issuer, ensure_signing_key
from yimatong.config import ConfigError, Settings
from yimatong.credentials import Caller
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

#: The registry writes as an administrator; the hub acts as its own administrator here.
_HUB_ITSELF = Caller(role="admin", name="hub:hosting")


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
def _start_lock(state_dir: Path, region: str) -> Iterator[None]:
    """One worker at a time migrates and registers a hosted region (``--workers N``)."""
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
                with _start_lock(ctx.settings.state_dir, region):
                    node = build_issuer(settings, clock=clock, rng=rng, sms=sms, migrate=True)
                    hosted.nodes[region] = node
                    hosted._register(region)
                    hosted.sync_keys(region)
                ctx.hosted_services[region] = HostedIssuer(region, node, hosted)
        except BaseException:
            hosted.close()
            raise
        return hosted

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

    def sync_keys(self, region: str) -> bool:
        """Copy the hosted node's keys into the trust list; True if anything changed.

        A revocation is never undone: a kid revoked at either side stays revoked at both (a
        hub-side revocation reaches the hosted keystore, which then gets a fresh key).
        """
        node = self.nodes[region]
        now = self.ctx.clock()
        with node.db.read() as conn:
            local = {k.kid: k for k in keystore.list_keys(conn, region)}
        with self.ctx.db.read() as conn:
            published = {
                r.kid: r
                for r in conn.execute(
                    select(
                        issuer_keys.c.kid,
                        issuer_keys.c.region,
                        issuer_keys.c.not_after,
                        issuer_keys.c.revoked_at,
                    ).where(issuer_keys.c.kid.in_(list(local)))
                ).all()
            }
        changed = False
        revoked_by_hub = [
            kid
            for kid, row in published.items()
            if row.revoked_at is not None and local[kid].revoked_at is None
        ]
        if revoked_by_hub:
            with node.db.uow() as uow:
                for kid in revoked_by_hub:
                    keystore.revoke(uow.conn, kid, now=published[kid].revoked_at)
                uow.commit()
            ensure_signing_key(node.db, node.service.cipher, node.settings, now)
            log.warning("hosted region %s: a key revoked at the hub was revoked locally", region)
            return self.sync_keys(region) or True
        with self.ctx.db.uow() as uow:
            conn = uow.conn
            for kid, info in local.items():
                row = published.get(kid)
                if row is None:
                    conn.execute(
                        insert(issuer_keys).values(
                            kid=kid,
                            region=region,
                            alg=info.alg.value,
                            public_der=info.public_der,
                            not_before=info.not_before,
                            not_after=info.not_after,
                            revoked_at=info.revoked_at,
                            version=next_value(conn, "trust"),
                            created_at=now,
                        )
                    )
                    changed = True
                    continue
                if row.region != region:
                    log.error("kid %s is registered for %s, not %s", kid.hex(), row.region, region)
                    continue
                values = _key_update(row, info)
                if values:
                    values["version"] = next_value(conn, "trust")
                    conn.execute(update(issuer_keys).where(issuer_keys.c.kid == kid).values(values))
                    changed = True
            if changed:
                uow.commit()
        return changed


def _key_update(published: Any, local: keystore.KeyInfo) -> dict[str, Any]:
    """What to change in a published key so it matches the hosted keystore (never un-revoke)."""
    values: dict[str, Any] = {}
    if local.not_after is not None and (
        published.not_after is None or local.not_after < published.not_after
    ):
        values["not_after"] = local.not_after
    if local.revoked_at is not None and published.revoked_at is None:
        values["revoked_at"] = local.revoked_at
    return values
