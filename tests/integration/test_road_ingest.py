"""Road ingest on both backends: a signed vehicle batch is stored once per (device, seq), the
touched cells are assessed, clusters become work orders for the road's team, every finding and
work-order step is in the node's transparency log, and a bad row is reported while the rest is
stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.road_support import Phone, Vehicle, cell_of, network, spot
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.tables import log_entries, road_observations
from yimatong.adapters.translog import TransparencyLog
from yimatong.domain.errors import Unauthorized
from yimatong.road.rules import load_default_road_ruleset
from yimatong.roadnode.service import RoadService, load_builtin_departments


@pytest.fixture
def road(db_url: str, clock: FakeClock) -> Iterator[RoadService]:
    upgrade(db_url)
    db = Database.from_url(db_url)
    key = generate_signing_key(Algorithm.EDDSA)
    service = RoadService(
        db=db,
        network=network(),
        ruleset=load_default_road_ruleset(),
        clock=clock,
        log=TransparencyLog(db, clock, lambda: key, "road-xiacheng-synthetic"),
        departments=load_builtin_departments(),
    )
    yield service
    db.dispose()


def _vehicle(road: RoadService, name: str = "veh-01", trusted: bool = True) -> Vehicle:
    car = Vehicle(name)
    road.register_vehicle(
        name, owner="杭州市政养护", public_key_der=car.key.public.spki_der(), trusted=trusted
    )
    return car


def _log_kinds(road: RoadService) -> list[str]:
    with road.db.read() as conn:
        return list(conn.execute(select(log_entries.c.kind).order_by(log_entries.c.idx)).scalars())


def test_a_trusted_vehicles_pothole_turns_its_cell_red_and_dispatches_the_roads_team(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    at = clock() - timedelta(minutes=5)
    pothole = spot("ns1-n", 2)
    passes = [car.observe(spot("ns1-n", 2, along=a / 100), at) for a in range(10, 20)]
    body, headers = car.batch([*passes, car.observe(pothole, at, "pothole", "severe")])
    report = road.ingest(body, device=headers["Ymt-Device"], signature=headers["Ymt-Signature"])
    assert (report.accepted, report.duplicates, report.errors) == (11, 0, [])
    assert len(report.findings) == 1 and len(report.work_orders) == 1
    cells = road.cells()["features"]
    assert [(f["id"], f["properties"]["colour"]) for f in cells] == [(cell_of(*pothole), "red")]
    order = road.work_order(report.work_orders[0])
    assert (order["team"], order["road"], order["defect"], order["status"]) == (
        "team-north",
        "ns1-n",
        "pothole",
        "dispatched",
    )
    assert order["cells"] == [cell_of(*pothole)]
    assert _log_kinds(road) == [
        "road.device.registered",
        "road.finding.confirmed",
        "road.order.dispatched",
    ]
    finding = road.findings(None)["findings"][0]
    assert finding["log_index"] == 1 and finding["observations"] == 1


def test_a_batch_sent_twice_is_stored_once_and_logs_nothing_more(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    body, headers = car.batch([car.observe(spot("ew2", 3), clock(), "pothole", "moderate")])
    first = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    again = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert (first.accepted, again.accepted, again.duplicates) == (1, 0, 1)
    assert again.findings == [] and again.work_orders == []
    assert len(_log_kinds(road)) == 3


def test_one_bad_row_is_reported_with_its_index_and_the_rest_are_stored(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    at = clock()
    good = car.observe(spot("ew3", 1), at)
    unknown = car.observe(spot("ew3", 2), at, "volcano", "severe")
    off_road = car.observe((120.1570, 30.2770), at)  # between the roads
    body, headers = car.batch([good, unknown, off_road])
    report = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert report.accepted == 1
    assert [(e.index, e.status, e.field) for e in report.errors] == [
        (1, 422, "defect"),
        (2, 422, "lon"),
    ]
    # The same sequence number with other bytes is a conflict, for that row only.
    reused = {**good, "confidence": 0.5}
    body, headers = car.batch([reused, car.observe(spot("ew3", 3), at)])
    report = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert (report.accepted, [(e.index, e.status) for e in report.errors]) == (1, [(0, 409)])
    with road.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(road_observations)).scalar() == 2


def test_a_batch_with_a_bad_signature_or_an_unsigned_vehicle_row_is_refused(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    body, headers = car.batch([car.observe(spot("ew3", 1), clock(), "pothole", "severe")])
    with pytest.raises(Unauthorized):
        road.ingest(body + b" ", device="veh-01", signature=headers["Ymt-Signature"])
    with pytest.raises(Unauthorized):
        road.ingest(body, device="veh-02", signature=headers["Ymt-Signature"])
    report = road.ingest(body)  # the vehicle's rows, unsigned, as if from a phone
    assert (report.accepted, [(e.index, e.status) for e in report.errors]) == (0, [(0, 401)])


def test_a_repair_and_a_clear_re_inspection_turn_the_cells_green_and_verify_the_order(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    hole = spot("ns3-s", 4)
    body, headers = car.batch([car.observe(hole, clock(), "manhole_cover_missing", "severe")])
    order_id = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"]).work_orders[0]
    assert road.work_order(order_id)["team"] == "team-south"
    clock.now += timedelta(hours=2)
    road.advance(order_id, "on_site", team="team-south")
    clock.now += timedelta(hours=1)
    road.advance(order_id, "repaired", team="team-south", photo_sha256="cd" * 32)
    # A trusted pass that still sees the defect reopens the order, with a fresh deadline.
    clock.now += timedelta(minutes=30)
    body, headers = car.batch([car.observe(hole, clock(), "manhole_cover_missing", "severe")])
    road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert road.work_order(order_id)["status"] == "dispatched"
    road.advance(order_id, "on_site", team="team-south")
    road.advance(order_id, "repaired", team="team-south", photo_sha256="ef" * 32)
    clock.now += timedelta(hours=1)
    body, headers = car.batch([car.observe(hole, clock())])
    report = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert report.cleared == [cell_of(*hole)]
    assert road.cells()["features"] == []
    order = road.work_order(order_id)
    assert [e["kind"] for e in order["events"]] == [
        "dispatched",
        "on_site",
        "repaired",
        "reopened",
        "on_site",
        "repaired",
        "verified",
    ]
    assert all(e["log_index"] is not None for e in order["events"])
    assert road.dashboard()["to_repair_hours"]["n"] == 1


def test_a_citizens_earlier_bump_earns_points_once_per_finding_and_once_per_cell(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    first, second = Phone("phone-a"), Phone("phone-b")
    hole = spot("ew5", 6)
    near = spot("ew5", 6, along=0.5, across=2.0)
    road.ingest(first.batch([first.bump(near, clock() - timedelta(hours=3))]))
    road.ingest(second.batch([second.bump(hole, clock() - timedelta(hours=2))]))
    body, headers = car.batch([car.observe(hole, clock(), "pothole", "severe")])
    report = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert report.points == 10
    assert road.points_of("phone-a")["points"] == 10 and road.points_of("phone-b")["points"] == 0
    # Cleared, then the same pothole again: phone-a cannot earn on that cell twice; phone-b can.
    clock.now += timedelta(hours=1)
    body, headers = car.batch([car.observe(hole, clock())])
    road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    clock.now += timedelta(hours=1)
    road.ingest(first.batch([first.bump(near, clock() - timedelta(minutes=10))]))
    body, headers = car.batch([car.observe(hole, clock(), "pothole", "severe")])
    road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"])
    assert road.points_of("phone-a")["points"] == 10


def test_an_overdue_order_escalates_one_level_a_deadline_and_logs_it(
    road: RoadService, clock: FakeClock
) -> None:
    car = _vehicle(road)
    body, headers = car.batch([car.observe(spot("ew7", 2), clock(), "pothole", "severe")])
    order_id = road.ingest(body, device="veh-01", signature=headers["Ymt-Signature"]).work_orders[0]
    assert road.escalate_overdue() == []
    clock.now += timedelta(hours=24 * 2 + 1)  # severe: 24 h; two whole periods past it
    assert road.escalate_overdue() == [order_id]
    order = road.work_order(order_id)
    assert order["escalation"] == 2 and order["events"][-1]["kind"] == "escalated"
    assert _log_kinds(road)[-1] == "road.order.escalated"
    assert road.escalate_overdue() == []
