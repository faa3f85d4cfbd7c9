"""Departmental feeds at the hub: registration, signed batches, per-row refusals, idempotency,
pseudonymous storage with provenance, the bulk path (docs/travel.md, hub/departments.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from tests.conftest import FakeClock, _truncate_all
from tests.integration.conftest import make_id
from tests.integration.hub_data_helpers import FEDERATION_SECRET, Hub, lab_key, start_hub
from yimatong.adapters.crypto import SigningKey
from yimatong.adapters.db.tables import (
    department_batches,
    department_records,
    hub_feed,
    metadata,
)
from yimatong.adapters.messages import department_batch_message
from yimatong.cli import main
from yimatong.domain.identity import DocumentType, subject_id
from yimatong.hub.departments import MAX_RECORDS, keyed_index

SID_A = "a" * 32
SID_B = "b" * 32


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One hub per backend for the whole file, with a department of each kind registered."""
    tmp = tmp_path_factory.mktemp("departments")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'node.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate_all(url)
    clock = FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    hub, close = start_hub(url, tmp, clock)
    yield hub
    close()


_KEYS = {"police": 3, "rail": 4, "aviation": 5, "telecom": 6}


def department(hub: Hub, kind: str) -> tuple[str, SigningKey, dict[str, str]]:
    """The department of ``kind`` (registered on first use): id, key, credential headers."""
    dept_id, key = f"zj-{kind}", lab_key(_KEYS[kind])
    if dept_id not in hub.tokens:
        r = hub.client.post(
            "/v1/departments",
            json={
                "department_id": dept_id,
                "kind": kind,
                "name": f"浙江 {kind}",
                "region": "330000",
                "public_key": base64.b64encode(key.public.spki_der()).decode(),
            },
            headers=hub.token("admin"),
        )
        assert r.status_code == 201, r.text
        hub.tokens[dept_id] = r.json()["credential"]
    return dept_id, key, {"Authorization": f"Bearer {hub.tokens[dept_id]}"}


def signed(
    key: SigningKey, dept_id: str, batch_id: str, kind: str, records: list[Any]
) -> dict[str, Any]:
    message = department_batch_message(dept_id, batch_id, kind, records)
    signature = base64.urlsafe_b64encode(key.sign(message)).rstrip(b"=").decode()
    return {
        "department_id": dept_id,
        "batch_id": batch_id,
        "kind": kind,
        "records": records,
        "signature": signature,
    }


def leg(**extra: Any) -> dict[str, Any]:
    row = {
        "id_type": "111",
        "id_number": make_id("520102", "19900101", "011"),
        "trip": "G1234",
        "date": "2026-11-19",
        "from": "330100",
        "to": "520100",
        "departs_at": "2026-11-19T08:00:00+08:00",
        "arrives_at": "2026-11-19T15:30:00+08:00",
        "carriage": "05",
        "seat": "12F",
    }
    row.update(extra)
    return {k: v for k, v in row.items() if v is not None}


def test_a_manifest_batch_stores_pseudonymous_legs_with_provenance_and_reports_bad_rows(
    hub: Hub,
) -> None:
    dept_id, key, headers = department(hub, "rail")
    number = make_id("520102", "19900101", "011")
    rows = [
        leg(),
        leg(to="999999"),  # no such place: refused, the rest stored
        leg(id_type=None, id_number=None, subject=SID_A, seat="14A"),
        leg(name="张三"),  # a manifest sends no names: refused
    ]
    r = hub.client.post(
        "/v1/department-records", json=signed(key, dept_id, "rail-1", "rail", rows), headers=headers
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["rows"], answer["accepted"], answer["duplicate"]) == (4, 2, False)
    assert [x["row"] for x in answer["rejected"]] == [1, 3]
    assert "to is not a known region" in answer["rejected"][0]["reason"]
    assert "unknown fields name" in answer["rejected"][1]["reason"]

    sid = subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, number)
    with hub.node.db.read() as conn:
        records = conn.execute(select(department_records).order_by(department_records.c.row)).all()
        feed = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
        batch = conn.execute(select(department_batches)).one()
    assert [(x.sid, x.row, x.trip, x.carriage, x.seat_row) for x in records] == [
        (sid, 0, "rail:G1234:2026-11-19", "05", 12),
        (SID_A, 2, "rail:G1234:2026-11-19", "05", 14),
    ]
    assert records[0].expires_at > hub.clock()
    assert (batch.department_id, batch.rows, batch.accepted) == (dept_id, 4, 2)
    assert batch.signature and batch.log_index is not None
    # each leg: a departure and an arrival instant, for the issuers that hold the person
    assert [(f.sid, f.kind, f.body["area"], f.body["leg"]) for f in feed] == [
        (sid, "stay", "330100", "departure"),
        (sid, "stay", "520100", "arrival"),
        (SID_A, "stay", "330100", "departure"),
        (SID_A, "stay", "520100", "arrival"),
    ]
    assert feed[1].body["source"] == "rail" and feed[1].body["department"] == dept_id
    assert records[0].feed_seq == feed[0].seq
    with hub.node.db.read() as conn:  # the document number was kept nowhere
        for table in metadata.sorted_tables:
            for raw in conn.execute(select(table)).all():
                assert number not in repr(tuple(raw))
    # provenance: the batch's entry in the hub's log
    prov = hub.client.get(f"/v1/facts/{feed[1].seq}/provenance", headers=hub.token("admin"))
    assert prov.status_code == 200, prov.text
    assert prov.json()["kind"] == "stay"
    assert prov.json()["batch"]["first_seq"] == feed[0].seq


