"""The road-condition code's story (issue 13, "Done when"), against a real road node on loopback.

A sensing vehicle drives the synthetic district; three potholes and a missing manhole cover are
found and turn their cells red; work orders go to the teams of their roads; the teams repair
and a re-inspection pass turns the cells green; the traffic police verify the evidence chain of
every finding against the node's signed log; a citizen whose phone felt the first pothole
earlier earns points once.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.processes import NodeProcess, free_port, yimatong
from tests.road_support import DISTRICT, Phone, Vehicle, cell_of, spot
from yimatong.adapters.crypto import load_verifying_key
from yimatong.roadnode.evidence import check_finding

pytestmark = pytest.mark.e2e


class RoadNode:
    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.tokens = tokens

    def get(self, path: str, who: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        r = httpx.get(self.url + path, params=params, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        headers.update(kwargs.pop("headers", {}))
        r = httpx.post(self.url + path, headers=headers, timeout=30, **kwargs)
        assert r.status_code == 200, r.text
        return r.json()

    def send(self, car: Vehicle, rows: list[dict[str, Any]]) -> dict[str, Any]:
        body, headers = car.batch(rows)
        answer: dict[str, Any] = self.post("/v1/road/observations", content=body, headers=headers)
        assert answer["errors"] == [], answer["errors"]
        return answer


@pytest.fixture(scope="module")
def road(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoadNode]:
    tmp = tmp_path_factory.mktemp("road")
    args = ["--role", "road", "--region", "330100", "--state-dir", str(tmp)]
    tokens = {}
    for name, role, scope in (
        ("admin", "admin", None),
        ("north", "team", "team-north"),
        ("south", "team", "team-south"),
        ("police", "department", "traffic_police"),
    ):
        extra = ["--scope", scope] if scope else []
        tokens[name] = yimatong(
            "creds", "add", *args, "--as", role, "--name", f"story-{name}", *extra
        ).stdout.strip()
    port = free_port()
    node = NodeProcess(
        ["serve", *args, "--district", DISTRICT, "--port", str(port)],
        {"YMT_STH_INTERVAL": "1"},
        f"http://127.0.0.1:{port}",
        tmp / "road.log",
    )
    try:
        node.wait_ready()
        yield RoadNode(node.url, tokens)
    finally:
        node.stop()


def _drive(car: Vehicle, at: datetime, route: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Clear passes every few metres along the segments of ``route``."""
    return [
        car.observe(spot(road_id, segment, along=i / 20), at + timedelta(seconds=i))
        for road_id, segment in route
        for i in range(20)
    ]


