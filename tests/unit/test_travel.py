"""The travel code (行程码) as a pure function: yimatong.domain.travel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.facts import RiskAreaPeriod, RiskLevel, RiskMap, Stay, StaySource
from yimatong.domain.regions import Divisions, default_divisions
from yimatong.domain.travel import TravelParams, city_of, source_kind, travel_record

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
HANGZHOU, XIHU, GONGSHU, BEISHAN = "330100", "330106", "330105", "330106002"
GUIYANG, NANMING = "520100", "520102"


@pytest.fixture(scope="module")
def d() -> Divisions:
    return default_divisions()


def stay(area: str, start: timedelta, hours: float, source: StaySource = StaySource.SELF) -> Stay:
    arrived = NOW - start
    return Stay(area, arrived, arrived + timedelta(hours=hours), source)


def scan(area: str, ago: timedelta) -> Stay:
    return Stay(area, NOW - ago, NOW - ago, StaySource.SCAN)


def test_city_of_is_the_prefecture_the_municipality_or_a_directly_administered_unit(
    d: Divisions,
) -> None:
    assert city_of(d, BEISHAN) == HANGZHOU
    assert city_of(d, XIHU) == HANGZHOU
    assert city_of(d, HANGZHOU) == HANGZHOU
    assert city_of(d, "110101") == "110000"  # 东城区 belongs to 北京市
    assert city_of(d, "429004") == "429004"  # 仙桃 stands for itself
    assert city_of(d, "330000") == "330000"


def test_a_stay_of_four_hours_lists_its_city_and_a_shorter_one_does_not(d: Divisions) -> None:
    record = travel_record([stay(XIHU, 30 * H, 4), stay(NANMING, 20 * H, 3.9)], RiskMap(), NOW, d)
    assert [c.city for c in record.cities] == [HANGZHOU]
    assert record.cities[0].minutes == 240
    assert record.cities[0].sources == (StaySource.SELF,)


def test_stays_in_two_districts_of_one_city_add_up_and_overlaps_count_once(d: Divisions) -> None:
    record = travel_record(
        [stay(XIHU, 10 * H, 2), stay(GONGSHU, 8 * H, 2), stay(XIHU, 9 * H, 1)], RiskMap(), NOW, d
    )
    (city,) = record.cities
    assert city.city == HANGZHOU
    assert city.minutes == 240  # 2 h + 2 h; the third lies inside the first


def test_only_the_part_inside_the_window_counts(d: Divisions) -> None:
    params = TravelParams(window=timedelta(days=14))
    edge = stay(XIHU, timedelta(days=14) + 2 * H, 5)  # 3 h inside the window
    assert travel_record([edge], RiskMap(), NOW, d, params=params).cities == ()
    longer = stay(XIHU, timedelta(days=14) + 2 * H, 7)
    (city,) = travel_record([longer], RiskMap(), NOW, d, params=params).cities
    assert city.minutes == 300
    assert city.first == NOW - timedelta(days=14)


def test_the_parameters_are_configurable(d: Divisions) -> None:
    short = [stay(XIHU, 3 * H, 1)]
    assert travel_record(short, RiskMap(), NOW, d).cities == ()
    params = TravelParams(min_stay=timedelta(minutes=30), window=timedelta(days=1))
    assert [c.city for c in travel_record(short, RiskMap(), NOW, d, params=params).cities] == [
        HANGZHOU
    ]
    old = [stay(XIHU, timedelta(days=2), 6)]
    assert travel_record(old, RiskMap(), NOW, d, params=params).cities == ()


def test_an_open_stay_counts_up_to_now(d: Divisions) -> None:
    record = travel_record([Stay(XIHU, NOW - 5 * H, None, StaySource.SELF)], RiskMap(), NOW, d)
    assert record.cities[0].minutes == 300
    assert record.cities[0].last == NOW


def test_two_scans_in_one_city_make_a_stay_between_them(d: Divisions) -> None:
    record = travel_record([scan(XIHU, 9 * H), scan(GONGSHU, 4 * H)], RiskMap(), NOW, d)
    (city,) = record.cities
    assert (city.city, city.minutes, city.sources) == (HANGZHOU, 300, (StaySource.SCAN,))


def test_a_manifest_arrival_and_a_later_departure_make_a_stay_with_their_sources(
    d: Divisions,
) -> None:
    arrival = Stay(XIHU, NOW - 10 * H, NOW - 10 * H, StaySource.RAIL)
    departure = Stay(HANGZHOU, NOW - 2 * H, NOW - 2 * H, StaySource.AVIATION)
    (city,) = travel_record([arrival, departure], RiskMap(), NOW, d).cities
    assert (city.city, city.minutes) == (HANGZHOU, 480)
    assert city.sources == (StaySource.RAIL, StaySource.AVIATION)
    assert travel_record([arrival], RiskMap(), NOW, d).cities == ()  # one instant alone


def test_a_single_scan_says_nothing_about_how_long(d: Divisions) -> None:
    assert travel_record([scan(XIHU, 9 * H)], RiskMap(), NOW, d).cities == ()


def test_scans_too_far_apart_or_with_a_stay_elsewhere_between_do_not_join(d: Divisions) -> None:
    apart = [scan(XIHU, 30 * H), scan(XIHU, 5 * H)]
    assert travel_record(apart, RiskMap(), NOW, d).cities == ()
    between = [scan(XIHU, 9 * H), stay(NANMING, 8 * H, 2, StaySource.RAIL), scan(XIHU, 4 * H)]
    assert [c.city for c in travel_record(between, RiskMap(), NOW, d).cities] == []


def test_a_city_is_starred_while_it_holds_a_medium_or_high_area(d: Divisions) -> None:
    risk = RiskMap(
        (RiskAreaPeriod(BEISHAN, RiskLevel.HIGH, NOW - 48 * H, None),)  # one street of 西湖区
    )
    record = travel_record([stay(GONGSHU, 30 * H, 5)], risk, NOW, d)  # never in 西湖区
    assert record.cities[0].starred
    assert record.cities[0].star_level is RiskLevel.HIGH
    ended = RiskMap((RiskAreaPeriod(BEISHAN, RiskLevel.HIGH, NOW - 48 * H, NOW - H),))
    assert not travel_record([stay(GONGSHU, 30 * H, 5)], ended, NOW, d).cities[0].starred


def test_a_low_level_or_a_lowered_street_does_not_star(d: Divisions) -> None:
    low = RiskMap((RiskAreaPeriod(XIHU, RiskLevel.LOW, NOW - 48 * H, None),))
    assert not travel_record([stay(XIHU, 30 * H, 5)], low, NOW, d).cities[0].starred
    lowered = RiskMap(
        (
            RiskAreaPeriod(BEISHAN, RiskLevel.HIGH, NOW - 48 * H, None),
            RiskAreaPeriod(BEISHAN, RiskLevel.LOW, NOW - 2 * H, None),  # a later decision
        )
    )
    assert not travel_record([stay(XIHU, 30 * H, 5)], lowered, NOW, d).cities[0].starred


def test_a_city_inside_a_risk_province_is_starred(d: Divisions) -> None:
    risk = RiskMap((RiskAreaPeriod("330000", RiskLevel.MEDIUM, NOW - 48 * H, None),))
    (city,) = travel_record([stay(XIHU, 30 * H, 5)], risk, NOW, d).cities
    assert city.star_level is RiskLevel.MEDIUM


def test_the_fine_view_lists_the_places_with_their_own_level(d: Divisions) -> None:
    risk = RiskMap((RiskAreaPeriod(BEISHAN, RiskLevel.HIGH, NOW - 48 * H, None),))
    record = travel_record(
        [stay(BEISHAN, 30 * H, 3), stay(GONGSHU, 20 * H, 2)], risk, NOW, d, fine=True
    )
    (city,) = record.cities
    assert [(p.area, p.minutes, p.level) for p in city.places] == [
        (GONGSHU, 120, RiskLevel.LOW),
        (BEISHAN, 180, RiskLevel.HIGH),
    ]
    assert travel_record([stay(BEISHAN, 30 * H, 5)], risk, NOW, d).cities[0].places == ()


def test_each_entry_names_its_sources(d: Divisions) -> None:
    record = travel_record(
        [stay(XIHU, 30 * H, 2, StaySource.RAIL), stay(XIHU, 28 * H, 3, StaySource.TELECOM)],
        RiskMap(),
        NOW,
        d,
    )
    assert record.cities[0].sources == (StaySource.RAIL, StaySource.TELECOM)
    assert [source_kind(s) for s in StaySource] == [
        "declared",
        "scan",
        "department",
        "department",
        "department",
    ]


def test_cities_come_most_recent_first(d: Divisions) -> None:
    record = travel_record([stay(XIHU, 60 * H, 5), stay(NANMING, 20 * H, 5)], RiskMap(), NOW, d)
    assert [c.city for c in record.cities] == [GUIYANG, HANGZHOU]


def test_stays_that_begin_after_now_are_left_out(d: Divisions) -> None:
    future = Stay(XIHU, NOW + H, NOW + 9 * H, StaySource.SELF)
    assert travel_record([future], RiskMap(), NOW, d).cities == ()


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        TravelParams(min_stay=timedelta(0))
    with pytest.raises(ValueError):
        TravelParams(window=-H)


# ------------------------------------------------------------------------ properties
AREAS = (XIHU, GONGSHU, BEISHAN, NANMING, "110101", "110105", "429004")
SOURCES = tuple(StaySource)


@st.composite
def stays_strategy(draw: st.DrawFn) -> list[Stay]:
    out = []
    for _ in range(draw(st.integers(0, 12))):
        area = draw(st.sampled_from(AREAS))
        start = timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        source = draw(st.sampled_from(SOURCES))
        if source is StaySource.SCAN:
            out.append(Stay(area, NOW - start, NOW - start, source))
        else:
            minutes = draw(st.integers(0, 3 * 24 * 60))
            out.append(Stay(area, NOW - start, NOW - start + timedelta(minutes=minutes), source))
    return out


@st.composite
def risk_strategy(draw: st.DrawFn) -> RiskMap:
    periods = []
    for _ in range(draw(st.integers(0, 4))):
        area = draw(st.sampled_from((*AREAS, HANGZHOU, "330000", "110000")))
        level = draw(st.sampled_from(tuple(RiskLevel)))
        start = NOW - timedelta(hours=draw(st.integers(0, 100)))
        hours = draw(st.one_of(st.none(), st.integers(1, 200)))
        end = None if hours is None else start + H * hours
        periods.append(RiskAreaPeriod(area, level, start, end))
    return RiskMap(tuple(periods))


@settings(max_examples=200, deadline=None)
@given(stays=stays_strategy(), risk=risk_strategy())
def test_every_listed_city_meets_the_minimum_and_stays_in_the_window(
    stays: list[Stay], risk: RiskMap
) -> None:
    d = default_divisions()
    params = TravelParams()
    record = travel_record(stays, risk, NOW, d, params=params, fine=True)
    cities = [c.city for c in record.cities]
    assert len(cities) == len(set(cities))
    for c in record.cities:
        assert c.minutes >= params.min_stay.total_seconds() // 60
        assert c.minutes <= params.window.total_seconds() // 60
        assert record.window_start <= c.first <= c.last <= NOW
        assert set(c.sources) <= {s.source for s in stays if city_of(d, s.area) == c.city}
        assert all(city_of(d, p.area) == c.city for p in c.places)
        # the star says the city (or what contains it) has an area at medium/high now
        assert c.starred == (c.star_level is not None)


@settings(max_examples=200, deadline=None)
@given(stays=stays_strategy(), extra=stays_strategy(), risk=risk_strategy())
def test_more_declared_stays_never_remove_a_city(
    stays: list[Stay], extra: list[Stay], risk: RiskMap
) -> None:
    d = default_divisions()
    declared = [s for s in stays if s.source is not StaySource.SCAN]
    more = declared + [s for s in extra if s.source is not StaySource.SCAN]
    before = {c.city for c in travel_record(declared, risk, NOW, d).cities}
    after = {c.city for c in travel_record(more, risk, NOW, d).cities}
    assert before <= after


@settings(max_examples=100, deadline=None)
@given(stays=stays_strategy(), risk=risk_strategy())
def test_the_star_does_not_depend_on_the_stays(stays: list[Stay], risk: RiskMap) -> None:
    d = default_divisions()
    probe = [stay(area, 30 * H, 5) for area in AREAS]
    stars = {c.city: c.star_level for c in travel_record(probe, risk, NOW, d).cities}
    for c in travel_record(stays, risk, NOW, d).cities:
        assert stars[c.city] == c.star_level
