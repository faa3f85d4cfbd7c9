"""Facts, subjects, Mode 1 summaries, scans and the feed at the hub."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.hub_data_helpers import FEDERATION_SECRET, Hub, start_hub
from yimatong.adapters.db.tables import hub_feed, metadata
from yimatong.domain.identity import DocumentType, subject_id
from yimatong.hub.data import purge_expired

ZJ, GZ, HB = "330000", "520000", "420000"
SID_A = "a" * 32
SID_B = "b" * 32
SID_C = "c" * 32


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def _facts(hub: Hub, facts: list[dict[str, Any]], scope: str | None = None) -> Any:
    return hub.client.post(
        "/v1/facts", json={"facts": facts}, headers=hub.token("authority", scope)
    )


def _case(subject: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "kind": "case",
        "status": "confirmed",
        "since": "2026-11-18T09:00:00+08:00",
        **extra,
    }


def _register(hub: Hub, region: str, *sids: str) -> dict[str, Any]:
    r = hub.client.post(
        "/v1/subjects/register", json={"sids": list(sids)}, headers=hub.token("node", region)
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _feed(hub: Hub, region: str, since: int = 0, limit: int | None = None) -> dict[str, Any]:
    params: dict[str, int] = {"since": since}
    if limit:
        params["limit"] = limit
    r = hub.client.get("/v1/feed", params=params, headers=hub.token("node", region))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _all_raw_values(hub: Hub) -> list[Any]:
    values: list[Any] = []
    with hub.node.db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).all():
                values.extend(row)
    return values


# ------------------------------------------------------------------------------ facts
def test_facts_by_id_number_use_the_federation_sid_and_keep_no_number(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    number = make_id("420881", "19750704", "031")
    passport = "E12345678"
    r = _facts(
        hub,
        [
            {
                "id_type": "111",
                "id_number": number,
                "kind": "contact",
                "contact_kind": "close",
                "last_exposure": "2026-11-17T20:00:00+08:00",
            },
            {
                "id_type": "111",
                "id_number": number.lower(),  # the same person, however the number is typed
                "kind": "quarantine",
                "start": "2026-11-18T00:00:00+08:00",
                "end": "2026-12-02T00:00:00+08:00",
                "quarantine_kind": "central",
            },
            {"id_type": "414", "id_number": passport, **_case(None)},
        ],
        scope=HB,
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["accepted"] == 3
    assert result["last_seq"] - result["first_seq"] == 2

    sid = subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, number)
    sid_passport = subject_id(FEDERATION_SECRET, DocumentType.PASSPORT, passport)
    with hub.node.db.read() as conn:
        rows = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
    assert [(r.sid, r.kind, r.region) for r in rows] == [
        (sid, "contact", HB),
        (sid, "quarantine", HB),
        (sid_passport, "case", HB),
    ]
    assert rows[0].body == {  # the hub writes every time in UTC
        "contact_kind": "close",
        "last_exposure": "2026-11-17T12:00:00+00:00",
    }
    assert rows[1].body == {
        "start": "2026-11-17T16:00:00+00:00",
        "end": "2026-12-01T16:00:00+00:00",
        "quarantine_kind": "central",
    }
    assert rows[2].body == {"status": "confirmed", "since": "2026-11-18T01:00:00+00:00"}
    assert all(
        r.expires_at == hub.clock() + timedelta(days=hub.node.settings.retention_days) for r in rows
    )

    # no trace of the numbers in any table, raw (JSON bodies included), nor in the logs
    for value in _all_raw_values(hub):
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        for secret in (number, number[:17], passport):
            assert secret not in text
    assert number not in caplog.text
    assert passport not in caplog.text


@pytest.mark.parametrize(
    ("fact", "field"),
    [
        ({"kind": "case", "status": "confirmed"}, "facts[1].since"),
        ({"kind": "case", "since": "2026-11-18T09:00:00+08:00"}, "facts[1].status"),
        ({"kind": "contact"}, "facts[1].last_exposure"),
        (
            {
                "kind": "quarantine",
                "start": "2026-11-18T00:00:00+08:00",
                "end": "2026-11-17T00:00:00+08:00",
            },
            "facts[1].end",
        ),
        ({"kind": "case", "status": "confirmed", "since": "2027-01-01T00:00:00+08:00"}, None),
    ],
)
def test_fact_problems_name_the_item(hub: Hub, fact: dict[str, Any], field: str | None) -> None:
    r = _facts(hub, [_case(SID_A), {"subject": SID_B, **fact}])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if field:
        assert r.json()["field"] == field
    assert "facts[1]" in r.json()["detail"]
    with hub.node.db.read() as conn:
        assert conn.execute(select(hub_feed)).all() == []  # all or nothing


def test_fact_identity_problems(hub: Hub) -> None:
    bad = make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")
    r = _facts(hub, [{"id_type": "111", "id_number": bad, **_case(None)}])
    assert r.status_code == 422
    assert r.json()["field"] == "facts[0].id_number"
    assert bad not in r.text
    r = _facts(hub, [{"id_type": "999", "id_number": "X1", **_case(None)}])
    assert r.status_code == 422
    assert r.json()["field"] == "facts[0].id_type"
    both = {"id_type": "111", "id_number": make_id(), **_case(SID_A)}
    assert _facts(hub, [both]).status_code == 422
    assert _facts(hub, [_case(None)]).status_code == 422
    assert _facts(hub, [_case("not-a-sid")]).status_code == 422
    # only an authority posts facts
    r = hub.client.post("/v1/facts", json={"facts": [_case(SID_A)]}, headers=hub.token("node", ZJ))
    assert r.status_code == 403
    assert hub.client.post("/v1/facts", json={"facts": [_case(SID_A)]}).status_code == 401


def test_facts_with_a_client_id_land_once(hub: Hub) -> None:
    facts = [_case(SID_A, id="cdc-2026-1120-1"), _case(SID_B, id="cdc-2026-1120-2")]
    first = _facts(hub, facts).json()
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    again = _facts(hub, [*facts, _case(SID_C, id="cdc-2026-1120-3")]).json()
    assert (again["accepted"], again["duplicates"]) == (1, 2)
    with hub.node.db.read() as conn:
        assert len(conn.execute(select(hub_feed)).all()) == 3


# ----------------------------------------------------------------------------- the feed
def test_feed_sends_each_region_only_its_subjects_with_paging(hub: Hub) -> None:
    assert _register(hub, ZJ, SID_A, SID_C) == {
        "region": ZJ,
        "registered": 2,
        "known": 0,
        "items": [],
    }
    assert _register(hub, ZJ, SID_A) == {"region": ZJ, "registered": 0, "known": 1, "items": []}
    _register(hub, GZ, SID_B, SID_C)
    for sid in (SID_A, SID_B, SID_C, "d" * 32, SID_A):
        assert _facts(hub, [_case(sid)]).status_code == 200

    zj = _feed(hub, ZJ)
    assert [(i["seq"], i["sid"]) for i in zj["items"]] == [(1, SID_A), (3, SID_C), (5, SID_A)]
    assert (zj["since"], zj["next"], zj["more"]) == (0, 5, False)
    item = zj["items"][0]
    assert set(item) == {"seq", "sid", "kind", "region", "body", "created_at"}
    assert item["kind"] == "case"
    assert item["body"]["status"] == "confirmed"
    gz = _feed(hub, GZ)
    assert [(i["seq"], i["sid"]) for i in gz["items"]] == [(2, SID_B), (3, SID_C)]

    # paging: two at a time, following next until more is false
    page = _feed(hub, ZJ, limit=2)
    assert ([i["seq"] for i in page["items"]], page["next"], page["more"]) == ([1, 3], 3, True)
    page = _feed(hub, ZJ, since=page["next"], limit=2)
    assert ([i["seq"] for i in page["items"]], page["next"], page["more"]) == ([5], 5, False)
    page = _feed(hub, ZJ, since=5, limit=2)
    assert (page["items"], page["next"], page["more"]) == ([], 5, False)

    # only issuer nodes with a region read the feed
    assert hub.client.get("/v1/feed", headers=hub.token("authority")).status_code == 403
    assert hub.client.get("/v1/feed", headers=hub.token("node")).status_code == 403
    r = hub.client.get("/v1/feed", params={"limit": 5001}, headers=hub.token("node", ZJ))
    assert r.status_code == 422


def test_summaries_reach_other_regions_not_their_own(hub: Hub) -> None:
    _register(hub, GZ, SID_A)  # a Zhejiang resident who also holds a Guizhou code

    def summary(colour: str, assessed: str) -> dict[str, Any]:
        return {
            "sid": SID_A,
            "colour": colour,
            "reasons": ["stay.medium-risk"] if colour != "green" else [],
            "colour_since": "2026-11-19T08:00:00+08:00",
            "assessed_at": assessed,
        }

    r = hub.client.post(
        "/v1/summaries",
        json={"summaries": [summary("yellow", "2026-11-19T08:00:00+08:00")]},
        headers=hub.token("node", ZJ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    r = hub.client.post(
        "/v1/summaries",
        json={"summaries": [summary("green", "2026-11-20T08:00:00+08:00")]},
        headers=hub.token("node", ZJ),
    )
    assert r.status_code == 200
    # posting a summary registered the sid for Zhejiang too
    assert _register(hub, ZJ, SID_A)["known"] == 1

    assert _feed(hub, ZJ)["items"] == []  # its own summaries are not sent back
    gz = _feed(hub, GZ)["items"]
    assert [(i["kind"], i["region"], i["body"]["colour"]) for i in gz] == [
        ("summary", ZJ, "yellow"),
        ("summary", ZJ, "green"),
    ]
    assert gz[0]["body"]["reasons"] == ["stay.medium-risk"]

    # the subject's summary: the latest per other region
    r = hub.client.get(f"/v1/subjects/{SID_A}/summary", headers=hub.token("node", GZ))
    assert r.status_code == 200
    assert [(i["region"], i["body"]["colour"]) for i in r.json()["items"]] == [(ZJ, "green")]
    r = hub.client.get(f"/v1/subjects/{SID_A}/summary", headers=hub.token("node", ZJ))
    assert r.json()["items"] == []


def test_subject_reads_for_a_newcomer(hub: Hub) -> None:
    # national data about a person arrives before any issuer holds them
    assert _facts(hub, [_case(SID_A)]).status_code == 200
    assert (
        _facts(
            hub,
            [
                {
                    "subject": SID_A,
                    "kind": "contact",
                    "contact_kind": "secondary",
                    "last_exposure": "2026-11-10T00:00:00+08:00",
                }
            ],
        ).status_code
        == 200
    )
    headers = hub.token("node", GZ)
    # not registered to Guizhou yet: not found (and the feed does not send old rows later)
    assert hub.client.get(f"/v1/subjects/{SID_A}/facts", headers=headers).status_code == 404
    _register(hub, GZ, SID_A)
    r = hub.client.get(f"/v1/subjects/{SID_A}/facts", headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["sid"] == SID_A
    assert [i["kind"] for i in body["items"]] == ["case", "contact"]
    r = hub.client.get(f"/v1/subjects/{SID_A}/test-results", headers=headers)
    assert r.json()["items"] == []
    r = hub.client.get(f"/v1/subjects/{SID_A}/facts", headers=hub.token("authority"))
    assert r.status_code == 403
    r = hub.client.get("/v1/subjects/xyz/facts", headers=headers)
    assert r.status_code == 422


# ------------------------------------------------------------------------------ scans
def _scan(sid: str = SID_A, area: str = "520102", **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "sid": sid,
        "at": "2026-11-20T09:30:00+08:00",
        "area": area,
        "decision": "PASS",
        "temperature": 36.5,
        "checkpoint": "Guiyang North station gate 3",
        **extra,
    }


def test_scans_land_once_and_reach_the_home_issuer(hub: Hub) -> None:
    _register(hub, ZJ, SID_A)
    gate = hub.token("checkpoint", GZ)
    scans = [_scan(), _scan(decision="CHECK", temperature=37.6)]
    r = hub.client.post("/v1/scans", json={"scans": scans}, headers=gate)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0}
    # the gate lost the answer and sends again, with one new scan and a repeat inside
    again = [*scans, _scan(at="2026-11-20T10:00:00+08:00")]
    again.append(dict(again[-1]))
    r = hub.client.post("/v1/scans", json={"scans": again}, headers=gate)
    assert r.json() == {"accepted": 1, "duplicates": 3}

    items = _feed(hub, ZJ)["items"]
    assert [(i["kind"], i["region"]) for i in items] == [("scan", GZ)] * 3
    assert items[0]["body"] == {
        "id": scans[0]["id"],
        "at": "2026-11-20T01:30:00+00:00",  # sent as 09:30+08:00; the feed is in UTC
        "area": "520102",
        "decision": "PASS",
        "temperature": 36.5,
        "checkpoint": "Guiyang North station gate 3",
    }
    assert _feed(hub, GZ)["items"] == []  # Guizhou holds no code for this person


def test_scan_problems(hub: Hub) -> None:
    gate = hub.token("checkpoint", GZ)

    def post(scan: dict[str, Any], headers: dict[str, str] = gate) -> Any:
        return hub.client.post("/v1/scans", json={"scans": [scan]}, headers=headers)

    assert post(_scan(area="330106")).status_code == 403  # a Guizhou gate scans in Guizhou
    assert post(_scan(area="999999")).json()["field"] == "scans[0].area"
    assert post(_scan(at="2026-11-21T10:00:00+08:00")).status_code == 422  # in the future
    assert post(_scan(decision="MAYBE")).status_code == 422
    assert post(_scan(sid="nope")).status_code == 422
    assert post(_scan(), hub.token("authority", GZ)).status_code == 403
    # A node relays its own checkpoint pages' scans (issuer/relay.py), within its region only.
    assert post(_scan(), hub.token("node", GZ)).status_code == 200
    assert post(_scan(area="330106"), hub.token("node", GZ)).status_code == 403
    assert post(_scan(area="330106"), hub.token("checkpoint")).status_code == 200


def test_purge_expired(hub: Hub, clock: FakeClock) -> None:
    assert _facts(hub, [_case(SID_A)]).status_code == 200
    clock.advance(days=10)
    assert _facts(hub, [_case(SID_B)]).status_code == 200
    _register(hub, ZJ, SID_A, SID_B)
    clock.advance(days=hub.node.settings.retention_days - 5)
    # an expired row is no longer served even before the purge runs
    assert [i["sid"] for i in _feed(hub, ZJ)["items"]] == [SID_B]
    with hub.node.db.uow() as uow:
        assert purge_expired(uow.conn, clock()) == 1
        uow.commit()
    with hub.node.db.read() as conn:
        assert [r.sid for r in conn.execute(select(hub_feed)).all()] == [SID_B]
