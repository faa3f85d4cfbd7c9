"""Colour assignment (赋码) with the default rule set: the stories, then the finer points."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from yimatong.domain.assessment import (
    Assessment,
    Reason,
    RuleSet,
    RuleSetRef,
    assess_at,
    load_builtin_ruleset,
    load_default_ruleset,
)
from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    Colour,
    ContactFact,
    ContactKind,
    Declaration,
    IdentityCheck,
    QuarantineOrder,
    RiskAreaPeriod,
    RiskLevel,
    RiskMap,
    Stay,
    StaySource,
    SubjectFacts,
)

# aliased: pytest would try to collect the Test* names as test classes
from yimatong.domain.facts import TestOutcome as Outcome
from yimatong.domain.facts import TestResult as Result

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=CST)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

XIHU_STREET = "330106001"  # a street in Xihu district, Hangzhou
XIHU = "330106"
WUHAN = "420100"
XIAOGAN = "420900"
XIAOGAN_STREET = "420902001"
HUBEI = "420000"
# every Hubei prefecture-level division except Wuhan: the sixteen of the story
SIXTEEN = (
    "420200", "420300", "420500", "420600", "420700", "420800", "420900", "421000",
    "421100", "421200", "421300", "422800", "429004", "429005", "429006", "429021",
)  # fmt: skip


def rules() -> RuleSet:
    return load_default_ruleset()


def assess(facts: SubjectFacts, risk: RiskMap | None = None, now: datetime = NOW) -> Assessment:
    return assess_at(facts, risk or RiskMap(), rules(), now)


def negative(sampled: datetime, reported: datetime | None = None) -> Result:
    return Result(sampled, reported or sampled + 6 * HOUR, Outcome.NEGATIVE, "lab-1")


def positive(sampled: datetime, reported: datetime | None = None) -> Result:
    return Result(sampled, reported or sampled + 6 * HOUR, Outcome.POSITIVE, "lab-1")


def medium(area: str, since: datetime, until: datetime | None = None) -> RiskAreaPeriod:
    return RiskAreaPeriod(area, RiskLevel.MEDIUM, since, until)


def high(area: str, since: datetime, until: datetime | None = None) -> RiskAreaPeriod:
    return RiskAreaPeriod(area, RiskLevel.HIGH, since, until)


def low(area: str, since: datetime, until: datetime | None = None) -> RiskAreaPeriod:
    return RiskAreaPeriod(area, RiskLevel.LOW, since, until)


def codes(a: Assessment) -> list[str]:
    return [r.code for r in a.reasons]


def test_no_facts_is_green() -> None:
    a = assess(SubjectFacts())
    assert a.colour is Colour.GREEN
    assert a.reasons == ()
    assert a.turns_green is None
    assert a.ruleset == RuleSetRef("default", "2026.2")
    assert str(a.ruleset) == "default@2026.2"
    assert a.assessed_at == NOW
    assert a.hours_since_negative_test is None


# --- A stay in a medium-risk street ---------------------------------------------------------

STREET_MAP = RiskMap((medium(XIHU_STREET, NOW - 10 * DAY),))
LEFT = NOW - 3 * DAY
STREET_STAY = Stay(XIHU_STREET, LEFT - 6 * HOUR, LEFT)


def test_medium_street_three_days_ago_is_yellow_with_the_area() -> None:
    a = assess(SubjectFacts(stays=(STREET_STAY,)), STREET_MAP)
    assert a.colour is Colour.YELLOW
    (reason,) = a.reasons
    assert reason.code == "stay.medium-risk"
    assert reason.rule_id == "stay-medium"
    assert reason.since == LEFT
    assert reason.detail["area"] == XIHU_STREET
    assert reason.detail["level"] == "medium"
    assert reason.detail["risk_area"] == XIHU_STREET
    assert reason.detail["hours"] == 6.0
    assert a.turns_green is not None
    assert a.turns_green.not_before == LEFT + 7 * DAY
    assert a.turns_green.negative_tests_needed == 1
    assert a.turns_green.description_en.startswith(
        "after 2026-11-24 12:00 (Beijing time) with one negative test"
    )
    assert a.turns_green.description_zh.startswith(
        "北京时间 2026-11-24 12:00 之后，且有 1 次阴性核酸检测"
    )


def test_medium_street_turns_green_seven_days_after_leaving_with_a_negative_test() -> None:
    test = negative(LEFT + 5 * DAY)
    facts = SubjectFacts(stays=(STREET_STAY,), tests=(test,))
    assert assess(facts, STREET_MAP, LEFT + 7 * DAY - timedelta(seconds=1)).colour is Colour.YELLOW
    green = assess(facts, STREET_MAP, LEFT + 7 * DAY)
    assert green.colour is Colour.GREEN
    assert green.turns_green is None
    assert green.last_negative_test_sampled_at == test.sampled_at
    assert green.hours_since_negative_test == 48


def test_medium_street_without_a_test_stays_yellow_until_the_window_ends() -> None:
    facts = SubjectFacts(stays=(STREET_STAY,))
    a = assess(facts, STREET_MAP, LEFT + 8 * DAY)
    assert a.colour is Colour.YELLOW
    assert a.turns_green is not None
    assert a.turns_green.negative_tests_needed == 1
    assert a.turns_green.not_before == LEFT + 8 * DAY  # the days are done: never before now
    assert a.turns_green.description_en.startswith("after one negative test")
    assert a.turns_green.lapses_at == LEFT + 14 * DAY
    assert assess(facts, STREET_MAP, LEFT + 14 * DAY).colour is Colour.GREEN


def test_a_test_sampled_before_leaving_does_not_count() -> None:
    facts = SubjectFacts(stays=(STREET_STAY,), tests=(negative(LEFT - HOUR, LEFT + HOUR),))
    assert assess(facts, STREET_MAP, LEFT + 8 * DAY).colour is Colour.YELLOW


def test_a_result_not_yet_reported_does_not_count() -> None:
    test = negative(LEFT + 7 * DAY, reported=LEFT + 9 * DAY)
    facts = SubjectFacts(stays=(STREET_STAY,), tests=(test,))
    assert assess(facts, STREET_MAP, LEFT + 8 * DAY).colour is Colour.YELLOW
    assert assess(facts, STREET_MAP, LEFT + 8 * DAY).last_negative_test_sampled_at is None
    assert assess(facts, STREET_MAP, LEFT + 9 * DAY).colour is Colour.GREEN


def test_a_street_that_became_low_before_the_visit_is_green() -> None:
    risk = RiskMap(
        (medium(XIHU_STREET, NOW - 20 * DAY, NOW - 10 * DAY), low(XIHU_STREET, NOW - 10 * DAY))
    )
    a = assess(SubjectFacts(stays=(STREET_STAY,)), risk)
    assert a.colour is Colour.GREEN
    # the same visit made while it was still medium counts, whatever its level today
    early = Stay(XIHU_STREET, NOW - 12 * DAY, NOW - 11 * DAY)
    assert assess(SubjectFacts(stays=(early,)), risk, NOW - 5 * DAY).colour is Colour.YELLOW


def test_a_low_street_inside_a_medium_county_is_green_but_its_neighbour_is_not() -> None:
    risk = RiskMap((medium(XIHU, NOW - 20 * DAY), low(XIHU_STREET, NOW - 20 * DAY)))
    assert assess(SubjectFacts(stays=(STREET_STAY,)), risk).colour is Colour.GREEN
    neighbour = Stay("330106002", LEFT - 6 * HOUR, LEFT)
    a = assess(SubjectFacts(stays=(neighbour,)), risk)
    assert a.colour is Colour.YELLOW
    assert a.reasons[0].detail["risk_area"] == XIHU


# --- Sixteen cities off the red list --------------------------------------------------------

LOCKDOWN = datetime(2026, 1, 23, 10, 0, tzinfo=CST)
LOWERED = datetime(2026, 3, 8, 0, 0, tzinfo=CST)
# Hubei high from the lockdown; one action lowers sixteen cities, Wuhan keeps its level
HUBEI_MAP = RiskMap((high(HUBEI, LOCKDOWN), *(low(city, LOWERED) for city in SIXTEEN)))
XIAOGAN_LEFT = datetime(2026, 3, 5, 18, 0, tzinfo=CST)
XIAOGAN_STAY = Stay(XIAOGAN_STREET, datetime(2026, 2, 25, 9, 0, tzinfo=CST), XIAOGAN_LEFT)


def test_the_map_lowers_sixteen_cities_and_keeps_wuhan() -> None:
    after = LOWERED + DAY
    for city in SIXTEEN:
        assert HUBEI_MAP.level_at(city, after) is RiskLevel.LOW
        assert HUBEI_MAP.level_at(city, LOWERED - HOUR) is RiskLevel.HIGH
    assert HUBEI_MAP.level_at(WUHAN, after) is RiskLevel.HIGH
    assert HUBEI_MAP.level_at("420102001", after) is RiskLevel.HIGH


def test_a_stay_in_xiaogan_while_it_was_high_is_still_red_after_the_change() -> None:
    a = assess(SubjectFacts(stays=(XIAOGAN_STAY,)), HUBEI_MAP, LOWERED + 2 * DAY)
    assert a.colour is Colour.RED
    (reason,) = a.reasons
    assert reason.code == "stay.high-risk"
    assert reason.since == XIAOGAN_LEFT
    assert reason.detail["level"] == "high"
    assert reason.detail["risk_area"] == HUBEI
    assert reason.detail["area"] == XIAOGAN_STREET
    assert a.turns_green is not None
    assert a.turns_green.not_before == XIAOGAN_LEFT + 14 * DAY
    assert a.turns_green.negative_tests_needed == 1


def test_xiaogan_clears_fourteen_days_after_leaving_with_a_negative_test() -> None:
    cleared = XIAOGAN_LEFT + 14 * DAY
    untested = SubjectFacts(stays=(XIAOGAN_STAY,))
    tested = SubjectFacts(stays=(XIAOGAN_STAY,), tests=(negative(XIAOGAN_LEFT + 12 * DAY),))
    assert assess(tested, HUBEI_MAP, cleared - HOUR).colour is Colour.RED
    assert assess(tested, HUBEI_MAP, cleared).colour is Colour.GREEN
    assert assess(untested, HUBEI_MAP, cleared + DAY).colour is Colour.RED


def test_someone_living_in_xiaogan_through_the_change_counts_from_the_change() -> None:
    resident = Stay(XIAOGAN_STREET, datetime(2025, 12, 1, tzinfo=CST))  # still there
    facts = SubjectFacts(stays=(resident,))
    a = assess(facts, HUBEI_MAP, LOWERED + DAY)
    assert a.colour is Colour.RED
    assert a.reasons[0].since == LOWERED
    later = SubjectFacts(stays=(resident,), tests=(negative(LOWERED + 3 * DAY),))
    assert assess(later, HUBEI_MAP, LOWERED + 14 * DAY).colour is Colour.GREEN


def test_a_visit_to_xiaogan_after_the_change_is_green() -> None:
    visit = Stay(XIAOGAN_STREET, LOWERED + DAY, LOWERED + 3 * DAY)
    assert assess(SubjectFacts(stays=(visit,)), HUBEI_MAP, LOWERED + 4 * DAY).colour is Colour.GREEN


def test_a_wuhan_visitor_stays_red_with_a_reason() -> None:
    visit = Stay("420102001", LOWERED + DAY, LOWERED + 3 * DAY, StaySource.RAIL)
    a = assess(SubjectFacts(stays=(visit,)), HUBEI_MAP, LOWERED + 4 * DAY)
    assert a.colour is Colour.RED
    assert codes(a) == ["stay.high-risk"]
    assert a.reasons[0].detail["risk_area"] == HUBEI


# --- Contacts, quarantine, cases, tests -----------------------------------------------------


def test_a_close_contact_is_red_for_fourteen_days_and_a_test() -> None:
    exposed = NOW - 2 * DAY
    facts = SubjectFacts(contacts=(ContactFact(ContactKind.CLOSE, exposed),))
    a = assess(facts)
    assert a.colour is Colour.RED
    assert codes(a) == ["contact.close"]
    assert a.reasons[0].since == exposed
    assert a.reasons[0].detail == {"kind": "close"}
    assert a.turns_green is not None and a.turns_green.not_before == exposed + 14 * DAY
    tested = SubjectFacts(contacts=facts.contacts, tests=(negative(exposed + 13 * DAY),))
    assert assess(tested, now=exposed + 14 * DAY).colour is Colour.GREEN


def test_a_secondary_contact_is_yellow() -> None:
    facts = SubjectFacts(contacts=(ContactFact(ContactKind.SECONDARY, NOW - DAY),))
    a = assess(facts)
    assert a.colour is Colour.YELLOW
    assert codes(a) == ["contact.secondary"]


def test_a_quarantine_order_in_force_is_red_until_it_ends() -> None:
    order = QuarantineOrder(NOW - 3 * DAY, NOW + 11 * DAY, "home")
    facts = SubjectFacts(quarantines=(order,))
    a = assess(facts)
    assert a.colour is Colour.RED
    assert codes(a) == ["quarantine.active"]
    assert a.reasons[0].since == order.start
    assert a.reasons[0].detail["kind"] == "home"
    assert a.turns_green is not None
    assert a.turns_green.not_before == order.end
    assert a.turns_green.negative_tests_needed == 0
    assert a.turns_green.lapses_at is None
    assert assess(facts, now=order.end).colour is Colour.GREEN
    assert assess(facts, now=order.start - HOUR).colour is Colour.GREEN


def test_an_active_case_is_red_until_the_authority_records_recovery() -> None:
    confirmed = CaseFact(CaseStatus.CONFIRMED, NOW - 5 * DAY)
    a = assess(SubjectFacts(cases=(confirmed,)))
    assert a.colour is Colour.RED
    assert codes(a) == ["case.confirmed"]
    assert a.reasons[0].detail == {"status": "confirmed"}
    assert a.turns_green is not None and a.turns_green.open_ended
    assert "records recovery" in a.turns_green.description_en
    assert "登记康复" in a.turns_green.description_zh
    # negative tests do not clear a case; only the authority does
    tested = SubjectFacts(cases=(confirmed,), tests=(negative(NOW - DAY), negative(NOW - 2 * DAY)))
    assert assess(tested).colour is Colour.RED


def test_a_recovered_case_is_not_red_from_the_case_rule() -> None:
    facts = SubjectFacts(
        cases=(
            CaseFact(CaseStatus.CONFIRMED, NOW - 30 * DAY),
            CaseFact(CaseStatus.RECOVERED, NOW - 2 * DAY),
        )
    )
    a = assess(facts)
    assert a.colour is Colour.GREEN
    # and before the recovery was recorded, it was red
    assert assess(facts, now=NOW - 3 * DAY).colour is Colour.RED


@pytest.mark.parametrize("status", [CaseStatus.SUSPECTED, CaseStatus.ASYMPTOMATIC])
def test_suspected_and_asymptomatic_are_red(status: CaseStatus) -> None:
    a = assess(SubjectFacts(cases=(CaseFact(status, NOW - DAY),)))
    assert codes(a) == [f"case.{status.value}"]


def test_the_latest_case_status_is_the_one_that_counts() -> None:
    facts = SubjectFacts(
        cases=(
            CaseFact(CaseStatus.CONFIRMED, NOW - 2 * DAY),
            CaseFact(CaseStatus.SUSPECTED, NOW - 4 * DAY),
        )
    )
    assert codes(assess(facts)) == ["case.confirmed"]


def test_a_positive_test_is_red_and_needs_two_negatives() -> None:
    sampled = NOW - 2 * DAY
    facts = SubjectFacts(tests=(positive(sampled),))
    a = assess(facts)
    assert a.colour is Colour.RED
    assert codes(a) == ["test.positive"]
    assert a.reasons[0].since == sampled
    assert a.turns_green is not None and a.turns_green.negative_tests_needed == 2
    assert "two negative tests" in a.turns_green.description_en
    one = SubjectFacts(tests=(positive(sampled), negative(sampled + 10 * DAY)))
    assert assess(one, now=sampled + 15 * DAY).colour is Colour.RED
    two = SubjectFacts(tests=(*one.tests, negative(sampled + 11 * DAY)))
    assert assess(two, now=sampled + 15 * DAY).colour is Colour.GREEN


def test_a_positive_result_counts_only_once_reported() -> None:
    facts = SubjectFacts(tests=(positive(NOW - DAY, reported=NOW + HOUR),))
    assert assess(facts).colour is Colour.GREEN
    assert assess(facts, now=NOW + HOUR).colour is Colour.RED


# --- How long and how often ------------------------------------------------------------------

COUNTY_MAP = RiskMap((medium(XIHU, NOW - 30 * DAY),))


def test_passing_through_a_medium_risk_county_for_an_hour_does_not_count() -> None:
    through = Stay(XIHU, NOW - DAY, NOW - DAY + HOUR, StaySource.TELECOM)
    assert assess(SubjectFacts(stays=(through,)), COUNTY_MAP).colour is Colour.GREEN
    stayed = Stay(XIHU, NOW - DAY, NOW - DAY + 5 * HOUR, StaySource.TELECOM)
    assert assess(SubjectFacts(stays=(stayed,)), COUNTY_MAP).colour is Colour.YELLOW


def test_time_in_one_area_adds_up_across_visits() -> None:
    first = Stay(XIHU, NOW - 3 * DAY, NOW - 3 * DAY + 3 * HOUR)
    second = Stay(XIHU, NOW - DAY, NOW - DAY + 2 * HOUR)
    a = assess(SubjectFacts(stays=(first, second)), COUNTY_MAP)
    assert a.colour is Colour.YELLOW
    assert a.reasons[0].detail["hours"] == 5.0
    assert a.reasons[0].detail["visits"] == 2
    assert a.reasons[0].since == second.end(NOW)


def test_overlapping_records_of_one_visit_count_once() -> None:
    declared = Stay(XIHU, NOW - DAY, NOW - DAY + 3 * HOUR)
    scanned = Stay(XIHU, NOW - DAY + HOUR, NOW - DAY + 2 * HOUR, StaySource.SCAN)
    a = assess(SubjectFacts(stays=(declared, scanned)), COUNTY_MAP)
    assert a.colour is Colour.GREEN


def test_any_time_in_a_high_risk_area_counts_even_a_single_scan() -> None:
    risk = RiskMap((high(XIHU_STREET, NOW - 30 * DAY),))
    scan = Stay(XIHU_STREET, NOW - DAY, NOW - DAY, StaySource.SCAN)
    a = assess(SubjectFacts(stays=(scan,)), risk)
    assert a.colour is Colour.RED
    assert a.reasons[0].detail["hours"] == 0.0


def test_only_the_part_of_a_stay_at_risk_counts_and_ends_when_the_level_falls() -> None:
    raised = NOW - 5 * DAY
    lowered = NOW - 4 * DAY
    risk = RiskMap((high(XIHU_STREET, raised, lowered),))
    stay = Stay(XIHU_STREET, NOW - 10 * DAY, NOW - 2 * DAY)
    a = assess(SubjectFacts(stays=(stay,)), risk)
    assert codes(a) == ["stay.high-risk"]
    assert a.reasons[0].since == lowered
    assert a.reasons[0].detail["hours"] == 24.0


def test_a_stay_that_ends_as_the_area_is_raised_does_not_count() -> None:
    risk = RiskMap((high(XIHU_STREET, NOW - 2 * DAY),))
    stay = Stay(XIHU_STREET, NOW - 3 * DAY, NOW - 2 * DAY)
    assert assess(SubjectFacts(stays=(stay,)), risk).colour is Colour.GREEN


def test_an_ongoing_stay_in_a_high_risk_area_counts_until_now() -> None:
    risk = RiskMap((high(XIHU_STREET, NOW - 30 * DAY),))
    here = Stay(XIHU_STREET, NOW - 2 * DAY)
    a = assess(SubjectFacts(stays=(here,)), risk)
    assert a.colour is Colour.RED
    assert a.reasons[0].since == NOW
    assert a.turns_green is not None and a.turns_green.not_before == NOW + 14 * DAY


def test_stays_not_yet_begun_are_ignored() -> None:
    risk = RiskMap((high(XIHU_STREET, NOW - 30 * DAY),))
    planned = Stay(XIHU_STREET, NOW + DAY, NOW + 2 * DAY)
    assert assess(SubjectFacts(stays=(planned,)), risk).colour is Colour.GREEN


def test_the_binding_area_is_the_latest_and_all_matching_areas_are_counted() -> None:
    risk = RiskMap((medium(XIHU, NOW - 30 * DAY), medium("330102", NOW - 30 * DAY)))
    older = Stay(XIHU, NOW - 4 * DAY, NOW - 4 * DAY + 5 * HOUR)
    newer = Stay("330102", NOW - 2 * DAY, NOW - 2 * DAY + 5 * HOUR)
    a = assess(SubjectFacts(stays=(older, newer)), risk)
    (reason,) = a.reasons
    assert reason.detail["area"] == "330102"
    assert reason.detail["areas"] == 2


# --- Declarations -----------------------------------------------------------------------------


def test_declared_fever_is_yellow() -> None:
    facts = SubjectFacts(declarations=(Declaration(NOW - HOUR, symptoms=("fever", "cough")),))
    a = assess(facts)
    assert a.colour is Colour.YELLOW
    assert codes(a) == ["symptom.fever"]
    assert a.reasons[0].detail == {"symptoms": "fever"}
    assert a.turns_green is not None
    assert a.turns_green.not_before == NOW
    assert a.turns_green.negative_tests_needed == 1


def test_fever_in_chinese_is_fever_too() -> None:
    facts = SubjectFacts(declarations=(Declaration(NOW - HOUR, symptoms=("发热",)),))
    assert codes(assess(facts)) == ["symptom.fever"]


@pytest.mark.parametrize(("celsius", "colour"), [(37.2, Colour.GREEN), (37.3, Colour.YELLOW)])
def test_a_declared_temperature_of_37_3_or_more_is_yellow(celsius: float, colour: Colour) -> None:
    a = assess(SubjectFacts(declarations=(Declaration(NOW - HOUR, temperature=celsius),)))
    assert a.colour is colour
    if colour is Colour.YELLOW:
        assert codes(a) == ["temperature.high"]
        assert a.reasons[0].detail == {"temperature": celsius}


def test_a_newer_clean_declaration_supersedes_an_older_fever() -> None:
    fever = Declaration(NOW - DAY, temperature=38.2, symptoms=("fever",))
    clean = Declaration(NOW - HOUR, temperature=36.6)
    assert assess(SubjectFacts(declarations=(fever, clean))).colour is Colour.GREEN
    assert assess(SubjectFacts(declarations=(clean, fever)), now=NOW - 2 * HOUR).colour is (
        Colour.YELLOW
    )


def test_a_negative_test_after_a_fever_declaration_clears_it() -> None:
    fever = Declaration(NOW - DAY, temperature=38.0)
    facts = SubjectFacts(declarations=(fever,), tests=(negative(NOW - 20 * HOUR),))
    assert assess(facts).colour is Colour.GREEN


def test_declared_contact_with_a_case_is_yellow_and_not_withdrawn_by_a_later_declaration() -> None:
    said = Declaration(NOW - 2 * DAY, contact_with_case=True)
    later = Declaration(NOW - HOUR)
    a = assess(SubjectFacts(declarations=(said, later)))
    assert codes(a) == ["declaration.contact"]
    assert a.reasons[0].since == said.declared_at


# --- Several reasons, and the result itself ----------------------------------------------------


def test_colour_is_the_worst_reason_and_turns_green_waits_for_all() -> None:
    risk = RiskMap((medium(XIHU_STREET, NOW - 30 * DAY),))
    exposed = NOW - 10 * DAY
    facts = SubjectFacts(
        stays=(STREET_STAY,),
        contacts=(ContactFact(ContactKind.CLOSE, exposed),),
        declarations=(Declaration(NOW - HOUR, temperature=37.8),),
    )
    a = assess(facts, risk)
    assert a.colour is Colour.RED
    assert codes(a) == ["contact.close", "stay.medium-risk", "temperature.high"]
    assert a.turns_green is not None
    assert a.turns_green.not_before == max(exposed + 14 * DAY, LEFT + 7 * DAY)
    assert a.turns_green.negative_tests_needed == 1
    # one test, sampled after every event, clears the tests part of all three
    tested = SubjectFacts(
        stays=facts.stays,
        contacts=facts.contacts,
        declarations=facts.declarations,
        tests=(negative(NOW),),
    )
    assert assess(tested, risk, exposed + 14 * DAY).colour is Colour.GREEN


def test_to_dict_is_json_with_stable_keys_and_round_trips() -> None:
    risk = RiskMap((medium(XIHU_STREET, NOW - 30 * DAY),))
    facts = SubjectFacts(
        stays=(STREET_STAY,),
        tests=(negative(NOW - 10 * DAY),),
        cases=(CaseFact(CaseStatus.SUSPECTED, NOW - HOUR),),
    )
    a = assess(facts, risk)
    data = a.to_dict()
    assert list(data) == [
        "colour",
        "reasons",
        "ruleset",
        "assessed_at",
        "turns_green",
        "last_negative_test_sampled_at",
        "hours_since_negative_test",
    ]
    assert list(data["reasons"][0]) == ["code", "rule_id", "colour", "since", "detail"]
    assert data["ruleset"] == {"id": "default", "version": "2026.2"}
    assert data["assessed_at"] == "2026-11-20T12:00:00+08:00"
    assert data["hours_since_negative_test"] == 240
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    assert Assessment.from_dict(json.loads(text)) == a


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("colour"),
        lambda d: d.update(colour="blue"),
        lambda d: d.update(assessed_at="2026-11-20T12:00:00"),  # no offset
        lambda d: d.update(hours_since_negative_test=-1),
        lambda d: d["reasons"][0].update(detail=[1]),
        lambda d: d["reasons"][0].update(detail={"x": [1]}),
        lambda d: d["turns_green"].update(negative_tests_needed="1"),
    ],
)
def test_from_dict_refuses_damaged_data(damage) -> None:  # type: ignore[no-untyped-def]
    a = assess(SubjectFacts(stays=(STREET_STAY,)), STREET_MAP)
    data = json.loads(json.dumps(a.to_dict()))
    damage(data)
    with pytest.raises(ValueError, match="not a stored assessment"):
        Assessment.from_dict(data)


def test_reason_detail_is_read_only_and_small() -> None:
    r = Reason("x.y", "r", Colour.RED, NOW, {"area": "330106"})
    with pytest.raises(TypeError):
        r.detail["area"] = "1"  # type: ignore[index]
    with pytest.raises(TypeError):
        Reason("x.y", "r", Colour.RED, NOW, {"areas": ["330106"]})  # type: ignore[dict-item]
    assert hash(r) == hash(Reason("x.y", "r", Colour.RED, NOW, {"area": "330106"}))


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        assess(SubjectFacts(), now=datetime(2026, 11, 20, 12, 0))


def test_times_in_other_offsets_are_the_same_moments() -> None:
    utc_now = NOW.astimezone(UTC)
    a = assess(SubjectFacts(stays=(STREET_STAY,)), STREET_MAP, utc_now)
    assert a.colour is Colour.YELLOW
    assert a.turns_green is not None
    assert "2026-11-24 12:00 (Beijing time)" in a.turns_green.description_en


# --- Departments' records and the pop-up (弹窗) -----------------------------------------------


def test_department_stays_count_only_where_the_rule_set_lists_them_and_the_reason_names_them() -> (
    None
):
    wuhan = RiskMap((high(WUHAN, NOW - 30 * DAY),))
    arrival = Stay("420102", NOW - DAY, NOW - DAY, StaySource.RAIL)  # a manifest's instant
    stay = Stay("420102", NOW - DAY, NOW - DAY + 5 * HOUR, StaySource.TELECOM)
    facts = SubjectFacts(stays=(arrival, stay))
    a = assess(facts, wuhan)  # 2026.2 lists rail, aviation and telecom
    assert codes(a) == ["stay.high-risk"]
    assert a.reasons[0].detail["sources"] == "rail,telecom"
    old = load_builtin_ruleset("default", "2026.1")  # names no sources: own stays only
    assert assess_at(facts, wuhan, old, NOW).colour is Colour.GREEN
    own = SubjectFacts(stays=(Stay("420102", NOW - DAY, NOW - DAY + HOUR),))
    assert "sources" not in assess(own, wuhan).reasons[0].detail


def test_a_police_identity_mismatch_is_a_pop_up_until_a_later_check_matches() -> None:
    mismatch = IdentityCheck(NOW - DAY, matched=False, department="zj-police")
    a = assess(SubjectFacts(identity_checks=(mismatch,)))
    assert (a.colour, codes(a)) == (Colour.YELLOW, ["popup.identity-mismatch"])
    assert a.reasons[0].detail == {"source": "police", "department": "zj-police"}
    assert a.turns_green is not None and a.turns_green.open_ended
    assert "checked in person" in a.turns_green.description_en
    assert "人工核验身份" in a.turns_green.description_zh
    assert "recovery" not in a.turns_green.description_en
    matched = IdentityCheck(NOW - HOUR, matched=True, department="zj-police")
    assert assess(SubjectFacts(identity_checks=(mismatch, matched))).colour is Colour.GREEN
    later = IdentityCheck(NOW + HOUR, matched=True)  # not yet known
    assert assess(SubjectFacts(identity_checks=(mismatch, later))).colour is Colour.YELLOW


def test_a_stay_in_a_region_without_data_is_a_pop_up_until_a_negative_test() -> None:
    hong_kong = Stay("810000", NOW - 3 * DAY, NOW - 2 * DAY)
    a = assess(SubjectFacts(stays=(hong_kong,)))
    assert (a.colour, codes(a)) == (Colour.YELLOW, ["popup.no-data"])
    assert a.reasons[0].detail == {"area": "810000", "source": "self"}
    assert a.turns_green is not None and a.turns_green.negative_tests_needed == 1
    tested = SubjectFacts(stays=(hong_kong,), tests=(negative(NOW - DAY),))
    assert assess(tested).colour is Colour.GREEN
    assert assess(SubjectFacts(stays=(hong_kong,)), now=NOW + 13 * DAY).colour is Colour.GREEN