def test_a_resent_batch_answers_the_same_and_another_body_under_its_id_is_a_409(
    hub: Hub,
) -> None:
    dept_id, key, headers = department(hub, "aviation")
    rows = [leg(trip="CA1501", subject=SID_B, id_type=None, id_number=None, carriage=None)]
    body = signed(key, dept_id, "avi-1", "aviation", rows)
    first = hub.client.post("/v1/department-records", json=body, headers=headers)
    assert first.status_code == 200, first.text
    with hub.node.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(department_records)).scalar()
    again = hub.client.post("/v1/department-records", json=body, headers=headers)
    assert again.status_code == 200
    assert {**again.json(), "duplicate": False} == first.json()
    assert again.json()["duplicate"] is True
    with hub.node.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(department_records)).scalar() == before
    other = signed(key, dept_id, "avi-1", "aviation", [*rows, leg(subject=SID_A, id_number=None)])
    r = hub.client.post("/v1/department-records", json=other, headers=headers)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    # a batch not signed by the department's key, or of another department's kind
    forged = signed(lab_key(9), dept_id, "avi-2", "aviation", rows)
    post = hub.client.post
    assert post("/v1/department-records", json=forged, headers=headers).status_code == 403
    wrong = signed(key, dept_id, "avi-3", "telecom", [{"phone": "13800000000"}])
    assert post("/v1/department-records", json=wrong, headers=headers).status_code == 422


