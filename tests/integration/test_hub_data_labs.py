"""Labs at the hub: registration, signed result batches, duplicates, bad rows, bulk upload."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sa_text

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.hub_data_helpers import (
    FEDERATION_SECRET,
    Hub,
    lab_key,
    sign_batch,
    start_hub,
)
from yimatong.adapters.crypto import SigningKey
from yimatong.adapters.db.tables import hub_feed, labs, metadata, tallies, uploads
from yimatong.domain.identity import DocumentType, subject_id
from yimatong.hub.data import append_feed

LAB = "zj-lab-01"
SID_A = "a" * 32


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def _register_lab(hub: Hub, lab_id: str = LAB, key: SigningKey | None = None) -> dict[str, str]:
    """Register a lab; the headers of its credential."""
    key = key or lab_key()
    r = hub.client.post(
        "/v1/labs",
        json={
            "lab_id": lab_id,
            "name": "杭州某医学检验实验室",
            "region": "330106",
            "public_key": base64.b64encode(key.public.spki_der()).decode(),
        },
        headers=hub.token("admin"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["lab_id"] == lab_id
    return {"Authorization": f"Bearer {r.json()['credential']}"}


def _row(**extra: Any) -> dict[str, Any]:
    row = {
        "id_type": "111",
        "id_number": make_id(),
        "sampled_at": "2026-11-19T08:00:00+08:00",
        "reported_at": "2026-11-19T20:00:00+08:00",
        "result": "negative",
    }
    row.update(extra)
    return {k: v for k, v in row.items() if v is not None}


def _upload(hub: Hub, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return hub.client.post("/v1/test-results", json=body, headers=headers)


def _feed_count(hub: Hub) -> int:
    with hub.node.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(hub_feed)).scalar() or 0)


def test_a_signed_batch_becomes_test_rows(hub: Hub) -> None:
    lab = _register_lab(hub)
    number = make_id("420881", "19750704", "031")
    results = [
        _row(id_number=number),
        _row(id_type=None, id_number=None, subject=SID_A, result="positive"),
    ]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "2026-11-19-a", results))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["batch_id"], body["accepted"], body["duplicate"]) == ("2026-11-19-a", 2, False)

    sid = subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, number)
    with hub.node.db.read() as conn:
        rows = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
        upload = conn.execute(select(uploads)).one()
    assert [(r.sid, r.kind, r.region) for r in rows] == [
        (sid, "test", "330106"),
        (SID_A, "test", "330106"),
    ]
    assert rows[0].body == {  # the lab's 08:00+08:00, in UTC as every feed time
        "sampled_at": "2026-11-19T00:00:00+00:00",
        "reported_at": "2026-11-19T12:00:00+00:00",
        "outcome": "negative",
        "lab": "杭州某医学检验实验室",
        "lab_id": LAB,
        "lab_region": "330106",
    }
    assert rows[1].body["outcome"] == "positive"
    assert rows[0].expires_at == hub.clock() + timedelta(days=hub.node.settings.retention_days)
    assert (upload.lab_id, upload.rows, upload.first_seq) == (LAB, 2, rows[0].seq)

    # the ID number was used for the sid and kept nowhere
    with hub.node.db.read() as conn:
        for table in metadata.sorted_tables:
            for raw in conn.execute(select(table)).all():
                assert number not in repr(tuple(raw))

    # an issuer holding the person sees the result at once
    hub.client.post(
        "/v1/subjects/register", json={"sids": [sid]}, headers=hub.token("node", "420000")
    )
    r = hub.client.get(f"/v1/subjects/{sid}/test-results", headers=hub.token("node", "420000"))
    assert [i["body"]["outcome"] for i in r.json()["items"]] == ["negative"]


def test_a_repeated_batch_is_acknowledged_not_stored_twice(hub: Hub) -> None:
    lab = _register_lab(hub)
    body = sign_batch(lab_key(), LAB, "b-1", [_row(), _row(id_number=make_id(seq="456"))])
    assert _upload(hub, lab, body).json()["duplicate"] is False
    r = _upload(hub, lab, body)
    assert r.status_code == 200
    assert r.json() == {"batch_id": "b-1", "accepted": 2, "duplicate": True}
    assert _feed_count(hub) == 2
    # another lab cannot reuse (or learn about) the batch
    other = _register_lab(hub, "gz-lab-02", lab_key(2))
    r = _upload(hub, other, sign_batch(lab_key(2), "gz-lab-02", "b-1", [_row()]))
    assert r.status_code == 409
    assert _feed_count(hub) == 2


def test_signatures_and_lab_identity(hub: Hub) -> None:
    lab = _register_lab(hub)
    other = _register_lab(hub, "gz-lab-02", lab_key(2))
    results = [_row()]
    # signed with another key
    r = _upload(hub, lab, sign_batch(lab_key(2), LAB, "x-1", results))
    assert r.status_code == 403
    assert "signature" in r.json()["detail"]
    # the rows changed after signing
    body = sign_batch(lab_key(), LAB, "x-2", results)
    body["results"] = [_row(result="positive")]
    assert _upload(hub, lab, body).status_code == 403
    # a lab's credential posting as another lab, even with that lab's valid signature
    r = _upload(hub, other, sign_batch(lab_key(), LAB, "x-3", results))
    assert r.status_code == 403
    assert "another lab" in r.json()["detail"]
    # garbage signature, wrong roles, nobody
    body = sign_batch(lab_key(), LAB, "x-4", results)
    assert _upload(hub, lab, {**body, "signature": "%%%"}).status_code == 422
    assert _upload(hub, hub.token("authority"), body).status_code == 403
    assert hub.client.post("/v1/test-results", json=body).status_code == 401
    # a credential of a lab that is not registered
    r = _upload(hub, hub.token("lab", "ghost"), sign_batch(lab_key(), "ghost", "x-5", results))
    assert r.status_code == 403
    assert _feed_count(hub) == 0
    # and the good one still works
    assert _upload(hub, lab, body).status_code == 200


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(reported_at="2026-11-19T07:00:00+08:00"), "reported_at is before sampled_at"),
        (
            _row(sampled_at="2026-11-20T11:00:00+08:00", reported_at="2026-11-20T12:00:00+08:00"),
            "reported_at is in the future",  # the clock says 10:00 in Beijing
        ),
        (_row(sampled_at="2026-11-19T08:00:00"), "sampled_at must be an RFC 3339 time"),
        (_row(result="inconclusive"), "result must be negative or positive"),
        (_row(id_number=None), "give subject, or id_type and id_number"),
        (_row(name="张三"), "unknown fields name"),
    ],
)
def test_impossible_rows_are_refused_by_index(hub: Hub, row: dict[str, Any], message: str) -> None:
    lab = _register_lab(hub)
    results = [_row(), _row(), row]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "bad-1", results))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["detail"].startswith("results[2]: ")
    assert message in problem["detail"]
    assert problem["field"].startswith("results[2]")
    assert _feed_count(hub) == 0
    with hub.node.db.read() as conn:
        assert conn.execute(select(uploads)).all() == []


def test_lab_registration_problems(hub: Hub) -> None:
    def post(headers: dict[str, str], **body: str) -> Any:
        full = {
            "lab_id": "lab-x",
            "name": "A lab",
            "region": "330106",
            "public_key": base64.b64encode(lab_key().public.spki_der()).decode(),
        }
        full.update(body)
        return hub.client.post("/v1/labs", json=full, headers=headers)

    admin = hub.token("admin")
    assert post(hub.token("authority")).status_code == 403
    assert post(admin, public_key="bm90IGEga2V5").json()["field"] == "public_key"
    assert post(admin, region="999999").json()["field"] == "region"
    assert post(admin, lab_id="bad id!").status_code == 422
    assert post(admin).status_code == 201
    assert post(admin).status_code == 409
    with hub.node.db.read() as conn:
        row = conn.execute(select(labs)).one()
    assert row.public_der == lab_key().public.spki_der()


@pytest.mark.slow
def test_twenty_thousand_rows_in_one_request_land_whole_and_counted(hub: Hub) -> None:
    lab = _register_lab(hub)
    results = [
        _row(
            id_number=make_id(seq=f"{i % 1000:03d}", birth=f"19{50 + i // 1000}0101"),
            sampled_at=f"2026-11-19T{i % 10:02d}:{i // 10 % 60:02d}:{i % 60:02d}+08:00",
            result="positive" if i % 100 == 7 else "negative",
        )
        for i in range(20_000)
    ]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "bulk-1", results))
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["accepted"] == 20_000
    assert body["last_seq"] - body["first_seq"] == 19_999
    with hub.node.db.read() as conn:
        rows = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
        counts = {(t.grp, t.label): t.n for t in conn.execute(select(tallies)).all()}
    assert len(rows) == 20_000
    assert [r.seq for r in rows] == list(range(body["first_seq"], body["last_seq"] + 1))
    # every row is its own person and its own sample time, in order
    assert len({r.sid for r in rows}) == 20_000
    for i in (0, 1, 9_999, 19_999):
        sid = subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, results[i]["id_number"])
        assert rows[i].sid == sid
        when = datetime.fromisoformat(results[i]["sampled_at"]).astimezone(UTC)
        assert rows[i].body["sampled_at"] == when.isoformat()
    assert counts == {(LAB, "positive"): 200, (LAB, "negative"): 19_800}


def test_bulk_rows_read_back_as_rows_written_one_by_one(hub: Hub) -> None:
    """The bulk path (COPY / the driver's executemany) stores what SQLAlchemy would have:
    the same time text on SQLite, the body as the column's serializer writes it."""
    lab = _register_lab(hub)
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "b-1", [_row()]))
    seq = r.json()["first_seq"]
    now = hub.clock()
    with hub.node.db.uow() as uow:
        (other,) = append_feed(
            uow.conn,
            [
                {
                    "sid": SID_A,
                    "kind": "test",
                    "region": "330106",
                    "body": {"outcome": "negative"},
                    "dedupe": None,
                    "created_at": now,
                    "expires_at": now + timedelta(days=hub.node.settings.retention_days),
                }
            ],
        )
        uow.commit()
    text = "CAST({0} AS TEXT)"
    columns = ", ".join(text.format(c) for c in ("created_at", "expires_at", "body"))
    with hub.node.db.read() as conn:
        bulk, single = (
            conn.execute(sa_text(f"SELECT {columns} FROM hub_feed WHERE seq = :s"), {"s": s}).one()
            for s in (seq, other)
        )
        # what the feed's own queries compare: both rows are live now, expired after
        alive = conn.execute(select(func.count()).where(hub_feed.c.expires_at > now)).scalar()
    assert bulk[:2] == single[:2]
    assert json.loads(bulk[2])["lab"] == "杭州某医学检验实验室"
    if hub.node.db.dialect == "sqlite":
        assert bulk[2] == json.dumps(json.loads(bulk[2]))  # the serializer's own text
    assert alive == 2


