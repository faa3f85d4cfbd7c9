"""An issuer linked to a hub, both in-process: national data in, Mode 1 summaries out."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.integration.conftest import DATA_KEY, SECRET, Inbox, make_id
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.tables import hub_feed
from yimatong.adapters.signed import canonical
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import Settings
from yimatong.credentials import Caller, add_credential
from yimatong.hub.app import build_hub

ADMIN = Caller(role="admin", name="test-admin")


def _settings(db_url: str, state: Path, role: str, region: str, **extra: str) -> Settings:
    env = {
        "YMT_ROLE": role,
        "YMT_REGION": region,
        "YMT_STATE_DIR": str(state),
        "YMT_DB_URL": db_url,
        "YMT_FEDERATION_SECRET": SECRET,
        "YMT_DATA_KEYS": DATA_KEY,
        **extra,
    }
    return Settings.from_environ(env)


@dataclass
class Federation:
    hub: Node
    hub_http: TestClient
    issuer: Node
    http: TestClient
    inbox: Inbox
    tokens: dict[str, str]

    def h(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def citizen(self, phone: str = "13800138000", **apply: Any) -> tuple[dict[str, str], str]:
        self.http.post("/v1/auth/otp", json={"phone": phone})
        token = self.http.post(
            "/v1/auth/session", json={"phone": phone, "otp": self.inbox.last_code(phone)}
        ).json()["token"]
        me = {"Authorization": f"Bearer {token}"}
        body = {"name": "林小红", "id_type": "111", "id_number": make_id(), **apply}
        r = self.http.post("/v1/applications", json=body, headers=me)
        assert r.status_code == 201, r.text
        return me, r.json()["sid"]

    def sync(self) -> Any:
        report = self.issuer.link.sync_once()
        assert not report.errors, report.errors
        return report


@pytest.fixture
def federation(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Federation]:
    hub_db = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'hub.db'}"
    issuer_db = f"sqlite:///{tmp_path / 'issuer.db'}"
    hub = build_hub(_settings(hub_db, tmp_path / "hub", "hub", "000000"), clock=clock)
    tokens: dict[str, str] = {}
    rng = random.Random(3)
    with hub.db.uow() as uow:
        tokens["authority"] = add_credential(
            uow.conn, name="cdc", role="authority", now=clock(), rng=rng
        )
        tokens["admin"] = add_credential(uow.conn, name="root", role="admin", now=clock(), rng=rng)
        uow.commit()
    hub_http = TestClient(hub.app)
    # Register the issuer at the hub the way `yimatong demo` does.
    probe = build_issuer(
        _settings(issuer_db, tmp_path / "issuer", "issuer", "330000"),
        clock=clock,
        start_sync=False,
    )
    with probe.db.read() as conn:
        keys = [base64.b64encode(k.public_der).decode() for k in keystore.list_keys(conn)]
    probe.close()
    answer = hub.service.registry.register_issuer(
        ADMIN, region="330000", name="浙江", kind="native", endpoint="http://zj", keys=keys
    )
    inbox = Inbox()
    issuer = build_issuer(
        _settings(
            issuer_db,
            tmp_path / "issuer",
            "issuer",
            "330000",
            YMT_HUB_URL="http://testserver",
            YMT_HUB_TOKEN=answer["credential"],
        ),
        clock=clock,
        rng=random.Random(5),
        sms=inbox,
        hub_client=hub_http,
        start_sync=False,
    )
    http = TestClient(issuer.app)
    yield Federation(hub, hub_http, issuer, http, inbox, tokens)
    issuer.close()
    hub.close()


def test_a_case_posted_at_the_hub_turns_the_issuers_colour_red(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    federation.sync()  # pushes the first summary: the hub now knows sid belongs to 330000
    r = federation.hub_http.post(
        "/v1/facts",
        json={
            "facts": [
                {
                    "subject": sid,
                    "kind": "contact",
                    "contact_kind": "close",
                    "last_exposure": (clock() - timedelta(days=2)).isoformat(),
                }
            ]
        },
        headers=federation.h("authority"),
    )
    assert r.status_code in (200, 201), r.text
    report = federation.sync()
    assert report.feed_rows == 1
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["colour"] == "red"
    assert [x["code"] for x in health["reasons"]] == ["contact.close"]
    assert health["data_as_of"] is not None
    # The new colour went back to the hub as a Mode 1 summary.
    federation.sync()
    with federation.hub.db.read() as conn:
        kinds = [
            (r.kind, r.body.get("colour"))
            for r in conn.execute(select(hub_feed).where(hub_feed.c.sid == sid))
        ]
    assert ("summary", "red") in kinds


def test_a_lab_result_from_shanghai_shows_with_hours_since_sampling(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    key = generate_signing_key(Algorithm.EDDSA)
    lab = federation.hub_http.post(
        "/v1/labs",
        json={
            "lab_id": "sh-1",
            "name": "上海某检测所",
            "region": "310000",
            "public_key": base64.b64encode(key.public.spki_der()).decode(),
        },
        headers=federation.h("admin"),
    )
    assert lab.status_code == 201, lab.text
    sampled = clock() - timedelta(hours=30)
    message = {
        "lab_id": "sh-1",
        "batch_id": "b-1",
        "results": [
            {
                "id_type": "111",
                "id_number": make_id(),
                "sampled_at": sampled.isoformat(),
                "reported_at": (sampled + timedelta(hours=8)).isoformat(),
                "result": "negative",
            }
        ],
    }
    signature = base64.urlsafe_b64encode(key.sign(canonical(message))).rstrip(b"=").decode()
    r = federation.hub_http.post(
        "/v1/test-results",
        json={**message, "signature": signature},
        headers={"Authorization": f"Bearer {lab.json()['credential']}"},
    )
    assert r.status_code in (200, 201), r.text
    federation.sync()
    tests = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()["tests"]
    assert [(t["outcome"], t["hours_since_sampling"]) for t in tests] == [("negative", 30)]


def test_the_issuer_keeps_working_when_the_hub_is_unreachable(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    federation.sync()
    clock.advance(minutes=10)
    federation.issuer.link.client.base_url = "http://127.0.0.1:9"  # nothing listens there
    federation.issuer.link.client._client = httpx.Client(timeout=0.5)
    report = federation.issuer.link.sync_once()
    assert "feed" in report.errors
    r = federation.http.post("/v1/codes", json={"subject": sid}, headers=me)
    assert r.status_code == 201, r.text
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["data_age_seconds"] >= 600
    assert health["hub_error"]


def _trust_keys(federation: Federation) -> dict[str, Any]:
    payload = federation.hub_http.get("/v1/trust-list").json()["payload"]
    return {k["kid"]: k for k in payload["keys"] if k["region"] == "330000"}


def test_a_rotated_key_reaches_the_trust_list_proved_by_the_old_one(
    federation: Federation, clock
) -> None:
    issuer = federation.issuer
    before = set(_trust_keys(federation))
    with issuer.db.uow() as uow:
        new = keystore.create_key(
            uow.conn, issuer.service.cipher, Algorithm.EDDSA, region="330000", now=clock()
        )
        uow.commit()
    report = federation.sync()
    assert report.keys == 1
    after = _trust_keys(federation)
    assert set(after) == before | {new.kid.hex()}
    # Revoking here revokes at the hub: every verifier drops it at its next refresh.
    with issuer.db.uow() as uow:
        keystore.revoke(uow.conn, new.kid, now=clock())
        uow.commit()
    federation.sync()
    assert _trust_keys(federation)[new.kid.hex()]["revoked_at"] is not None
