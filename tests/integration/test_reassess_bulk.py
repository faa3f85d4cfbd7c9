"""The bulk re-assessment (``reassess_many``) gives exactly what the rules give one by one.

``reassess_many`` reads only the facts a rule can look at (the stays in areas under a medium
or high period, inside the longest stay rule's window), shares one assessment among the
subjects with no such fact, and writes through the driver. Each test builds a random
population on a real database - stays overlapping, repeated, voided, still open or not yet
begun, under nested street/county/city/province periods of every level, with tests, cases,
contacts, declarations and quarantines sprinkled in - and compares every stored row with
:func:`assess_at` over all of that subject's facts.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.integration.conftest import Issuer
from yimatong.adapters.db.tables import (
    assessments,
    case_facts,
    contact_facts,
    declarations,
    quarantine_orders,
    risk_periods,
    stays,
    subjects,
    test_results,
)
from yimatong.domain.assessment import assess_at
from yimatong.issuer import core
from yimatong.issuer.core import _review_at

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
AREAS = ("330106008", "330106009", "330106", "330102001", "330102", "330201001", "320102001")
PERIOD_AREAS = ("330000", "330100", "330106", "330106008", "330102001", "330201001", "320000")


def _at(rng: random.Random, days: float) -> datetime:
    """A moment within ``days`` before NOW (a little after it, sometimes), to the µs."""
    return NOW - timedelta(
        seconds=rng.uniform(-3600 * 6, days * 86400), microseconds=rng.randint(0, 999_999)
    )


def _population(rng: random.Random, people: int) -> dict[str, list[dict[str, Any]]]:
    expires = NOW + timedelta(days=30)
    rows: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in ("subjects", "assessments", "stays", "tests", "cases", "contacts",
                     "declarations", "quarantines", "risk")
    }  # fmt: skip
    for i in range(rng.randint(1, 8)):
        start = _at(rng, 30)
        rows["risk"].append({
            "area": rng.choice(PERIOD_AREAS), "level": rng.choice(("low", "medium", "high")),
            "effective_from": start,
            "until": None if rng.random() < 0.5 else start + timedelta(hours=rng.uniform(1, 400)),
            "set_by": "test", "version": i + 1, "origin": None,
        })  # fmt: skip
    for _ in range(people):
        sid = f"{rng.getrandbits(128):032x}"
        rows["subjects"].append({
            "sid": sid, "region": "330000", "doc_type": "111", "enc_name": b"\0",
            "enc_id_number": b"\0", "masked_name": "张*", "masked_id": "33**01",
            "created_at": NOW - timedelta(days=60), "expires_at": expires,
        })  # fmt: skip
        if rng.random() < 0.6:  # a prior status, of some colour
            rows["assessments"].append({
                "sid": sid, "colour": rng.choice(("green", "yellow", "red")),
                "colour_since": NOW - timedelta(days=3), "assessed_at": NOW - timedelta(hours=1),
                "ruleset": "old", "body": {}, "pushed_at": NOW - timedelta(hours=1),
            })  # fmt: skip
        for _ in range(rng.choice((0, 0, 1, 3, 8, 20))):
            arrived = _at(rng, 35)
            left = None if rng.random() < 0.1 else arrived + timedelta(hours=rng.uniform(0, 60))
            if left is not None and rng.random() < 0.05:
                left = arrived  # a scan: no length
            rows["stays"].append({
                "sid": sid, "area": rng.choice(AREAS), "arrived": arrived, "left_at": left,
                "source": rng.choice(("self", "scan", "rail")),
                "voided_at": NOW - timedelta(days=1) if rng.random() < 0.05 else None,
                "created_at": arrived, "expires_at": expires,
            })  # fmt: skip
        if rng.random() < 0.15:
            sampled = _at(rng, 30)
            rows["tests"].append({
                "sid": sid, "sampled_at": sampled,
                "reported_at": sampled + timedelta(hours=rng.uniform(1, 30)),
                "outcome": rng.choice(("negative", "negative", "positive")), "lab": "lab-1",
                "origin": None, "expires_at": expires,
            })  # fmt: skip
        if rng.random() < 0.03:
            rows["cases"].append({
                "sid": sid, "status": rng.choice(("confirmed", "suspected", "recovered")),
                "since": _at(rng, 20), "origin": None, "expires_at": expires,
            })  # fmt: skip
        if rng.random() < 0.05:
            rows["contacts"].append({
                "sid": sid, "kind": rng.choice(("close", "secondary")),
                "last_exposure": _at(rng, 30), "origin": None, "expires_at": expires,
            })  # fmt: skip
        if rng.random() < 0.08:
            rows["declarations"].append({
                "sid": sid, "declared_at": _at(rng, 20),
                "temperature": rng.choice((None, 36.5, 37.6)),
                "symptoms": rng.choice(([], ["fever"], ["cough"])), "residence": None,
                "contact_with_case": rng.random() < 0.3, "proxy_relationship": None,
                "expires_at": expires,
            })  # fmt: skip
        if rng.random() < 0.03:
            start = _at(rng, 20)
            rows["quarantines"].append({
                "sid": sid, "starts_at": start, "ends_at": start + timedelta(days=14),
                "kind": "home", "origin": None, "expires_at": expires,
            })  # fmt: skip
    return rows


_TABLES = {
    "subjects": subjects, "assessments": assessments, "stays": stays, "tests": test_results,
    "cases": case_facts, "contacts": contact_facts, "declarations": declarations,
    "quarantines": quarantine_orders, "risk": risk_periods,
}  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("area_ranges", [64, 0], ids=["stays-by-area", "stays-by-time-only"])
def test_bulk_reassessment_stores_what_the_rules_give_each_subject_alone(
    issuer: Issuer, seed: int, area_ranges: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with more risk prefixes than the limit, the stays are read by time alone
    monkeypatch.setattr(core, "_MAX_AREA_RANGES", area_ranges)
    rng = random.Random(seed)
    rows = _population(rng, 160)
    node = issuer.node
    service = node.service
    with node.db.uow() as uow:
        for name, table in _TABLES.items():
            if rows[name]:
                uow.conn.execute(insert(table), rows[name])
        uow.commit()
    priors = {r["sid"]: r for r in rows["assessments"]}
    sids = [r["sid"] for r in rows["subjects"]]
    with node.db.uow() as uow:
        statuses = service.reassess_many(uow.conn, sids, NOW)
        uow.commit()
    with node.db.read() as conn:
        risk = service._risk.load(conn)
        stored = {r.sid: r for r in conn.execute(select(assessments))}
        colours = set()
        for sid in sids:
            expected = assess_at(service._facts(conn, sid, NOW), risk, service.ruleset, NOW)
            row = stored[sid]
            colours.add(expected.colour.value)
            assert row.body == expected.to_dict(), sid
            assert statuses[sid].assessment.to_dict() == expected.to_dict()
            assert row.colour == expected.colour.value
            assert row.assessed_at == NOW
            assert row.review_at == _review_at(expected, NOW)
            assert row.ruleset == f"{service.ruleset.id}@{service.ruleset.version}"
            prior = priors.get(sid)
            kept = prior is not None and prior["colour"] == row.colour
            assert row.colour_since == (prior["colour_since"] if kept else NOW)
            assert statuses[sid].colour_since == row.colour_since
            # a new colour (or a first one) is to be shared again; an unchanged one is not
            assert row.pushed_at == (prior["pushed_at"] if kept else None)
        # each subject's record is kept for the retention period after this assessment
        kept_until = dict(conn.execute(select(subjects.c.sid, subjects.c.expires_at)).all())
        assert set(kept_until.values()) == {NOW + service.retention}
    assert len(colours) >= 2  # the population is not all one colour


def test_bulk_reassessment_of_people_with_no_facts_shares_one_green(issuer: Issuer) -> None:
    rows = _population(random.Random(9), 40)
    node = issuer.node
    with node.db.uow() as uow:
        uow.conn.execute(insert(subjects), rows["subjects"])
        uow.commit()
    sids = [r["sid"] for r in rows["subjects"]]
    with node.db.uow() as uow:
        statuses = node.service.reassess_many(uow.conn, sids, NOW)
        uow.commit()
    assert {s.assessment.colour.value for s in statuses.values()} == {"green"}
    assert len({id(s.assessment) for s in statuses.values()}) == 1
    with node.db.read() as conn:
        found = conn.execute(select(assessments.c.colour, assessments.c.review_at)).all()
    assert sorted(found) == [("green", None)] * 40
