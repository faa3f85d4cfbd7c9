"""What an issuer's hub link brings to the hub's transparency log: its daily digest of the
reads of personal data (taken once, a rewrite refused), and the heads of its own log, which
the hub witnesses (countersigns) while each is consistent with the one before."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tests.conftest import FakeClock
from tests.integration.conftest import Federation
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.read_digest import day_digest
from yimatong.adapters.db.tables import log_entries
from yimatong.adapters.signed import sign_document, verify_document
from yimatong.credentials import Caller, add_credential
from yimatong.domain.merkle import MerkleTree, leaf_hash


def _digests(federation: Federation) -> list[dict[str, Any]]:
    with federation.hub.db.read() as conn:
        rows = conn.execute(
            select(log_entries.c.entry).where(log_entries.c.kind == "reads.digest")
        ).scalars()
        return [json.loads(raw) for raw in rows]


def test_an_issuers_reads_of_a_day_reach_the_hub_log_as_a_digest(
    federation: Federation, clock: FakeClock
) -> None:
    day = clock().date()
    with federation.issuer.db.uow() as uow:
        staff = Caller(role="staff", name="hz-staff-wang")
        audit(uow.conn, staff, "subject.read", ["a" * 32, "b" * 32], "correction", clock())
        uow.commit()
    federation.sync()
    assert _digests(federation) == []  # the day is not over
    clock.advance(days=1)
    report = federation.sync()
    assert report.read_digests == 1
    [entry] = _digests(federation)
    with federation.issuer.db.read() as conn:
        expected = day_digest(conn, day)
    assert (entry["node"], entry["day"], entry["reads"]) == ("330000", day.isoformat(), 2)
    assert entry["sha256"] == expected["sha256"]
    assert entry["by"] == {"role": "node", "scope": "330000"}
    assert "hz-staff-wang" not in json.dumps(entry)
    assert federation.sync().read_digests == 0  # once


def _post(federation: Federation, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else federation.h("admin")
    return federation.hub_http.post("/v1/log/read-digests", json=body, headers=headers)


def test_the_hub_takes_a_nodes_digest_once_and_refuses_another_for_that_day(
    federation: Federation, clock: FakeClock
) -> None:
    node = federation.issuer.settings.hub_token
    yesterday = (clock() - timedelta(days=1)).date().isoformat()
    body = {"day": yesterday, "reads": 3, "by_role": {"staff": 2, "node": 1}, "sha256": "a" * 64}
    first = _post(federation, body, node)
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    again = _post(federation, body, node)
    assert again.json() == {"index": first.json()["index"], "duplicate": True}
    rewrite = _post(federation, {**body, "sha256": "b" * 64}, node)
    assert rewrite.status_code == 409, rewrite.text
    today = _post(federation, {**body, "day": clock().date().isoformat()}, node)
    assert today.status_code == 422
    wrong_sum = _post(federation, {**body, "day": "2026-11-18", "reads": 4}, node)
    assert wrong_sum.status_code == 422
    assert _post(federation, body).status_code == 403  # the admin is not a node
    assert len(_digests(federation)) == 1


# -------------------------------------------------------------------------- witness
def _witnessed(federation: Federation) -> list[dict[str, Any]]:
    with federation.hub.db.read() as conn:
        rows = conn.execute(
            select(log_entries.c.entry).where(log_entries.c.kind == "head.witnessed")
        ).scalars()
        return [json.loads(raw) for raw in rows]


def _risk_at_issuer(federation: Federation, level: str) -> None:
    with federation.issuer.db.uow() as uow:
        now = federation.issuer.service.clock()
        token = add_credential(
            uow.conn, name=f"zj-cdc-{level}", role="authority", now=now,
            rng=random.Random(level), scope="330000",
        )  # fmt: skip
        uow.commit()
    r = federation.http.put(
        "/v1/risk-areas/330106002",
        json={"level": level, "from": "2026-11-01T00:00:00+08:00"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text


def test_the_hub_witnesses_each_new_head_of_an_issuers_log_and_refuses_a_fork(
    federation: Federation,
) -> None:
    _risk_at_issuer(federation, "medium")
    assert federation.sync().witnessed == 1
    _risk_at_issuer(federation, "high")
    assert federation.sync().witnessed == 1
    assert federation.sync().witnessed == 0  # nothing new
    first, second = _witnessed(federation)
    assert (first["node"], first["log"]) == ("330000", "yimatong-issuer-330000")
    assert (first["tree_size"], second["tree_size"]) == (1, 2)
    issuer_log = federation.issuer.service.translog
    assert second["root_hash"] == issuer_log.latest_head()["payload"]["root_hash"]

    # The issuer rewrites its first entry (and its leaf hash), then grows: its next head is
    # not an extension of the one the hub witnessed, and the hub says so.
    forged = b'{"at":"2026-11-20T02:00:00+00:00","kind":"risk.set","version":1}'
    with federation.issuer.db.uow() as uow:
        uow.conn.execute(
            update(log_entries)
            .where(log_entries.c.idx == 0)
            .values(entry=forged, leaf_hash=leaf_hash(forged))
        )
        uow.commit()
    issuer_log._tree = MerkleTree()
    _risk_at_issuer(federation, "low")
    report = federation.issuer.link.sync_once()
    assert "fork" in report.errors["log"], report.errors
    assert len(_witnessed(federation)) == 2


def test_a_head_not_signed_by_the_issuer_is_not_witnessed(federation: Federation) -> None:
    node = federation.issuer.settings.hub_token
    head = federation.issuer.service.translog.latest_head()
    stranger = generate_signing_key(Algorithm.EDDSA)
    forged = sign_document(head["payload"], stranger)
    r = federation.hub_http.post(
        "/v1/log/witness",
        json={"head": forged, "consistency_path": []},
        headers={"Authorization": f"Bearer {node}"},
    )
    assert r.status_code == 403, r.text
    assert _witnessed(federation) == []
    r = federation.hub_http.post(
        "/v1/log/witness", json={"head": head}, headers={"Authorization": f"Bearer {node}"}
    )
    assert r.status_code == 200, r.text
    payload = verify_document(r.json()["cosignature"], _hub_keys(federation))
    assert (payload["type"], payload["witness"]) == ("tree-head-cosignature", "yimatong-hub")


def _hub_keys(federation: Federation) -> dict[bytes, Any]:
    key = federation.hub.service.hub_key()
    return {key.kid: key.public}