def _head_covering(road: RoadNode, size: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        head: dict[str, Any] = road.get("/v1/log/sth")
        if head["payload"]["tree_size"] >= size:
            return head
        time.sleep(0.2)
    raise AssertionError(f"no signed head of {size} entries within 30 s")


def test_a_vehicle_finds_four_defects_teams_repair_them_and_a_department_verifies_it_all(
    road: RoadNode,
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    car = Vehicle("xc-inspect-01")
    road.post(
        "/v1/road/devices",
        "admin",
        json={
            "device_id": car.device_id,
            "owner": "下城区市政养护",
            "public_key": base64.b64encode(car.key.public.spki_der()).decode(),
            "trusted": True,
        },
    )
    defects = {
        "pothole-north": (spot("ns1-n", 4, along=0.3), "pothole", "severe", "team-north"),
        "pothole-south": (spot("ns3-s", 7, along=0.6), "pothole", "severe", "team-south"),
        "pothole-ew5": (spot("ew5", 9, along=0.5, across=3.0), "pothole", "severe", "team-north"),
        "manhole": (spot("ew2", 5, along=0.4), "manhole_cover_missing", "severe", "team-south"),
    }
    # A citizen's phone felt the first pothole half an hour before the vehicle came by.
    phone = Phone("app-7f3a9c")
    first = defects["pothole-north"][0]
    bumped = road.post(
        "/v1/road/observations",
        content=phone.batch([phone.bump(first, start - timedelta(minutes=30), 2.4)]),
    )
    assert (bumped["accepted"], bumped["findings"]) == (1, [])

    # The vehicle drives the district: clear passes along its way, and the four detections.
    route = [("ns1-n", 4), ("ns3-s", 7), ("ew5", 9), ("ew2", 5)]
    rows = _drive(car, start, route) + [
        car.observe(where, start + timedelta(minutes=5), defect, level)
        for where, defect, level, _team in defects.values()
    ]
    report = road.send(car, rows)
    assert len(report["findings"]) == 4 and len(report["work_orders"]) == 4
    assert report["points"] == 10
    cells = road.get("/v1/road/cells")["features"]
    assert {f["id"]: f["properties"]["colour"] for f in cells} == {
        cell_of(*where): "red" for where, *_ in defects.values()
    }
    # Each order went to the team of its road.
    orders = {}
    for team in ("north", "south"):
        for order in road.get("/v1/road/work-orders", team)["work_orders"]:
            orders[order["cells"][0]] = (team, order)
    assert {cell: f"team-{team}" for cell, (team, _o) in orders.items()} == {
        cell_of(*where): t for where, _d, _l, t in defects.values()
    }

    # The same phone again on the same cell, and the vehicle again: no more points.
    road.post(
        "/v1/road/observations",
        content=phone.batch([phone.bump(first, start + timedelta(minutes=20))]),
    )
    road.send(car, [car.observe(first, start + timedelta(minutes=25), "pothole", "severe")])
    assert road.get(f"/v1/road/points/{phone.device_id}")["points"] == 10

    # The teams go out and repair; the next pass of the vehicle sees the road clear.
    for _cell, (team, order) in orders.items():
        road.post(f"/v1/road/work-orders/{order['id']}/steps", team, json={"step": "on_site"})
        done = road.post(
            f"/v1/road/work-orders/{order['id']}/steps",
            team,
            json={"step": "repaired", "photo_sha256": "5e" * 32},
        )
        assert done["status"] == "repaired"
    later = datetime.now(UTC) - timedelta(seconds=1)
    again = road.send(car, [car.observe(where, later) for where, *_ in defects.values()])
    assert sorted(again["cleared"]) == sorted(orders)
    assert road.get("/v1/road/cells")["features"] == []
    for _cell, (team, order) in orders.items():
        assert road.get(f"/v1/road/work-orders/{order['id']}", team)["status"] == "verified"
    board = road.get("/v1/road/dashboard")
    assert board["work_orders"]["verified"] == 4 and board["to_repair_hours"]["n"] == 4

    # The traffic police pin the node's key and check every finding against the signed log.
    key = load_verifying_key(base64.b64decode(road.get("/v1/road/log-key")["public_key"]))
    findings = road.get("/v1/road/findings", "police")["findings"]
    assert {f["defect"] for f in findings} == {"pothole", "manhole_cover_missing"}
    size = max(f["log_index"] for f in findings) + 1
    head = _head_covering(road, size)
    tree = head["payload"]["tree_size"]
    for finding in findings:
        i = finding["log_index"]
        entry = road.get("/v1/log/entries", start=i, end=i + 1)["entries"][0]
        proof = road.get("/v1/log/proof/inclusion", index=i, size=tree)
        assert check_finding(head, key, entry, proof, finding) == [], finding["cell"]
    # The feed shows them each order's steps, the repair photo's hash among them.
    steps = [
        e["entry"]
        for e in road.get("/v1/road/feed", "police")["entries"]
        if e["entry"]["kind"].startswith("road.order.")
    ]
    assert {s["step"] for s in steps} == {"dispatched", "on_site", "repaired", "verified"}
    assert {s["detail"] for s in steps if s["step"] == "repaired"} == {"5e" * 32}
