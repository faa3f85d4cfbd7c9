"""The one place that picks adapters and wires a node together."""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp

from yimatong import __version__
from yimatong.adapters import keystore
from yimatong.adapters.crypto import FieldCipher, VerifyingKey, load_verifying_key
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.leader import JobLeader, JobLock
from yimatong.adapters.db.limits import Limiter
from yimatong.adapters.db.retention import Housekeeper
from yimatong.adapters.hubclient import NodeClient
from yimatong.adapters.periodic import Periodic
from yimatong.adapters.sms import FileSms, SmsGateway, SmsOutbox
from yimatong.config import Settings
from yimatong.credentials import Caller, CredentialCache, hash_token
from yimatong.domain.assessment import load_default_ruleset
from yimatong.domain.regions import default_divisions
from yimatong.domain.travel import TravelParams
from yimatong.issuer import api_federation, api_relay, api_scans
from yimatong.issuer.accounts import PhoneBook
from yimatong.issuer.api import issuer_router
from yimatong.issuer.relay import HubRelay
from yimatong.issuer.services import IssuerService
from yimatong.issuer.sync import HubLink
from yimatong.log_routes import log_router
from yimatong.web.admin import ISSUER_ADMIN_PUBLIC_PATHS, issuer_admin_pages
from yimatong.web.checkpoint import CHECKPOINT_PUBLIC_PATHS, RELAY_API, checkpoint_pages, key_entry
from yimatong.web.citizen import CITIZEN_PUBLIC_PATHS, citizen_pages
from yimatong.web.pages import Pages, divisions_name, page_session
from yimatong.web.routes import PAGE_PUBLIC_PATHS, basic_pages
from yimatong.web.session import cookie_name
from yimatong.web_common import PUBLIC_PATHS, install_common, sync_gauges

__all__ = [
    "Node",
    "TokenAuthenticator",
    "build_issuer",
    "ensure_signing_key",
    "make_authenticator",
    "system_clock",
]

log = logging.getLogger("yimatong")
#: Seconds between the job leader's offers of the SMS the gateway did not take at once.
SMS_RETRY_SECONDS = 10.0


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Node:
    settings: Settings
    db: Database
    app: ASGIApp
    fastapi: FastAPI
    service: Any
    link: Any = None  # the issuer's HubLink, when it belongs to a hub
    #: more to release on close (the hub's hosted regions)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
        for closer in self.closers:
            closer()
        self.db.dispose()


