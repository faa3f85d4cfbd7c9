"""Contact tracing (流调) at the hub, in-process on SQLite and PostgreSQL: the scans indexed by
place and time, a tracing query's candidates with their evidence and score, masked identities
from the holder's issuer, the audit with the purpose, and the confirmation through the facts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.checkpoint_helpers import Federation, make_id, start_federation
from yimatong.adapters.db.tables import audit_log, hub_feed, scan_places

GATE = "杭州东站-3号闸机"
STATION = "330102"  # 上城区 (杭州东站)


@pytest.fixture
def fed(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Federation]:
    yield from start_federation(db_url, tmp_path, clock)


def post_scans(fed: Federation, scans: list[tuple[str, str, Any, str]]) -> dict[str, Any]:
    body = {
        "scans": [
            {"id": f"s-{i}-{sid[:6]}", "sid": sid, "at": at.isoformat(), "area": area,
             "decision": "PASS", "checkpoint": gate}
            for i, (sid, area, at, gate) in enumerate(scans)
        ]
    }  # fmt: skip
    r = fed.hub_client.post("/v1/scans", json=body, headers=fed.as_hub("checkpoint", "330000"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def trace(fed: Federation, scope: str = "330000", **body: Any) -> Any:
    body.setdefault("purpose", "流调 病例7 杭州东站")
    return fed.hub_client.post(
        "/v1/tracing/queries", json=body, headers=fed.as_hub("authority", scope)
    )


def test_a_scan_at_the_same_gate_within_the_window_is_a_candidate_with_evidence(
    fed: Federation,
) -> None:
    _, case = fed.citizen("13800138000", id_number=make_id(seq="101"))
    _, near = fed.citizen("13800138001", name="李四", id_number=make_id(seq="102"))
    _, late = fed.citizen("13800138002", name="王五", id_number=make_id(seq="103"))
    _, elsewhere = fed.citizen("13800138003", name="赵六", id_number=make_id(seq="104"))
    t = fed.clock() - timedelta(hours=6)
    post_scans(
        fed,
        [
            (case, STATION, t, GATE),
            (near, STATION, t - timedelta(minutes=20), GATE),
            (late, STATION, t + timedelta(minutes=45), GATE),
            (elsewhere, "330106", t, "西湖景区-1"),
        ],
    )
    again = post_scans(fed, [(case, STATION, t, GATE)])  # a retried upload lands once
    assert again == {"accepted": 0, "duplicates": 1}
    with fed.hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(scan_places)).scalar() == 4
        assert conn.execute(select(func.count()).where(hub_feed.c.kind == "scan")).scalar() == 4
    r = fed.hub_client.post(
        "/v1/subjects/register", json={"sids": [near]}, headers=fed.as_hub("node", "330000")
    )
    assert r.status_code == 200, r.text

    r = trace(fed, subject=case)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window_minutes"] == 30
    assert [s["checkpoint"] for s in body["case_scans"]] == [GATE]
    (found,) = body["candidates"]
    assert found["sid"] == near
    assert found["score"] == 67  # 20 minutes apart at the same gate: 1 − 20/60
    (evidence,) = found["evidence"]
    assert evidence["minutes_apart"] == 20.0 and evidence["same_checkpoint"] is True
    assert evidence["checkpoint"] == GATE and evidence["area"] == STATION
    assert found["holders"] == ["330000"]
    identity = found["identity"]
    assert identity["masked_name"] == "李*" and "*" in identity["masked_id"]
    assert identity["colour"] == "green"
    assert "李四" not in r.text  # masked, never the name

    with fed.hub.db.read() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.sid, audit_log.c.purpose).where(
                audit_log.c.action == "tracing.query"
            )
        ).all()
    assert {(a.sid, a.purpose) for a in rows} == {
        (case, "流调 病例7 杭州东站"),
        (near, "流调 病例7 杭州东站"),
    }

    # A wider window finds the later one too; the confirmation goes through the facts path.
    wide = trace(fed, subject=case, window_minutes=60, identify=False).json()
    assert [c["sid"] for c in wide["candidates"]] == [near, late]
    assert [(c["holders"], c["identity"]) for c in wide["candidates"]] == [(["330000"], None),
                                                                          ([], None)]  # fmt: skip
    r = fed.hub_client.post(
        "/v1/facts",
        json={"facts": [{"subject": near, "kind": "contact", "contact_kind": "close",
                         "last_exposure": found["last_exposure"]}]},
        headers=fed.as_hub("authority", "330000"),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1


def test_a_query_needs_a_purpose_an_authority_and_sees_its_own_regions_places(
    fed: Federation,
) -> None:
    _, case = fed.citizen("13800138000", id_number=make_id(seq="101"))
    _, near = fed.citizen("13800138001", name="李四", id_number=make_id(seq="102"))
    t = fed.clock() - timedelta(hours=2)
    post_scans(fed, [(case, STATION, t, GATE), (near, STATION, t, GATE)])
    r = trace(fed, subject=case, purpose=" ")
    assert r.status_code == 422, r.text
    r = fed.hub_client.post(
        "/v1/tracing/queries",
        json={"subject": case, "purpose": "看看"},
        headers=fed.as_hub("checkpoint", "330000"),
    )
    assert r.status_code == 403
    r = trace(fed, subject=case, window_minutes=500)
    assert r.status_code == 422, r.text
    # Guizhou's authority traces at Guizhou's places: the Hangzhou scans are not its to read.
    r = trace(fed, scope="520000", subject=case)
    assert r.status_code == 200 and r.json()["case_scans"] == [] and r.json()["candidates"] == []
    # The case may be named by its document; the number goes no further than the hub.
    number = make_id(seq="101")
    r = trace(fed, id_type="111", id_number=number)
    assert r.status_code == 200 and r.json()["case"] == case
    assert number not in r.text


def test_passengers_seated_near_the_case_on_its_train_or_flight_are_candidates(
    fed: Federation,
) -> None:
    """From the departments' manifests: the same carriage (near rows score more), or a flight's
    rows within ``seat_rows``; another carriage or a far row of the plane is no evidence."""
    import base64

    from yimatong.adapters.crypto import Algorithm, generate_signing_key
    from yimatong.adapters.messages import department_batch_message, encode_signature

    key = generate_signing_key(Algorithm.EDDSA)
    r = fed.hub_client.post(
        "/v1/departments",
        json={"department_id": "rail", "kind": "rail", "name": "铁路", "region": "330000",
              "public_key": base64.b64encode(key.public.spki_der()).decode()},
        headers=fed.as_hub("admin"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['credential']}"}
    t = fed.clock() - timedelta(days=1)
    case, near, far, other, elsewhere = (c * 32 for c in "abcde")

    def leg(sid: str, carriage: str, seat: str) -> dict[str, Any]:
        return {"subject": sid, "trip": "G1234", "date": t.date().isoformat(), "from": "330100",
                "to": "520100", "departs_at": t.isoformat(),
                "arrives_at": (t + timedelta(hours=7)).isoformat(), "carriage": carriage,
                "seat": seat}  # fmt: skip

    rows = [leg(case, "05", "12F"), leg(near, "05", "14A"), leg(far, "05", "20A"),
            leg(other, "06", "12F")]  # fmt: skip
    elsewhere_leg = {**leg(elsewhere, "01", "1A"), "trip": "G7"}
    records = [*rows, elsewhere_leg]
    message = department_batch_message("rail", "m-1", "rail", records)
    body = {"department_id": "rail", "batch_id": "m-1", "kind": "rail", "records": records,
            "signature": encode_signature(key.sign(message))}  # fmt: skip
    r = fed.hub_client.post("/v1/department-records", json=body, headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == 5, r.text

    r = trace(fed, subject=case, identify=False)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["seat_rows"] == 3
    trips = [(x["trip"], x["seat"]) for x in answer["case_trips"]]
    assert trips == [(f"rail:G1234:{t.date().isoformat()}", "12F")]
    scores = {c["sid"]: c["score"] for c in answer["candidates"]}
    assert scores == {near: 75, far: 30}  # 2 rows apart: 1 − 2/8; the same carriage, farther
    (evidence,) = answer["candidates"][0]["evidence"]
    assert evidence["kind"] == "rail" and evidence["trip"] == "G1234"
    assert (evidence["carriage"], evidence["seat"], evidence["case_seat"]) == ("05", "14A", "12F")
    assert evidence["rows_apart"] == 2 and evidence["same_carriage"] is True
    # fewer rows: the near one stays, scored lower; a Hubei authority traces no Zhejiang trip
    narrow = trace(fed, subject=case, identify=False, seat_rows=1).json()
    assert {c["sid"]: c["score"] for c in narrow["candidates"]} == {near: 30, far: 30}
    assert trace(fed, "420000", subject=case, identify=False).json()["candidates"] == []
