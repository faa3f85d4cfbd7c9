"""The EU gateway's business rules as one region's entry policy (verifier/eu_rules.py): each
rule checked alone, versions chosen by the validation clock, the logic run unchanged over the
DCC's payload and the external parameters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from yimatong.demo.international import DemoDsc, cwt
from yimatong.rules.certlogic import compile as compile_rule
from yimatong.verifier.eu_rules import eu_rules_policy, parse_eu_rules
from yimatong.verifier.international import verify_dcc
from yimatong.verifier.policy import Facts

RULES = Path(__file__).resolve().parent.parent / "vectors" / "eu-rules" / "EU-rules.json"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _rule(ident: str, logic: Any, **changes: Any) -> dict[str, Any]:
    return {
        "Identifier": ident,
        "Type": "Acceptance",
        "Country": "XA",
        "Version": "1.0.0",
        "Engine": "CERTLOGIC",
        "CertificateType": "Vaccination",
        "Description": [{"lang": "en", "desc": "a rule"}],
        "ValidFrom": "2021-06-01T00:00:00Z",
        "ValidTo": "2030-06-01T00:00:00Z",
        "AffectedFields": ["v.0.dn"],
        "Logic": logic,
        **changes,
    }


def _decide(rules: list[dict[str, Any]], claims: Any, *, now: datetime = NOW) -> Any:
    kept, refused = parse_eu_rules(rules)
    assert refused == []
    dsc = DemoDsc.new(now)
    result = verify_dcc(dsc.hc1(claims), certificates=[dsc.der], now=now)
    assert result.valid and result.facts is not None, result.reason
    facts = Facts(now=now, region="310000", certificate=result.facts)
    return compile_rule(eu_rules_policy(kept))(facts.data())


def test_a_bad_rule_is_refused_in_one_line_and_the_others_kept() -> None:
    good = _rule("VR-XA-0001", True)
    rules, refused = parse_eu_rules(
        [
            good,
            _rule("VR-XA-0002", True, Engine="JSONLOGIC"),
            _rule("VR-XA-0003", {"nonsense": [1]}),
            _rule("VR-XA-0004", {"var": "payload.nam.fn"}),  # the name is never policy data
            _rule("nope", True),
            _rule("VR-XA-0005", True, ValidTo="2030-06-01"),
        ]
    )
    assert [r.identifier for r in rules] == ["VR-XA-0001"]
    assert [line.split(":")[0] for line in refused] == [
        "rule 1 (VR-XA-0002)",
        "rule 2 (VR-XA-0003)",
        "rule 3 (VR-XA-0004)",
        "rule 4",
        "rule 5 (VR-XA-0005)",
    ]


def test_the_eu_template_rules_are_read_all_but_the_one_on_the_device_list() -> None:
    rules, refused = parse_eu_rules(json.loads(RULES.read_text()))
    assert len(rules) == 13 and len(refused) == 1 and "TR-EU-0002" in refused[0]


def test_of_the_versions_of_one_rule_the_newest_in_force_decides() -> None:
    strict = {">=": [{"var": "payload.v.0.dn"}, 3]}
    rules = [
        _rule("VR-XA-0001", True),
        _rule("VR-XA-0001", strict, Version="1.1.0", ValidFrom="2026-07-01T00:00:00Z"),
    ]
    assert _decide(rules, cwt("v", NOW)) is True  # 2 doses: the old version is in force
    later = NOW + timedelta(days=60)
    assert _decide(rules, cwt("v", later), now=later) is False


def test_a_rule_of_another_certificate_type_does_not_apply() -> None:
    assert _decide([_rule("VR-XA-0001", False)], cwt("t", NOW)) is True
    assert _decide([_rule("VR-XA-0001", False)], cwt("v", NOW)) is False


def test_external_gives_the_clock_the_value_sets_and_the_cwt_times() -> None:
    names = {"var": "external.valueSets.vaccines-covid-19-names"}
    logic = {
        "and": [
            {"in": [{"var": "payload.v.0.mp"}, names]},
            {"after": [
                {"plusTime": [{"var": "external.validationClock"}, 0, "day"]},
                {"plusTime": [{"var": "external.iat"}, 0, "day"]},
            ]},
            {"===": [{"var": "external.countryCode"}, "CN"]},
        ]
    }  # fmt: skip
    assert _decide([_rule("VR-XA-0001", logic)], cwt("v", NOW)) is True
