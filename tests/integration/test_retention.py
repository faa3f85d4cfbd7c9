"""Every personal record expires; the programme's end deletes them all."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.integration.conftest import Issuer
from yimatong.adapters.db.retention import PERSONAL_TABLES, purge_expired, sunset
from yimatong.adapters.db.tables import accounts, audit_log, stays, subjects


def _count(issuer: Issuer, table) -> int:  # type: ignore[no-untyped-def]
    with issuer.node.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_expired_subjects_take_their_records_with_them(issuer: Issuer, clock) -> None:
    me = issuer.sign_in("13800138000")
    sid = issuer.apply(me)["sid"]
    r = issuer.client.post(
        "/v1/itineraries",
        json={
            "subject": sid,
            "region": "330106",
            "from": (clock() - timedelta(days=1)).isoformat(),
        },
        headers=me,
    )
    assert r.status_code == 201, r.text
    with issuer.node.db.uow() as uow:
        assert purge_expired(uow.conn, clock()) == {}  # nothing has expired yet
        uow.commit()
    assert _count(issuer, subjects) == 1
    later = clock() + issuer.node.service.retention + timedelta(days=1)
    with issuer.node.db.uow() as uow:
        counts = purge_expired(uow.conn, later)
        uow.commit()
    assert counts["subjects"] == 1
    assert _count(issuer, subjects) == 0
    assert _count(issuer, stays) == 0
    assert _count(issuer, accounts) == 0  # its phone went with its last link and session


def test_sunset_deletes_every_personal_record(issuer: Issuer) -> None:
    me = issuer.sign_in("13800138000")
    sid = issuer.apply(me)["sid"]
    issuer.client.get(
        f"/v1/subjects/{sid}/health", params={"purpose": "抽查"}, headers=issuer.as_role("staff")
    )
    assert _count(issuer, audit_log) == 1
    with issuer.node.db.uow() as uow:
        counts = sunset(uow.conn)
        uow.commit()
    assert counts["subjects"] == 1
    for table in PERSONAL_TABLES:
        assert _count(issuer, table) == 0, table.name


def test_a_subject_in_use_is_kept(issuer: Issuer, clock) -> None:
    me = issuer.sign_in("13800138000")
    sid = issuer.apply(me)["sid"]
    retention = issuer.node.service.retention
    clock.advance(days=retention.days - 1)
    me = issuer.sign_in("13800138000")
    assert issuer.client.post("/v1/codes", json={"subject": sid}, headers=me).status_code == 201
    with issuer.node.db.uow() as uow:
        purge_expired(uow.conn, clock() + timedelta(days=2))  # past the first retention end
        uow.commit()
    assert _count(issuer, subjects) == 1


def test_the_node_purges_by_itself(issuer: Issuer, clock) -> None:
    from yimatong.adapters.db.retention import Housekeeper

    me = issuer.sign_in("13800138000")
    issuer.apply(me)
    later = lambda: clock() + issuer.node.service.retention + timedelta(days=1)  # noqa: E731
    keeper = Housekeeper(issuer.node.db, later, interval=timedelta(hours=1))
    assert keeper.run_once()["subjects"] == 1  # what its thread does at start, then hourly here
    assert _count(issuer, subjects) == 0
