"""Build a road node (``YMT_ROLE=road``, ``yimatong serve --role road --district …``).

Why a node of its own rather than a role of an issuer: the issue asks for "a transparency log
of its own", and a node's log is its database's (``log_entries``, the ``log`` counter, heads
signed by the node's key); a road node has its own database, so its log holds road evidence
only, and its credentials (departments, maintenance teams, its administrator) are its own. It
is built like the other nodes: settings from the environment (``YMT_DISTRICT`` names the
built-in network), migrations, the common middleware (``install_common``), the log's routes
(``log_routes``), and periodic jobs run by the worker holding the job lock (tree heads, the
escalation of overdue work orders).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from yimatong import __version__
from yimatong.adapters import keystore
from yimatong.adapters.crypto import FieldCipher, SigningKey
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.leader import JobLeader, JobLock
from yimatong.adapters.periodic import Periodic
from yimatong.adapters.translog import TransparencyLog
from yimatong.bootstrap import Node, ensure_signing_key, make_authenticator, system_clock
from yimatong.config import Settings
from yimatong.domain.errors import Unavailable
from yimatong.log_routes import PUBLIC as LOG_PUBLIC
from yimatong.log_routes import log_router
from yimatong.road.network import load_builtin_network
from yimatong.road.rules import load_default_road_ruleset
from yimatong.roadnode import api
from yimatong.roadnode.pages import ROAD_PAGE_PUBLIC_PATHS, road_pages
from yimatong.roadnode.service import RoadService, load_builtin_departments
from yimatong.web.pages import Pages, page_session
from yimatong.web.routes import PAGE_PUBLIC_PATHS, basic_pages
from yimatong.web.session import cookie_name
from yimatong.web_common import PUBLIC_PATHS, install_common

__all__ = ["ESCALATION_SECONDS", "ROAD_PUBLIC_PATHS", "build_road"]

#: How often the job leader looks for overdue work orders to escalate.
ESCALATION_SECONDS = 300.0
#: A vehicle's batch of a few thousand observations is a few MB.
ROAD_BODY_BYTES = 4 * 1024 * 1024

ROAD_PUBLIC_PATHS = (
    PUBLIC_PATHS | LOG_PUBLIC | api.PUBLIC | PAGE_PUBLIC_PATHS | ROAD_PAGE_PUBLIC_PATHS
)


def build_road(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    migrate: bool = True,
    start_jobs: bool = True,
) -> Node:
    """A road node for ``settings.district``; ``settings.region`` names its signing key."""
    settings = settings.with_defaults()
    try:
        network = load_builtin_network(settings.district)
    except (LookupError, ValueError):
        raise Unavailable(f"no built-in road network {settings.district}") from None
    if migrate:
        upgrade(settings.db_url)
    db = Database.from_url(settings.db_url, settings.db_read_url or None)
    cipher = FieldCipher.from_spec(settings.data_keys)
    ensure_signing_key(db, cipher, settings, clock())
    signing = keystore.SigningKeyCache(cipher)

    def log_key() -> SigningKey:
        with db.read() as conn:
            key = signing.get(conn, region=settings.region, now=clock())
        if key is None:
            raise Unavailable("this road node has no active signing key; run `yimatong keys new`")
        return key

    translog = TransparencyLog(db, clock, log_key, f"yimatong-road-{network.district}")
    service = RoadService(
        db=db,
        network=network,
        ruleset=load_default_road_ruleset(),
        clock=clock,
        log=translog,
        departments=load_builtin_departments(),
    )
    heads = Periodic("tree-heads", translog.sign_head, settings.sth_interval)
    escalation = Periodic("road-escalation", service.escalate_overdue, ESCALATION_SECONDS)

    def begin_jobs() -> None:
        heads.start()
        escalation.start()

    def end_jobs() -> None:
        heads.stop()
        escalation.stop()

    leader = JobLeader(JobLock(db), begin_jobs, end_jobs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start_jobs:
            leader.begin()
        try:
            yield
        finally:
            if start_jobs:
                leader.end()

    app = FastAPI(
        lifespan=lifespan,
        title=f"yimatong road {network.district}",
        version=__version__,
        description="A road-condition code node (路面健康码): cells, findings, work orders.",
        docs_url=None,  # web.install_docs serves it from the package
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    authenticate = make_authenticator(db, clock)
    wrap = install_common(
        app,
        authenticate=authenticate,
        body_limit=max(settings.max_body_bytes, ROAD_BODY_BYTES),
        public_paths=ROAD_PUBLIC_PATHS,
        health=lambda: {
            "role": "road",
            "region": settings.region,
            "district": network.district,
            "version": __version__,
        },
        trusted_proxies=settings.trusted_proxies,
        session_cookie=cookie_name(settings.region),
        ready=db.ping,
        max_in_flight=settings.max_in_flight,
        queue_budget=settings.queue_budget_ms / 1000,
    )
    # Ingest first: the hot route is matched before the reads and the pages.
    app.include_router(api.road_router(service, log_key))
    app.include_router(log_router(translog))  # the road node's own transparency log
    pages = Pages(node_title=network.name, node_kind="road", session=page_session)
    app.include_router(
        basic_pages(
            pages, region=settings.region, authenticate=authenticate, end_session=lambda _t: None
        )
    )
    app.include_router(road_pages(pages, service))
    return Node(settings=settings, db=db, app=wrap(app), fastapi=app, service=service)
