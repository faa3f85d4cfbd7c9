"""Rule sets are data: the default one, and validation that names the place."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from importlib import resources
from typing import Any

import pytest

from yimatong.domain import assessment
from yimatong.domain.assessment import (
    CONDITION_KINDS,
    DEFAULT_RULESET_ID,
    DEFAULT_RULESET_VERSION,
    InvalidRuleSet,
    Recovery,
    RuleSet,
    load_builtin_ruleset,
    load_default_ruleset,
)
from yimatong.domain.errors import InvalidInput
from yimatong.domain.facts import Colour

REASON_CODES = {
    "case.confirmed",
    "case.asymptomatic",
    "case.suspected",
    "quarantine.active",
    "contact.close",
    "contact.secondary",
    "test.positive",
    "stay.high-risk",
    "stay.medium-risk",
    "symptom.fever",
    "temperature.high",
    "declaration.contact",
    "shared.red",
    "shared.yellow",
    "popup.identity-mismatch",
    "popup.no-data",
}


def default_data() -> dict[str, Any]:
    return copy.deepcopy(load_default_ruleset().to_mapping())


def test_the_exported_names_are_the_public_api() -> None:
    for name in assessment.__all__:
        assert hasattr(assessment, name), name
    assert "assess_at" in assessment.__all__


def test_the_default_rule_set() -> None:
    rs = load_default_ruleset()
    assert (rs.id, rs.version) == (DEFAULT_RULESET_ID, DEFAULT_RULESET_VERSION)
    assert {r.reason for r in rs.rules} == REASON_CODES
    assert rs.recovery[Colour.RED] == Recovery(14, 1)
    assert rs.recovery[Colour.YELLOW] == Recovery(7, 1)
    assert rs.rule("stay-medium").condition.to_mapping()["min_hours"] == 4
    assert load_default_ruleset() is rs  # read once
    assert {r.condition.kind for r in rs.rules} == set(CONDITION_KINDS)
    for rule in rs.rules:
        assert rule.description_zh and rule.description_en
    with pytest.raises(KeyError):
        rs.rule("nope")


def test_the_shipped_file_is_what_loads() -> None:
    text = (
        resources.files("yimatong.domain")
        .joinpath("data")
        .joinpath(f"ruleset-default-{DEFAULT_RULESET_VERSION}.json")
        .read_text(encoding="utf-8")
    )
    assert RuleSet.from_mapping(json.loads(text)) == load_default_ruleset()


def test_the_published_2026_1_still_loads_and_counts_only_own_stays() -> None:
    """2026.1 (before the departments' feeds) names no sources: its stay rules count the
    person's own stays and scans; 2026.2 adds the departments' and the pop-up rules."""
    old = load_builtin_ruleset("default", "2026.1")
    assert "sources" not in old.rule("stay-high").condition.to_mapping()
    new = load_default_ruleset()
    assert new.rule("stay-high").condition.to_mapping()["sources"] == [
        "self", "scan", "rail", "aviation", "telecom"
    ]  # fmt: skip
    assert {r.id for r in new.rules} - {r.id for r in old.rules} == {
        "popup-identity", "popup-no-data"
    }  # fmt: skip


def test_round_trip_through_json() -> None:
    rs = load_default_ruleset()
    again = RuleSet.from_mapping(json.loads(json.dumps(rs.to_mapping(), ensure_ascii=False)))
    assert again == rs
    assert hash(again) == hash(rs)


def test_nothing_is_read_at_import_time() -> None:
    code = "import yimatong.domain.assessment as a; print(a._load_builtin.cache_info().currsize)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "0"


def test_unknown_builtin_rule_sets() -> None:
    with pytest.raises(LookupError):
        load_builtin_ruleset("default", "1999.1")
    with pytest.raises(ValueError, match="not a rule-set id"):
        load_builtin_ruleset("../etc", "x")


def rule_index(data: dict[str, Any], rule_id: str) -> int:
    return next(i for i, r in enumerate(data["rules"]) if r["id"] == rule_id)


def broken(change) -> InvalidRuleSet:  # type: ignore[no-untyped-def]
    data = default_data()
    change(data)
    with pytest.raises(InvalidRuleSet) as info:
        RuleSet.from_mapping(data)
    return info.value


def test_within_days_must_be_a_positive_integer_and_the_error_says_where() -> None:
    data = default_data()
    i = rule_index(data, "stay-high")
    data["rules"][i]["condition"]["within_days"] = 0
    with pytest.raises(InvalidRuleSet) as info:
        RuleSet.from_mapping(data)
    assert str(info.value) == f"rules[{i}].condition.within_days must be a positive integer"
    assert info.value.field == f"rules[{i}].condition.within_days"
    assert isinstance(info.value, InvalidInput)


@pytest.mark.parametrize(
    ("change", "place"),
    [
        (lambda d: d.pop("id"), "id is required"),
        (lambda d: d.update(id=""), "id must be a non-empty string"),
        (lambda d: d.update(version="a b"), "version must match"),
        (lambda d: d.update(rules={}), "rules must be a list"),
        (lambda d: d.update(extra=1), "extra is not a known key"),
        (lambda d: d["recovery"].update(green={"days": 1}), "recovery.green is not a known key"),
        (lambda d: d["recovery"]["red"].update(days=-1), "recovery.red.days must be an integer"),
        (lambda d: d["rules"][0].update(colour="green"), "rules[0].colour must be 'yellow' or"),
        (lambda d: d["rules"][0].update(reason="Case Confirmed"), "rules[0].reason must match"),
        (lambda d: d["rules"][0].update(reason="a" * 65), "rules[0].reason must be at most 64"),
        (lambda d: d["rules"][1].update(id=d["rules"][0]["id"]), "rules[1].id repeats rule id"),
        (lambda d: d["rules"][0].pop("description"), "rules[0].description is required"),
        (lambda d: d["rules"][0]["description"].pop("en"), "rules[0].description.en is required"),
        (lambda d: d["rules"][0]["condition"].update(kind="moon"), "rules[0].condition.kind must"),
        (lambda d: d["rules"][0].update(condition=[]), "rules[0].condition must be an object"),
        (
            lambda d: d["rules"][0]["condition"].update(statuses=["cured"]),
            "rules[0].condition.statuses[0] must be one of",
        ),
        (
            lambda d: d["rules"][0]["condition"].update(statuses=["confirmed", "confirmed"]),
            "rules[0].condition.statuses[1] is listed twice",
        ),
        (
            lambda d: d["rules"][0].update(recovery={"days": 1, "negative_tests": 0}),
            "rules[0].recovery does not apply to case_status",
        ),
    ],
)
def test_errors_name_the_place(change, place: str) -> None:  # type: ignore[no-untyped-def]
    assert str(broken(change)).startswith(place)


def cond(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    result: dict[str, Any] = data["rules"][rule_index(data, rule_id)]["condition"]
    return result


@pytest.mark.parametrize(
    ("rule_id", "key", "value", "problem"),
    [
        ("stay-high", "within_days", True, "must be a positive integer"),
        ("stay-high", "within_days", 1.5, "must be a positive integer"),
        ("stay-high", "min_hours", -1, "must be a number between 0 and"),
        ("stay-high", "min_hours", float("nan"), "must be a number between 0 and"),
        ("stay-high", "min_visits", 0, "must be a positive integer"),
        ("stay-high", "levels", [], "must be a non-empty list"),
        ("stay-high", "levels", ["severe"], "must be one of"),
        ("stay-high", "levels", ["low"], "must be one of medium, high"),
        ("stay-high", "within_day", 3, "is not a known key"),
        ("contact-close", "kinds", ["close", "distant"], "must be one of close, secondary"),
        ("symptom-fever", "any_of", ["fever", " FEVER"], "lists a symptom twice"),
        ("symptom-fever", "any_of", [""], "must be a non-empty string"),
        ("temperature-high", "celsius", 50, "must be a number between 30 and 45"),
    ],
)
def test_condition_errors(rule_id: str, key: str, value: object, problem: str) -> None:
    def change(d: dict[str, Any]) -> None:
        cond(d, rule_id)[key] = value

    error = broken(change)
    assert problem in str(error)
    assert error.field is not None and error.field.startswith("rules[")


def test_a_window_shorter_than_its_recovery_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        cond(d, "stay-high")["within_days"] = 14  # = the red recovery days, with a test

    error = broken(change)
    assert "must be longer than the recovery's 14 days" in str(error)


def test_a_window_equal_to_the_recovery_is_fine_without_tests() -> None:
    data = default_data()
    i = rule_index(data, "stay-high")
    data["rules"][i]["condition"]["within_days"] = 14
    data["rules"][i]["recovery"] = {"days": 14, "negative_tests": 0}
    assert RuleSet.from_mapping(data).rules[i].recovery == Recovery(14, 0)


def test_event_rules_need_a_recovery_from_somewhere() -> None:
    def change(d: dict[str, Any]) -> None:
        d.pop("recovery")  # to_mapping() spells each rule's recovery out; take one away
        d["rules"][rule_index(d, "contact-close")].pop("recovery")

    error = broken(change)
    assert "recovery is required (the rule set has no default for red)" in str(error)


def test_a_rule_without_recovery_takes_the_default_for_its_colour() -> None:
    rs = load_default_ruleset()
    assert rs.rule("contact-close").recovery == Recovery(14, 1)
    assert rs.rule("test-positive").recovery == Recovery(14, 2)
    assert rs.rule("quarantine").recovery is None


def test_a_rule_set_may_be_tiny() -> None:
    rs = RuleSet.from_mapping({"id": "empty", "version": "1", "rules": []})
    assert rs.rules == ()
    assert rs.to_mapping() == {"id": "empty", "version": "1", "rules": []}


def test_recovery_values_are_checked_in_code_too() -> None:
    with pytest.raises(ValueError, match="days"):
        Recovery(-1, 0)
    with pytest.raises(ValueError, match="negative_tests"):
        Recovery(1, True)