def test_police_checks_and_telecom_stays_keep_names_and_phones_only_as_keyed_indexes(
    hub: Hub,
) -> None:
    dept_id, key, headers = department(hub, "police")
    number = make_id("330106", "19850505", "021")
    checks = [
        {"id_type": "111", "id_number": number, "name": "王五", "match": False,
         "checked_at": "2026-11-19T09:00:00+08:00"},
        {"subject": SID_A, "name": "李四", "match": True, "photo": "iVBORw0KGgo=",
         "checked_at": "2026-11-19T09:00:00+08:00"},
        {"subject": SID_B, "name": "李四", "match": "yes",
         "checked_at": "2026-11-19T09:00:00+08:00"},
    ]  # fmt: skip
    r = hub.client.post(
        "/v1/department-records",
        json=signed(key, dept_id, "police-1", "identity", checks),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    reasons = {x["row"]: x["reason"] for x in r.json()["rejected"]}
    assert "photo" in reasons[1] and "match must be true or false" in reasons[2]

    tel_id, tel_key, tel_headers = department(hub, "telecom")
    stays = [
        {"subject": SID_A, "phone": "13912345678", "city": "330100",
         "from": "2026-11-18T08:00:00+08:00", "to": "2026-11-18T20:00:00+08:00"},
        {"subject": SID_A, "phone": "1391234", "city": "330100",
         "from": "2026-11-18T08:00:00+08:00", "to": "2026-11-18T20:00:00+08:00"},
    ]  # fmt: skip
    r = hub.client.post(
        "/v1/department-records",
        json=signed(tel_key, tel_id, "tel-1", "telecom", stays),
        headers=tel_headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"][0]["row"]) == (1, 1)
    with hub.node.db.read() as conn:
        police = conn.execute(
            select(department_records).where(department_records.c.kind == "identity")
        ).one()
        telecom = conn.execute(
            select(department_records).where(department_records.c.kind == "telecom")
        ).one()
        feed = conn.execute(
            select(hub_feed.c.kind, hub_feed.c.body).where(hub_feed.c.kind == "identity")
        ).one()
        everything = [
            repr(tuple(raw))
            for table in metadata.sorted_tables
            for raw in conn.execute(select(table)).all()
        ]
    assert police.matched is False
    assert police.name_index == keyed_index(FEDERATION_SECRET, "name", "王五")
    assert telecom.phone_index == keyed_index(FEDERATION_SECRET, "phone", "13912345678")
    assert (telecom.area, telecom.starts_at.hour, telecom.ends_at.hour) == ("330100", 0, 12)
    assert feed.body["match"] is False and "name" not in feed.body
    for secret in (number, "王五", "13912345678", "iVBORw0KGgo="):
        assert not any(secret in text for text in everything)


def test_a_batch_of_the_largest_size_goes_in_whole(hub: Hub) -> None:
    dept_id, key, headers = department(hub, "telecom")
    stays = [
        {"subject": f"{i:032x}", "phone": f"139{i:08d}", "city": "330100",
         "from": "2026-11-18T08:00:00+08:00", "to": "2026-11-18T20:00:00+08:00"}
        for i in range(MAX_RECORDS)
    ]  # fmt: skip
    r = hub.client.post(
        "/v1/department-records",
        json=signed(key, dept_id, "tel-bulk", "telecom", stays),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (MAX_RECORDS, [])
    with hub.node.db.read() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(department_records)
            .where(department_records.c.batch_id == "tel-bulk")
        ).scalar()
    assert n == MAX_RECORDS


def _cli(hub: Hub, *args: str, token: str) -> Result:
    env = {"YMT_HUB_URL": "http://testserver", "YIMATONG_TOKEN": token}
    return CliRunner().invoke(main, list(args), obj={"http_client": hub.client}, env=env)


def test_feeds_upload_signs_sends_in_chunks_reports_refused_lines_and_resumes(
    hub: Hub, tmp_path: Path
) -> None:
    admin = hub.token("admin")["Authorization"].removeprefix("Bearer ")
    key_file = tmp_path / "rail.pem"
    r = _cli(hub, "departments", "add", "--department-id", "cli-rail", "--kind", "rail",
             "--name", "上海铁路局", "--region", "310000", "--key-out", str(key_file),
             token=admin)  # fmt: skip
    assert r.exit_code == 0, r.output
    credential = r.stdout.strip()
    csv_file = tmp_path / "manifest.csv"
    header = "id_type,id_number,trip,date,from,to,departs_at,arrives_at,carriage,seat\n"
    good = (f"111,{make_id('330106', '19700101', '031')},G7,2026-11-19,310000,330100,"
            "2026-11-19T08:00+08:00,2026-11-19T09:00+08:00,3,7A\n")  # fmt: skip
    bad = good.replace("330100", "999999")
    csv_file.write_text(header + good * 4 + bad, encoding="utf-8")
    args = ["feeds", "upload", str(csv_file), "--department", "cli-rail", "--kind", "rail",
            "--key", str(key_file), "--batch-size", "2"]  # fmt: skip
    r = _cli(hub, *args, token=credential)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == (
        "5 rail records in 3 batches: 4 stored, 0 already at the hub (duplicate batches), 1 refused"
    )
    assert "Uploading rail records" in r.stderr
    assert "manifest.csv line 6: refused: to is not a known region" in r.stderr
    r = _cli(hub, *args, "--json", token=credential)  # again: nothing stored twice
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "rows": 5, "batches": 3, "accepted": 0, "duplicate": 4, "rejected": 1
    }  # fmt: skip
    with hub.node.db.read() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(department_records)
            .where(department_records.c.department_id == "cli-rail")
        ).scalar()
    assert stored == 4
    # JSON Lines; a key that is not the department's is refused in one line
    lines = tmp_path / "manifest.jsonl"
    lines.write_text(json.dumps({"subject": SID_A, "trip": "G7"}) + "\n", encoding="utf-8")
    r = _cli(hub, "feeds", "upload", str(lines), "--department", "cli-rail", "--kind", "rail",
             "--key", str(key_file), token=credential)  # fmt: skip
    assert r.exit_code == 0 and "1 refused" in r.stdout, r.output
    other = tmp_path / "other.pem"
    other.write_bytes(lab_key(8).private_pem())
    r = _cli(hub, "feeds", "upload", str(lines), "--department", "cli-rail", "--kind", "rail",
             "--key", str(other), token=credential)  # fmt: skip
    assert r.exit_code == 1
    assert "yimatong: the hub refused: the batch signature does not verify" in r.stderr


def test_rows_of_any_shape_are_refused_one_by_one_never_a_server_error(hub: Hub) -> None:
    dept_id, key, headers = department(hub, "rail")
    weird: list[Any] = [
        None, 7, "G1234", [], {"subject": 5}, {"subject": SID_A, "trip": ["G1"]},
        leg(departs_at=12), leg(date=20261119), leg(seat={"row": 1}), leg(carriage="车厢五"),
        leg(arrives_at="2026-11-19T06:00:00+08:00"), leg(id_type="999"), leg(id_number="1" * 18),
        leg(departs_at="2036-01-01T00:00:00+08:00"), leg(**{"from": None}),
    ]  # fmt: skip
    r = hub.client.post(
        "/v1/department-records",
        json=signed(key, dept_id, "weird-1", "rail", weird),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], len(r.json()["rejected"])) == (0, len(weird))
    assert all(x["reason"] for x in r.json()["rejected"])
