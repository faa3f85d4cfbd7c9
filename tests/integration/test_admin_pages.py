"""The admin pages in-process: roles and scope as the API checks them, CSRF on every form,
the cookie's flags, and what each page changes (the browser tests drive the same in Chromium).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from starlette.testclient import TestClient

from tests.conftest import FakeClock
from tests.integration.admin_support import Pages, credential, form_fields
from tests.integration.conftest import Inbox, issuer_settings, make_id
from tests.integration.hub_data_helpers import hub_settings, lab_key
from tests.integration.modes_support import Databases, Federation, federation
from yimatong.adapters.db.tables import (
    audit_log,
    contact_facts,
    corrections,
    hub_feed,
    risk_periods,
)
from yimatong.bootstrap import build_issuer
from yimatong.credentials import Caller
from yimatong.hub.app import build_hub
from yimatong.hub.policies import EntryPolicies, demo_policies
from yimatong.web.session import cookie_name

STREET = "330106008"  # 浙江省 杭州市 西湖区 西湖街道
GUIYANG_STREET = "520102017"  # 贵州省 贵阳市 南明区 西湖路街道


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Pages]:
    node = build_hub(hub_settings(db_url, tmp_path), clock=clock)
    EntryPolicies(node.service).seed(demo_policies())
    with TestClient(node.app, raise_server_exceptions=False) as client:
        yield Pages(node, client, "000000")
    node.close()


def tokens(hub: Pages) -> dict[str, str]:
    node = hub.node
    return {
        "admin": credential(node, "root", "admin"),
        "authority": credential(node, "cdc", "authority"),
        "zj-authority": credential(node, "zj-cdc", "authority", "330000"),
        "checkpoint": credential(node, "gate-1", "checkpoint", "520000"),
        "staff": credential(node, "hub-staff", "staff"),
    }


HUB_PAGES = (
    "/admin",
    "/admin/areas",
    f"/admin/areas/{STREET}",
    "/admin/policies?region=520000",
    "/admin/policies/edit?region=520000",
    "/admin/simulate",
    "/admin/issuers",
    "/admin/labs",
    "/admin/dashboards",
)


# ------------------------------------------------------------------------------ the door
def test_the_hubs_address_shows_where_its_pages_are(db_url: str, tmp_path: Path) -> None:
    # A hosted region needs a database of its own on PostgreSQL: hosted on SQLite only.
    hosted = ("540000",) if db_url.startswith("sqlite") else ()
    node = build_hub(hub_settings(db_url, tmp_path), hosted=hosted)
    try:
        with TestClient(node.app) as client:
            r = client.get("/")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            links = ['href="/admin"', 'href="/checkpoint"', 'href="/docs"']
            links += [f'href="/regions/{region}/"' for region in hosted]
            for link in links:
                assert link in r.text, link
            assert "<title>国家平台 · 国家平台</title>" in r.text
    finally:
        node.close()


# ------------------------------------------------------------------------------ who may
def test_without_a_session_every_admin_page_asks_for_sign_in(hub: Pages) -> None:
    for path in HUB_PAGES:
        r = hub.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/signin/staff?next=/admin"), path
    r = hub.post(f"/admin/areas/{STREET}", {"level": "high"})
    assert (
        r.status_code == 303
        and r.headers["location"] == f"/signin/staff?next=/admin/areas/{STREET}"
    )
    with hub.node.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(risk_periods)).scalar() == 0
    # JSON for the dashboards: a problem, not a page.
    r = hub.get("/v1/stats/scans")
    assert r.status_code == 401 and r.json()["type"] == "/problems/unauthorized"


@pytest.mark.parametrize("role", ["checkpoint", "staff"])
def test_a_checkpoint_or_staff_credential_gets_no_admin_page(hub: Pages, role: str) -> None:
    hub.sign_in(tokens(hub)[role])
    for path in HUB_PAGES:
        r = hub.get(path)
        assert r.status_code == 403, path
        assert "text/html" in r.headers["content-type"]
        assert 'action="/signin/staff"' in r.text and "此页面需要以下角色之一" in r.text
    r = hub.post(f"/admin/areas/{STREET}", {"level": "high"})
    assert r.status_code == 403
    r = hub.get("/v1/stats/scans")
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"


def test_each_section_is_for_the_roles_its_api_allows(hub: Pages) -> None:
    creds = tokens(hub)
    hub.sign_in(creds["authority"])
    home = hub.get("/admin").text
    assert "/admin/areas" in home and "/admin/issuers" not in home and "/admin/labs" not in home
    assert hub.get("/admin/issuers").status_code == 403
    assert hub.get("/admin/labs").status_code == 403
    assert hub.get("/admin/policies/edit?region=520000").status_code == 200
    hub.sign_in(creds["admin"])
    home = hub.get("/admin").text
    assert "/admin/issuers" in home and "/admin/labs" in home
    assert hub.get("/admin/issuers").status_code == 200
    # The admin may look at areas and policies but the API lets only an authority set them.
    page = hub.get(f"/admin/areas/{STREET}").text
    assert f'action="/admin/areas/{STREET}"' not in page
    r = hub.post(f"/admin/areas/{STREET}", {"level": "high"})
    assert r.status_code == 403 and "authority" in r.text
    assert hub.get("/admin/policies/edit?region=520000").status_code == 403


def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(hub: Pages) -> None:
    token = tokens(hub)["admin"]
    with TestClient(hub.node.app, base_url="https://hub.test") as tls:
        r = tls.post(
            "/signin/staff", data={"token": token, "next": "/admin"}, follow_redirects=False
        )
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{cookie_name('000000')}={token};")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        assert tls.get("/admin").status_code == 200
    r = hub.client.post("/signin/staff", data={"token": token}, follow_redirects=False)
    assert "Secure" not in r.headers["set-cookie"]  # plain HTTP on loopback


# ------------------------------------------------------------------------------ CSRF
def _forms(hub: Pages, creds: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    key = lab_key(3)
    public = base64.b64encode(key.public.spki_der()).decode()
    kid = hub.node.service.registry.region_keys("000000")
    assert kid  # the hub's own key is listed, but never revocable through the pages
    return [
        ("authority", f"/admin/areas/{STREET}", {"level": "high"}),
        (
            "authority",
            "/admin/policies/edit",
            {
                "region": "520000",
                "place_kind": "any",
                "rule": '{"===": [{"var": "code.colour"}, "green"]}',
                "description": "绿码 / green",
                "action": "save",
            },
        ),
        ("authority", "/admin/simulate", {"code": "YMT1:NOPE", "region": "520000"}),
        (
            "admin",
            "/admin/labs",
            {"lab_id": "zj-1", "name": "某检测所", "region": "330100", "public_key": public},
        ),
    ]


def test_every_hub_form_needs_the_pages_csrf_token(hub: Pages) -> None:
    creds = tokens(hub)
    for role, path, data in _forms(hub, creds):
        hub.sign_in(creds[role])
        refused = hub.post(path, data, csrf=False)
        assert refused.status_code == 403, path
        assert "CSRF" in refused.json()["detail"], path
        wrong = hub.post(path, {**data, "csrf": "not-the-token"}, csrf=False)
        assert wrong.status_code == 403, path
        ok = hub.post(path, data)
        assert ok.status_code in (200, 201, 303, 422), (path, ok.status_code, ok.text[:300])
    # The pages carry the token the forms need.
    hub.sign_in(creds["authority"])
    page = hub.get(f"/admin/areas/{STREET}").text
    assert form_fields(page, f"/admin/areas/{STREET}")["csrf"] == hub.csrf


def test_the_revoke_form_needs_the_csrf_token_too(hub: Pages) -> None:
    creds = tokens(hub)
    from tests.integration.conftest import ADMIN
    from yimatong.adapters.crypto import Algorithm, generate_signing_key
    from yimatong.adapters.messages import prove_key

    key = generate_signing_key(Algorithm.EDDSA)
    start = hub.node.service.clock().replace(microsecond=0)
    proved = prove_key(key, "330000", start)
    hub.node.service.registry.register_issuer(
        ADMIN, region="330000", name="浙江省", kind="native", endpoint="http://zj", keys=[proved]
    )
    kid = key.public.kid.hex()
    path = f"/admin/issuers/330000/keys/{kid}/revoke"
    hub.sign_in(creds["admin"])
    confirm = hub.get(path)
    assert confirm.status_code == 200 and "确认撤销" in confirm.text
    assert form_fields(confirm.text, path)["csrf"] == hub.csrf
    assert hub.post(path, {}, csrf=False).status_code == 403
    r = hub.post(path, {})
    assert r.status_code == 303 and r.headers["location"].startswith(
        f"/admin/issuers?revoked={kid}"
    )
    listing = hub.get(r.headers["location"]).text
    assert f"密钥 {kid} 已撤销" in listing and "key.revoked" in listing
    assert hub.post(path, {}).status_code == 409  # already revoked: the API's Conflict
    # The hub's own keys are not the pages' to revoke.
    own = next(iter(hub.node.service.registry.region_keys("000000"))).hex()
    assert hub.get(f"/admin/issuers/000000/keys/{own}/revoke").status_code == 403


# ------------------------------------------------------------------------------ risk areas
def test_an_authority_sets_a_street_and_sees_it_in_the_history_and_the_signed_list(
    hub: Pages,
) -> None:
    hub.sign_in(tokens(hub)["authority"])
    found = hub.get("/admin/areas", params={"q": "西湖"}).text
    assert f"/admin/areas/{STREET}" in found and "西湖街道" in found
    assert "/admin/areas/330106" in hub.get("/admin/areas", params={"q": "330106"}).text
    r = hub.post(f"/admin/areas/{STREET}", {"level": "high", "from": "", "to": ""})
    assert r.status_code == 303
    page = hub.get(r.headers["location"]).text
    assert "已将 西湖街道 设为高风险" in page
    assert 'id="level-now">高风险' in page and "cdc" in page  # set_by in the history
    signed = hub.client.get("/v1/risk-areas").json()["payload"]["periods"]
    assert [(p["area"], p["level"]) for p in signed] == [(STREET, "high")]
    # The district above it still reads low; the street's own level shows in the search.
    found = hub.get("/admin/areas", params={"q": "西湖街道"}).text
    assert "高风险" in found


def test_a_scoped_authority_sees_and_sets_only_its_own_regions(hub: Pages) -> None:
    hub.sign_in(tokens(hub)["zj-authority"])
    found = hub.get("/admin/areas", params={"q": "西湖"}).text
    assert f"/admin/areas/{STREET}" in found and GUIYANG_STREET not in found
    assert "/admin/areas/520" not in hub.get("/admin/areas", params={"q": "5201"}).text
    assert hub.get(f"/admin/areas/{GUIYANG_STREET}").status_code == 403
    r = hub.post(f"/admin/areas/{GUIYANG_STREET}", {"level": "high"})
    assert r.status_code == 403
    with hub.node.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(risk_periods)).scalar() == 0
    assert hub.post(f"/admin/areas/{STREET}", {"level": "medium"}).status_code == 303
    # Its policies too: within 330000 only.
    r = hub.post(
        "/admin/policies/edit",
        {"region": "520000", "place_kind": "any", "rule": "true", "description": "x"},
    )
    assert r.status_code == 403 and "330000" in r.text
    # Nor does the editor open another region's policy for editing.
    r = hub.get("/admin/policies/edit", params={"region": "520000"})
    assert r.status_code == 403 and "330000" in r.text and "<textarea" not in r.text
    assert hub.get("/admin/policies/edit", params={"region": "330100"}).status_code == 200


def test_a_bad_level_or_time_is_shown_on_the_page(hub: Pages) -> None:
    hub.sign_in(tokens(hub)["authority"])
    r = hub.post(f"/admin/areas/{STREET}", {"level": "purple"})
    assert r.status_code == 422 and 'id="refused"' in r.text
    r = hub.post(
        f"/admin/areas/{STREET}",
        {"level": "high", "from": "2026-11-21T10:00", "to": "2026-11-20T10:00"},
    )
    assert r.status_code == 422 and "to must be after from" in r.text
    assert hub.get("/admin/areas/999999").status_code == 422


# ------------------------------------------------------------------------------ policies
def test_the_editor_refuses_a_broken_rule_with_the_reason_and_saves_a_good_one(
    hub: Pages,
) -> None:
    hub.sign_in(tokens(hub)["authority"])
    editor = hub.get("/admin/policies/edit?region=520000&place_kind=any").text
    assert "scan.temperature_decidegrees" in editor  # the current rule, to start from
    body = {"region": "520000", "place_kind": "any", "description": "绿码 / green"}
    r = hub.post("/admin/policies/edit", {**body, "rule": '{"===": [{"var": "code.colour"}]}'})
    assert r.status_code == 422
    assert "not valid CertLogic at /rule/===" in r.text
    r = hub.post("/admin/policies/edit", {**body, "rule": '{"===": [{"var": "code.color"}, 1]}'})
    assert r.status_code == 422 and "unknown fact" in r.text
    r = hub.post("/admin/policies/edit", {**body, "rule": '{"===": [1, 2'})
    assert r.status_code == 422 and "不是有效的 JSON" in r.text
    check = hub.post(
        "/admin/policies/edit",
        {**body, "rule": '{"===": [{"var": "code.colour"}, "green"]}', "action": "check"},
    )
    assert check.status_code == 200 and 'id="valid"' in check.text
    before = EntryPolicies(hub.node.service).version("520000")
    assert before == EntryPolicies(hub.node.service).version("520000")  # check saved nothing
    r = hub.post(
        "/admin/policies/edit",
        {**body, "rule": '{"===": [{"var": "code.colour"}, "green"]}', "action": "save"},
    )
    assert r.status_code == 303
    page = hub.get(r.headers["location"]).text
    assert 'id="saved"' in page and "绿码 / green" in page
    history = hub.client.get("/v1/policies/520000/history").json()["policies"]
    assert history[0]["set_by"] == "cdc" and history[0]["description"] == "绿码 / green"


# ------------------------------------------------------------------------------ labs
def test_an_admin_registers_a_lab_and_sees_its_credential_once(hub: Pages) -> None:
    hub.sign_in(tokens(hub)["admin"])
    public = base64.b64encode(lab_key(5).public.spki_der()).decode()
    data = {"lab_id": "zj-lab-1", "name": "浙江某检测所", "region": "330100", "public_key": public}
    r = hub.post("/admin/labs", data)
    assert r.status_code == 201 and 'id="credential">ymt_c_' in r.text
    assert r.headers["cache-control"] == "no-store"
    listing = hub.get("/admin/labs").text
    assert "zj-lab-1" in listing and "ymt_c_" not in listing
    again = hub.post("/admin/labs", data)
    assert again.status_code == 409 and "registered already" in again.text
    labs = hub.client.get("/v1/labs").json()["labs"]
    assert [lab["lab_id"] for lab in labs] == ["zj-lab-1"]


# ------------------------------------------------------------------------------ federation
@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    pool = Databases()
    yield pool
    pool.close()


@pytest.fixture
def fed(
    db_url: str, tmp_path: Path, clock: FakeClock, databases: Databases
) -> Iterator[Federation]:
    with federation(
        hub_db=db_url,
        zj_db=databases.url(db_url, tmp_path, "zj"),
        legacy_db=databases.url(db_url, tmp_path, "hb"),
        state=tmp_path,
        clock=clock,
    ) as f:
        EntryPolicies(f.ctx).seed(demo_policies())
        yield f


def test_the_simulator_answers_with_the_hubs_decider_and_records_no_scan(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    page = Pages(fed.hub, fed.http, "000000")
    page.sign_in(credential(fed.hub, "cdc", "authority"))
    with fed.hub.db.read() as conn:
        feed_before = conn.execute(select(func.count()).select_from(hub_feed)).scalar()
    warm = page.post("/admin/simulate", {"code": code, "region": "520000", "temperature": "36.5"})
    assert warm.status_code == 200, warm.text
    assert 'id="outcome">PASS' in warm.text and "张*" in warm.text
    assert sid not in warm.text and code not in warm.text  # neither the sid nor the code
    cold = page.post("/admin/simulate", {"code": code, "region": "520000"})
    assert 'id="outcome">CHECK' in cold.text and "现场体温" in cold.text
    hot = page.post("/admin/simulate", {"code": code, "region": "520000", "temperature": "38.2"})
    assert 'id="outcome">DENY' in hot.text
    with fed.hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(hub_feed)).scalar() == feed_before
        rows = conn.execute(select(audit_log).where(audit_log.c.action == "policy.simulate")).all()
    assert [(r.actor, r.sid) for r in rows] == [("cdc", sid)] * 3
    assert fed.ctx.tallies.pending() == 0  # not counted as Mode 2 calls
    bad = page.post("/admin/simulate", {"code": "YMT1:NOPE", "region": "520000"})
    assert bad.status_code == 422 and 'id="refused"' in bad.text
    both = page.post("/admin/simulate", {"code": code, "id_number": make_id(), "region": "520000"})
    assert both.status_code == 422


def test_the_simulator_takes_an_id_number_audited_as_a_lookup(fed: Federation) -> None:
    id_number = make_id("330106", "19700101", "456")
    fed.zj_citizen(phone="13800000002", id_number=id_number)
    zj_staff = credential(fed.zj, "zj-hub-link", "node")  # how the hub asks the issuer
    assert zj_staff
    page = Pages(fed.hub, fed.http, "000000")
    page.sign_in(credential(fed.hub, "root", "admin"))
    r = page.post(
        "/admin/simulate",
        {"id_number": id_number, "region": "330000", "place_kind": "transport"},
    )
    assert r.status_code == 200, r.text
    assert 'id="outcome">DENY' in r.text or 'id="outcome">CHECK' in r.text  # no test on record
    assert id_number not in r.text
    with fed.hub.db.read() as conn:
        purposes = [
            row.purpose
            for row in conn.execute(
                select(audit_log).where(audit_log.c.action == "lookup.id_number")
            )
        ]
    assert purposes == ["policy simulator: root (policy simulator)"]


def test_dashboards_count_what_the_federation_did(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    for _ in range(3):
        assert fed.verify(code, at_region="520000").status_code == 200
    assert fed.verify("YMT1:NOPE", at_region="520000").status_code == 422
    scan = {
        "id": "scan-1",
        "sid": sid,
        "at": fed.clock().isoformat(),
        "area": "520102017",
        "decision": "PASS",
        "checkpoint": "贵阳北站 3 号口",
    }
    for _ in range(2):  # sent twice, landed once, counted once
        r = fed.http.post("/v1/scans", json={"scans": [scan]}, headers=fed.as_("checkpoint"))
        assert r.status_code == 200, r.text
    node = credential(fed.hub, "issuer-330000-node", "node", "330000")
    summary = {"sid": sid, "colour": "green", "assessed_at": fed.clock().isoformat()}
    r = fed.http.post(
        "/v1/summaries",
        json={"summaries": [summary]},
        headers={"Authorization": f"Bearer {node}"},
    )
    assert r.status_code == 200, r.text
    admin = fed.as_("admin")
    scans = fed.http.get("/v1/stats/scans", headers=admin).json()
    assert scans["bucket"] == "hour" and len(scans["times"]) == 48
    assert [(s["label"], sum(s["values"])) for s in scans["series"]] == [("PASS", 1)]
    mode2 = fed.http.get("/v1/stats/mode2", headers=admin).json()
    counted = {(s["key"], s["label"]): sum(s["values"]) for s in mode2["series"]}
    assert counted == {("520000", "verify"): 3, ("520000", "refused"): 1}
    colours = fed.http.get("/v1/stats/colours?days=7", headers=admin).json()
    assert len(colours["times"]) == 7
    assert [(s["key"], s["label"], sum(s["values"])) for s in colours["series"]] == [
        ("330000", "green", 1)
    ]
    # An authority of Zhejiang sees Zhejiang's series only.
    zj = credential(fed.hub, "zj-cdc", "authority", "330000")
    mine = fed.http.get("/v1/stats/scans", headers={"Authorization": f"Bearer {zj}"}).json()
    assert mine["series"] == [] and mine["total"] == 0
    mine = fed.http.get("/v1/stats/colours", headers={"Authorization": f"Bearer {zj}"}).json()
    assert mine["total"] == 1
    assert fed.http.get("/v1/stats/nope", headers=admin).status_code == 422
    assert fed.http.get("/v1/stats/scans?hours=10000", headers=admin).status_code == 422


# ------------------------------------------------------------------------------ issuer
@pytest.fixture
def issuer(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Pages]:
    inbox = Inbox()
    node = build_issuer(issuer_settings(db_url, tmp_path), clock=clock, sms=inbox)
    with TestClient(node.app, raise_server_exceptions=False) as client:
        pages = Pages(node, client, "330000")
        pages.history.append(inbox)
        yield pages
    node.close()


def _correction(issuer: Pages) -> tuple[int, str]:
    inbox: Inbox = issuer.history[0]
    http = issuer.client
    http.post("/v1/auth/otp", json={"phone": "13800138000"})
    otp = inbox.last_code("13800138000")
    token = http.post("/v1/auth/session", json={"phone": "13800138000", "otp": otp}).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    body = {"name": "张三丰", "id_type": "111", "id_number": make_id()}
    sid = http.post("/v1/applications", json=body, headers=me).json()["sid"]
    r = http.post(
        "/v1/corrections",
        json={"subject": sid, "kind": "other", "statement": "我 11 月 18 日不在杭州"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), token


def test_issuer_staff_decide_corrections_audited_as_the_api_audits(issuer: Pages) -> None:
    number, citizen = _correction(issuer)
    staff = credential(issuer.node, "zj-staff", "staff")
    assert issuer.get("/admin").status_code == 303
    path = f"/admin/corrections/{number}"
    issuer.sign_in(credential(issuer.node, "zj-gate", "checkpoint"))
    for _ in ("a checkpoint", "a citizen"):
        assert issuer.get("/admin").status_code == 403
        assert issuer.get(path).status_code == 403
        assert issuer.post(path, {"decision": "accept"}).status_code == 403
        issuer.use_session(citizen)  # then a citizen's own session
    issuer.sign_in(staff)
    queue = issuer.get("/admin").text
    assert f'href="/admin/corrections/{number}"' in queue
    page = issuer.get(path).text
    assert "我 11 月 18 日不在杭州" in page
    assert issuer.post(path, {"decision": "reject", "note": "x"}, csrf=False).status_code == 403
    r = issuer.post(path, {"decision": "reject", "note": ""})
    assert r.status_code == 422 and "note" in r.text
    r = issuer.post(path, {"decision": "reject", "note": "当日有扫码记录"})
    assert r.status_code == 303
    assert "已驳回" in issuer.get(r.headers["location"]).text
    with issuer.node.db.read() as conn:
        row = conn.execute(select(corrections)).one()
        actions = [
            (a.actor, a.action)
            for a in conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
        ]
    assert (row.status, row.decided_by, row.decision_note) == (
        "rejected",
        "zj-staff",
        "当日有扫码记录",
    )
    assert actions == [
        ("zj-staff", "correction.list"),
        ("zj-staff", "correction.read"),
        ("zj-staff", "correction.read"),  # the page again, with the refused note
        ("zj-staff", "correction.decide"),
        ("zj-staff", "correction.read"),
    ]
    assert issuer.post(path, {"decision": "accept", "note": "again"}).status_code == 409


def test_a_region_the_hub_hosts_has_its_own_staff_pages_under_its_prefix(
    tmp_path: Path, clock: FakeClock
) -> None:
    node = build_hub(
        hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path), clock=clock, hosted=("540000",)
    )
    try:
        hosted = node.service.hosted_services["540000"].node
        staff = credential(hosted, "xz-staff", "staff")
        with TestClient(node.app) as http:
            r = http.get("/regions/540000/admin", follow_redirects=False)
            assert r.headers["location"] == "/regions/540000/signin/staff?next=/admin"
            r = http.post(
                "/regions/540000/signin/staff",
                data={"token": staff, "next": "/admin"},
                follow_redirects=False,
            )
            assert r.headers["location"] == "/regions/540000/admin"
            assert "Path=/regions/540000" in r.headers["set-cookie"]
            page = http.get("/regions/540000/admin")
            assert page.status_code == 200 and "待处理的纠错申请" in page.text
            assert 'href="/regions/540000/static/css/admin.css"' in page.text
            # The region's credential is the region's: the hub's own pages do not take it.
            assert http.get("/admin", follow_redirects=False).status_code == 303
    finally:
        for region in node.service.hosted_services.values():
            region.node.close()
        node.close()


def test_the_health_authority_asks_and_a_colleague_approves_a_manual_colour_on_the_pages(
    issuer: Pages,
) -> None:
    _number, citizen = _correction(issuer)
    me = {"Authorization": f"Bearer {citizen}"}
    sid = issuer.client.get("/v1/subjects", headers=me).json()[0]["sid"]
    now = issuer.node.service.clock()
    with issuer.node.db.uow() as uow:  # a contact the issuer mirrored from the hub's feed
        uow.conn.execute(
            insert(contact_facts).values(
                sid=sid,
                kind="close",
                last_exposure=now - timedelta(hours=3),
                origin=4242,
                expires_at=now + timedelta(days=30),
            )
        )
        uow.commit()
    first = credential(issuer.node, "cdc-1", "authority")
    second = credential(issuer.node, "cdc-2", "authority")
    issuer.sign_in(credential(issuer.node, "zj-staff-2", "staff"))
    assert issuer.get("/admin/overrides").status_code == 403  # window staff: no
    issuer.sign_in(first)
    home = issuer.get("/admin")
    assert home.status_code == 303 and home.headers["location"] == "/admin/overrides"
    ends = (now + timedelta(days=2)).astimezone(timezone(timedelta(hours=8)))
    ask = {
        "colour": "red",
        "reason": "contact_upgraded",
        "note": "流调上调为密接",
        "expires": ends.strftime("%Y-%m-%dT%H:%M"),
        "people": f"{sid} venue_scan 4242",
    }
    refused = issuer.post("/admin/overrides", ask)
    assert refused.status_code == 422 and "recorded through the hub" in refused.text
    assert "流调上调为密接" in refused.text  # what was typed is kept
    r = issuer.post("/admin/overrides", {**ask, "people": f"{sid} contact 4242"})
    assert r.status_code == 303, r.text
    page = issuer.get(r.headers["location"]).text
    assert "待批准" in page and 'value="approve"' in page
    oid = issuer.node.service.list_overrides(
        Caller(role="authority", name="cdc-1"), status="pending"
    )[0]["id"]
    mine = issuer.post(f"/admin/overrides/{oid}", {"action": "approve"})
    assert mine.status_code == 403 and "second member of staff" in mine.text
    issuer.sign_in(second)
    r = issuer.post(f"/admin/overrides/{oid}", {"action": "approve"})
    assert r.status_code == 303, r.text
    assert "已生效" in issuer.get("/admin/overrides").text
    health = issuer.client.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["colour"] == "red"
    assert issuer.post(f"/admin/overrides/{oid}", {"action": "approve"}).status_code == 409
