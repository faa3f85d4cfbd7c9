"""Mode 3 regions take part in Mode 1: national facts reach them, their colours reach the hub."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from tests.integration.conftest import Inbox, _settings, make_id
from yimatong.adapters.db.tables import hub_feed
from yimatong.credentials import add_credential
from yimatong.hub.app import build_hub


def test_a_case_posted_at_the_hub_reaches_a_hosted_resident(tmp_path: Path, clock: Any) -> None:
    inbox = Inbox()
    hub = build_hub(
        _settings(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, "hub", "000000"),
        clock=clock,
        hosted=("540000",),
        sms=inbox,
    )
    try:
        with hub.db.uow() as uow:
            authority = add_credential(
                uow.conn, name="cdc", role="authority", now=clock(), rng=random.Random(2)
            )
            uow.commit()
        http = TestClient(hub.app)  # no lifespan: the test runs the sync rounds itself
        base = "/regions/540000"
        phone = "13800540001"
        http.post(f"{base}/v1/auth/otp", json={"phone": phone})
        token = http.post(
            f"{base}/v1/auth/session", json={"phone": phone, "otp": inbox.last_code(phone)}
        ).json()["token"]
        me = {"Authorization": f"Bearer {token}"}
        id_number = make_id("540102", "19870707", "041")
        r = http.post(
            f"{base}/v1/applications",
            json={"name": "扎西", "id_type": "111", "id_number": id_number},
            headers=me,
        )
        assert r.status_code == 201, r.text
        sid = r.json()["sid"]
        r = http.post(
            "/v1/facts",
            json={
                "facts": [
                    {
                        "id_type": "111",
                        "id_number": id_number,
                        "kind": "contact",
                        "contact_kind": "close",
                        "last_exposure": (clock() - timedelta(days=1)).isoformat(),
                    }
                ]
            },
            headers={"Authorization": f"Bearer {authority}"},
        )
        assert r.status_code in (200, 201), r.text
        link = hub.service.hosted_services["540000"].node.link
        report = link.sync_once()
        assert not report.errors, report.errors
        health = http.get(f"{base}/v1/subjects/{sid}/health", headers=me).json()
        assert health["colour"] == "red"
        assert [x["code"] for x in health["reasons"]] == ["contact.close"]
        link.sync_once()  # the new colour goes to the hub as a Mode 1 summary
        with hub.db.read() as conn:
            shared = [
                (r.region, r.body["colour"])
                for r in conn.execute(
                    select(hub_feed).where(hub_feed.c.sid == sid, hub_feed.c.kind == "summary")
                )
            ]
        assert ("540000", "red") in shared
    finally:
        hub.close()
