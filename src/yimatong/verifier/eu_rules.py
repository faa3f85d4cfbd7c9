"""The EU gateway's business rules as one region's entry policy (pure: no I/O, no clock).

The EU's rules are CertLogic over ``payload`` (the DCC's hcert) and ``external``
(``validationClock``, ``valueSets``, ``countryCode``, ``exp``, ``iat``); our policy data has
both (``verifier/policy.Facts.data``: ``payload`` for a DCC, without its name and date of
birth), so a rule's ``Logic`` is evaluated unchanged. What this module adds is what the EU's
verifier apps do around the logic, written as CertLogic too:

* a rule applies to certificates of its ``CertificateType`` (``General``: every DCC;
  ``Vaccination``/``Test``/``Recovery``: a DCC with a ``v``/``t``/``r`` entry);
* of the versions of one ``Identifier``, the highest whose ``ValidFrom`` <= the clock <
  ``ValidTo`` applies; none in force, the rule does not apply;
* every applicable rule must give ``true`` (``and``);
* a certificate that is no DCC (YMT1, SHC) gets ``otherwise`` (default ``false``: these rules
  admit DCCs only; an authority that admits other codes too writes its own policy).

A rule file is the gateway's ``/rules/{country}`` content: a list of rules (or one rule, or
``{"rules": [...]}``) of ``{"Identifier", "Type", "Country", "Version", "SchemaVersion",
"Engine", "EngineVersion", "CertificateType", "Description", "ValidFrom", "ValidTo",
"AffectedFields", "Logic"}``. Each rule is checked alone and a bad one is refused in one line
(the others are kept): a malformed field, an engine other than CertLogic, a ``Logic`` that is
not valid CertLogic, or one that reads what a checkpoint does not have — a value set the hub
does not hold (the test device list, the country codes), the holder's name or date of birth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yimatong.rules.certlogic import validate
from yimatong.verifier.policy import fact_path_issues

__all__ = ["EuRule", "describe", "eu_rules_policy", "parse_eu_rules"]

_IDENTIFIER = re.compile(r"(GR|VR|TR|RR|IR)-[A-Z0-9]{1,4}-[0-9]{4}", re.ASCII)
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)", re.ASCII)
_TYPES = {"General": None, "Vaccination": "v", "Test": "t", "Recovery": "r"}
_CLOCK = {"plusTime": [{"var": "external.validationClock"}, 0, "day"]}


@dataclass(frozen=True, slots=True)
class EuRule:
    identifier: str
    version: tuple[int, int, int]
    country: str
    certificate_type: str
    valid_from: str
    valid_to: str
    logic: Any
    description: str

    @property
    def label(self) -> str:
        return f"{self.identifier} {'.'.join(map(str, self.version))}"


def _time(value: object) -> str | None:
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if parsed.tzinfo is not None else None


def _description(value: object) -> str:
    items = value if isinstance(value, list) else []
    texts = {
        d.get("lang"): d.get("desc")
        for d in items
        if isinstance(d, Mapping) and type(d.get("desc")) is str
    }
    text = texts.get("en") or next(iter(texts.values()), "")
    return str(text)


def _rule(item: object, where: str) -> EuRule | str:
    if not isinstance(item, Mapping):
        return f"{where} is not an object"
    ident = item.get("Identifier")
    if type(ident) is not str or not _IDENTIFIER.fullmatch(ident):
        return f"{where}: Identifier is not of the form GR-EU-0000"
    where = f"{where} ({ident})"
    version = _VERSION.fullmatch(str(item.get("Version", "")))
    if version is None:
        return f"{where}: Version is not x.y.z"
    if item.get("Engine", "CERTLOGIC") != "CERTLOGIC":
        return f"{where}: Engine is not CERTLOGIC"
    if item.get("Type") not in ("Acceptance", "Invalidation"):
        return f"{where}: Type is neither Acceptance nor Invalidation"
    kind = item.get("CertificateType")
    if kind not in _TYPES:
        return f"{where}: CertificateType is not General, Vaccination, Test or Recovery"
    country = item.get("Country")
    if type(country) is not str or not re.fullmatch(r"[A-Z]{2}", country):
        return f"{where}: Country is not two capital letters"
    valid_from, valid_to = _time(item.get("ValidFrom")), _time(item.get("ValidTo"))
    if valid_from is None or valid_to is None:
        return f"{where}: ValidFrom and ValidTo must be times with an offset"
    logic = item.get("Logic")
    issues = validate(logic)
    if issues:
        return f"{where}: Logic is not valid CertLogic ({issues[0].message} at {issues[0].path})"
    unread = fact_path_issues(logic)
    if unread:
        pointer, message = unread[0]
        return f"{where}: Logic reads what a checkpoint does not have: {message} at {pointer}"
    return EuRule(
        identifier=ident,
        version=(int(version[1]), int(version[2]), int(version[3])),
        country=country,
        certificate_type=str(kind),
        valid_from=valid_from,
        valid_to=valid_to,
        logic=logic,
        description=_description(item.get("Description"))[:300],
    )


def parse_eu_rules(document: Any) -> tuple[list[EuRule], list[str]]:
    """The rules of a gateway rule list, and one line per refused rule."""
    if isinstance(document, Mapping) and isinstance(document.get("rules"), list):
        items = document["rules"]
    elif isinstance(document, Mapping):
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        return [], ['the file is neither a rule, a list of rules nor {"rules": [...]}']
    rules: dict[tuple[str, tuple[int, int, int]], EuRule] = {}
    refused: list[str] = []
    for i, item in enumerate(items):
        found = _rule(item, f"rule {i}")
        if isinstance(found, str):
            refused.append(found)
        else:
            rules[(found.identifier, found.version)] = found
    return [rules[k] for k in sorted(rules)], refused


def _in_force(rule: EuRule) -> dict[str, Any]:
    return {
        "and": [
            {"not-before": [_CLOCK, {"plusTime": [rule.valid_from, 0, "day"]}]},
            {"before": [_CLOCK, {"plusTime": [rule.valid_to, 0, "day"]}]},
        ]
    }


def _versions(versions: list[EuRule]) -> Any:
    """The logic of the highest version in force, else true (newest tried first)."""
    expression: Any = True
    for rule in sorted(versions, key=lambda r: r.version):
        expression = {"if": [_in_force(rule), rule.logic, expression]}
    return expression


def _and(operands: list[Any]) -> Any:
    if not operands:
        return True
    return operands[0] if len(operands) == 1 else {"and": operands}


def eu_rules_policy(rules: list[EuRule], *, otherwise: bool = False) -> dict[str, Any]:
    """One CertLogic policy that decides as the EU's verifiers decide on ``rules``."""
    by_id: dict[str, list[EuRule]] = {}
    for rule in rules:
        by_id.setdefault(rule.identifier, []).append(rule)
    checks: list[Any] = []
    for ident in sorted(by_id):
        versions = by_id[ident]
        group = _TYPES[versions[-1].certificate_type]
        logic = _versions(versions)
        checks.append(
            logic if group is None else {"if": [{"var": f"payload.{group}.0"}, logic, True]}
        )
    return {
        "if": [
            {"===": [{"var": "certificate.kind"}, "dcc"]},
            _and(checks),
            otherwise,
        ]
    }


def describe(rules: list[EuRule]) -> str:
    """A policy description: which rules, in a line (at most 500 characters)."""
    names = ", ".join(r.label for r in rules)
    text = f"EU business rules ({len(rules)}): {names}"
    return text if len(text) <= 500 else text[:497] + "..."
