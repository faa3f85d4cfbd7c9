"""Properties of assess_at over generated facts, maps and moments."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.assessment import Assessment, RuleSet, assess_at, load_default_ruleset
from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    ContactFact,
    ContactKind,
    Declaration,
    QuarantineOrder,
    RiskAreaPeriod,
    RiskLevel,
    RiskMap,
    Stay,
    StaySource,
    SubjectFacts,
)
from yimatong.domain.facts import TestOutcome as Outcome
from yimatong.domain.facts import TestResult as Result

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 10, 1, tzinfo=CST)
AREAS = ["330106001", "330106002", "330106", "330100", "420902001", "420900", "420000", "420100"]

RULES = load_default_ruleset()

# moments in whole quarter hours over ~60 days: coarse enough to hit boundaries often
moments = st.integers(0, 60 * 96).map(lambda q: T0 + timedelta(minutes=15 * q))
durations = st.integers(0, 10 * 96).map(lambda q: timedelta(minutes=15 * q))


@st.composite
def stays(draw: st.DrawFn) -> Stay:
    arrived = draw(moments)
    length = draw(st.none() | durations)
    return Stay(
        draw(st.sampled_from(AREAS)),
        arrived,
        None if length is None else arrived + length,
        draw(st.sampled_from(list(StaySource))),
    )


@st.composite
def results(draw: st.DrawFn, outcome: Outcome | None = None) -> Result:
    sampled = draw(moments)
    return Result(
        sampled,
        sampled + draw(durations),
        outcome or draw(st.sampled_from(list(Outcome))),
        draw(st.sampled_from(["lab-1", "lab-2"])),
    )


@st.composite
def quarantines(draw: st.DrawFn) -> QuarantineOrder:
    start = draw(moments)
    return QuarantineOrder(
        start, start + draw(durations), draw(st.sampled_from(["central", "home"]))
    )


declarations = st.builds(
    Declaration,
    declared_at=moments,
    temperature=st.none() | st.sampled_from([36.5, 37.2, 37.3, 38.5]),
    symptoms=st.lists(st.sampled_from(["fever", "cough", "发热"]), max_size=2).map(tuple),
    contact_with_case=st.booleans(),
)
contacts = st.builds(ContactFact, st.sampled_from(list(ContactKind)), moments)
active_cases = st.builds(
    CaseFact,
    st.sampled_from([CaseStatus.CONFIRMED, CaseStatus.SUSPECTED, CaseStatus.ASYMPTOMATIC]),
    moments,
)
cases = st.builds(CaseFact, st.sampled_from(list(CaseStatus)), moments)

subject_facts = st.builds(
    SubjectFacts,
    declarations=st.lists(declarations, max_size=3).map(tuple),
    stays=st.lists(stays(), max_size=5).map(tuple),
    tests=st.lists(results(), max_size=4).map(tuple),
    cases=st.lists(cases, max_size=2).map(tuple),
    contacts=st.lists(contacts, max_size=2).map(tuple),
    quarantines=st.lists(quarantines(), max_size=1).map(tuple),
)

periods = st.builds(
    RiskAreaPeriod,
    area=st.sampled_from(AREAS),
    level=st.sampled_from(list(RiskLevel)),
    effective_from=moments,
    until=st.none() | moments,
)
risk_maps = st.lists(periods, max_size=6).map(lambda ps: RiskMap(tuple(ps)))


def add(facts: SubjectFacts, **more: tuple[object, ...]) -> SubjectFacts:
    return dataclasses.replace(
        facts, **{name: getattr(facts, name) + extra for name, extra in more.items()}
    )


# one extra risk fact: adding any of these must never make the colour better
risk_facts = st.one_of(
    stays().map(lambda s: {"stays": (s,)}),
    contacts.map(lambda c: {"contacts": (c,)}),
    quarantines().map(lambda q: {"quarantines": (q,)}),
    results(Outcome.POSITIVE).map(lambda t: {"tests": (t,)}),
    active_cases.map(lambda c: {"cases": (c,)}),
)


def rule_ids(a: Assessment) -> set[str]:
    return {r.rule_id for r in a.reasons}


@given(risk_maps, moments)
def test_no_facts_is_green(risk: RiskMap, now: datetime) -> None:
    a = assess_at(SubjectFacts(), risk, RULES, now)
    assert a.colour.value == "green"
    assert a.reasons == ()
    assert a.turns_green is None


@settings(max_examples=300)
@given(subject_facts, risk_facts, risk_maps, moments)
def test_adding_a_risk_fact_never_makes_the_colour_better(
    facts: SubjectFacts, extra: dict[str, tuple[object, ...]], risk: RiskMap, now: datetime
) -> None:
    before = assess_at(facts, risk, RULES, now)
    after = assess_at(add(facts, **extra), risk, RULES, now)
    assert after.colour.severity >= before.colour.severity
    if "cases" not in extra:
        # a case status is a state the authority replaces (suspected -> confirmed), so its
        # rule may change; the others only ever add to what is known
        assert rule_ids(after) >= rule_ids(before)
    if before.turns_green is not None:
        assert after.turns_green is not None
        assert after.turns_green.not_before >= before.turns_green.not_before
        assert after.turns_green.negative_tests_needed >= before.turns_green.negative_tests_needed


@settings(max_examples=200)
@given(subject_facts, declarations, risk_maps, moments)
def test_an_older_declaration_never_makes_the_colour_better(
    facts: SubjectFacts, declaration: Declaration, risk: RiskMap, now: datetime
) -> None:
    known = [d.declared_at for d in facts.declarations if d.declared_at <= now]
    if known and declaration.declared_at > max(known):
        declaration = dataclasses.replace(declaration, declared_at=max(known))
    before = assess_at(facts, risk, RULES, now)
    after = assess_at(add(facts, declarations=(declaration,)), risk, RULES, now)
    assert after.colour.severity >= before.colour.severity


@settings(max_examples=200)
@given(subject_facts, results(Outcome.NEGATIVE), risk_maps, moments)
def test_a_negative_test_never_makes_the_colour_worse(
    facts: SubjectFacts, test: Result, risk: RiskMap, now: datetime
) -> None:
    before = assess_at(facts, risk, RULES, now)
    after = assess_at(add(facts, tests=(test,)), risk, RULES, now)
    assert after.colour.severity <= before.colour.severity
    assert rule_ids(after) <= rule_ids(before)


@given(subject_facts, risk_maps, moments, st.randoms(use_true_random=False))
def test_assessments_are_deterministic_and_ignore_the_order_of_facts(
    facts: SubjectFacts, risk: RiskMap, now: datetime, rnd: random.Random
) -> None:
    def shuffled(items: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(items)
        rnd.shuffle(out)
        return tuple(out)

    first = assess_at(facts, risk, RULES, now)
    assert assess_at(facts, risk, RULES, now) == first
    mixed = SubjectFacts(
        **{f.name: shuffled(getattr(facts, f.name)) for f in dataclasses.fields(facts)}
    )
    fresh_map = RiskMap(shuffled(risk.periods))
    assert assess_at(mixed, fresh_map, RULES, now) == first


@given(subject_facts, risk_maps, moments)
def test_to_dict_from_dict_round_trip(facts: SubjectFacts, risk: RiskMap, now: datetime) -> None:
    a = assess_at(facts, risk, RULES, now)
    data = json.loads(json.dumps(a.to_dict(), ensure_ascii=False))
    again = Assessment.from_dict(data)
    assert again == a
    assert again.to_dict() == a.to_dict()


@given(subject_facts, risk_maps, moments)
def test_the_colour_matches_the_reasons(facts: SubjectFacts, risk: RiskMap, now: datetime) -> None:
    a = assess_at(facts, risk, RULES, now)
    assert a.colour.severity == max((r.colour.severity for r in a.reasons), default=0)
    assert (a.turns_green is None) == (not a.reasons)
    if a.turns_green is not None:
        assert a.turns_green.not_before >= now
    for r in a.reasons:
        assert r.since <= now
        assert RULES.rule(r.rule_id).reason == r.code


def test_the_rule_set_round_trips() -> None:
    assert RuleSet.from_mapping(RULES.to_mapping()) == RULES
