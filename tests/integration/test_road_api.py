"""The road node's HTTP API on both backends: signed ingest, the map's cells and filters, a
cell's history (phones masked), work orders per team, departments' scoped reads and feed, the
evidence a department checks, citizens' points; errors are problem details."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import FakeClock
from tests.road_support import Phone, Vehicle, cell_of, register, road_settings, road_tokens, spot
from yimatong.adapters.crypto import load_verifying_key
from yimatong.adapters.db.tables import road_observations
from yimatong.bootstrap import Node
from yimatong.roadnode.app import build_road
from yimatong.roadnode.evidence import check_finding


@dataclass
class Road:
    node: Node
    http: TestClient
    tokens: dict[str, str]

    def h(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def road(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Road]:
    node = build_road(road_settings(db_url, tmp_path), clock=clock, start_jobs=False)
    tokens = road_tokens(node, clock())
    with TestClient(node.app, raise_server_exceptions=False) as http:
        yield Road(node, http, tokens)
    node.close()


def _send(road: Road, car: Vehicle, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body, headers = car.batch(rows)
    answer = road.http.post(
        "/v1/road/observations",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_ingest_map_history_and_work_orders_answer_each_role_as_documented(
    road: Road, clock: FakeClock
) -> None:
    car = Vehicle("veh-01")
    register(road.http, road.tokens["admin"], car)
    phone = Phone("phone-x")
    pothole, manhole = spot("ns2-n", 3), spot("ew2", 8)
    road.http.post("/v1/road/observations", content=phone.batch([phone.bump(pothole, clock())]))
    clock.now = clock() + timedelta(minutes=1)
    report = _send(
        road,
        car,
        [
            car.observe(pothole, clock(), "pothole", "severe"),
            car.observe(manhole, clock(), "manhole_cover_missing", "severe"),
        ],
    )
    assert (report["accepted"], len(report["findings"]), len(report["work_orders"])) == (2, 2, 2)
    assert report["points"] == 10
    # A bad signature is one problem for the whole batch.
    body, headers = car.batch([car.observe(pothole, clock())])
    refused = road.http.post("/v1/road/observations", content=body + b" ", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    # The map: every non-green cell, filters by type and severity, a bbox.
    cells = road.http.get("/v1/road/cells").json()
    assert {f["id"] for f in cells["features"]} == {cell_of(*pothole), cell_of(*manhole)}
    only = road.http.get(
        "/v1/road/cells", params={"defect": "pothole", "severity": "severe"}
    ).json()
    assert [f["id"] for f in only["features"]] == [cell_of(*pothole)]
    lon, lat = pothole
    box = f"{lon - 0.0002},{lat - 0.0002},{lon + 0.0002},{lat + 0.0002}"
    assert [
        f["id"] for f in road.http.get("/v1/road/cells", params={"bbox": box}).json()["features"]
    ] == [cell_of(*pothole)]
    assert road.http.get("/v1/road/cells", params={"bbox": "1,2,3"}).status_code == 422
    assert road.http.get("/v1/road/cells", params={"defect": "volcano"}).status_code == 422
    # A cell's history names the vehicle, never the phone.
    history = road.http.get(f"/v1/road/cells/{cell_of(*pothole)}").json()
    assert history["colour"] == "red" and history["road"]["team"] == "team-north"
    assert {o["device_id"] for o in history["observations"]} == {"veh-01", "citizen"}
    assert road.http.get("/v1/road/cells/40:1:1").status_code == 404
    # Work orders: each team its own; another team's is 404; steps; a wrong step is 409.
    north = road.http.get("/v1/road/work-orders", headers=road.h("north")).json()["work_orders"]
    assert [o["defect"] for o in north] == ["pothole"]
    order = north[0]["id"]
    assert (
        road.http.get(f"/v1/road/work-orders/{order}", headers=road.h("south")).status_code == 404
    )
    assert road.http.get("/v1/road/work-orders", headers=road.h("police")).status_code == 200
    step = road.http.post(
        f"/v1/road/work-orders/{order}/steps",
        headers=road.h("north"),
        json={"step": "repaired", "photo_sha256": "ab" * 32},
    )
    assert step.status_code == 409
    step = road.http.post(
        f"/v1/road/work-orders/{order}/steps", headers=road.h("north"), json={"step": "on_site"}
    )
    assert step.status_code == 200 and step.json()["status"] == "on_site"
    assert (
        road.http.post(
            f"/v1/road/work-orders/{order}/steps",
            headers=road.h("police"),
            json={"step": "on_site"},
        ).status_code
        == 403
    )
    assert road.http.get("/v1/road/points/phone-x").json()["points"] == 10
    assert road.http.get("/v1/road/ruleset").json()["ref"] == "road-default@2026.1"
    assert len(road.http.get("/v1/road/network").json()["roads"]) == 22


def test_departments_read_their_scope_and_verify_a_findings_evidence_chain(
    road: Road, clock: FakeClock
) -> None:
    car = Vehicle("veh-01")
    register(road.http, road.tokens["admin"], car)
    pothole, manhole = spot("ns4-s", 5), spot("ew6", 2)
    _send(
        road,
        car,
        [
            car.observe(pothole, clock(), "pothole", "moderate"),
            car.observe(manhole, clock(), "manhole_cover_missing", "severe"),
        ],
    )
    police = road.http.get("/v1/road/findings", headers=road.h("police")).json()["findings"]
    municipal = road.http.get("/v1/road/findings", headers=road.h("municipal")).json()["findings"]
    assert {f["defect"] for f in police} == {"pothole", "manhole_cover_missing"}
    assert [f["defect"] for f in municipal] == ["manhole_cover_missing"]
    assert road.http.get("/v1/road/findings", headers=road.h("north")).status_code == 403
    assert road.http.get("/v1/road/findings").status_code == 401
    feed = road.http.get("/v1/road/feed", headers=road.h("municipal")).json()["entries"]
    assert {e["entry"]["kind"] for e in feed} == {
        "road.device.registered",
        "road.finding.confirmed",
        "road.order.dispatched",
    }
    assert {e["entry"].get("defect") for e in feed} == {"manhole_cover_missing", None}
    # The department pins the node's key and checks a finding end to end.
    key = load_verifying_key(
        base64.b64decode(road.http.get("/v1/road/log-key").json()["public_key"])
    )

    def check(finding: dict[str, Any]) -> list[str]:
        head = road.http.get("/v1/log/sth").json()
        size = head["payload"]["tree_size"]
        i = finding["log_index"]
        entry = road.http.get("/v1/log/entries", params={"start": i, "end": i + 1}).json()[
            "entries"
        ][0]
        proof = road.http.get("/v1/log/proof/inclusion", params={"index": i, "size": size}).json()
        return check_finding(head, key, entry, proof, finding)

    assert [check(f) for f in police] == [[], []]
    # The pothole seen worse: the finding's entry is now the one of its new evidence.
    _send(road, car, [car.observe(pothole, clock(), "pothole", "severe")])
    worse = road.http.get("/v1/road/findings", headers=road.h("police")).json()["findings"]
    assert {f["severity"] for f in worse if f["defect"] == "pothole"} == {"severe"}
    road.node.service.translog.sign_head()  # the node's periodic job, in this test by hand
    assert [check(f) for f in worse] == [[], []]
    # An observation rewritten in the database after the fact no longer matches.
    with road.node.db.uow() as uow:
        uow.conn.execute(update(road_observations).values(confidence=0.99))
        uow.commit()
    again = road.http.get("/v1/road/findings", headers=road.h("police")).json()["findings"]
    assert all(check(f) for f in again)
