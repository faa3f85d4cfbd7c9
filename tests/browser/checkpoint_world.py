"""A federation for the checkpoint page's browser tests: the hub (serving the page) and the
Zhejiang issuer in-process, the hub over loopback for Chromium, on a clock that follows real
time (the browser's clock is real: a code must not be expired by the time it is typed)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.browser.conftest import LiveServer, Tab
from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.modes_support import Federation, federation
from yimatong.adapters.db.tables import hub_feed
from yimatong.credentials import add_credential
from yimatong.hub.policies import EntryPolicies
from yimatong.verifier.demo import demo_policy_entries

SCREENSHOTS = os.environ.get("YMT_SCREENSHOTS")


class LiveClock(FakeClock):
    """Real time, plus whatever the test adds (``advance``)."""

    def __init__(self) -> None:
        super().__init__(datetime.now(UTC))
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> datetime:
        self.offset += timedelta(**kwargs)
        return self()


@dataclass
class World:
    fed: Federation
    server: LiveServer
    clock: LiveClock

    @property
    def url(self) -> str:
        return self.server.url

    def code(self, phone: str = "13800000001") -> str:
        """A fresh dynamic code of a new (green) Zhejiang citizen."""
        me, sid = self.fed.zj_citizen(phone=phone, id_number=make_id(seq=phone[-3:]))
        return str(self.fed.zj_code(me, sid)["code"])

    def scans_at_hub(self, checkpoint: str | None = None) -> int:
        stmt = select(func.count()).select_from(hub_feed).where(hub_feed.c.kind == "scan")
        with self.fed.hub.db.read() as conn:
            rows = conn.execute(select(hub_feed.c.body).where(hub_feed.c.kind == "scan")).all()
            total = int(conn.execute(stmt).scalar_one())
        if checkpoint is None:
            return total
        return sum(1 for (body,) in rows if body.get("checkpoint") == checkpoint)

    def credential(self, name: str, role: str = "checkpoint", scope: str | None = "520000") -> str:
        with self.fed.hub.db.uow() as uow:
            token = add_credential(
                uow.conn,
                name=name,
                role=role,
                now=self.clock(),
                rng=random.Random(name),
                scope=scope,
            )
            uow.commit()
        return token


@contextmanager
def checkpoint_world(state: Path) -> Iterator[World]:
    clock = LiveClock()
    with federation(
        hub_db=f"sqlite:///{state / 'hub.db'}",
        zj_db=f"sqlite:///{state / 'zj.db'}",
        legacy_db=f"sqlite:///{state / 'hb.db'}",
        state=state,
        clock=clock,
    ) as fed:
        EntryPolicies(fed.ctx).seed(demo_policy_entries())
        with LiveServer(fed.hub.app) as server:
            yield World(fed, server, clock)


def sign_in(tab: Tab, base: str, token: str) -> None:
    page = tab.page
    page.goto(base + "/checkpoint")
    page.wait_for_url("**/signin/staff**")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/checkpoint")
    page.wait_for_selector("body[data-ready=yes]", timeout=20000)


def lists_ready(tab: Tab) -> None:
    tab.page.wait_for_function(
        "() => window.checkpoint && window.checkpoint.verifier.policy !== null", timeout=20000
    )


def scan(tab: Tab, code: str, temperature: str | None = None) -> dict[str, Any]:
    page = tab.page
    before = page.evaluate("() => window.checkpoint.results.length")
    page.fill("#code", code)
    if temperature is not None:
        page.fill("#temperature", temperature)
    page.click("#check")
    page.wait_for_function(f"() => window.checkpoint.results.length > {before}", timeout=20000)
    return {
        "outcome": page.get_attribute("#result", "data-outcome"),
        "mode": page.get_attribute("#result", "data-mode"),
        "ms": float(page.get_attribute("#result", "data-ms") or "nan"),
        "text": page.inner_text("#result"),
        "status": page.inner_text("#status"),
    }


def screenshot(tab: Tab, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(Path(SCREENSHOTS) / f"checkpoint-{name}.png"), full_page=True)
