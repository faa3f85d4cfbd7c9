"""The synthetic population (yimatong.demo.population): valid, deterministic, roughly as designed.

Everything here is generated; no real person's data is used.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yimatong.demo.population import (
    CHINA_TZ,
    DESTINATIONS,
    ITINERARY_DAYS,
    LABS,
    MAX_AGE,
    Person,
    generate_population,
    summary,
)
from yimatong.domain.errors import UnknownRegion
from yimatong.domain.facts import (
    CaseStatus,
    ContactKind,
    StaySource,
    SubjectFacts,
)
from yimatong.domain.facts import TestOutcome as Outcome
from yimatong.domain.identity import (
    DocumentType,
    Sex,
    age_on,
    identity_key,
    parse_resident_id,
    validate_document,
)
from yimatong.domain.regions import Level, default_divisions

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA_TZ)
PHONE = re.compile(r"1[3-9][0-9]{9}")
DIVISIONS = default_divisions()


@pytest.fixture(scope="module")
def zhejiang() -> list[Person]:
    return generate_population("330000", 5_000, seed=20200211, now=NOW)


def in_region(code: str, region: str) -> bool:
    return region in {r.code for r in DIVISIONS.ancestors(code)}


def check_invariants(people: list[Person], region: str, now: datetime) -> None:
    """What must hold for every person of every generated population."""
    today = now.astimezone(CHINA_TZ).date()
    window_start = now - timedelta(days=ITINERARY_DAYS)
    phones: set[str] = set()
    documents: set[tuple[DocumentType, str]] = set()
    for i, p in enumerate(people):
        # identity
        assert validate_document(p.id_type, p.id_number, today=today) == p.id_number
        assert validate_document(p.id_type, p.id_number, today=now.date()) == p.id_number
        key = (p.id_type, identity_key(p.id_type, p.id_number))
        assert key not in documents
        documents.add(key)
        if p.id_type is DocumentType.RESIDENT_ID:
            parsed = parse_resident_id(p.id_number, today=today)
            assert parsed.sex is p.sex
            assert (int(p.id_number[16]) % 2 == 1) is (p.sex is Sex.MALE)
            assert parsed.birth_date == p.birth_date
            assert parsed.area_code == p.county
        assert 0 <= age_on(p.birth_date, today) <= MAX_AGE
        assert p.birth_date < today
        assert 2 <= len(p.name) <= 4
        assert all("\u4e00" <= ch <= "\u9fff" for ch in p.name)
        # phone
        assert PHONE.fullmatch(p.phone)
        assert p.phone not in phones
        phones.add(p.phone)
        # home: a current township of the region, under a current county-level code
        home = DIVISIONS.validate_area(p.home)
        assert home.level is Level.TOWNSHIP
        assert in_region(p.home, region)
        assert DIVISIONS.is_current(p.county)
        assert DIVISIONS.is_valid_id_area(p.county)
        # itinerary: consecutive current areas within the last 21 days, the last one open
        assert p.stays
        assert p.stays[0].arrived == window_start
        assert p.stays[0].area == p.home
        assert p.stays[-1].left is None
        previous_end = window_start
        for stay in p.stays:
            DIVISIONS.validate_area(stay.area)
            assert stay.arrived.utcoffset() == timedelta(hours=8)
            assert window_start <= stay.arrived < now
            assert stay.arrived >= previous_end
            if stay.left is not None:
                assert stay.arrived < stay.left < now
                previous_end = stay.left
        assert all(s.left is not None for s in p.stays[:-1])
        # tests
        assert [t.sampled_at for t in p.tests] == sorted(t.sampled_at for t in p.tests)
        for t in p.tests:
            assert t.lab in LABS
            assert window_start <= t.sampled_at
            assert t.reported_at < now
            assert timedelta(hours=4) <= t.reported_at - t.sampled_at <= timedelta(hours=30)
        # authority facts
        assert len(p.cases) <= 1
        for case in p.cases:
            assert case.status in (CaseStatus.CONFIRMED, CaseStatus.ASYMPTOMATIC)
            assert now - timedelta(days=14) <= case.since < now
            assert any(
                t.outcome is Outcome.POSITIVE and t.reported_at <= case.since for t in p.tests
            )
        for contact in p.contacts:
            assert now - timedelta(days=14) <= contact.last_exposure < now
        # proxies
        if p.proxy_index is not None:
            assert p.proxy_index != i
            relative = people[p.proxy_index]
            assert age_on(p.birth_date, today) >= 70
            assert age_on(relative.birth_date, today) >= 18
            assert age_on(p.birth_date, today) - age_on(relative.birth_date, today) >= 18


# ---------------------------------------------------------------------------- determinism


def test_same_arguments_give_the_same_population() -> None:
    first = generate_population("330000", 300, seed=7, now=NOW)
    again = generate_population("330000", 300, seed=7, now=NOW)
    assert first == again
    assert [repr(p) for p in first] == [repr(p) for p in again]


def test_seed_region_and_time_change_the_population() -> None:
    base = generate_population("330000", 100, seed=7, now=NOW)
    assert generate_population("330000", 100, seed=8, now=NOW) != base
    assert generate_population("520000", 100, seed=7, now=NOW) != base
    later = generate_population("330000", 100, seed=7, now=NOW + timedelta(days=1))
    assert later != base


def test_the_same_instant_in_another_zone_gives_the_same_population() -> None:
    in_utc = generate_population("330000", 100, seed=7, now=NOW.astimezone(UTC))
    assert in_utc == generate_population("330000", 100, seed=7, now=NOW)


def test_global_random_state_is_left_alone() -> None:
    state = random.getstate()
    generate_population("330000", 200, seed=1, now=NOW)
    assert random.getstate() == state


# ---------------------------------------------------------------------------- validity


def test_every_person_is_valid(zhejiang: list[Person]) -> None:
    assert len(zhejiang) == 5_000
    check_invariants(zhejiang, "330000", NOW)


def test_ids_carry_current_counties_of_the_region_and_no_development_zones(
    zhejiang: list[Person],
) -> None:
    counties = {p.id_number[:6] for p in zhejiang if p.id_type is DocumentType.RESIDENT_ID}
    zhejiang_counties = {r.code for r in DIVISIONS.descendants("330000", Level.COUNTY)}
    assert counties <= zhejiang_counties
    assert len(counties) > 60  # spread over the province's 90 county-level units
    assert not any(c[4] == "7" for c in counties)


def test_sex_parity_matches_the_sequence(zhejiang: list[Person]) -> None:
    for p in zhejiang:
        if p.id_type is DocumentType.RESIDENT_ID:
            assert int(p.id_number[14:17]) % 2 == (1 if p.sex is Sex.MALE else 0)
            assert p.id_number[14:17] != "000"


def test_ages_cover_zero_to_ninety_five(zhejiang: list[Person]) -> None:
    today = NOW.date()
    ages = [p.age_on(today) for p in zhejiang]
    assert min(ages) == 0
    assert max(ages) >= 90
    assert max(ages) <= MAX_AGE


def test_phones_are_unique_mobile_numbers(zhejiang: list[Person]) -> None:
    phones = [p.phone for p in zhejiang]
    assert len(set(phones)) == len(phones)
    assert all(PHONE.fullmatch(phone) for phone in phones)


def test_a_municipality_a_city_without_counties_and_a_township() -> None:
    for region in ("110000", "441900", "330106", "420102002", "540000"):
        people = generate_population(region, 200, seed=3, now=NOW)
        check_invariants(people, region, NOW)


def test_a_utc_now_just_after_midnight_utc() -> None:
    """Ages and birth dates hold on the UTC date and on the China date alike."""
    now = datetime(2026, 2, 28, 17, 59, tzinfo=UTC)  # already 1 March in China
    people = generate_population("420000", 1_000, seed=11, now=now)
    check_invariants(people, "420000", now)


def test_other_documents_are_a_small_valid_share(zhejiang: list[Person]) -> None:
    kinds = Counter(p.id_type for p in zhejiang)
    assert 0.95 < kinds[DocumentType.RESIDENT_ID] / len(zhejiang) < 0.995
    assert len(kinds) >= 4  # resident IDs and at least three other kinds of document


# ---------------------------------------------------------------------------- proportions


def share(count: int, total: int) -> float:
    return count / total


def test_proportions_are_roughly_as_designed(zhejiang: list[Person]) -> None:
    n = len(zhejiang)
    today = NOW.date()
    males = sum(p.sex is Sex.MALE for p in zhejiang)
    assert 0.47 < share(males, n) < 0.55
    elderly = sum(p.age_on(today) >= 60 for p in zhejiang)
    children = sum(p.age_on(today) < 18 for p in zhejiang)
    assert 0.14 < share(elderly, n) < 0.26
    assert 0.15 < share(children, n) < 0.26
    # itineraries
    out = sum(any(s.area[:2] != "33" for s in p.stays) for p in zhejiang)
    home_only = sum(len(p.stays) == 1 for p in zhejiang)
    assert 0.11 < share(out, n) < 0.19
    assert 0.64 < share(home_only, n) < 0.76
    # tests: most have 1-3 negative results sampled in the last 7 days
    week = NOW - timedelta(days=7)
    recent = sum(
        1 <= sum(t.outcome is Outcome.NEGATIVE and t.sampled_at >= week for t in p.tests) <= 3
        for p in zhejiang
    )
    assert 0.80 < share(recent, n) < 0.90
    positives = sum(any(t.outcome is Outcome.POSITIVE for t in p.tests) for p in zhejiang)
    assert 0 < positives < 0.01 * n
    # authority facts
    cases = sum(bool(p.cases) for p in zhejiang)
    close = sum(any(c.kind is ContactKind.CLOSE for c in p.contacts) for p in zhejiang)
    secondary = sum(any(c.kind is ContactKind.SECONDARY for c in p.contacts) for p in zhejiang)
    assert 3 <= cases <= 35  # 0.3 % of 5,000 is 15
    assert 0.005 < share(close, n) < 0.016
    assert 0.012 < share(secondary, n) < 0.028
    # proxies: about 5 % of those aged 70 or more
    old = [p for p in zhejiang if p.age_on(today) >= 70]
    proxied = sum(p.proxy_index is not None for p in old)
    assert 0.015 < share(proxied, len(old)) < 0.10
    assert all(p.proxy_index is None for p in zhejiang if p.age_on(today) < 70)


def test_trips_go_to_the_story_cities_by_the_expected_sources(zhejiang: list[Person]) -> None:
    cities = {code for code, _ in DESTINATIONS}
    away = [s for p in zhejiang for s in p.stays if s.area[:2] != "33"]
    assert away
    for stay in away:
        assert any(in_region(stay.area, c) for c in cities), stay.area
        if stay.source is StaySource.TELECOM:
            assert len(stay.area) == 6  # a telecom card shows the city
    assert not any(in_region(s.area, "330100") for s in away)  # Hangzhou is not away from home
    wuhan_streets = [s for s in away if len(s.area) == 9 and in_region(s.area, "420100")]
    assert len(wuhan_streets) >= 5
    for prefix in ("4209", "5201", "5401"):
        assert any(s.area.startswith(prefix) for s in away)
    sources = Counter(s.source for p in zhejiang for s in p.stays)
    assert {StaySource.SELF, StaySource.RAIL, StaySource.AVIATION, StaySource.TELECOM} <= set(
        sources
    )
    still_away = sum(p.stays[-1].area[:2] != "33" for p in zhejiang)
    assert still_away > 0


def test_a_region_is_never_its_own_destination() -> None:
    people = generate_population("420000", 2_000, seed=5, now=NOW)
    away = [s for p in people for s in p.stays if s.area[:2] != "42"]
    assert away
    assert not any(in_region(s.area, "420000") for s in away)


# ---------------------------------------------------------------------------- the record


def test_repr_masks_personal_data(zhejiang: list[Person]) -> None:
    p = zhejiang[0]
    text = repr(p)
    assert p.id_number not in text
    assert p.name not in text
    assert p.phone not in text
    assert p.name[0] in text


def test_facts_bundle_what_the_rules_need(zhejiang: list[Person]) -> None:
    p = next(p for p in zhejiang if p.tests and len(p.stays) > 1)
    facts = p.facts()
    assert isinstance(facts, SubjectFacts)
    assert facts.stays == p.stays
    assert facts.tests == p.tests


def test_summary_counts_add_up(zhejiang: list[Person]) -> None:
    s = summary(zhejiang)
    n = len(zhejiang)
    assert s["persons"] == n
    assert sum(s["sex"].values()) == n
    assert sum(s["age_bands"].values()) == n
    assert s["age_bands"] == summary(zhejiang, today=NOW.date())["age_bands"]
    assert sum(s["documents"].values()) == n
    assert sum(s["travel"].values()) == n
    assert s["tests"]["total"] == sum(len(p.tests) for p in zhejiang)
    assert s["tests"]["negative"] + s["tests"]["positive"] == s["tests"]["total"]
    assert sum(s["cases"].values()) == sum(len(p.cases) for p in zhejiang)
    assert s["contacts"]["close"] + s["contacts"]["secondary"] == sum(
        len(p.contacts) for p in zhejiang
    )
    assert s["proxied"] == sum(p.proxy_index is not None for p in zhejiang)


def test_summary_of_nobody() -> None:
    s = summary([])
    assert s["persons"] == 0
    assert s["age_bands"] == {}
    assert summary([], today=date(2026, 1, 1))["age_bands"]["0-17"] == 0


# ---------------------------------------------------------------------------- arguments


def test_zero_people() -> None:
    assert generate_population("330000", 0, seed=1, now=NOW) == []


@pytest.mark.parametrize("region", ["330103", "999999", "33010", "710000"])
def test_unknown_historical_or_empty_regions_are_refused(region: str) -> None:
    with pytest.raises((UnknownRegion, ValueError)):
        generate_population(region, 10, seed=1, now=NOW)


def test_historical_region_is_unknown() -> None:
    with pytest.raises(UnknownRegion, match="no longer in use"):
        generate_population("330103", 10, seed=1, now=NOW)


def test_naive_now_negative_n_and_early_now_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_population("330000", 10, seed=1, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        generate_population("330000", -1, seed=1, now=NOW)
    with pytest.raises(ValueError, match="1900"):
        generate_population("330000", 1, seed=1, now=datetime(1990, 1, 1, tzinfo=UTC))


def test_speed_is_printed_not_asserted() -> None:
    """``pytest -s`` shows the figure; timing asserts make flaky tests."""
    generate_population("330000", 10, seed=1, now=NOW)  # warm the caches
    started = time.perf_counter()
    people = generate_population("330000", 1_000, seed=2, now=NOW)
    elapsed = time.perf_counter() - started
    print(f"\n1,000 persons in {elapsed * 1000:.0f} ms")
    assert len(people) == 1_000


# ---------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**63),
    n=st.integers(min_value=0, max_value=40),
    region=st.sampled_from(["330000", "420000", "520000", "110000", "441900", "420100"]),
    now=st.datetimes(
        min_value=datetime(2020, 1, 1),  # hypothesis takes naive bounds
        max_value=datetime(2030, 12, 31),
        timezones=st.sampled_from([UTC, CHINA_TZ, timezone(timedelta(hours=-5))]),
    ),
)
def test_invariants_hold_for_any_seed_size_region_and_time(
    seed: int, n: int, region: str, now: datetime
) -> None:
    people = generate_population(region, n, seed=seed, now=now)
    assert len(people) == n
    check_invariants(people, region, now)
    assert generate_population(region, n, seed=seed, now=now) == people
