"""The issuer node end to end in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, select, text

from tests.integration.conftest import Issuer, make_id
from yimatong.adapters.db.tables import audit_log

PHONE = "13800138000"
MEDIUM_STREET = "330106002"  # a street of 西湖区, Hangzhou


def _set_risk(issuer: Issuer, code: str, level: str, start: str) -> None:
    r = issuer.client.put(
        f"/v1/risk-areas/{code}",
        json={"level": level, "from": start},
        headers=issuer.as_role("authority"),
    )
    assert r.status_code == 200, r.text


def test_declaring_a_stay_in_a_medium_risk_street_gives_yellow_and_a_turn_green_date(
    issuer: Issuer, clock
) -> None:
    _set_risk(issuer, MEDIUM_STREET, "medium", "2026-11-01T00:00:00+08:00")
    me = issuer.sign_in(PHONE)
    subject = issuer.apply(me)
    assert subject["masked_name"] == "张**"
    assert subject["masked_id"].startswith("33") and "*" in subject["masked_id"]

    left = clock() - timedelta(days=3)
    r = issuer.client.post(
        "/v1/declarations",
        json={
            "subject": subject["sid"],
            "temperature": 36.5,
            "symptoms": [],
            "travel": [
                {
                    "area": MEDIUM_STREET,
                    "from": (left - timedelta(days=1)).isoformat(),
                    "to": left.isoformat(),
                }
            ],
            "contact": False,
        },
        headers=me,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["colour"] == "yellow"
    codes = [reason["code"] for reason in body["reasons"]]
    assert any("medium" in c for c in codes), codes
    assert body["turns_green"] is not None

    r = issuer.client.post("/v1/codes", json={"subject": subject["sid"]}, headers=me)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert code.startswith("YMT1:")
    assert r.json()["colour"] == "yellow"

    r = issuer.client.post(
        "/v1/codes/verify", json={"code": code}, headers=issuer.as_role("checkpoint")
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["valid"] is True
    assert answer["colour"] == "yellow"
    assert answer["issuer"] == "330000"
    assert answer["display"]["masked_name"] == "张**"
    assert "reasons" in answer


def test_health_query_by_staff_needs_a_purpose_and_is_audited(issuer: Issuer) -> None:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    staff = issuer.as_role("staff")
    r = issuer.client.get(f"/v1/subjects/{sid}/health", headers=staff)
    assert r.status_code == 422
    assert r.json()["field"] == "purpose"
    r = issuer.client.get(
        f"/v1/subjects/{sid}/health", params={"purpose": "流调 case 17"}, headers=staff
    )
    assert r.status_code == 200, r.text
    with issuer.node.db.read() as conn:
        rows = conn.execute(select(audit_log)).all()
    assert [(a.actor, a.action, a.sid, a.purpose) for a in rows] == [
        ("test-staff", "health.read", sid, "流调 case 17")
    ]


def test_a_relative_applies_on_behalf_and_shows_the_code(issuer: Issuer) -> None:
    daughter = issuer.sign_in("13900139000")
    issuer.apply(daughter, name="李梅", id_number=make_id(birth="19900505", seq="222"))
    father = issuer.apply(
        daughter,
        name="李建国",
        id_number=make_id(birth="19560303", seq="111"),
        for_relative={"relationship": "父亲"},
    )
    r = issuer.client.get("/v1/subjects", headers=daughter)
    assert [s["relationship"] for s in r.json()] == ["self", "父亲"]
    r = issuer.client.post(
        "/v1/codes", json={"subject": father["sid"], "kind": "printed"}, headers=daughter
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "printed"
    # Someone else cannot see the father.
    stranger = issuer.sign_in("13700137000")
    r = issuer.client.get(f"/v1/subjects/{father['sid']}/health", headers=stranger)
    assert r.status_code == 404


def test_correction_accepted_by_staff_voids_the_stay_and_restores_green(
    issuer: Issuer, clock
) -> None:
    _set_risk(issuer, MEDIUM_STREET, "medium", "2026-11-01T00:00:00+08:00")
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    r = issuer.client.post(
        "/v1/itineraries",
        json={
            "subject": sid,
            "region": MEDIUM_STREET,
            "from": (clock() - timedelta(days=2)).isoformat(),
            "to": (clock() - timedelta(days=1)).isoformat(),
        },
        headers=me,
    )
    assert r.status_code == 201 and r.json()["colour"] == "yellow", r.text
    stay_id = r.json()["id"]
    r = issuer.client.post(
        "/v1/corrections",
        json={"subject": sid, "kind": "itinerary", "target_id": stay_id, "statement": "我没去过"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = issuer.client.post(
        f"/v1/corrections/{cid}/decision",
        json={"accept": True, "note": "基站数据核实无误"},
        headers=issuer.as_role("staff"),
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    r = issuer.client.get(f"/v1/subjects/{sid}/health", headers=me)
    assert r.json()["colour"] == "green"
    r = issuer.client.get(f"/v1/corrections/{cid}", headers=me)
    assert r.json()["status"] == "accepted"


def test_personal_data_is_not_stored_in_clear(issuer: Issuer, db_url: str) -> None:
    me = issuer.sign_in(PHONE)
    number = make_id()
    issuer.apply(me, id_number=number, address="杭州市西湖区文三路 1 号")
    if db_url.startswith("sqlite"):
        issuer.node.db.dispose()
        path = db_url.split(":///", 1)[1]
        raw = b""
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as f:
                    raw += f.read()
            except FileNotFoundError:
                pass
        assert raw, "the database file should exist"
        for secret in (number, PHONE, "张三丰", "文三路"):
            assert secret.encode() not in raw
    else:
        engine = create_engine(db_url)
        with engine.connect() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text("select tablename from pg_tables where schemaname = 'public'")
                )
            ]
            dump = b""
            for t in tables:
                for row in conn.execute(text(f'select * from "{t}"')):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            dump += bytes(value)
                        else:
                            dump += str(value).encode()
        engine.dispose()
        assert dump
        for secret in (number, PHONE, "张三丰", "文三路"):
            assert secret.encode() not in dump
