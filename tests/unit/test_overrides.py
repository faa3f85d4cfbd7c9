"""Manual colours (domain/overrides.py): what a request must name, how an override combines
with the rules' colour, and the log monitor's bursts (checked against a brute force)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.assessment import Assessment, Reason, RuleSetRef
from yimatong.domain.errors import Forbidden, InvalidInput
from yimatong.domain.facts import Colour
from yimatong.domain.overrides import (
    MAX_DAYS,
    REASONS,
    ActiveOverride,
    apply_overrides,
    bursts,
    check_approver,
    check_request,
    needs_hub,
    sids_digest,
)

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _ask(**changes: object) -> object:
    values: dict[str, object] = {
        "colour": "red",
        "reason": "case_linked",
        "note": "流调",
        "expires_at": NOW + timedelta(days=3),
        "subjects": 10,
        "now": NOW,
    }
    values.update(changes)
    return check_request(**values)  # type: ignore[arg-type]


def _assessment(colour: Colour, *reasons: Reason) -> Assessment:
    return Assessment(colour, reasons, RuleSetRef("default", "2026.1"), NOW, None)


def _override(colour: Colour, reason: str, **changes: object) -> ActiveOverride:
    values: dict[str, object] = {
        "id": 7,
        "colour": colour,
        "reason": reason,
        "fact_kind": "contact",
        "fact_seq": 41,
        "effective_at": NOW - timedelta(hours=1),
        "expires_at": NOW + timedelta(days=2),
        "log_index": 12,
    }
    values.update(changes)
    return ActiveOverride(**values)  # type: ignore[arg-type]


def test_the_closed_list_has_epidemic_reasons_only_and_no_catch_all() -> None:
    assert set(REASONS) == {
        "case_linked",
        "contact_upgraded",
        "positive_test",
        "quarantine_order",
        "fact_in_error",
    }
    assert all(r.facts for r in REASONS.values())  # every reason rests on a recorded fact


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "public_order"}, "reason"),
        ({"reason": "other"}, "reason"),
        ({"colour": "purple"}, "colour"),
        ({"colour": "green"}, "colour"),  # case_linked only raises
        ({"reason": "fact_in_error", "colour": "red"}, "colour"),  # a lowering one only lowers
        ({"note": "  "}, "note"),
        ({"expires_at": NOW}, "expires_at"),
        ({"expires_at": NOW + timedelta(days=MAX_DAYS, seconds=1)}, "expires_at"),
        ({"subjects": 0}, "subjects"),
    ],
)
def test_a_request_without_what_it_must_name_is_refused_with_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _ask(**changes)
    assert refused.value.field == field


def test_a_complete_request_gives_its_colour_and_reason() -> None:
    colour, reason = _ask()  # type: ignore[misc]
    assert colour is Colour.RED and reason.code == "case_linked"


def test_the_one_who_asked_cannot_approve() -> None:
    with pytest.raises(Forbidden):
        check_approver("official-1", "official-1")
    check_approver("official-1", "official-2")


def test_the_hub_must_approve_once_the_hour_would_exceed_the_limit() -> None:
    assert not needs_hub(15, 5, 20)
    assert needs_hub(16, 5, 20)
    assert needs_hub(0, 1, 0)


def test_the_digest_of_who_does_not_depend_on_order() -> None:
    assert sids_digest(["b" * 32, "a" * 32]) == sids_digest(["a" * 32, "b" * 32])


def test_a_raising_override_makes_green_red_and_says_why_and_until_when() -> None:
    got = apply_overrides(_assessment(Colour.GREEN), [_override(Colour.RED, "case_linked")], NOW)
    assert got.colour is Colour.RED
    (reason,) = got.reasons
    assert reason.code == "override.case_linked" and reason.rule_id == "override:7"
    assert reason.detail["fact_seq"] == 41 and reason.detail["log_index"] == 12
    assert got.turns_green is not None
    assert got.turns_green.not_before == NOW + timedelta(days=2)


def test_a_raising_override_never_hides_a_worse_colour_from_the_rules() -> None:
    rule = Reason("case.confirmed", "r1", Colour.RED, NOW)
    got = apply_overrides(
        _assessment(Colour.RED, rule), [_override(Colour.YELLOW, "contact_upgraded")], NOW
    )
    assert got.colour is Colour.RED
    assert [r.code for r in got.reasons] == ["case.confirmed", "override.contact_upgraded"]


def test_a_fact_in_error_lowers_whatever_the_rules_say_and_keeps_their_reasons() -> None:
    rule = Reason("contact.close", "r2", Colour.RED, NOW)
    got = apply_overrides(
        _assessment(Colour.RED, rule), [_override(Colour.GREEN, "fact_in_error")], NOW
    )
    assert got.colour is Colour.GREEN and got.turns_green is None
    assert [r.code for r in got.reasons] == ["contact.close", "override.fact_in_error"]


def test_an_override_not_yet_in_force_or_ended_changes_nothing() -> None:
    base = _assessment(Colour.GREEN)
    later = _override(Colour.RED, "case_linked", effective_at=NOW + timedelta(minutes=1))
    ended = _override(Colour.RED, "case_linked", expires_at=NOW)
    assert apply_overrides(base, [later, ended], NOW) is base


def _entry(at: datetime, subjects: int, region: str = "410000") -> dict[str, object]:
    return {
        "kind": "override.applied",
        "at": at.isoformat(),
        "region": region,
        "subjects": subjects,
    }


def test_a_burst_is_more_people_than_the_limit_within_the_window() -> None:
    entries = [
        (0, {"kind": "risk.set", "at": NOW.isoformat()}),
        (1, _entry(NOW, 10)),
        (2, _entry(NOW + timedelta(minutes=30), 11)),  # 21 > 20 within the hour
        (3, _entry(NOW + timedelta(hours=3), 5)),
        (4, _entry(NOW, 30, region="330000")),
    ]
    found = bursts(entries, limit=20)
    assert [(b.region, b.subjects, b.indexes) for b in found] == [
        ("330000", 30, (4,)),
        ("410000", 21, (1, 2)),
    ]
    assert bursts(entries, limit=30) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=600), st.integers(min_value=1, max_value=9)),
        max_size=25,
    ),
    st.integers(min_value=0, max_value=30),
)
def test_every_window_over_the_limit_lies_inside_a_flagged_burst(
    rows: list[tuple[int, int]], limit: int
) -> None:
    window = timedelta(minutes=60)
    entries = [
        (i, _entry(NOW + timedelta(minutes=minute), n)) for i, (minute, n) in enumerate(rows)
    ]
    flagged = {i for b in bursts(entries, limit=limit, window=window) for i in b.indexes}
    # Brute force: each entry with the ones that precede it by less than the window.
    for minute, _ in rows:
        members = [j for j, (m, _) in enumerate(rows) if minute - 60 < m <= minute]
        if sum(rows[j][1] for j in members) > limit:
            assert set(members) <= flagged
    # ... and nothing is flagged that is not in such a window.
    for i in flagged:
        minute = rows[i][0]
        assert any(
            sum(n for m, n in rows if end - 60 < m <= end) > limit
            for end, _ in rows
            if end - 60 < minute <= end
        )
