"""The checkpoint page's routes and the issuer's relay, in-process: who may open the page,
what it is given, and what the relay passes on, names and audits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.browser.checkpoint_world import LiveClock, relay_issuer
from tests.integration.conftest import make_id
from tests.integration.modes_support import Federation, federation
from yimatong.adapters.db.tables import audit_log, hub_feed
from yimatong.adapters.signed import verify_document

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    state = tmp_path_factory.mktemp("cp-pages")
    with federation(
        hub_db=f"sqlite:///{state / 'hub.db'}",
        zj_db=f"sqlite:///{state / 'zj.db'}",
        legacy_db=f"sqlite:///{state / 'hb.db'}",
        state=state,
        clock=LiveClock(),
    ) as made:
        yield made


def _signed_in(client: TestClient, token: str) -> TestClient:
    r = client.post("/signin/staff", data={"token": token, "next": "/checkpoint"})
    assert r.status_code in (303, 200), r.text
    return client


def test_the_page_asks_for_sign_in_and_only_a_checkpoint_gets_it(fed: Federation) -> None:
    with TestClient(fed.hub.app, follow_redirects=False) as client:
        r = client.get("/checkpoint")
        assert r.status_code == 303
        assert r.headers["location"] == "/signin/staff?next=/checkpoint"
        _signed_in(client, fed.tokens["staff"])
        r = client.get("/checkpoint")
        assert r.status_code == 403 and "此页面只供核验点凭证使用" in r.text
    with TestClient(fed.hub.app, follow_redirects=False) as client:
        _signed_in(client, fed.tokens["checkpoint"])
        r = client.get("/checkpoint")
        assert r.status_code == 200
        assert "no-store" in r.headers["cache-control"]
        config = json.loads(
            re.search(r'id="checkpoint-config">(.*?)</script>', r.text, re.S).group(1)  # type: ignore[union-attr]
        )
        hub_kid = fed.ctx.hub_key().kid.hex()
        assert [k["kid"] for k in config["hub_keys"]] == [hub_kid]
        assert config["api"]["verify"] == "/v1/codes/verify"
        assert config["checkpoint"] == "hub-checkpoint"
        assert config["home_region"] is None  # a hub checkpoint says where it stands
        assert "<title>核验点 · 国家平台</title>" in r.text  # nothing personal in the title
        worker = client.get("/checkpoint/sw.js")
        assert worker.headers["service-worker-allowed"] == "/checkpoint"
        assert worker.headers["content-type"].startswith("text/javascript")
        assert "__ROOT__" not in worker.text


def test_an_issuers_checkpoint_page_stands_in_the_issuers_region_unless_told(
    fed: Federation, tmp_path: Path
) -> None:
    with relay_issuer(fed, tmp_path) as gz, TestClient(gz.node.app) as issuer:
        _signed_in(issuer, gz.checkpoint)
        r = issuer.get("/checkpoint")
        assert r.status_code == 200
        config = json.loads(
            re.search(r'id="checkpoint-config">(.*?)</script>', r.text, re.S).group(1)  # type: ignore[union-attr]
        )
        assert config["home_region"] == "520000"


def test_the_relay_refuses_who_is_not_a_checkpoint_of_the_issuer(
    fed: Federation, tmp_path: Path
) -> None:
    with relay_issuer(fed, tmp_path) as gz, TestClient(gz.node.app) as issuer:
        r = issuer.get("/v1/hub/trust-list")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        r = issuer.get("/v1/hub/trust-list", headers={"Authorization": f"Bearer {gz.staff}"})
        assert r.status_code == 403 and r.json()["type"].endswith("/forbidden")
        # A hub credential is not this issuer's.
        r = issuer.get(
            "/v1/hub/trust-list", headers={"Authorization": f"Bearer {fed.tokens['checkpoint']}"}
        )
        assert r.status_code == 401
        # Through the page's cookie, a change needs the CSRF token.
        _signed_in(issuer, gz.checkpoint)
        r = issuer.post("/v1/hub/codes/verify", json={"code": "YMT1:X"})
        assert r.status_code == 403


def test_the_relay_passes_the_signed_lists_on_byte_for_byte(
    fed: Federation, tmp_path: Path
) -> None:
    with relay_issuer(fed, tmp_path) as gz, TestClient(gz.node.app) as issuer:
        me = {"Authorization": f"Bearer {gz.checkpoint}"}
        for relayed, direct in (
            ("/v1/hub/trust-list?since=0", "/v1/trust-list?since=0"),
            ("/v1/hub/risk-areas?since=0", "/v1/risk-areas?since=0"),
            ("/v1/hub/policies/520000", "/v1/policies/520000"),
            ("/v1/hub/international-trust", "/v1/international-trust"),
        ):
            got, want = issuer.get(relayed, headers=me), fed.http.get(direct)
            assert got.status_code == 200, got.text
            relayed_doc, direct_doc = json.loads(got.content), json.loads(want.content)
            hub = fed.ctx.hub_key()
            assert verify_document(relayed_doc, {hub.kid: hub.public})  # as the hub signed it
            relayed_doc["payload"].pop("issued_at")  # the trust list is signed per request
            direct_doc["payload"].pop("issued_at")
            assert relayed_doc["payload"] == direct_doc["payload"]
            assert got.headers["etag"] == want.headers["etag"]
            again = issuer.get(relayed, headers={**me, "If-None-Match": got.headers["etag"]})
            assert again.status_code == 304


def test_the_relay_names_the_checkpoint_and_audits_reads_at_issuer_and_hub(
    fed: Federation, tmp_path: Path
) -> None:
    me_zj, sid = fed.zj_citizen(phone="13800000901", id_number=make_id(seq="901"))
    code = fed.zj_code(me_zj, sid)["code"]
    with relay_issuer(fed, tmp_path) as gz, TestClient(gz.node.app) as issuer:
        me = {"Authorization": f"Bearer {gz.checkpoint}"}
        r = issuer.post(
            "/v1/hub/codes/verify",
            json={"code": code, "at_region": "520000", "temperature": 36.5},
            headers=me,
        )
        assert r.status_code == 200, r.text
        assert r.json()["decision"]["outcome"] == "PASS"
        r = issuer.post(
            "/v1/hub/lookups",
            json={"id_number": make_id(seq="901"), "at_region": "520000", "checkpoint": "东门"},
            headers=me,
        )
        assert r.status_code == 200, r.text
        with gz.node.db.read() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.sid == sid)).all()
        assert {(row.action, row.actor, row.actor_role) for row in rows} == {
            ("relay.code.verify", "gz-gate-1", "checkpoint"),
            ("relay.lookup", "gz-gate-1", "checkpoint"),
        }
        with fed.hub.db.read() as conn:
            hub_rows = conn.execute(
                select(audit_log).where(audit_log.c.sid == sid, audit_log.c.actor == gz.hub_name)
            ).all()
        purposes = {row.action: row.purpose for row in hub_rows}
        assert "for checkpoint 520000/gz-gate-1" in purposes["code.verify"]
        assert "520000/gz-gate-1 (东门)" in purposes["lookup.id_number"]

        # Scans: filed under the caller's credential, whatever the page said, and only in 520000.
        scan = {"id": "relay-scan-1", "sid": sid, "at": fed.clock().isoformat(),
                "area": "520102", "decision": "PASS", "checkpoint": "someone-else"}  # fmt: skip
        r = issuer.post("/v1/hub/scans", json={"scans": [scan]}, headers=me)
        assert r.status_code == 200 and r.json() == {"accepted": 1, "duplicates": 0}, r.text
        r = issuer.post("/v1/hub/scans", json={"scans": [scan]}, headers=me)
        assert r.json() == {"accepted": 0, "duplicates": 1}
        with fed.hub.db.read() as conn:
            (body,) = conn.execute(
                select(hub_feed.c.body).where(hub_feed.c.dedupe == "scan:relay-scan-1")
            ).one()
        assert body["checkpoint"] == "gz-gate-1"
        r = issuer.post(
            "/v1/hub/scans", json={"scans": [{**scan, "id": "x2", "area": "330106"}]}, headers=me
        )
        assert r.status_code == 403


def test_a_cursor_beyond_the_current_version_still_gets_a_signed_list(fed: Federation) -> None:
    # The delta's ``since`` is signed: it is capped at the current version, within JCS.
    for path in ("/v1/trust-list", "/v1/risk-areas"):
        r = fed.http.get(path, params={"since": 2**62})
        assert r.status_code == 200, r.text
        assert r.json()["payload"]["since"] == r.json()["payload"]["version"]