def test_rows_off_the_plain_shape_are_taken_the_general_way(hub: Hub) -> None:
    lab = _register_lab(hub)
    number = make_id("330106", "19800101", "123")
    first17 = "11010519491231002"
    lower_x = first17 + "x"  # a lower-case check character, as people type it
    assert make_id("110105", "19491231", "002").endswith("X")
    results = [
        _row(
            id_number=number,
            sampled_at="2026-11-19T00:00:00Z",
            reported_at="2026-11-19 20:00+08:00",
        ),
        _row(id_number=lower_x),
        _row(id_type="414", id_number="e12345678"),
        _row(id_number=" " + number.replace("3", "３", 1)),  # full-width, from an IME
    ]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "mixed-1", results))
    assert r.status_code == 200, r.text
    with hub.node.db.read() as conn:
        rows = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
    resident = DocumentType.RESIDENT_ID
    assert [r.sid for r in rows] == [
        subject_id(FEDERATION_SECRET, resident, number),
        subject_id(FEDERATION_SECRET, resident, first17 + "X"),
        subject_id(FEDERATION_SECRET, DocumentType.PASSPORT, "E12345678"),
        subject_id(FEDERATION_SECRET, resident, number),
    ]
    assert rows[0].body["sampled_at"] == "2026-11-19T00:00:00+00:00"
    assert rows[0].body["reported_at"] == "2026-11-19T12:00:00+00:00"


