"""The hub's admin pages in Chromium, against an in-process federation served over loopback.

The hub, the Zhejiang issuer and the Hubei legacy system run in this process
(``tests/integration/modes_support.py``); the hub is served by uvicorn on 127.0.0.1 and the
browser talks to it alone. Each test signs in with a credential on the page, does what an
administrator or a health authority does, reads what the page shows, runs axe on every page
and checks that no request left the node.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.admin_support import axe, shot, sign_in
from tests.browser.conftest import LiveServer, Tab
from tests.conftest import FakeClock
from tests.integration.admin_support import credential
from tests.integration.conftest import ADMIN, make_id
from tests.integration.hub_data_helpers import lab_key, sign_batch
from tests.integration.modes_support import Federation, federation
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.messages import prove_key
from yimatong.credentials import Caller
from yimatong.hub.labs import Labs
from yimatong.hub.policies import EntryPolicies, demo_policies

STREET = "330106008"  # 浙江省 杭州市 西湖区 西湖街道


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Federation, LiveServer]]:
    tmp = tmp_path_factory.mktemp("admin-hub")
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    with federation(
        hub_db=f"sqlite:///{tmp / 'hub.db'}",
        zj_db=f"sqlite:///{tmp / 'zj.db'}",
        legacy_db=f"sqlite:///{tmp / 'hb.db'}",
        state=tmp,
        clock=clock,
    ) as fed:
        EntryPolicies(fed.ctx).seed(demo_policies())
        with LiveServer(fed.hub.app) as server:
            yield fed, server


@pytest.fixture
def fed(world: tuple[Federation, LiveServer]) -> Federation:
    return world[0]


@pytest.fixture
def base(world: tuple[Federation, LiveServer]) -> str:
    return world[1].url


def clean(tab: Tab, base: str) -> None:
    """No serious accessibility problem, no request off the node, no CSP complaint."""
    assert axe(tab) == [], tab.page.url
    assert tab.foreign_requests(base) == []
    assert not [m for m in tab.console if "Content Security Policy" in m], tab.console


def test_the_hubs_door_links_its_pages_and_is_accessible(tab: Tab, base: str) -> None:
    tab.page.goto(base + "/")
    tab.page.get_by_role("link", name="管理后台").wait_for()
    shot(tab, "hub-door")
    clean(tab, base)
    tab.page.get_by_role("link", name="管理后台").click()
    tab.page.wait_for_url("**/signin/staff**")


# ------------------------------------------------------------------------------ risk areas
def test_an_authority_finds_a_street_raises_it_and_sees_it_in_history_and_list(
    tab: Tab, fed: Federation, base: str
) -> None:
    token = credential(fed.hub, "杭州疾控", "authority")
    sign_in(tab, base, token, "/admin/areas")
    page = tab.page
    clean(tab, base)
    page.get_by_label("名称或代码").fill("西湖")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name=STREET).wait_for()
    shot(tab, "areas-search")
    clean(tab, base)
    row = page.locator("tr", has=page.get_by_role("link", name=STREET))
    assert "浙江省 杭州市 西湖区 西湖街道" in row.inner_text()
    assert "低风险" in row.inner_text()
    row.get_by_role("link", name=STREET).click()
    page.wait_for_url(f"{base}/admin/areas/{STREET}")
    assert page.locator("#level-now").inner_text() == "低风险"
    clean(tab, base)
    page.get_by_label("高风险").check()
    page.get_by_role("button", name="设定", exact=True).click()
    page.locator("#done").wait_for()
    shot(tab, "area-set-high")
    assert "已将 西湖街道 设为高风险" in page.locator("#done").inner_text()
    assert page.locator("#level-now").inner_text() == "高风险"
    history = page.locator("#periods tbody tr").first.inner_text()
    assert "高风险" in history and "杭州疾控" in history
    assert "高风险" in page.locator("#timeline tbody tr").first.inner_text()
    clean(tab, base)
    # The page's own origin serves the signed list every checkpoint downloads: it is there.
    signed = page.evaluate(
        "async () => (await (await fetch('/v1/risk-areas')).json()).payload.periods"
    )
    assert {(p["area"], p["level"]) for p in signed} >= {(STREET, "high")}
    # Searching by code shows the street's new level as well.
    page.goto(f"{base}/admin/areas?q=330106")
    street = page.locator("tr", has=page.get_by_role("link", name=STREET))
    assert "高风险" in street.inner_text()
    assert tab.foreign_requests(base) == []


def test_a_scoped_authority_cannot_set_another_provinces_areas(
    tab: Tab, fed: Federation, base: str
) -> None:
    token = credential(fed.hub, "浙江省卫健委", "authority", "330000")
    sign_in(tab, base, token, "/admin/areas")
    page = tab.page
    page.get_by_label("名称或代码").fill("西湖路")
    page.get_by_role("button", name="查找").click()
    page.get_by_text("没有找到符合的地区。").wait_for()  # 贵阳's 西湖路街道 is not Zhejiang's
    response = page.goto(f"{base}/admin/areas/520102017")
    assert response is not None and response.status == 403
    assert "330000" in page.get_by_role("alert").inner_text()
    assert page.locator("form[action='/admin/areas/520102017']").count() == 0
    shot(tab, "area-out-of-scope")
    clean(tab, base)


# ------------------------------------------------------------------------------ policies
def test_the_editor_refuses_a_broken_expression_with_the_reason(
    tab: Tab, fed: Federation, base: str
) -> None:
    token = credential(fed.hub, "贵州省卫健委", "authority", "520000")
    sign_in(tab, base, token, "/admin/policies")
    page = tab.page
    assert page.get_by_label("地区代码").input_value() == "520000"  # the authority's own
    page.get_by_role("button", name="查看").click()
    page.get_by_text("现行规则（含上级地区）").wait_for()
    shot(tab, "policies")
    clean(tab, base)
    page.get_by_role("link", name="编辑").first.click()
    page.wait_for_url("**/admin/policies/edit?region=520000&place_kind=any")
    rule = page.get_by_label("规则（CertLogic）")
    assert "scan.temperature_decidegrees" in rule.input_value()
    clean(tab, base)
    rule.fill(
        '{"and": [{"===": [{"var": "code.colour"}, "green"]}, {"<": [{"var": "scan.temp"}]}]}'
    )
    page.get_by_role("button", name="校验并保存").click()
    refused = page.locator("#refused")
    refused.wait_for()
    shot(tab, "policy-refused")
    assert "规则未保存" in refused.inner_text()
    assert "/rule/and/1/<" in refused.inner_text()
    assert '"scan.temp"' in rule.input_value()  # what was typed is kept, to be fixed
    clean(tab, base)
    rule.fill(
        '{"and": [{"===": [{"var": "code.colour"}, "green"]}, '
        '{"<": [{"var": "scan.temperature_decidegrees"}, 375]}]}'
    )
    page.get_by_role("button", name="校验", exact=True).click()
    page.locator("#valid").wait_for()
    page.get_by_label("说明").fill("绿码，且体温低于 37.5 °C / green and below 37.5 °C")
    page.get_by_role("button", name="校验并保存").click()
    page.locator("#saved").wait_for()
    assert "37.5" in page.locator("article.policy").first.inner_text()
    assert "贵州省卫健委" in page.locator("#history tbody tr").first.inner_text()
    clean(tab, base)
    # Put the demo's rule back for the tests that follow.
    EntryPolicies(fed.ctx).put(
        Caller(role="authority", name="test"),
        "520000",
        place_kind="any",
        rule=demo_policies()[0]["rule"],
        description=demo_policies()[0]["description"],
    )


def test_the_simulator_says_pass_for_a_green_code_and_check_without_a_temperature(
    tab: Tab, fed: Federation, base: str
) -> None:
    me, sid = fed.zj_citizen(phone="13800000021", id_number=make_id("330106", "19900101", "211"))
    code = fed.zj_code(me, sid)["code"]
    token = credential(fed.hub, "模拟员", "authority")
    sign_in(tab, base, token, "/admin/simulate")
    page = tab.page
    clean(tab, base)

    def simulate(temperature: str) -> str:
        page.get_by_label("健康码（粘贴码串）").fill(code)
        page.get_by_label("所在地区代码").fill("520000")
        page.get_by_label("场所类型").select_option("transport")
        page.get_by_label("体温（°C，可留空）").fill(temperature)
        page.get_by_role("button", name="模拟").click()
        page.locator("#result").wait_for()
        return str(page.locator("#outcome").inner_text())

    assert simulate("36.5") == "PASS"
    result = page.locator("#result").inner_text()
    assert "张*" in result and "绿码" in result and "520000" in result
    shot(tab, "simulate-pass")
    clean(tab, base)
    assert page.get_by_label("健康码（粘贴码串）").input_value() == ""  # the page keeps no copy
    assert simulate("") == "CHECK"
    assert "现场体温" in page.locator("#reasons").inner_text()
    shot(tab, "simulate-check")
    clean(tab, base)


# ------------------------------------------------------------------------------ issuers
def test_an_admin_revokes_a_key_after_confirming(tab: Tab, fed: Federation, base: str) -> None:
    key = generate_signing_key(Algorithm.ES256)
    start = fed.clock().replace(microsecond=0) - timedelta(days=1)
    fed.ctx.registry.register_issuer(
        ADMIN,
        region="520000",
        name="贵州省",
        kind="native",
        endpoint="http://gz.test",
        keys=[prove_key(key, "520000", start)],
    )
    kid = key.public.kid.hex()
    token = credential(fed.hub, "hub-root", "admin")
    sign_in(tab, base, token, "/admin/issuers")
    page = tab.page
    shot(tab, "issuers")
    clean(tab, base)
    page.get_by_role("link", name=f"撤销 520000 的密钥 {kid}").click()
    page.wait_for_url(f"**/admin/issuers/520000/keys/{kid}/revoke")
    assert "无法恢复" in page.locator("#warning").inner_text()
    shot(tab, "revoke-confirm")
    clean(tab, base)
    page.get_by_role("link", name="取消").click()  # not yet
    page.wait_for_url(f"{base}/admin/issuers")
    assert "已于" not in page.locator(f"#key-{kid}").inner_text()
    page.get_by_role("link", name=f"撤销 520000 的密钥 {kid}").click()
    page.get_by_role("button", name="确认撤销").click()
    page.locator("#done").wait_for()
    assert f"密钥 {kid} 已撤销" in page.locator("#done").inner_text()
    assert "已于" in page.locator(f"#key-{kid}").inner_text()
    first = page.locator("#changes tbody tr").first.inner_text()
    assert "key.revoked" in first and "hub-root" in first
    shot(tab, "revoked")
    clean(tab, base)
    trust = page.evaluate("async () => (await (await fetch('/v1/trust-list')).json()).payload")
    revoked = [k for k in trust["keys"] if k["kid"] == kid]
    assert revoked and revoked[0]["revoked_at"]


def test_an_admin_registers_a_lab_with_its_public_key(tab: Tab, fed: Federation, base: str) -> None:
    token = credential(fed.hub, "hub-root-2", "admin")
    sign_in(tab, base, token, "/admin/labs")
    page = tab.page
    clean(tab, base)
    public = base64.b64encode(lab_key(9).public.spki_der()).decode()
    page.get_by_label("机构编号").fill("gz-lab-1")
    page.get_by_label("机构名称").fill("贵州某医学检验所")
    page.get_by_label("所在地区代码").fill("520100")
    page.get_by_label("公钥（Base64 DER SubjectPublicKeyInfo）").fill(public)
    page.get_by_role("button", name="登记检测机构").click()
    page.locator("#created").wait_for()
    assert page.locator("#credential").inner_text().startswith("ymt_c_")
    assert "gz-lab-1" in page.locator("#labs").inner_text()
    shot(tab, "lab-registered")
    clean(tab, base)


# ------------------------------------------------------------------------------ dashboards
def _activity(fed: Federation) -> None:
    """An hour of the federation: codes verified, scans, a lab batch, Mode 1 summaries."""
    id_number = make_id("330106", "19850101", "301")
    me, sid = fed.zj_citizen(phone="13800000031", id_number=id_number)
    code = fed.zj_code(me, sid)["code"]
    for region in ("520000", "520000", "330000"):
        assert fed.verify(code, at_region=region).status_code == 200
    now = fed.clock()
    scans = [
        {
            "id": f"s-{i}",
            "sid": sid,
            "at": now.isoformat(),
            "area": "520102017",
            "decision": decision,
            "checkpoint": "贵阳北站",
        }
        for i, decision in enumerate(["PASS", "PASS", "CHECK", "DENY"])
    ]
    r = fed.http.post("/v1/scans", json={"scans": scans}, headers=fed.as_("checkpoint"))
    assert r.status_code == 200, r.text
    lab = lab_key(4)
    Labs(fed.ctx).register(
        ADMIN,
        lab_id="lab-1",
        name="上海某检测所",
        region="310000",
        public_key=base64.b64encode(lab.public.spki_der()).decode(),
    )
    rows = [
        {
            "id_type": "111",
            "id_number": id_number,
            "result": outcome,
            "sampled_at": (now - timedelta(hours=9)).isoformat(),
            "reported_at": (now - timedelta(hours=1)).isoformat(),
        }
        for outcome in ("negative", "negative", "positive")
    ]
    r = fed.http.post(
        "/v1/test-results", json=sign_batch(lab, "lab-1", "b-1", rows), headers=fed.as_("lab")
    )
    assert r.status_code == 200, r.text
    node = credential(fed.hub, f"issuer-330000-{random.random()}", "node", "330000")
    summaries = [
        {"sid": s, "colour": c, "assessed_at": now.isoformat()}
        for s, c in ((sid, "green"), ("1" * 32, "green"), ("2" * 32, "yellow"))
    ]
    r = fed.http.post(
        "/v1/summaries", json={"summaries": summaries}, headers={"Authorization": f"Bearer {node}"}
    )
    assert r.status_code == 200, r.text


def test_the_dashboards_draw_with_data_from_the_federation(
    tab: Tab, fed: Federation, base: str
) -> None:
    _activity(fed)
    token = credential(fed.hub, "hub-root-3", "admin")
    sign_in(tab, base, token, "/admin/dashboards")
    page = tab.page
    for figure in ("colours", "scans", "results", "mode2"):
        page.wait_for_selector(f"#figure-{figure}[data-drawn]")
        assert page.locator(f"#figure-{figure}").get_attribute("data-drawn") != "failed"
        assert page.locator(f"#figure-{figure} canvas").count() == 1, figure
    shot(tab, "dashboards")
    clean(tab, base)

    def table(figure: str) -> dict[str, str]:
        page.locator(f"#figure-{figure} summary").click()
        cells = page.locator(f"#figure-{figure} .figure-table tbody tr")
        return {
            cells.nth(i).locator("th").inner_text(): cells.nth(i).locator("td").inner_text()
            for i in range(cells.count())
        }

    assert table("scans") == {"CHECK": "1", "DENY": "1", "PASS": "2"}
    assert table("results") == {"lab-1 阴性": "2", "lab-1 阳性": "1"}
    colours = table("colours")
    assert colours["330000 绿码"] == "2" and colours["330000 黄码"] == "1"
    mode2 = table("mode2")
    assert mode2["520000 验码"] == "2" and mode2["330000 验码"] == "1"
    shot(tab, "dashboards-tables")
    clean(tab, base)


# ------------------------------------------------------------------------------ roles
def test_a_checkpoint_credential_gets_no_admin_page(tab: Tab, fed: Federation, base: str) -> None:
    page = tab.page
    page.goto(base + "/admin/dashboards")
    page.get_by_label("凭证").fill(fed.tokens["checkpoint"])
    page.get_by_role("button", name="登录").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "此页面需要以下角色之一" in alert.inner_text()
    assert page.locator("section.figure").count() == 0
    answer = page.evaluate("async () => (await fetch('/v1/stats/scans')).status")
    assert answer == 403
    shot(tab, "wrong-role")
    clean(tab, base)


def test_the_pages_switch_to_english_and_large_text(tab: Tab, fed: Federation, base: str) -> None:
    token = credential(fed.hub, "cdc-en", "authority")
    sign_in(tab, base, token, f"/admin/areas/{STREET}")
    page = tab.page
    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Set the risk level").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Large text").click()
    page.get_by_role("link", name="Normal text").wait_for()
    assert "large" in (page.locator("html").get_attribute("class") or "")
    assert page.url == f"{base}/admin/areas/{STREET}"
    shot(tab, "area-english-large")
    clean(tab, base)
