"""Entry policies at the gate: which policy applies, the facts it sees, and the decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from yimatong.domain.errors import InvalidInput
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, new_claims
from yimatong.hub.policies import check_rule, demo_policies
from yimatong.verifier.policy import (
    NATIONAL_DEFAULT,
    Facts,
    Outcome,
    Policy,
    PolicySet,
    StayFact,
    decide,
    fact_path_issues,
    facts_from_answer,
    facts_from_claims,
    region_chain,
)

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
GREEN = {"===": [{"var": "code.colour"}, "green"]}


def policy(
    rule: Any = GREEN,
    *,
    id: int = 1,
    region: str = "330000",
    kind: str = "any",
    version: int = 1,
    start: datetime = NOW - timedelta(days=30),
    end: datetime | None = None,
    description: str = "a green code",
) -> Policy:
    return Policy(id, region, kind, version, rule, description, start, end)


def facts(**kwargs: Any) -> Facts:
    base: dict[str, Any] = {
        "now": NOW,
        "region": "330000",
        "colour": "green",
        "signed_colour": "green",
        "kind": "dynamic",
        "issuer": "520000",
        "online": True,
        "source": "online",
        "temperature": 36.5,
    }
    base.update(kwargs)
    return Facts(**base)


def demo_set(region: str) -> PolicySet:
    items = [
        policy(
            p["rule"],
            id=i,
            region=p["region"],
            kind=p["place_kind"],
            version=i,
            description=p["description"],
        )
        for i, p in enumerate(demo_policies(), start=1)
    ]
    return PolicySet(region, len(items), tuple(items))


# ------------------------------------------------------------------------------- selection
def test_region_chain_is_finest_first_and_ends_with_the_nation() -> None:
    assert region_chain("330106") == ["330106", "330100", "330000", "000000"]
    assert region_chain("330100") == ["330100", "330000", "000000"]
    assert region_chain("330000") == ["330000", "000000"]
    assert region_chain("000000") == ["000000"]
    with pytest.raises(ValueError):
        region_chain("33")


def test_the_kind_of_place_wins_over_any_then_the_province_is_asked() -> None:
    any_zj = policy(id=1, region="330000", kind="any", version=1)
    transport_zj = policy(id=2, region="330000", kind="transport", version=2)
    hz_any = policy(id=3, region="330100", kind="any", version=3)
    ps = PolicySet("330106", 3, (any_zj, transport_zj, hz_any))
    # A city's own policy replaces its province's there, whatever the kind of place.
    assert ps.select("330106", "transport", NOW) is hz_any
    assert ps.select("330200", "transport", NOW) is transport_zj
    assert ps.select("330200", "school", NOW) is any_zj
    assert ps.select("520000", "any", NOW) is None


def test_the_newest_version_in_force_applies_and_a_tightening_ends() -> None:
    base = policy(id=1, version=1)
    tight = policy(id=2, version=5, start=NOW + timedelta(days=1), end=NOW + timedelta(days=8))
    ps = PolicySet("330000", 5, (base, tight))
    assert ps.select("330000", "any", NOW) is base  # not yet
    assert ps.select("330000", "any", NOW + timedelta(days=2)) is tight
    assert ps.select("330000", "any", NOW + timedelta(days=8)) is base  # ended: base again


def test_from_payload_refuses_what_is_not_a_policies_document() -> None:
    with pytest.raises(ValueError):
        PolicySet.from_payload({"type": "trust-list"})
    with pytest.raises(ValueError):
        PolicySet.from_payload({"type": "policies", "policies": [{"id": 1}]})
    payload = {
        "type": "policies",
        "region": "330106",
        "version": 3,
        "governed_by": ["330000"],
        "national_default": False,
        "policies": [policy(version=3).to_dict()],
    }
    ps = PolicySet.from_payload(payload)
    assert ps.select("330106", "any", NOW) is not None and ps.governed_by == ("330000",)


def test_a_policies_document_must_say_whose_policies_apply() -> None:
    """ "Not fetched" must never read as "none": the hub says it outright, and consistently."""
    empty = {"type": "policies", "region": "520100", "version": 0, "policies": []}
    with pytest.raises(ValueError, match="does not say"):
        PolicySet.from_payload(empty)  # an older hub's document: refused, not "no policy"
    none = PolicySet.from_payload({**empty, "governed_by": [], "national_default": True})
    assert none.governed_by == () and none.select("520100", "any", NOW) is None
    gz = policy(region="520000").to_dict()
    for lie in (
        {"governed_by": [], "national_default": True, "policies": [gz]},
        {"governed_by": ["520000"], "national_default": True, "policies": [gz]},
        {"governed_by": ["520100"], "national_default": False, "policies": [gz]},
    ):
        with pytest.raises(ValueError, match="contradicts"):
            PolicySet.from_payload({**empty, **lie})


# ------------------------------------------------------------------------------- deciding
def test_green_passes_and_names_the_policy() -> None:
    d = decide(PolicySet("330000", 1, (policy(),)), facts())
    assert d.outcome is Outcome.PASS
    assert d.policy is not None and d.policy.id == 1
    assert "330000" in d.reasons_zh[0] and "a green code" in d.reasons_en[0]


def test_yellow_is_denied_with_its_reasons_in_both_languages() -> None:
    d = decide(
        PolicySet("330000", 1, (policy(),)),
        facts(colour="yellow", reasons=("stay.medium-risk",)),
    )
    assert d.outcome is Outcome.DENY
    assert d.reasons_zh[0] == "黄码（中风险地区停留）"
    assert d.reasons_en[0] == "yellow (stay in a medium-risk area)"
    assert d.to_dict()["outcome"] == "DENY"


def test_no_policy_anywhere_means_the_national_default() -> None:
    d = decide(PolicySet("330000", 0, ()), facts(colour="red"))
    assert d.outcome is Outcome.DENY and d.policy is NATIONAL_DEFAULT
    assert decide(PolicySet("330000", 0, ()), facts()).outcome is Outcome.PASS


def test_policies_never_fetched_are_a_check_not_the_national_default() -> None:
    """A checkpoint that moved to a region it has no policies of must not let a fever pass."""
    for colour in ("green", "red"):
        d = decide(None, facts(region="520100", colour=colour, temperature=38.5))
        assert d.outcome is Outcome.CHECK and d.policy is None
        assert "520100" in d.reasons_zh[0] and "no entry policy of 520100" in d.reasons_en[0]


def test_a_red_codes_deny_names_what_fails_not_a_normal_temperature() -> None:
    gz = demo_set("520000")
    at = {"region": "520000", "reasons": ("contact.close",)}
    red = decide(gz, facts(**at, colour="red", temperature=36.5))
    assert red.outcome is Outcome.DENY
    assert red.reasons_en[:-1] == ("red (close contact)",)
    assert not any("36.5" in r for r in red.reasons_zh + red.reasons_en)
    # A fever fails the policy by itself, and so does the colour: both are named.
    both = decide(gz, facts(**at, colour="red", temperature=38.5))
    assert both.reasons_en[:-1] == ("red (close contact)", "temperature at the gate 38.5 °C")
    # A green code with a fever: only the temperature.
    hot = decide(gz, facts(region="520000", temperature=38.5))
    assert hot.reasons_zh[:-1] == ("现场体温 38.5 °C",)
    assert hot.reasons_en[-1].startswith("does not meet the entry policy of 520000")


def test_a_deny_that_only_a_combination_explains_names_each_part() -> None:
    either = {  # green, or yellow with a test in the last day (CertLogic has no "or")
        "if": [
            {"===": [{"var": "code.colour"}, "green"]},
            True,
            {
                "and": [
                    {"===": [{"var": "code.colour"}, "yellow"]},
                    {"<": [{"var": "tests.hours_since_negative"}, 24]},
                ]
            },
        ]
    }
    ps = PolicySet("330000", 1, (policy(either),))
    d = decide(ps, facts(colour="yellow", hours_since_negative=30))
    assert d.outcome is Outcome.DENY
    assert d.reasons_en[:-1] == ("yellow", "the last negative test was sampled 30 hours ago")
    # A gate closed to everyone: nothing about the holder is a reason.
    closed = decide(PolicySet("330000", 1, (policy(False),)), facts(colour="red"))
    assert closed.outcome is Outcome.DENY and len(closed.reasons_en) == 1


def test_guizhou_without_a_thermometer_asks_for_the_temperature() -> None:
    gz = demo_set("520000")
    at = {"region": "520000"}
    assert decide(gz, facts(**at, temperature=36.6)).outcome is Outcome.PASS
    assert decide(gz, facts(**at, temperature=37.3)).outcome is Outcome.DENY
    d = decide(gz, facts(**at, temperature=None))
    assert d.outcome is Outcome.CHECK
    assert d.missing == ("temperature",)
    assert "现场体温" in d.reasons_zh[0]
    # Unknown temperature cannot save a red code: that is a DENY, not a CHECK.
    assert decide(gz, facts(**at, colour="red", temperature=None)).outcome is Outcome.DENY


def test_zhejiang_transport_needs_a_negative_test_within_72_hours() -> None:
    zj = demo_set("330000")
    station = {"region": "330000", "place_kind": "transport"}
    assert decide(zj, facts(**station, hours_since_negative=20)).outcome is Outcome.PASS
    assert decide(zj, facts(**station, hours_since_negative=71)).outcome is Outcome.PASS
    assert decide(zj, facts(**station, hours_since_negative=72)).outcome is Outcome.DENY
    assert decide(zj, facts(**station, hours_since_negative=None)).outcome is Outcome.DENY
    unknown = decide(zj, facts(**station, tests_known=False))
    assert unknown.outcome is Outcome.CHECK and unknown.missing == ("tests",)
    # Any other place in Zhejiang: green is enough.
    assert decide(zj, facts(region="330000", place_kind="school")).outcome is Outcome.PASS


def test_an_offline_printed_card_is_a_check_unless_the_rule_fails_anyway() -> None:
    claims = new_claims(
        issuer="330000",
        sid="ab" * 16,
        colour=Colour.GREEN,
        colour_since=NOW - timedelta(days=9),
        reasons=(),
        hours_since_negative_test=5,
        masked_name="张*",
        masked_id="33**************12",
        kind=CodeKind.PRINTED,
        now=NOW - timedelta(days=3),
    )
    f = facts_from_claims(claims, now=NOW, region="520000", temperature=36.4)
    assert f.colour is None and f.signed_colour == "green" and not f.tests_known
    gz = demo_set("520000")
    d = decide(gz, f)
    assert d.outcome is Outcome.CHECK and d.missing == ("colour",)
    hot = facts_from_claims(claims, now=NOW, region="520000", temperature=38.5)
    assert decide(gz, hot).outcome is Outcome.DENY


def test_a_dynamic_codes_test_hours_grow_with_the_time_since_issue() -> None:
    claims = new_claims(
        issuer="330000",
        sid="ab" * 16,
        colour=Colour.GREEN,
        colour_since=NOW,
        reasons=(),
        hours_since_negative_test=70,
        masked_name="张*",
        masked_id="33**************12",
        kind=CodeKind.DYNAMIC,
        now=NOW,
    )
    later = facts_from_claims(claims, now=NOW + timedelta(hours=2, minutes=5), region="330000")
    assert later.hours_since_negative == 72 and later.colour == "green"


def test_an_evaluation_error_is_a_check_never_a_pass() -> None:
    # Integer comparison on a string: a rule the hub would sign, but that errors on this input.
    rule = {"<": [{"var": "code.issuer"}, 5]}
    d = decide(PolicySet("330000", 1, (policy(rule),)), facts())
    assert d.outcome is Outcome.CHECK
    assert "/</0" in d.reasons_en[0]


def test_a_policy_that_does_not_compile_is_a_check() -> None:
    broken = policy({"nope": [1]})
    assert broken.compiled is None and broken.error
    d = decide(PolicySet("330000", 1, (broken,)), facts())
    assert d.outcome is Outcome.CHECK


def test_stays_from_online_reasons_know_how_long_ago() -> None:
    answer = {
        "colour": "yellow",
        "status": "online",
        "kind": "dynamic",
        "issuer": "330000",
        "reasons": [
            {
                "code": "stay.medium-risk",
                "since": (NOW - timedelta(days=3, hours=2)).isoformat(),
                "detail": {"area": "330106002"},
            },
            {"code": "contact.secondary", "since": NOW.isoformat()},
        ],
        "hours_since_negative_test": None,
    }
    f = facts_from_answer(answer, now=NOW, region="330000")
    assert f.stays == (StayFact(level="medium", days_ago=3, area="330106002", source="online"),)
    assert f.reasons == ("stay.medium-risk", "contact.secondary")
    assert f.tests_known and f.hours_since_negative is None
    no_medium = {
        "!": [
            {
                "reduce": [
                    {"var": "stays"},
                    {
                        "if": [
                            {"var": "accumulator"},
                            True,
                            {
                                "and": [
                                    {"===": [{"var": "current.level"}, "medium"]},
                                    {"<=": [{"var": "current.days_ago"}, 14]},
                                ]
                            },
                        ]
                    },
                    False,
                ]
            }
        ]
    }
    assert decide(PolicySet("330000", 1, (policy(no_medium),)), f).outcome is Outcome.DENY
    # The same reason known only as a code: when it was is unknown, so a person checks.
    coded = facts(reasons=("stay.medium-risk",), stays=(StayFact("medium"),))
    d = decide(PolicySet("330000", 1, (policy(no_medium),)), coded)
    assert d.outcome is Outcome.CHECK and d.missing == ("stays",)


def test_the_data_context_is_json_and_has_the_documented_shape() -> None:
    data = facts(hours_since_negative=5, area_level="medium").data()
    orjson.dumps(data)
    assert set(data) == {
        "code", "status", "tests", "stays", "scan", "certificate", "external", "payload"
    }  # fmt: skip
    assert data["certificate"]["kind"] == "ymt1"
    assert data["payload"] is None  # a DCC's hcert, for the EU's business rules
    assert data["scan"]["temperature_decidegrees"] == 365
    assert data["tests"] == {
        "has_negative": True,
        "hours_since_negative": 5,
        "negative_sampled_at": "2026-11-19T21:00:00+00:00",
    }
    assert data["external"]["now"] == "2026-11-20T02:00:00+00:00"
    assert data["external"]["area_level"] == "medium"
    assert data["external"]["validationClock"] == data["external"]["now"]
    assert "vaccines-covid-19-names" in data["external"]["valueSets"]


# ------------------------------------------------------------------------------- checking rules
def test_fact_paths_catch_typos_but_not_known_facts() -> None:
    assert fact_path_issues(GREEN) == []
    assert fact_path_issues({"===": [{"var": "code.color"}, "green"]}) == [
        ("/===/0/var", "no fact 'code.color' (see docs/policies.md)")
    ]
    assert fact_path_issues({"var": "stays.0.level"}) == []
    assert fact_path_issues({"var": "code.reasons.0"}) == []
    assert fact_path_issues({"var": ""}) == []
    lam = {"reduce": [{"var": "stays"}, {"var": "current.levle"}, False]}
    assert fact_path_issues(lam) == [
        ("/reduce/1/var", "no fact 'current.levle' (see docs/policies.md)")
    ]
    ok = {"reduce": [{"var": "stays"}, {"var": "current.level"}, {"var": "external.now"}]}
    assert fact_path_issues(ok) == []


def test_check_rule_names_the_json_pointer() -> None:
    with pytest.raises(InvalidInput) as bad:
        check_rule({"and": [GREEN, {"frobnicate": [1]}]})
    assert bad.value.field == "/rule/and/1"
    with pytest.raises(InvalidInput) as typo:
        check_rule({"and": [GREEN, {"var": "scan.temp"}]})
    assert typo.value.field == "/rule/and/1/var"
    for entry in demo_policies():
        check_rule(entry["rule"])  # the demo's own policies are valid


def test_a_pop_up_reason_is_a_check_that_sends_to_a_person_whatever_the_policy() -> None:
    """A yellow for a pop-up (弹窗) under a policy that would PASS yellow, or online: CHECK,
    naming why the status cannot be established (never a silent PASS)."""
    anything = PolicySet("330000", 1, (policy({"===": [1, 1]}),))
    d = decide(anything, facts(colour="yellow", online_reasons=("popup.identity-mismatch",)))
    assert d.outcome is Outcome.CHECK
    assert d.reasons_en == (
        "pop-up: the police found the name does not match the document; "
        "send the person to a member of staff",
    )
    assert d.reasons_zh[0].startswith("弹窗：公安核验姓名与证件不一致")
    offline = facts(colour="yellow", online=False, source="claims", reasons=("popup.no-data",))
    assert "region with no data" in decide(anything, offline).reasons_en[0]
    assert decide(anything, facts(colour="yellow")).outcome is Outcome.PASS
