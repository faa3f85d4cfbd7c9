"""The travel code (行程码) at the issuer, in-process on SQLite and PostgreSQL: the view for the
person, a proxy and staff (audited), and the signed code that a checkpoint's keyring verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.integration.conftest import Issuer, make_id
from yimatong.adapters import keystore
from yimatong.adapters.db.tables import audit_log
from yimatong.adapters.wire.code import verify_code_at
from yimatong.adapters.wire.travel_code import verify_travel_code_at
from yimatong.domain.errors import InvalidCode
from yimatong.domain.facts import RiskLevel, StaySource

PHONE = "13800138000"
XIHU_STREET = "330106002"  # 北山街道, 西湖区, 杭州
GONGSHU = "330105"  # 拱墅区, 杭州
NINGBO = "330203"  # 海曙区, 宁波


def _declare(issuer: Issuer, me: dict[str, str], sid: str, legs: list[dict[str, str]]) -> None:
    r = issuer.client.post(
        "/v1/declarations",
        json={
            "subject": sid,
            "temperature": 36.5,
            "symptoms": [],
            "travel": legs,
            "contact": False,
        },
        headers=me,
    )
    assert r.status_code == 201, r.text


def test_the_person_sees_cities_and_places_starred_where_a_risk_area_is_now(
    issuer: Issuer, clock
) -> None:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    now = clock()
    _declare(
        issuer,
        me,
        sid,
        [
            {"area": GONGSHU, "from": (now - timedelta(days=3)).isoformat(),
             "to": (now - timedelta(days=3) + timedelta(hours=5)).isoformat()},
            {"area": NINGBO, "from": (now - timedelta(days=2)).isoformat(),
             "to": (now - timedelta(days=2) + timedelta(hours=2)).isoformat()},
        ],
    )  # fmt: skip
    r = issuer.client.put(
        f"/v1/risk-areas/{XIHU_STREET}",
        json={"level": "high", "from": (now - timedelta(hours=1)).isoformat()},
        headers=issuer.as_role("authority"),
    )
    assert r.status_code == 200, r.text
    r = issuer.client.get(f"/v1/subjects/{sid}/travel", headers=me)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["view"] == "places"
    assert [(c["city"], c["shown"], c["star_level"]) for c in body["cities"]] == [
        ("330100", "杭州市*", "high")  # 宁波 for 2 h is not listed; 杭州 has a high area now
    ]
    (city,) = body["cities"]
    assert city["minutes"] == 300
    assert city["sources"] == [{"source": "self", "kind": "declared"}]
    assert [p["area"] for p in city["places"]] == [GONGSHU]
    with issuer.node.db.read() as conn:
        assert conn.execute(select(audit_log)).all() == []  # one's own data: not audited


def test_staff_read_the_cities_only_with_a_purpose_and_audited(issuer: Issuer, clock) -> None:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    now = clock()
    _declare(
        issuer, me, sid, [{"area": XIHU_STREET, "from": (now - timedelta(hours=6)).isoformat()}]
    )
    staff = issuer.as_role("staff")
    r = issuer.client.get(f"/v1/subjects/{sid}/travel", headers=staff)
    assert r.status_code == 422
    assert r.json()["field"] == "purpose"
    r = issuer.client.get(
        f"/v1/subjects/{sid}/travel", params={"purpose": "流调 case 9"}, headers=staff
    )
    assert r.status_code == 200, r.text
    assert r.json()["view"] == "cities"
    assert "places" not in r.json()["cities"][0]
    with issuer.node.db.read() as conn:
        rows = conn.execute(select(audit_log)).all()
    assert [(a.actor, a.action, a.sid, a.purpose) for a in rows] == [
        ("test-staff", "travel.read", sid, "流调 case 9")
    ]


def test_a_proxy_without_the_itinerary_grant_gets_no_travel_code(issuer: Issuer, clock) -> None:
    daughter = issuer.sign_in("13900139000")
    issuer.apply(daughter, name="李梅", id_number=make_id(birth="19900505", seq="222"))
    father = issuer.apply(
        daughter,
        name="李建国",
        id_number=make_id(birth="19560303", seq="111"),
        for_relative={"relationship": "父亲"},
    )
    # A relative registered by 代办 gives no itinerary grant until they say so themselves.
    r = issuer.client.get(f"/v1/subjects/{father['sid']}/travel", headers=daughter)
    assert r.status_code == 403, r.text
    r = issuer.client.post("/v1/travel-codes", json={"subject": father["sid"]}, headers=daughter)
    assert r.status_code == 403, r.text
    stranger = issuer.sign_in("13700137000")
    r = issuer.client.get(f"/v1/subjects/{father['sid']}/travel", headers=stranger)
    assert r.status_code == 404


def test_the_signed_travel_code_verifies_as_a_travel_code_and_never_as_a_health_code(
    issuer: Issuer, clock
) -> None:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    now = clock()
    _declare(
        issuer, me, sid, [{"area": XIHU_STREET, "from": (now - timedelta(hours=6)).isoformat()}]
    )
    issuer.client.put(
        "/v1/risk-areas/330106",
        json={"level": "medium", "from": (now - timedelta(hours=1)).isoformat()},
        headers=issuer.as_role("authority"),
    )
    r = issuer.client.post("/v1/travel-codes", json={"subject": sid}, headers=me)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["code"].startswith("YMTT1:")
    assert made["starred"] is True
    with issuer.node.db.read() as conn:
        ring = keystore.keyring(conn, "330000")
    claims = verify_travel_code_at(made["code"], ring, clock())
    assert claims.sid == sid
    assert [(c.city, c.star, c.sources) for c in claims.cities] == [
        ("330100", RiskLevel.MEDIUM, (StaySource.SELF,))
    ]
    assert "*" in claims.masked_name
    with pytest.raises(InvalidCode) as refused:
        verify_code_at(made["code"], ring, clock())
    assert refused.value.detail == "unknown prefix"
    r = issuer.client.post(
        "/v1/codes/verify", json={"code": made["code"]}, headers=issuer.as_role("checkpoint")
    )
    assert r.status_code in (400, 422), r.text  # not a health code: refused, never a colour