def build_issuer(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    rng: random.Random | None = None,
    sms: SmsGateway | None = None,
    migrate: bool = True,
    hub_client: httpx.Client | None = None,
    start_sync: bool = True,
) -> Node:
    """An issuer node; with a hub URL and token in ``settings`` it also syncs with the hub."""
    settings = settings.with_defaults()
    if migrate:
        upgrade(settings.db_url)
    db = Database.from_url(settings.db_url, settings.db_read_url or None)
    cipher = FieldCipher.from_spec(settings.data_keys)
    rng = rng or random.SystemRandom()
    assert settings.sms_log is not None
    outbox = SmsOutbox(db, sms or FileSms(settings.sms_log), cipher)
    phonebook = PhoneBook(
        lookup_key=settings.federation_secret,
        cipher=cipher,
        outbox=outbox,
        rng=rng,
    )
    service = IssuerService(
        region=settings.region,
        db=db,
        cipher=cipher,
        federation_secret=settings.federation_secret,
        phonebook=phonebook,
        ruleset=load_default_ruleset(),
        divisions=default_divisions(),
        clock=clock,
        retention=timedelta(days=settings.retention_days),
        limits=Limiter(db, clock, settings.limits),
        travel=TravelParams(
            min_stay=timedelta(minutes=settings.travel_min_stay_minutes),
            window=timedelta(days=settings.travel_days),
        ),
    )
    ensure_signing_key(db, cipher, settings, clock())

    link = None
    hub: NodeClient | None = None
    if settings.hub_url and settings.hub_token:
        hub = NodeClient(settings.hub_url, settings.hub_token, client=hub_client, name="the hub")
        link = HubLink(
            service,
            hub,
            hub_keys=_pinned_hub_keys(settings),
            interval=settings.sync_interval,
        )
        service.on_new_subject = lambda sid: link.backfill_now([sid])
    service.override_hourly_limit = settings.override_hourly_limit
    pinned_keys = _pinned_hub_keys(settings)
    # The hub's keys, for its signed approvals of overrides above the hourly limit.
    service.hub_keys = lambda: pinned_keys or (link.trusted_keys() if link else {})

    housekeeper = Housekeeper(db, clock)
    # Messages the gateway did not take at once are offered again by the job leader.
    sms_retry = Periodic("sms-outbox", lambda: outbox.deliver(now=clock()), SMS_RETRY_SECONDS)
    # The issuer's own transparency log: a signed head when it grew (the hub link's round
    # signs one too, before the hub is told).
    heads = Periodic("tree-heads", service.translog.sign_head, settings.sth_interval)

    def start_jobs() -> None:
        housekeeper.start()
        sms_retry.start()
        heads.start()
        if link is not None:
            link.start()

    def stop_jobs() -> None:
        housekeeper.stop()
        sms_retry.stop()
        heads.stop()
        if link is not None:
            link.stop()

    # With --workers N, one worker runs the periodic jobs: the one holding the job lock.
    leader = JobLeader(JobLock(db), start_jobs, stop_jobs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start_sync:
            leader.begin()
        try:
            yield
        finally:
            if start_sync:
                leader.end()

    app = FastAPI(
        lifespan=lifespan,
        title=f"yimatong issuer {settings.region}",
        version=__version__,
        description="A regional health-code issuer node (GB/T 38963 service list).",
        docs_url=None,  # web.install_docs serves it from the package
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    authenticate = make_authenticator(db, clock)
    wrap = install_common(
        app,
        authenticate=authenticate,
        body_limit=settings.max_body_bytes,
        public_paths=PUBLIC_PATHS
        | PAGE_PUBLIC_PATHS
        | ISSUER_ADMIN_PUBLIC_PATHS
        | CHECKPOINT_PUBLIC_PATHS
        | CITIZEN_PUBLIC_PATHS,
        health=lambda: {"role": "issuer", "region": settings.region, "version": __version__},
        gauges=lambda: sync_gauges({settings.region: service.sync_figures()}),
        limiter=service.limits,
        trusted_proxies=settings.trusted_proxies,
        session_cookie=cookie_name(settings.region),
        ready=db.ping,
        max_in_flight=settings.max_in_flight,
        queue_budget=settings.queue_budget_ms / 1000,
    )
    pages = Pages(
        node_title=divisions_name(service.divisions, settings.region),
        node_kind="issuer",
        session=page_session,
    )
    # Routes are matched in the order they are included: the API a checkpoint calls (验码,
    # scans) first, then the pages, so the hot path does not walk every page's pattern.
    app.include_router(issuer_router(service))
    app.include_router(api_scans.router(service))
    app.include_router(api_federation.router(service))
    app.include_router(log_router(service.translog))  # this issuer's own transparency log
    app.include_router(
        basic_pages(
            pages,
            region=settings.region,
            authenticate=authenticate,
            end_session=service.end_session,
        )
    )
    app.include_router(issuer_admin_pages(pages, service))
    app.include_router(citizen_pages(pages, service, region=settings.region))
    # The checkpoint page reaches the hub only through this issuer's relay.
    relay = HubRelay(hub, region=settings.region, db=db, clock=clock)
    app.include_router(api_relay.router(relay))
    pinned = _pinned_hub_keys(settings)
    app.include_router(
        checkpoint_pages(
            pages,
            node_kind="issuer",
            api=RELAY_API,
            hub_keys=lambda: [
                key_entry(k) for k in (pinned or (link.hub_keys if link else {})).values()
            ],
            home_region=settings.region,
        )
    )
    return Node(settings=settings, db=db, app=wrap(app), fastapi=app, service=service, link=link)


def _pinned_hub_keys(settings: Settings) -> dict[bytes, VerifyingKey] | None:
    if not settings.hub_key:
        return None
    key = load_verifying_key(base64.b64decode(settings.hub_key))
    return {key.kid: key}


class TokenAuthenticator:
    """Bearer token → Caller: citizens' sessions (``ymt_s_``) and credentials (``ymt_c_``).

    Calling it may read the database (run it off the event loop); ``cached`` answers a
    credential the cache holds without any I/O, so the checkpoint's hot path stays on the loop.
    """

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self.credentials = CredentialCache()

    def __call__(self, token: str) -> Caller | None:
        if token.startswith("ymt_s_"):
            with self.db.read() as conn:
                return PhoneBook.session_caller(conn, token, now=self.clock())
        if token.startswith("ymt_c_"):
            return self.credentials.lookup(self.db.read, hash_token(token))
        return None

    def cached(self, token: str) -> Caller | None:
        if token.startswith("ymt_c_"):
            return self.credentials.peek(hash_token(token))
        return None


def make_authenticator(db: Database, clock: Callable[[], datetime]) -> TokenAuthenticator:
    """The node's authenticator (see ``TokenAuthenticator``)."""
    return TokenAuthenticator(db, clock)


def ensure_signing_key(
    db: Database, cipher: FieldCipher, settings: Settings, now: datetime, region: str | None = None
) -> bool:
    """Give ``region`` (default: the node's) a signing key if it has none active; True if made."""
    region = region or settings.region
    with db.uow() as uow:
        if keystore.active_key(uow.conn, cipher, region=region, now=now) is not None:
            return False
        key = keystore.create_key(
            uow.conn, cipher, keystore.ALGORITHMS[settings.code_alg], region=region, now=now
        )
        uow.commit()
    log.info("created signing key kid=%s alg=%s", key.kid.hex(), settings.code_alg)
    return True
