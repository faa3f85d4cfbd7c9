"""Each issuer's daily digest of the reads of personal data reaches the hub's transparency log
through its hub link; the hub's route takes a node's own digest once and refuses a rewrite."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.conftest import FakeClock
from tests.integration.conftest import Federation
from yimatong.adapters.db.audit import audit, day_digest
from yimatong.adapters.db.tables import log_entries
from yimatong.credentials import Caller


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