def test_of_two_bad_rows_the_first_is_refused(hub: Hub) -> None:
    lab = _register_lab(hub)
    bad_number = make_id()[:-1] + ("0" if make_id().endswith("1") else "1")
    results = [
        _row(),
        _row(id_number=bad_number),  # refused for its document
        _row(result="maybe"),  # refused for its result, but it comes later
    ]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "bad-2", results))
    assert r.status_code == 422
    assert r.json()["field"] == "results[1].id_number"
    assert "check character" in r.json()["detail"]
    results[1], results[2] = results[2], results[1]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "bad-3", results))
    assert r.json()["field"] == "results[1].result"
    assert _feed_count(hub) == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"result": ["negative"]}, "results[1].result"),
        ({"result": {"a": 1}}, "results[1].result"),
        ({"sampled_at": ["2026-11-19T08:00:00+08:00"]}, "results[1].sampled_at"),
        ({"id_number": {"n": 1}}, "results[1].id_number"),
        ({"id_type": ["111"]}, "results[1].id_type"),
    ],
)
def test_values_of_the_wrong_type_are_refused_by_row(
    hub: Hub, extra: dict[str, Any], field: str
) -> None:
    lab = _register_lab(hub)
    results = [_row(), {**_row(), **extra}]
    r = _upload(hub, lab, sign_batch(lab_key(), LAB, "types-1", results))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert _feed_count(hub) == 0
