"""The hub's transparency log: each change is appended in its own transaction, without
personal data; signed tree heads and proofs over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.hub_data_helpers import Hub, lab_key, sign_batch, start_hub
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.tables import audit_log, hub_feed, log_entries
from yimatong.adapters.messages import prove_key, prove_rotation
from yimatong.adapters.signed import canonical, verify_document
from yimatong.credentials import Caller
from yimatong.domain.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion

GD = "440000"


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def _entries(hub: Hub) -> list[dict[str, Any]]:
    with hub.node.db.read() as conn:
        rows = conn.execute(select(log_entries).order_by(log_entries.c.idx)).all()
    assert [r.idx for r in rows] == list(range(len(rows)))  # dense, from 0
    for r in rows:
        assert r.leaf_hash == leaf_hash(r.entry)
        assert canonical(json.loads(r.entry)) == r.entry  # stored as its RFC 8785 bytes
    return [json.loads(r.entry) | {"_kind": r.kind} for r in rows]


def _kinds(hub: Hub) -> list[str]:
    return [e["kind"] for e in _entries(hub)]


def test_the_hub_logs_its_own_registration_and_keys_at_start(hub: Hub) -> None:
    entries = _entries(hub)
    assert [e["kind"] for e in entries] == ["issuer.registered", "key.added"]
    first, key = entries
    assert first["region"] == "000000" and first["by"] == {"role": "hub", "scope": None}
    assert first["detail"]["kind"] == "national" and first["_kind"] == "issuer.registered"
    assert key["kid"] == hub.node.service.hub_key().kid.hex()
    assert key["at"] == hub.clock().isoformat()


def test_risk_changes_and_policies_are_logged_whole(hub: Hub) -> None:
    before = len(_entries(hub))
    r = hub.client.put(
        "/v1/risk-areas/330106002",
        json={"level": "high", "from": "2026-11-01T00:00:00+08:00"},
        headers=hub.token("authority", "330000"),
    )
    assert r.status_code == 200, r.text
    rule = {"===": [{"var": "code.colour"}, "green"]}
    r = hub.client.put(
        "/v1/policies/330000",
        json={"place_kind": "any", "rule": rule, "description": "绿码通行"},
        headers=hub.token("authority", "330000"),
    )
    assert r.status_code == 200, r.text
    risk, policy = _entries(hub)[before:]
    assert risk["kind"] == "risk.set"
    assert risk["by"] == {"role": "authority", "scope": "330000"}
    assert risk["version"] == 1
    assert risk["changes"] == [
        {"area": "330106002", "level": "high", "from": "2026-10-31T16:00:00+00:00", "to": None}
    ]
    assert policy["kind"] == "policy.set"
    assert (policy["region"], policy["place_kind"], policy["rule"]) == ("330000", "any", rule)
    assert policy["description"] == "绿码通行"


def test_issuer_keys_are_logged_and_a_refused_change_rolls_its_entry_back(hub: Hub) -> None:
    admin = hub.token("admin")
    first, second, third = (generate_signing_key(Algorithm.EDDSA) for _ in range(3))
    now = hub.clock()
    r = hub.client.post(
        "/v1/issuers",
        json={"region": GD, "name": "广东", "endpoint": "http://gd",
              "keys": [prove_key(first, GD, now).to_json()]},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    logged = _kinds(hub)
    assert logged[-2:] == ["issuer.registered", "key.added"]
    # Registering again with a new key is refused after the update was appended in the same
    # transaction: the entry goes with the rollback.
    r = hub.client.post(
        "/v1/issuers",
        json={"region": GD, "name": "广东", "endpoint": "http://gd",
              "keys": [prove_key(second, GD, now).to_json()]},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 403, r.text
    assert _kinds(hub) == logged
    entry = prove_key(second, GD, now).to_json()
    rotation = {**entry, **prove_rotation(first, GD, entry["public_key"], now)}
    r = hub.client.post(f"/v1/issuers/{GD}/keys", json=rotation, headers=hub.token("node", GD))
    assert r.status_code == 201, r.text
    r = hub.client.delete(f"/v1/issuers/{GD}/keys/{first.kid.hex()}", headers=admin)
    assert r.status_code == 200, r.text
    rotated, revoked = _entries(hub)[-2:]
    assert rotated["kind"] == "key.rotated" and rotated["kid"] == second.kid.hex()
    assert rotated["detail"]["proved_by"] == first.kid.hex()
    assert rotated["by"] == {"role": "node", "scope": GD}
    assert revoked["kind"] == "key.revoked" and revoked["kid"] == first.kid.hex()
    assert revoked["by"] == {"role": "admin", "scope": None}
    assert third.kid.hex() not in json.dumps(_entries(hub))


def test_fact_batches_are_logged_as_a_hash_never_the_people(hub: Hub) -> None:
    number = make_id("330106", "19800101", "123")
    facts = [
        {"id_type": "111", "id_number": number, "kind": "case", "status": "confirmed",
         "since": "2026-11-18T09:00:00+08:00"},
        {"subject": "a" * 32, "kind": "contact", "last_exposure": "2026-11-17T09:00:00+08:00"},
    ]  # fmt: skip
    r = hub.client.post(
        "/v1/facts", json={"facts": facts}, headers=hub.token("authority", "330000")
    )
    assert r.status_code == 200, r.text
    entry = _entries(hub)[-1]
    assert entry["kind"] == "facts.batch"
    assert (entry["rows"], entry["accepted"]) == (2, 2)
    assert entry["kinds"] == {"case": 1, "contact": 1}
    with hub.node.db.read() as conn:
        feed = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
    # Whoever holds the feed rows (the hub's auditors) recomputes the digest.
    rows = [[f.sid, f.kind, f.body] for f in feed]
    assert entry["sha256"] == hashlib.sha256(canonical(rows)).hexdigest()
    text = json.dumps(entry, ensure_ascii=False)
    assert number not in text and "a" * 32 not in text
    assert all(f.sid not in text for f in feed)


def test_labs_and_their_batches_are_logged_as_a_hash(hub: Hub) -> None:
    key = lab_key()
    r = hub.client.post(
        "/v1/labs",
        json={
            "lab_id": "zj-lab-01",
            "name": "杭州某医学检验实验室",
            "region": "330106",
            "public_key": base64.b64encode(key.public.spki_der()).decode(),
        },
        headers=hub.token("admin"),
    )
    assert r.status_code == 201, r.text
    lab = {"Authorization": f"Bearer {r.json()['credential']}"}
    number = make_id("420881", "19750704", "031")
    results = [
        {"id_type": "111", "id_number": number, "sampled_at": "2026-11-19T08:00:00+08:00",
         "reported_at": "2026-11-19T20:00:00+08:00", "result": "negative"},
    ]  # fmt: skip
    r = hub.client.post(
        "/v1/test-results", json=sign_batch(key, "zj-lab-01", "b-1", results), headers=lab
    )
    assert r.status_code == 200, r.text
    registered, batch = _entries(hub)[-2:]
    assert registered["kind"] == "lab.registered"
    assert (registered["lab_id"], registered["region"]) == ("zj-lab-01", "330106")
    assert registered["kid"] == key.public.kid.hex()
    assert batch["kind"] == "results.batch"
    assert (batch["lab_id"], batch["batch_id"], batch["rows"]) == ("zj-lab-01", "b-1", 1)
    with hub.node.db.read() as conn:
        feed = conn.execute(select(hub_feed)).all()
    assert (
        batch["sha256"]
        == hashlib.sha256(canonical([[f.sid, f.kind, f.body] for f in feed])).hexdigest()
    )
    assert number not in json.dumps(batch) and feed[0].sid not in json.dumps(batch)
    # the repeated batch is acknowledged and not logged twice
    before = len(_entries(hub))
    hub.client.post(
        "/v1/test-results", json=sign_batch(key, "zj-lab-01", "b-1", results), headers=lab
    )
    assert len(_entries(hub)) == before


# ------------------------------------------------------------------------------ HTTP
def _risk(hub: Hub, area: str) -> None:
    r = hub.client.put(
        f"/v1/risk-areas/{area}",
        json={"level": "medium", "from": "2026-11-01T00:00:00+08:00"},
        headers=hub.token("authority", "330000"),
    )
    assert r.status_code == 200, r.text


def _sth(hub: Hub) -> dict[str, Any]:
    r = hub.client.get("/v1/log/sth")  # anonymous
    assert r.status_code == 200, r.text
    return verify_document(r.json(), hub.hub_keys())


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_the_signed_head_covers_every_entry_served(hub: Hub) -> None:
    for area in ("330106002", "330106008", "330106009"):
        _risk(hub, area)
    hub.node.service.translog.sign_head()
    head = _sth(hub)
    assert (head["type"], head["log"]) == ("tree-head", "yimatong-hub")
    assert head["tree_size"] == len(_entries(hub)) == 5
    r = hub.client.get("/v1/log/entries", params={"start": 0, "end": 100})
    assert r.status_code == 200, r.text
    items = r.json()["entries"]
    assert [i["index"] for i in items] == list(range(5))  # the end is cut at the log's end
    leaves = [leaf_hash(_b64(i["leaf_input"])) for i in items]
    assert MerkleTree(leaves).root() == _b64(head["root_hash"])
    assert items[-1]["entry"]["changes"][0]["area"] == "330106009"
    for i, leaf in enumerate(leaves):
        r = hub.client.get("/v1/log/proof/inclusion", params={"index": i, "size": 5})
        assert r.status_code == 200, r.text
        proof = r.json()
        assert _b64(proof["leaf_hash"]) == leaf
        path = [_b64(p) for p in proof["inclusion_path"]]
        assert verify_inclusion(i, 5, leaf, path, _b64(head["root_hash"]))


def test_a_new_head_is_signed_only_when_the_log_grew_and_is_consistent(hub: Hub) -> None:
    log = hub.node.service.translog
    log.sign_head()
    first = _sth(hub)
    assert log.sign_head() is None  # nothing new: no new head
    _risk(hub, "330106002")
    _risk(hub, "330106008")
    assert log.sign_head() is not None
    second = _sth(hub)
    assert second["tree_size"] == first["tree_size"] + 2
    r = hub.client.get(
        "/v1/log/proof/consistency",
        params={"first": first["tree_size"], "second": second["tree_size"]},
    )
    assert r.status_code == 200, r.text
    path = [_b64(p) for p in r.json()["consistency_path"]]
    assert verify_consistency(
        first["tree_size"],
        second["tree_size"],
        _b64(first["root_hash"]),
        _b64(second["root_hash"]),
        path,
    )


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/log/entries", {"start": -1}, 422),
        ("/v1/log/entries", {"start": 1, "end": 1}, 422),
        ("/v1/log/entries", {"start": "x"}, 422),
        ("/v1/log/entries", {"start": 10**20}, 422),
        ("/v1/log/entries", {"start": 50}, 404),
        ("/v1/log/proof/inclusion", {"index": 2, "size": 2}, 422),
        ("/v1/log/proof/inclusion", {"index": 0}, 422),
        ("/v1/log/proof/inclusion", {"index": 0, "size": 50}, 404),
        ("/v1/log/proof/consistency", {"first": 2, "second": 1}, 422),
        ("/v1/log/proof/consistency", {"first": 1, "second": 50}, 404),
    ],
)
def test_bad_or_out_of_range_log_parameters_are_problems(
    hub: Hub, path: str, params: dict[str, Any], status: int
) -> None:
    r = hub.client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == status


# ------------------------------------------------------------------ daily read digests
def _reads(hub: Hub, *sids: str) -> None:
    with hub.node.db.uow() as uow:
        staff = Caller(role="staff", name="staff-li-wei")
        audit(uow.conn, staff, "subject.read", sids, "case investigation", hub.clock())
        uow.commit()


def test_each_days_reads_are_logged_as_a_digest_once_the_day_is_over(
    hub: Hub, clock: FakeClock
) -> None:
    log = hub.node.service.translog
    _reads(hub, "a" * 32, "b" * 32)
    assert log.log_read_digests() == []  # the day is not over
    clock.advance(days=1)
    day = (clock() - timedelta(days=1)).date().isoformat()
    assert log.log_read_digests() == [day]
    assert log.log_read_digests() == []  # once
    entry = _entries(hub)[-1]
    assert entry["kind"] == "reads.digest"
    assert (entry["node"], entry["day"], entry["reads"]) == ("000000", day, 2)
    assert entry["by_role"] == {"staff": 2}
    with hub.node.db.read() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.at, audit_log.c.id)).all()
    expected = [[r.at.isoformat(), r.actor, r.actor_role, r.action, r.sid, r.purpose] for r in rows]
    assert entry["sha256"] == hashlib.sha256(canonical(expected)).hexdigest()
    text = json.dumps(entry)
    assert "a" * 32 not in text and "staff-li-wei" not in text
    # A hub that was down catches up the days it missed (a day without reads has no digest).
    _reads(hub, "c" * 32)
    clock.advance(days=2)
    _reads(hub, "d" * 32)
    clock.advance(days=2)
    days = [(clock() - timedelta(days=n)).date().isoformat() for n in (4, 2)]
    assert log.log_read_digests() == days
