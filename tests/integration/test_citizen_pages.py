"""The citizen pages in-process: sign-in in two steps, applying, declaring, my code and its
JSON refresh, activity (checks, reads, summaries), corrections, the printed card; role rules,
CSRF, no personal data in URLs or titles, a proxy's limited view (browser tests: Chromium)."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import insert, select

from tests.integration.conftest import Issuer, make_id
from yimatong.adapters.db.tables import audit_log, stays
from yimatong.web.session import cookie_name, csrf_token

PHONE = "13800138000"
RELATIVE_PHONE = "13900139000"
ID = make_id("330106", "19800101")
MUM_ID = make_id("330106", "19500505", "222")
STREET = "330106008"


def page_sign_in(issuer: Issuer, phone: str = PHONE) -> str:
    """Sign in through the pages; the session token the cookie now holds."""
    issuer.client.cookies.clear()
    first = issuer.client.post("/signin/otp", data={"phone": phone})
    assert first.status_code == 200, first.text
    assert 'name="otp"' in first.text
    r = issuer.client.post(
        "/signin",
        data={"phone": phone, "otp": issuer.inbox.last_code(phone)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    token = issuer.client.cookies.get(cookie_name("330000"))
    assert token and token.startswith("ymt_s_")
    return token


def post(issuer: Issuer, path: str, token: str, data: dict[str, Any]) -> Any:
    return issuer.client.post(
        path, data={**data, "csrf": csrf_token(token)}, follow_redirects=False
    )


def apply_self(issuer: Issuer, token: str, name: str = "张三丰", number: str = ID) -> None:
    r = post(issuer, "/apply", token, {"who": "self", "name": name, "id_number": number})
    assert r.status_code == 303 and r.headers["location"] == "/?done=linked", r.text


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found
    return found.group(1)


# ------------------------------------------------------------------------- sign-in
def test_sign_in_in_two_steps_sets_a_session_cookie_as_long_as_the_api_session(
    issuer: Issuer,
) -> None:
    start = issuer.client.get("/")
    assert start.status_code == 200 and 'action="/signin/otp"' in start.text
    issuer.client.post("/signin/otp", data={"phone": PHONE})
    r = issuer.client.post(
        "/signin", data={"phone": PHONE, "otp": issuer.inbox.last_code(PHONE)},
        follow_redirects=False,
    )  # fmt: skip
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age=43200" in cookie  # the API session's 12 hours
    home = issuer.client.get("/")
    assert home.status_code == 200 and 'action="/apply"' in home.text
    assert PHONE not in home.text and PHONE not in title(home.text)


def test_a_wrong_code_says_so_and_too_many_tries_gets_the_limiters_message(
    issuer: Issuer,
) -> None:
    issuer.client.post("/signin/otp", data={"phone": PHONE})
    wrong = issuer.client.post("/signin", data={"phone": PHONE, "otp": "000000"})
    assert wrong.status_code == 401 and "验证码错误或已过期" in wrong.text
    assert "set-cookie" not in wrong.headers
    bad = issuer.client.post("/signin/otp", data={"phone": "12345"})
    assert bad.status_code == 422 and "11 digits" in bad.text
    statuses = [
        issuer.client.post("/signin", data={"phone": PHONE, "otp": "111111"}).status_code
        for _ in range(30)
    ]
    assert 429 in statuses
    last = issuer.client.post("/signin", data={"phone": PHONE, "otp": "111111"})
    assert last.status_code == 429 and "尝试次数过多" in last.text


# ---------------------------------------------------------------------- who may
def test_staff_and_checkpoint_sessions_get_a_403_page_and_no_session_the_sign_in(
    issuer: Issuer,
) -> None:
    for path in ("/people/0", "/people/0/code", "/people/0/declare", "/people/0/activity",
                 "/people/0/corrections", "/people/0/card"):  # fmt: skip
        r = issuer.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", path
    r = issuer.client.post("/people/0/code")
    assert r.status_code == 401 and r.json()["type"] == "/problems/unauthorized"
    for role in ("staff", "checkpoint"):
        issuer.client.cookies.clear()
        issuer.client.post("/signin/staff", data={"token": issuer.tokens[role]})
        for path in ("/", "/people/0/code"):
            page = issuer.client.get(path)
            assert page.status_code == 403, (role, path)
            assert "此页面供市民使用" in page.text
        token = issuer.tokens[role]
        refused = issuer.client.post("/people/0/code", headers={"X-CSRF-Token": csrf_token(token)})
        assert refused.status_code == 403 and refused.json()["type"] == "/problems/forbidden"


def test_every_form_needs_the_csrf_token(issuer: Issuer) -> None:
    token = page_sign_in(issuer)
    body = {"who": "self", "name": "张三丰", "id_number": ID}
    r = issuer.client.post("/apply", data=body, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert issuer.client.post("/people/0/code").status_code == 403
    apply_self(issuer, token)
    assert issuer.client.post("/people/0/declare", data={"temperature": "36.5"}).status_code == 403


# ----------------------------------------------------------------- applying
def test_apply_for_oneself_and_a_relative_then_a_known_person_needs_consent(
    issuer: Issuer,
) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    r = post(
        issuer, "/apply", token,
        {"who": "relative", "name": "李秀英", "id_number": MUM_ID, "relationship": "母亲"},
    )  # fmt: skip
    assert r.status_code == 303
    home = issuer.client.get("/")
    assert "张**" in home.text and "李**" in home.text and "母亲" in home.text
    assert ID not in home.text and MUM_ID not in home.text
    # Another account asks for the mother, who has a record now: a consent request only.
    other = page_sign_in(issuer, RELATIVE_PHONE)
    r = post(
        issuer, "/apply", other,
        {"who": "relative", "name": "随便写", "id_number": MUM_ID, "relationship": "母亲"},
    )  # fmt: skip
    assert r.headers["location"] == "/?done=pending"
    home = issuer.client.get("/?done=pending")
    assert "等待对方同意" in home.text and "李**" not in home.text and "随便写" not in home.text
    assert 'id="pending"' in home.text
    bad = post(issuer, "/apply", other, {"who": "self", "name": "王五", "id_number": "123"})
    assert bad.status_code == 422 and "请检查输入" in bad.text


# -------------------------------------------------------------------- my code
def test_my_code_shows_the_code_colour_masked_identity_and_refreshes_as_json(
    issuer: Issuer,
) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    page = issuer.client.get("/people/0/code")
    assert page.status_code == 200
    html = page.text
    code = re.search(r'id="code-qr"[^>]*data-code="([^"]+)"', html)
    assert code and code.group(1).startswith("YMT1:")
    assert 'data-colour="green"' in html and "colour-green" in html
    assert 'id="code-reasons"' in html and "张**" in html and "33**************" in html
    assert ID not in html and "张三丰" not in html and ID not in title(html)
    assert "<script>" not in html and "onclick" not in html  # the CSP's terms
    assert 'data-refresh-seconds="60"' in html
    assert 'data-refresh-seconds="5"' in issuer.client.get("/people/0/code?refresh=5").text
    fresh = issuer.client.post("/people/0/code", headers={"X-CSRF-Token": csrf_token(token)})
    assert fresh.status_code == 200 and fresh.headers["cache-control"] == "no-store"
    body = fresh.json()
    assert body["code"].startswith("YMT1:") and body["colour"] == "green"
    verified = issuer.client.post(
        "/v1/codes/verify", json={"code": body["code"]}, headers=issuer.as_role("checkpoint")
    )
    assert verified.status_code == 200 and verified.json()["colour"] == "green"
    assert issuer.client.get("/people/7/code").status_code == 404
    svg = issuer.client.get("/people/0/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text


def test_a_reload_after_a_high_risk_street_shows_red_and_why(issuer: Issuer, clock: Any) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    arrived = (clock() - timedelta(days=2)).astimezone(timezone(timedelta(hours=8)))
    r = post(
        issuer, "/people/0/itinerary", token,
        {"area": STREET, "from": arrived.strftime("%Y-%m-%dT%H:%M"), "to": ""},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    risk = issuer.client.put(
        f"/v1/risk-areas/{STREET}",
        json={"level": "high", "from": (clock() - timedelta(days=5))
              .isoformat()},
        headers=issuer.as_role("authority"),
    )  # fmt: skip
    assert risk.status_code == 200, risk.text
    html = issuer.client.get("/people/0/code").text
    assert 'data-colour="red"' in html
    reasons = html[html.index('id="code-reasons"') :]
    assert "data-reason=" in reasons[: reasons.index("</ul>")]
    fresh = issuer.client.post("/people/0/code", headers={"X-CSRF-Token": csrf_token(token)})
    assert fresh.json()["colour"] == "red" and fresh.json()["reasons"]


def test_a_stay_in_a_region_without_data_shows_the_pop_up_and_what_to_do(
    issuer: Issuer, clock: Any
) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    arrived = (clock() - timedelta(days=2)).astimezone(timezone(timedelta(hours=8)))
    r = post(
        issuer, "/people/0/itinerary", token,
        {"area": "810000", "from": arrived.strftime("%Y-%m-%dT%H:%M"), "to": ""},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    html = issuer.client.get("/people/0/code").text
    assert 'data-colour="yellow"' in html
    popup = html[html.index('id="code-popup"') :]
    popup = popup[: popup.index("</div>")]
    assert "hidden" not in popup[: popup.index(">")]
    assert "弹窗：需人工核验" in popup and "请做一次核酸检测" in popup
    assert 'data-reason="popup.no-data"' in html
    fresh = issuer.client.post("/people/0/code", headers={"X-CSRF-Token": csrf_token(token)})
    assert fresh.json()["popup"] and "核酸检测" in fresh.json()["popup"][0]


def test_the_code_page_shows_the_travel_code_beside_the_health_code(
    issuer: Issuer, clock: Any
) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    arrived = (clock() - timedelta(days=2)).astimezone(timezone(timedelta(hours=8)))
    r = post(
        issuer, "/people/0/itinerary", token,
        {"area": STREET, "from": arrived.strftime("%Y-%m-%dT%H:%M"), "to": ""},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    html = issuer.client.get("/people/0/code").text
    travel = html[html.index('id="travel"') :]
    assert '<li data-city="330100">' in travel and "杭州市" in travel
    assert 'id="travel-star-note"' not in travel
    assert "<svg" in travel[travel.index('id="travel-qr"') :]  # its own signed code
    risk = issuer.client.put(
        "/v1/risk-areas/330105",
        json={"level": "medium", "from": (clock() - timedelta(hours=1)).isoformat()},
        headers=issuer.as_role("authority"),
    )
    assert risk.status_code == 200, risk.text
    travel = issuer.client.get("/people/0/code").text
    travel = travel[travel.index('id="travel"') :]
    assert '<li data-city="330100" class="starred"><strong>杭州市*</strong>' in travel
    assert 'id="travel-star-note"' in travel


# ------------------------------------------------------------ declare, correct, card
def test_declaring_a_fever_and_asking_for_a_correction(issuer: Issuer) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    assert issuer.client.get("/people/0/declare").status_code == 200
    r = post(
        issuer, "/people/0/declare", token,
        {"temperature": "38.2", "symptoms": "fever", "residence": STREET},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/people/0?done=declared"
    assert 'data-colour="yellow"' in issuer.client.get("/people/0/code").text
    wrong = post(issuer, "/people/0/declare", token, {"temperature": "50"})
    assert wrong.status_code == 422 and "temperature" in wrong.text
    unknown = post(issuer, "/people/0/declare", token, {"residence": "999999"})
    assert unknown.status_code == 422
    r = post(issuer, "/people/0/corrections", token, {"target": "", "statement": "体温测错了"})
    assert r.status_code == 303
    page = issuer.client.get("/people/0/corrections")
    assert "体温" not in title(page.text) and "待处理" in page.text


def test_the_printed_card_is_an_svg_drawn_server_side(issuer: Issuer) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    card = issuer.client.get("/people/0/card")
    assert card.status_code == 200 and '<svg viewBox="0 0' in card.text
    code = re.search(r'id="card-qr"[^>]*data-code="([^"]+)"', card.text)
    assert code
    verified = issuer.client.post(
        "/v1/codes/verify", json={"code": code.group(1)}, headers=issuer.as_role("checkpoint")
    )
    assert verified.json()["kind"] == "printed"


# ------------------------------------------------------------------- activity
def test_activity_shows_checks_and_staff_reads_and_a_proxy_sees_less(issuer: Issuer) -> None:
    token = page_sign_in(issuer)
    apply_self(issuer, token)
    sid = issuer.client.get("/v1/subjects").json()[0]["sid"]
    now = issuer.node.service.clock()
    with issuer.node.db.uow() as uow:
        uow.conn.execute(
            insert(stays).values(
                sid=sid, area="520102017", arrived=now, source="scan",
                created_at=now, expires_at=now + timedelta(days=30),
            )
        )  # fmt: skip
        uow.commit()
    read = issuer.client.get(
        f"/v1/subjects/{sid}/health?purpose=核查密接", headers=issuer.as_role("staff")
    )
    assert read.status_code == 200
    api = issuer.client.get(f"/v1/subjects/{sid}/activity")
    assert api.status_code == 200, api.text
    seen = api.json()
    assert [c["area"] for c in seen["checks"]] == ["520102017"]
    assert seen["reads"][0]["role"] == "staff" and seen["reads"][0]["purpose"] == "核查密接"
    assert seen["withheld"] == []
    page = issuer.client.get("/people/0/activity")
    assert "核查密接" in page.text and "520102017" in page.text
    with issuer.node.db.read() as conn:  # reading one's own record is not audited
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert "activity.read" not in actions
    # A proxy: registers a relative, so it is that person's only account (not self).
    proxy = page_sign_in(issuer, RELATIVE_PHONE)
    post(
        issuer, "/apply", proxy,
        {"who": "relative", "name": "李秀英", "id_number": MUM_ID, "relationship": "母亲"},
    )  # fmt: skip
    mum = issuer.client.get("/v1/subjects").json()[0]["sid"]
    limited = issuer.client.get(f"/v1/subjects/{mum}/activity").json()
    assert set(limited["withheld"]) == {"checks", "shared", "reads", "colours"}
    assert "reads" not in limited and "checks" not in limited and "colours" not in limited
    assert issuer.client.get(f"/v1/subjects/{sid}/activity").status_code == 404
    with issuer.node.db.read() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.sid)).all()
    assert ("activity.read", mum) in [tuple(r) for r in rows]
    bad = issuer.client.get("/v1/subjects/not-a-sid/activity")
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    staff = issuer.client.get(f"/v1/subjects/{sid}/activity", headers=issuer.as_role("staff"))
    assert staff.status_code == 403


def test_the_area_picker_lists_divisions_to_signed_in_citizens_only(issuer: Issuer) -> None:
    assert issuer.client.get("/areas").status_code == 401
    page_sign_in(issuer)
    provinces = issuer.client.get("/areas").json()
    assert {"code": "330000", "name": "浙江省"} in provinces
    streets = issuer.client.get("/areas", params={"parent": "330106"}).json()
    assert {"code": STREET, "name": "西湖街道"} in streets
    assert issuer.client.get("/areas", params={"parent": "12"}).status_code == 422
    assert issuer.client.get("/areas", params={"parent": "999999"}).status_code == 404
    issuer.client.cookies.clear()
    staff = issuer.client.get("/areas", headers=issuer.as_role("staff"))
    assert staff.status_code == 403
