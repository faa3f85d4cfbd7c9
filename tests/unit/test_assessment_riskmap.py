"""RiskMap: at each moment the finest code with a period *in force* governs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.facts import RiskAreaPeriod, RiskLevel, RiskMap, RiskSegment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)

STREET = "420902001"
COUNTY = "420902"
CITY = "420900"
PROVINCE = "420000"


def p(area: str, level: str, start: int, end: int | None = None) -> RiskAreaPeriod:
    return RiskAreaPeriod(
        area, RiskLevel(level), T0 + start * DAY, None if end is None else T0 + end * DAY
    )


def test_ancestors_finest_first() -> None:
    assert RiskMap.ancestors(STREET) == [STREET, COUNTY, CITY, PROVINCE]
    assert RiskMap.ancestors(COUNTY) == [COUNTY, CITY, PROVINCE]
    assert RiskMap.ancestors(CITY) == [CITY, PROVINCE]
    assert RiskMap.ancestors(PROVINCE) == [PROVINCE]
    assert RiskMap.ancestors("420902001001") == ["420902001001", STREET, COUNTY, CITY, PROVINCE]


def test_a_finer_period_governs_only_while_it_is_in_force() -> None:
    # the bug this guards against: the city's later entry hid the province's earlier level
    risk = RiskMap((p(PROVINCE, "high", 0), p(CITY, "low", 40)))
    assert risk.level_at(STREET, T0 + 10 * DAY) is RiskLevel.HIGH
    assert risk.governing(STREET, T0 + 10 * DAY) == PROVINCE
    assert risk.level_at(STREET, T0 + 40 * DAY) is RiskLevel.LOW
    assert risk.governing(STREET, T0 + 40 * DAY) == CITY
    assert risk.max_level_during(STREET, T0 + 30 * DAY, T0 + 50 * DAY) is RiskLevel.HIGH
    assert risk.max_level_during(STREET, T0 + 40 * DAY, T0 + 50 * DAY) is RiskLevel.LOW


def test_when_the_finer_period_ends_the_coarser_level_returns() -> None:
    risk = RiskMap((p(COUNTY, "medium", 0), p(STREET, "high", 5, 10)))
    assert risk.level_at(STREET, T0 + 4 * DAY) is RiskLevel.MEDIUM
    assert risk.level_at(STREET, T0 + 5 * DAY) is RiskLevel.HIGH
    assert risk.level_at(STREET, T0 + 10 * DAY) is RiskLevel.MEDIUM  # until is exclusive
    assert risk.level_at("420902002", T0 + 7 * DAY) is RiskLevel.MEDIUM
    assert risk.timeline(STREET) == (
        RiskSegment(T0, T0 + 5 * DAY, RiskLevel.MEDIUM, COUNTY),
        RiskSegment(T0 + 5 * DAY, T0 + 10 * DAY, RiskLevel.HIGH, STREET),
        RiskSegment(T0 + 10 * DAY, None, RiskLevel.MEDIUM, COUNTY),
    )


def test_a_finer_low_wins_over_a_coarser_high() -> None:
    risk = RiskMap((p(CITY, "high", 0), p(STREET, "low", 0)))
    assert risk.level_at(STREET, T0 + DAY) is RiskLevel.LOW
    assert risk.level_at("420902002", T0 + DAY) is RiskLevel.HIGH


def test_unlisted_and_before_anything_is_low() -> None:
    risk = RiskMap((p(CITY, "high", 10),))
    assert risk.level_at(STREET, T0) is RiskLevel.LOW
    assert risk.governing(STREET, T0) is None
    assert risk.level_at("330106001", T0 + 20 * DAY) is RiskLevel.LOW
    assert risk.timeline("330106001") == ()
    assert RiskMap().max_level_during(STREET, T0, T0 + DAY) is RiskLevel.LOW


def test_the_later_decision_for_the_same_code_supersedes() -> None:
    # raised open-ended, then lowered open-ended without closing the first period
    risk = RiskMap((p(CITY, "high", 0), p(CITY, "low", 20)))
    assert risk.level_at(CITY, T0 + 10 * DAY) is RiskLevel.HIGH
    assert risk.level_at(CITY, T0 + 20 * DAY) is RiskLevel.LOW
    # a temporary raise on top of a standing level, then back
    risk = RiskMap((p(CITY, "low", 0), p(CITY, "high", 5, 8)))
    assert [risk.level_at(CITY, T0 + d * DAY) for d in (4, 5, 8)] == [
        RiskLevel.LOW,
        RiskLevel.HIGH,
        RiskLevel.LOW,
    ]
    # two decisions taking effect at once: the higher
    risk = RiskMap((p(CITY, "medium", 0), p(CITY, "high", 0)))
    assert risk.level_at(CITY, T0) is RiskLevel.HIGH


def test_periods_of_lists_the_whole_chain_finest_first() -> None:
    a, b = p(PROVINCE, "high", 0), p(STREET, "low", 3)
    assert RiskMap((a, b)).periods_of(STREET) == (b, a)


def test_empty_periods_are_never_in_force() -> None:
    risk = RiskMap((p(CITY, "high", 0), p(STREET, "low", 5, 5)))
    assert risk.level_at(STREET, T0 + 5 * DAY) is RiskLevel.HIGH


def test_segments_during_touch_the_interval() -> None:
    risk = RiskMap((p(CITY, "high", 0, 10), p(CITY, "medium", 20, 30)))
    found = risk.segments_during(STREET, T0 + 10 * DAY, T0 + 20 * DAY)
    assert [s.level for s in found] == [RiskLevel.MEDIUM]  # [0,10) ends as the interval begins
    assert len(risk.segments_during(STREET, T0 + 9 * DAY, T0 + 25 * DAY)) == 2


# --- the resolved timeline agrees with the definition, moment by moment -----------------------

AREAS = [STREET, "420902002", COUNTY, CITY, PROVINCE, "420100"]
periods = st.builds(
    lambda area, level, start, length: p(
        area, level, start, None if length == 0 else start + length
    ),
    st.sampled_from(AREAS),
    st.sampled_from(["low", "medium", "high"]),
    st.integers(0, 30),
    st.integers(0, 15),
)


def by_definition(all_periods: list[RiskAreaPeriod], area: str, when: datetime) -> RiskLevel:
    for code in RiskMap.ancestors(area):
        in_force = [
            q
            for q in all_periods
            if q.area == code and q.effective_from <= when and (q.until is None or when < q.until)
        ]
        if in_force:
            return max(in_force, key=lambda q: (q.effective_from, q.level.rank)).level
    return RiskLevel.LOW


@settings(max_examples=200)
@given(st.lists(periods, max_size=8), st.sampled_from(AREAS), st.integers(-1, 50))
def test_level_at_matches_the_definition(
    all_periods: list[RiskAreaPeriod], area: str, hours: int
) -> None:
    risk = RiskMap(tuple(all_periods))
    for when in (T0 + hours * DAY, T0 + hours * DAY + timedelta(hours=12)):
        assert risk.level_at(area, when) is by_definition(all_periods, area, when)


@settings(max_examples=200)
@given(
    st.lists(periods, max_size=8), st.sampled_from(AREAS), st.integers(-1, 50), st.integers(0, 5)
)
def test_max_level_during_matches_sampling(
    all_periods: list[RiskAreaPeriod], area: str, start: int, length: int
) -> None:
    risk = RiskMap(tuple(all_periods))
    begin, end = T0 + start * DAY, T0 + (start + length) * DAY
    # all boundaries fall on whole days, so sampling each day in [begin, end] is exhaustive
    sampled = [by_definition(all_periods, area, begin + d * DAY) for d in range(length + 1)]
    expected = max(sampled, key=lambda lv: lv.rank)
    assert risk.max_level_during(area, begin, end) is expected
