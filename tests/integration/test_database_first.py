"""``Database.first``: the 验码 status read through the driver gives what SQLAlchemy gives."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select

from tests.integration.conftest import Issuer
from yimatong.adapters.db.tables import assessments, subjects
from yimatong.issuer.codes import _STATUS_QUERY


def _some_sid(issuer: Issuer) -> str:
    me = issuer.sign_in("13800002222")
    return str(issuer.apply(me)["sid"])


def test_the_driver_row_equals_sqlalchemys_row_with_utc_times_and_decoded_json(
    issuer: Issuer,
) -> None:
    db = issuer.node.db
    sid = _some_sid(issuer)
    with db.uow() as uow:  # a review time too, so that a second UTC column is not NULL
        uow.conn.execute(
            assessments.update()
            .where(assessments.c.sid == sid)
            .values(review_at=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC))
        )
        uow.commit()
    with db.read() as conn:
        expected = conn.execute(_STATUS_QUERY, {"sid": sid}).one()
    got = db.first(_STATUS_QUERY, {"sid": sid})
    assert got is not None
    assert tuple(got) == tuple(expected)
    assert got._fields == tuple(expected._fields)
    assert got.colour_since.tzinfo is UTC and got.review_at.tzinfo is UTC
    assert isinstance(got.body, dict)
    assert db.first(_STATUS_QUERY, {"sid": "0" * 32}) is None


def test_two_statements_get_their_own_plans(issuer: Issuer) -> None:
    db = issuer.node.db
    sid = _some_sid(issuer)
    only_names = select(subjects.c.masked_name, subjects.c.masked_id).where(
        subjects.c.sid == bindparam("sid")
    )
    status = db.first(_STATUS_QUERY, {"sid": sid})
    names = db.first(only_names, {"sid": sid})
    assert status is not None and names is not None
    assert names._fields == ("masked_name", "masked_id")
    assert (names.masked_name, names.masked_id) == (status.masked_name, status.masked_id)
