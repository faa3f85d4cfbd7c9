"""An issuer's staff pages in Chromium: the corrections queue, a correction, the decision."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.browser.admin_support import axe, shot, sign_in
from tests.browser.conftest import LiveServer, Tab
from tests.conftest import FakeClock
from tests.integration.admin_support import credential
from tests.integration.conftest import Inbox, issuer_settings, make_id
from yimatong.adapters.db.tables import audit_log
from yimatong.bootstrap import Node, build_issuer


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[Node, Inbox]]:
    inbox = Inbox()
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    built = build_issuer(
        issuer_settings(f"sqlite:///{tmp_path / 'zj.db'}", tmp_path),
        clock=clock,
        rng=random.Random(3),
        sms=inbox,
    )
    yield built, inbox
    built.close()


def _a_citizen_disputes_a_record(node: Node, inbox: Inbox) -> int:
    with TestClient(node.app) as http:
        http.post("/v1/auth/otp", json={"phone": "13800138001"})
        otp = inbox.last_code("13800138001")
        token = http.post("/v1/auth/session", json={"phone": "13800138001", "otp": otp})
        me = {"Authorization": f"Bearer {token.json()['token']}"}
        body = {"name": "王小明", "id_type": "111", "id_number": make_id("330106", "19700101")}
        sid = http.post("/v1/applications", json=body, headers=me).json()["sid"]
        r = http.post(
            "/v1/corrections",
            json={"subject": sid, "kind": "other", "statement": "体温记录有误，当天我在家"},
            headers=me,
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def test_staff_accept_a_correction_from_the_queue(tab: Tab, node: tuple[Node, Inbox]) -> None:
    issuer, inbox = node
    number = _a_citizen_disputes_a_record(issuer, inbox)
    staff = credential(issuer, "西湖区窗口-01", "staff")
    with LiveServer(issuer.app) as server:
        base = server.url
        sign_in(tab, base, staff, "/admin")
        page = tab.page
        link = page.get_by_role("link", name=str(number))
        link.wait_for()
        shot(tab, "issuer-queue")
        assert axe(tab) == []
        link.click()
        page.wait_for_url(f"{base}/admin/corrections/{number}")
        assert "体温记录有误" in page.locator("#statement").inner_text()
        shot(tab, "issuer-correction")
        assert axe(tab) == []
        page.get_by_role("button", name="受理（更正记录）").click()  # no note yet
        assert page.url == f"{base}/admin/corrections/{number}"  # the browser asks for it
        page.get_by_label("处理意见（必填，申请人可见）").fill("已核实，更正体温记录")
        page.get_by_role("button", name="受理（更正记录）").click()
        page.locator("#done").wait_for()
        assert page.locator("#done").inner_text() == f"纠错申请 {number}：已受理。"
        assert page.locator("#empty").count() == 1
        shot(tab, "issuer-decided")
        assert axe(tab) == []
        assert tab.foreign_requests(base) == []
        assert not [m for m in tab.console if "Content Security Policy" in m]
    with issuer.db.read() as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.action)).all()
    assert ("西湖区窗口-01", "correction.decide") in [tuple(r) for r in rows]


def test_a_checkpoint_credential_gets_no_staff_page(tab: Tab, node: tuple[Node, Inbox]) -> None:
    issuer, _ = node
    gate = credential(issuer, "gate", "checkpoint")
    with LiveServer(issuer.app) as server:
        page = tab.page
        page.goto(server.url + "/admin")
        page.get_by_label("凭证").fill(gate)
        page.get_by_role("button", name="登录").click()
        assert "此页面需要以下角色之一" in page.get_by_role("alert").inner_text()
        assert page.locator("#queue").count() == 0
        assert axe(tab) == []
