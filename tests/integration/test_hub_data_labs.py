"""Labs at the hub: registration, signed result batches, duplicates, bad rows, bulk upload."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

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
from yimatong.adapters.db.tables import hub_feed, labs, metadata, uploads
from yimatong.domain.identity import DocumentType, subject_id

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
def test_twenty_thousand_rows_in_one_request(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    lab = _register_lab(hub)
    results = [
        _row(id_number=make_id(seq=f"{i % 1000:03d}", birth=f"19{50 + i // 1000}0101"))
        for i in range(20_000)
    ]
    body = sign_batch(lab_key(), LAB, "bulk-1", results)
    start = time.perf_counter()
    r = _upload(hub, lab, body)
    elapsed = time.perf_counter() - start
    assert r.status_code == 200, r.text[:500]
    assert r.json()["accepted"] == 20_000
    assert _feed_count(hub) == 20_000
    with capsys.disabled():
        print(f"\n  20,000 lab results in one request: {elapsed:.2f} s ({hub.node.db.dialect})")
    assert elapsed < 30
