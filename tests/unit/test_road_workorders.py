"""Work orders: the allowed steps, deadlines by severity, reopening and escalation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from yimatong.domain.errors import Conflict, InvalidInput
from yimatong.road.grid import CellId
from yimatong.road.rules import Severity, load_default_road_ruleset
from yimatong.road.workorders import (
    Status,
    arrive,
    dispatch,
    escalate,
    reopen,
    repair,
    verify,
)

RULES = load_default_road_ruleset()
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PHOTO = hashlib.sha256(b"repaired").hexdigest()
CELLS = (CellId(40, 516356, 3351164), CellId(40, 516357, 3351164))


def new(severity: Severity = Severity.SEVERE):
    return dispatch("wo-1", team="team-north", road_id="ns1-n", defect="pothole",
                    severity=severity, cells=CELLS, ruleset=RULES, now=T0)  # fmt: skip


def test_the_deadline_follows_the_severity() -> None:
    assert new(Severity.SEVERE).deadline == T0 + RULES.deadlines[Severity.SEVERE]
    assert new(Severity.LIGHT).deadline == T0 + RULES.deadlines[Severity.LIGHT]
    assert new(Severity.SEVERE).deadline < new(Severity.LIGHT).deadline


def test_the_whole_path_to_verified_records_each_step() -> None:
    order = new()
    order = arrive(order, T0 + timedelta(hours=1))
    order = repair(order, PHOTO, T0 + timedelta(hours=3))
    assert order.repair_photo_sha256 == PHOTO
    order = verify(order, T0 + timedelta(hours=5))
    assert order.status is Status.VERIFIED
    assert [e.kind for e in order.events] == ["dispatched", "on_site", "repaired", "verified"]


def test_a_step_out_of_order_is_a_conflict() -> None:
    order = new()
    with pytest.raises(Conflict):
        repair(order, PHOTO, T0)
    with pytest.raises(Conflict):
        verify(order, T0)
    with pytest.raises(Conflict):
        reopen(order, RULES, T0, "still there")


def test_a_verified_order_takes_no_more_steps() -> None:
    done = verify(repair(arrive(new(), T0), PHOTO, T0), T0)
    with pytest.raises(Conflict):
        arrive(done, T0)


def test_reopening_sends_the_order_back_with_a_fresh_deadline() -> None:
    repaired = repair(arrive(new(), T0), PHOTO, T0 + timedelta(hours=2))
    later = T0 + timedelta(hours=10)
    order = reopen(repaired, RULES, later, "re-inspection still sees the pothole")
    assert order.status is Status.DISPATCHED
    assert order.deadline == later + RULES.deadlines[Severity.SEVERE]
    assert order.repair_photo_sha256 is None


def test_a_bad_photo_hash_or_a_step_back_in_time_is_invalid_input() -> None:
    on_site = arrive(new(), T0 + timedelta(hours=1))
    with pytest.raises(InvalidInput):
        repair(on_site, "not-a-hash", T0 + timedelta(hours=2))
    with pytest.raises(InvalidInput):
        repair(on_site, PHOTO, T0)


def test_an_overdue_order_escalates_once_per_deadline_period_up_to_the_cap() -> None:
    order = new()
    period = RULES.deadlines[Severity.SEVERE]
    assert escalate(order, RULES, T0 + period) is order  # due, not overdue
    once = escalate(order, RULES, T0 + period + timedelta(minutes=1))
    assert once.escalation == 1
    assert escalate(once, RULES, T0 + period + timedelta(hours=1)) is once  # no repeat event
    twice = escalate(once, RULES, T0 + 2 * period + timedelta(minutes=1))
    assert twice.escalation == 2
    capped = escalate(twice, RULES, T0 + 50 * period)
    assert capped.escalation == RULES.max_escalation
    assert [e.kind for e in capped.events].count("escalated") == 3


def test_a_repaired_order_does_not_escalate() -> None:
    repaired = repair(arrive(new(), T0), PHOTO, T0 + timedelta(hours=1))
    assert escalate(repaired, RULES, T0 + timedelta(days=30)).escalation == 0
