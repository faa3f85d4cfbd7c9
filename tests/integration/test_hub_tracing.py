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
