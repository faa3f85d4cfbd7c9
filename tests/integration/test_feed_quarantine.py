"""One bad feed row cannot freeze an issuer's national data (issue 7, item 3).

The hub refuses such rows at its edge now (tests/integration/test_edge.py); these tests put one
in its feed table directly - as a hub before the fix stored it, or a hub that misbehaves - and
check that the issuer quarantines it with its reason, applies the rest, moves its cursor on,
and says so in sync_state, the health view and /metrics. Native issuers over HTTP and hosted
regions through their in-process link run the same HubLink.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from starlette.testclient import TestClient

from tests.conftest import FakeClock
from tests.integration.conftest import Federation, Inbox, _settings, make_id
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import feed_quarantine, hub_feed, sync_state
from yimatong.bootstrap import Node
from yimatong.credentials import add_credential
from yimatong.hub.app import build_hub

ATTACK = "0001-01-01T00:00:00+14:00"  # the report's time: valid-looking, before year 1 in UTC


def _bad_row(
    hub: Node, sid: str, kind: str, body: dict[str, Any], clock: FakeClock, region: str = "520000"
) -> int:
    """Append a row to the hub's feed bypassing its edge; its seq."""
    with hub.db.uow() as uow:
        seq = next_value(uow.conn, "feed")
        uow.conn.execute(
            insert(hub_feed).values(
                seq=seq,
                sid=sid,
                kind=kind,
                region=region,
                body=body,
                created_at=clock(),
                expires_at=clock() + timedelta(days=30),
            )
        )
        uow.commit()
    return seq


def _positive_test(federation: Federation, id_number: str, clock: FakeClock) -> None:
    federation.lab_result(id_number, clock() - timedelta(hours=20), result="positive")


def test_a_bad_row_is_quarantined_and_the_positive_result_behind_it_still_arrives(
    federation: Federation, clock: FakeClock
) -> None:
    id_number = make_id()
    me, sid = federation.citizen(id_number=id_number)
    federation.sync()  # the hub now knows the subject belongs to 330000
    scan = {"id": "g-1", "at": ATTACK, "area": "330106", "decision": "PASS", "checkpoint": "g"}
    bad_seq = _bad_row(federation.hub, sid, "scan", scan, clock)
    _positive_test(federation, id_number, clock)

    report = federation.sync()
    assert report.quarantined == 1
    assert report.feed_rows == 2
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["colour"] == "red"  # the lab result after the bad row was applied
    assert [t["outcome"] for t in health["tests"]] == ["positive"]
    assert health["hub_quarantined"] == 1
    assert f"seq {bad_seq}" in health["hub_error"]
    assert "1900-01-01" in health["hub_error"]  # the reason: out of range

    with federation.issuer.db.read() as conn:
        [kept] = conn.execute(select(feed_quarantine)).all()
        cursor = conn.execute(select(sync_state.c.cursor).where(sync_state.c.name == "feed"))
        assert cursor.scalar() > bad_seq  # moved past it
    assert (kept.seq, kept.sid, kept.kind) == (bad_seq, sid, "scan")
    assert kept.item["body"]["at"] == ATTACK  # as the hub sent it, for staff to look at

    metrics = federation.http.get("/metrics").text
    assert 'ymt_feed_quarantined_rows{region="330000"} 1.0' in metrics
    assert 'ymt_hub_sync_failing_lists{region="330000"} 1.0' in metrics

    # The next round finds nothing new and quarantines nothing twice.
    again = federation.sync()
    assert (again.feed_rows, again.quarantined) == (0, 0)
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["hub_quarantined"] == 1


def test_unknown_kinds_and_missing_fields_are_quarantined_with_their_reason(
    federation: Federation, clock: FakeClock
) -> None:
    me, sid = federation.citizen()
    federation.sync()
    unknown = _bad_row(federation.hub, sid, "vaccination", {"dose": 3}, clock)
    missing = _bad_row(federation.hub, sid, "case", {"status": "confirmed"}, clock)
    colour = _bad_row(
        federation.hub,
        sid,
        "summary",
        {"colour": "purple", "reasons": [], "assessed_at": clock().isoformat()},
        clock,
    )
    fine = _bad_row(
        federation.hub,
        sid,
        "contact",
        {"contact_kind": "close", "last_exposure": (clock() - timedelta(days=1)).isoformat()},
        clock,
    )
    report = federation.sync()
    assert report.quarantined == 3
    with federation.issuer.db.read() as conn:
        reasons = dict(conn.execute(select(feed_quarantine.c.seq, feed_quarantine.c.reason)).all())
    assert set(reasons) == {unknown, missing, colour}
    assert "unknown kind 'vaccination'" in reasons[unknown]
    assert "since is missing" in reasons[missing]
    assert "colour must be one of" in reasons[colour]
    assert fine not in reasons
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert [r["code"] for r in health["reasons"]] == ["contact.close"]


def test_a_hosted_regions_in_process_link_survives_a_bad_row(
    tmp_path: Path, clock: FakeClock
) -> None:
    inbox = Inbox()
    hub = build_hub(
        _settings(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, "hub", "000000"),
        clock=clock,
        hosted=("540000",),
        sms=inbox,
    )
    try:
        with hub.db.uow() as uow:
            authority = add_credential(
                uow.conn, name="cdc", role="authority", now=clock(), rng=random.Random(2)
            )
            uow.commit()
        http = TestClient(hub.app)
        base = "/regions/540000"
        phone = "13800540001"
        http.post(f"{base}/v1/auth/otp", json={"phone": phone})
        token = http.post(
            f"{base}/v1/auth/session", json={"phone": phone, "otp": inbox.last_code(phone)}
        ).json()["token"]
        me = {"Authorization": f"Bearer {token}"}
        id_number = make_id("540102", "19870707", "041")
        r = http.post(
            f"{base}/v1/applications",
            json={"name": "扎西", "id_type": "111", "id_number": id_number},
            headers=me,
        )
        assert r.status_code == 201, r.text
        sid = r.json()["sid"]
        link = hub.service.hosted_services["540000"].node.link
        link.sync_once()
        _bad_row(hub, sid, "test", {"sampled_at": ATTACK, "reported_at": ATTACK}, clock)
        r = http.post(
            "/v1/facts",
            json={
                "facts": [
                    {
                        "subject": sid,
                        "kind": "contact",
                        "contact_kind": "close",
                        "last_exposure": (clock() - timedelta(days=1)).isoformat(),
                    }
                ]
            },
            headers={"Authorization": f"Bearer {authority}"},
        )
        assert r.status_code == 200, r.text
        report = link.sync_once()
        assert not report.errors, report.errors
        assert report.quarantined == 1
        health = http.get(f"{base}/v1/subjects/{sid}/health", headers=me).json()
        assert health["colour"] == "red"
        assert health["hub_quarantined"] == 1
        assert 'ymt_feed_quarantined_rows{region="540000"} 1.0' in http.get("/metrics").text
    finally:
        hub.close()
