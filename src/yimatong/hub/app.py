"""Build the hub node: registry and trust list, national data, the three modes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from yimatong import __version__
from yimatong.adapters.crypto import FieldCipher
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.leader import JobLeader, JobLock
from yimatong.adapters.db.retention import Housekeeper
from yimatong.adapters.periodic import Periodic
from yimatong.adapters.sms import SmsGateway
from yimatong.bootstrap import Node, ensure_signing_key, make_authenticator, system_clock
from yimatong.config import Settings
from yimatong.hub import (
    api_codes,
    api_data,
    api_international,
    api_log,
    api_policies,
    api_stats,
)
from yimatong.hub.api_registry import registry_router
from yimatong.hub.codes import CodeService
from yimatong.hub.context import HubContext
from yimatong.hub.hosted_link import InProcessHub
from yimatong.hub.hosting import HostedRegions
from yimatong.hub.policies import PolicyDecider
from yimatong.hub.registry import NATIONAL
from yimatong.issuer.sync import HubLink
from yimatong.web.admin_hub import HUB_ADMIN_PUBLIC_PATHS, hub_admin_pages
from yimatong.web.checkpoint import CHECKPOINT_PUBLIC_PATHS, HUB_API, checkpoint_pages, key_entry
from yimatong.web.pages import Pages, page_session
from yimatong.web.routes import PAGE_PUBLIC_PATHS, basic_pages
from yimatong.web.session import cookie_name
from yimatong.web_common import PUBLIC_PATHS, install_common, sync_gauges

__all__ = ["HUB_PUBLIC_PATHS", "build_hub"]

#: Anyone may read the signed lists and the transparency log; citizens may convert a code they
#: hold (the code is the proof).
HUB_PUBLIC_PATHS = (
    PUBLIC_PATHS
    | {"GET /v1/trust-list", "POST /v1/codes/convert"}
    | api_policies.PUBLIC
    | api_log.PUBLIC
    | api_international.PUBLIC
)


def build_hub(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    rng: random.Random | None = None,
    migrate: bool = True,
    hosted: tuple[str, ...] = (),
    sms: SmsGateway | None = None,
) -> Node:
    """The hub; ``hosted`` (default ``settings.hosted``) are regions it serves in Mode 3.

    ``sms`` is the gateway of the hosted regions' sign-in (default: the demo file).
    """
    settings = settings.with_defaults()
    hosted = hosted or settings.hosted
    if migrate:
        upgrade(settings.db_url)
    db = Database.from_url(settings.db_url, settings.db_read_url or None)
    cipher = FieldCipher.from_spec(settings.data_keys)
    ctx = HubContext(
        settings=settings,
        db=db,
        cipher=cipher,
        clock=clock,
        rng=rng or random.SystemRandom(),
        federation_secret=settings.federation_secret,
        hosted=hosted,
    )
    # Mode 2 answers carry the decision under the entry policy of the region asked about.
    ctx.decider = PolicyDecider(ctx)
    now = clock()
    ensure_signing_key(db, cipher, settings, now, region=NATIONAL)
    ctx.registry.ensure_national(now)
    ctx.registry.publish_own_keys((NATIONAL,))
    try:
        hosted_regions = HostedRegions.build(ctx, hosted, clock=clock, rng=rng, sms=sms)
    except BaseException:
        db.dispose()
        raise
    # Hosted regions share colours and read the national feed like any issuer (Mode 1),
    # through the hub's own use cases rather than a network hop.
    links = []
    for region, hosted_node in hosted_regions.nodes.items():
        link = HubLink(
            hosted_node.service,
            InProcessHub(ctx, region),
            interval=settings.sync_interval,
            sync_keys=partial(hosted_regions.sync_keys, region),
        )
        hosted_node.service.on_new_subject = partial(_backfill, link)
        hosted_node.link = link
        links.append(link)

    housekeepers = [Housekeeper(db, clock)] + [
        Housekeeper(n.db, clock) for n in hosted_regions.nodes.values()
    ]
    # The transparency log's signed tree head, when the log has grown since the last one.
    heads = Periodic("tree-heads", ctx.translog.sign_head, settings.sth_interval)
    # Each day's digest of the reads of personal data at the hub, into the log (hourly look).
    digests = Periodic("read-digests", ctx.translog.log_read_digests, 3600)

    def start_jobs() -> None:
        heads.start()
        digests.start()
        for keeper in housekeepers:
            keeper.start()
        for link in links:
            link.start()

    def stop_jobs() -> None:
        heads.stop()
        digests.stop()
        for keeper in housekeepers:
            keeper.stop()
        for link in links:
            link.stop()

    # With --workers N, one worker runs the periodic jobs: the one holding the job lock.
    leader = JobLeader(JobLock(db), start_jobs, stop_jobs)
    codes = CodeService(ctx)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        leader.begin()
        try:
            yield
        finally:
            try:
                # The server has let the requests in flight finish: their audit rows are in.
                await codes.aclose()
                await run_in_threadpool(ctx.tallies.flush)  # the Mode 2 calls counted since
            finally:
                leader.end()

    app = FastAPI(
        lifespan=lifespan,
        title="yimatong hub",
        version=__version__,
        description="The national hub: trust list, national data, interoperability modes 1-3.",
        docs_url=None,  # web.install_docs serves it from the package
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    authenticate = make_authenticator(db, clock)
    wrap = install_common(
        app,
        authenticate=authenticate,
        body_limit=max(settings.max_body_bytes, 8 * 1024 * 1024),  # lab batches are large
        public_paths=HUB_PUBLIC_PATHS
        | PAGE_PUBLIC_PATHS
        | HUB_ADMIN_PUBLIC_PATHS
        | CHECKPOINT_PUBLIC_PATHS,
        health=lambda: {"role": "hub", "region": NATIONAL, "version": __version__},
        # Hosted regions run a hub link each (in-process): their feed rows can be quarantined too.
        gauges=lambda: sync_gauges(
            {region: n.service.sync_figures() for region, n in hosted_regions.nodes.items()}
        ),
        limiter=ctx.limits,
        trusted_proxies=settings.trusted_proxies,
        session_cookie=cookie_name(NATIONAL),
        ready=db.ping,
        max_in_flight=settings.max_in_flight,
        queue_budget=settings.queue_budget_ms / 1000,
    )
    # Mode 2 first: checkpoints' hot route is matched before the pages' and the data plane's.
    app.include_router(api_codes.router(ctx, codes))
    pages = Pages(node_title="国家平台", node_kind="hub", session=page_session)
    # The hub has no citizens' sessions of its own (the regions it hosts have theirs).
    app.include_router(
        basic_pages(pages, region=NATIONAL, authenticate=authenticate, end_session=lambda _t: None)
    )
    app.include_router(
        checkpoint_pages(
            pages, node_kind="hub", api=HUB_API, hub_keys=lambda: [key_entry(ctx.hub_key().public)]
        )
    )
    app.include_router(registry_router(ctx))
    app.include_router(api_data.router(ctx))
    app.include_router(api_policies.router(ctx))
    app.include_router(api_international.router(ctx))
    app.include_router(api_log.router(ctx))
    app.include_router(api_stats.router(ctx))
    closers: list[Callable[[], None]] = []
    app.include_router(hub_admin_pages(pages, ctx, on_close=closers.append))
    hosted_regions.mount(app)
    node = Node(settings=settings, db=db, app=wrap(app), fastapi=app, service=ctx)
    node.closers.append(hosted_regions.close)
    node.closers.extend(closers)
    node.closers.append(ctx.tallies.flush)  # the Mode 2 calls counted since the last write
    return node


def _backfill(link: HubLink, sid: str) -> None:
    link.backfill_now([sid])
