"""Properties of decide(): it never raises, PASS means the rule held, DENY means it fails
whatever the unknown facts are, and CHECK only when knowing more could change the answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.hub.policies import demo_policies
from yimatong.rules.certlogic import CertLogicEvaluationError
from yimatong.verifier.policy import Facts, Outcome, Policy, PolicySet, StayFact, decide

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

RULES: list[Any] = [p["rule"] for p in demo_policies()] + [
    {"===": [{"var": "code.colour"}, "green"]},
    # no medium/high stay within 14 days
    {
        "!": [
            {
                "reduce": [
                    {"var": "stays"},
                    {
                        "if": [
                            {"var": "accumulator"},
                            True,
                            {"<=": [{"var": "current.days_ago"}, 14]},
                        ]
                    },
                    False,
                ]
            }
        ]
    },
    # a temperature guard written the lenient way: no thermometer is fine
    {
        "if": [
            {"var": "scan.temperature_decidegrees"},
            {"<": [{"var": "scan.temperature_decidegrees"}, 373]},
            True,
        ]
    },
    # a rule that errors on strings (CHECK, never PASS)
    {"<": [{"var": "code.issuer"}, 5]},
]

stays = st.lists(
    st.builds(
        StayFact,
        level=st.sampled_from(["medium", "high"]),
        days_ago=st.one_of(st.none(), st.integers(0, 40)),
    ),
    max_size=3,
)
facts = st.builds(
    Facts,
    now=st.just(NOW),
    region=st.sampled_from(["330000", "330106", "520000", "110000"]),
    place_kind=st.sampled_from(["any", "transport", "school"]),
    online=st.booleans(),
    colour=st.sampled_from(["green", "yellow", "red", None]),
    issuer=st.sampled_from(["330000", "520000"]),
    tests_known=st.booleans(),
    hours_since_negative=st.one_of(st.none(), st.integers(0, 200)),
    stays=stays.map(tuple),
    temperature=st.one_of(st.none(), st.floats(35.0, 40.0).map(lambda t: round(t, 1))),
)


def _value(rule: Any, data: Any) -> Any:
    compiled = Policy(1, "330000", "any", 1, rule, "r", NOW - timedelta(days=1)).compiled
    assert compiled is not None
    try:
        return compiled(data)
    except CertLogicEvaluationError:
        return None


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(RULES), f=facts, region=st.sampled_from(["330000", "520000"]))
def test_decide_is_total_and_consistent(rule: Any, f: Facts, region: str) -> None:
    f = replace(f, region=region)
    if not f.tests_known:
        f = replace(f, hours_since_negative=None)
    p = Policy(1, region, "any", 1, rule, "r", NOW - timedelta(days=1))
    d = decide(PolicySet(region, 1, (p,)), f)
    actual = _value(rule, f.data())
    favourable = _value(rule, f.data(f.unknown()))
    if d.outcome is Outcome.PASS:
        assert actual is True
    elif d.outcome is Outcome.DENY:
        assert actual is not True and favourable is not True
    else:
        assert actual is not True
        assert set(d.missing) <= set(f.unknown())
    assert d.reasons_zh and d.reasons_en


@settings(max_examples=200, deadline=None)
@given(f=facts)
def test_knowing_everything_never_asks_for_more(f: Facts) -> None:
    known = replace(
        f,
        colour=f.colour or "green",
        tests_known=True,
        temperature=f.temperature or 36.5,
        stays=tuple(StayFact(s.level, s.days_ago or 0) for s in f.stays),
    )
    assert known.unknown() == ()
    for rule in RULES[:-1]:  # every rule that cannot error
        p = Policy(1, known.region, "any", 1, rule, "r", NOW - timedelta(days=1))
        assert decide(PolicySet(known.region, 1, (p,)), known).outcome in (
            Outcome.PASS,
            Outcome.DENY,
        )


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(RULES), f=facts, assume=st.sets(st.sampled_from(["colour", "tests"])))
def test_a_rule_reads_the_same_from_the_sections_it_names_as_from_all_facts(
    rule: Any, f: Facts, assume: set[str]
) -> None:
    # decide() builds only the parts of the data its rule can reach (Policy.reads).
    p = Policy(1, "330000", "any", 1, rule, "r", NOW - timedelta(days=1))
    assert p.reads is not None and p.reads <= set(f.data())
    assert _value(rule, f.data(assume, p.reads)) == _value(rule, f.data(assume))


def test_the_sections_a_rule_reads_are_its_top_level_var_paths() -> None:
    from yimatong.verifier.policy import sections_read

    assert sections_read({"===": [{"var": "code.colour"}, "green"]}) == {"code"}
    # a reduce lambda reads current/accumulator, not parts of the data
    assert sections_read(RULES[len(demo_policies()) + 1]) == {"stays"}
    assert sections_read({"and": [{"var": "tests.has_negative"}, {"var": "scan"}]}) == {
        "tests",
        "scan",
    }
    assert sections_read({"var": ""}) is None  # the whole context
    assert sections_read(True) == frozenset()
