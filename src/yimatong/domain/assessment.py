"""Colour assignment (赋码): published, versioned rules over the facts (DESIGN §4).

A rule set is data (``domain/data/ruleset-*.json``, described in ``docs/rules.md``): each rule
pairs one *condition* from a fixed vocabulary with the colour it gives, a stable reason code
and a *recovery* (what turns it green again). :func:`assess_at` applies a rule set to one
subject's facts and a :class:`~yimatong.domain.facts.RiskMap` at a given moment.

How time works, in one place:

* Everything is evaluated *as of* ``now``: facts dated after ``now`` (a stay not yet begun, a
  result not yet reported) are ignored, so re-assessing the past gives the answer of the past.
* Each match has an *event time* (the reason's ``since``): the end of the qualifying part of a
  stay (or ``now`` if the person is still there), the last exposure of a contact, the sample
  time of a positive test, the declaration time of a declaration, the start of a case status
  or of a quarantine order.
* Event conditions look back ``within_days``: an event counts while ``now`` is less than
  ``within_days`` × 24 h after it. Within that window its reason is *resolved* - and no longer
  counts - once ``recovery.days`` × 24 h have passed since the event **and**
  ``recovery.negative_tests`` negative tests were sampled after it. So a rule reads "red until
  14 days after leaving and one negative test; in any case no longer than 28 days".
* State conditions (``case_status``, ``quarantine_active``) hold while the state holds: until the
  authority records a new case status, until the quarantine order ends. They take no recovery.
* Each rule gives at most one reason, for its *binding* match (the one that would clear last).
  The colour is the worst colour among the reasons; no reason means green.

Pure: standard library only, no clock, no I/O at import time (the default rule set is read on
first use and kept).
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol, TypeAlias

from yimatong.domain.errors import InvalidInput
from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    Colour,
    ContactKind,
    Declaration,
    RiskLevel,
    RiskMap,
    SharedSummary,
    StaySource,
    SubjectFacts,
    TestOutcome,
    require_aware,
)

__all__ = [
    "CONDITION_KINDS",
    "DEFAULT_RULESET_ID",
    "DEFAULT_RULESET_VERSION",
    "Assessment",
    "CaseStatusCondition",
    "Condition",
    "ContactCondition",
    "DeclaredContactCondition",
    "IdentityMismatchCondition",
    "InvalidRuleSet",
    "PositiveTestCondition",
    "QuarantineCondition",
    "Reason",
    "Recovery",
    "Rule",
    "RuleSet",
    "RuleSetRef",
    "Scalar",
    "SharedColourCondition",
    "StayCondition",
    "StayWithoutDataCondition",
    "SymptomsCondition",
    "TemperatureCondition",
    "TurnGreen",
    "assess_at",
    "load_builtin_ruleset",
    "load_default_ruleset",
]

DEFAULT_RULESET_ID: Final = "default"
DEFAULT_RULESET_VERSION: Final = "2026.2"

#: A detail value: small and JSON-able.
Scalar: TypeAlias = str | int | float | bool | None

# The same shape the token accepts for reason codes (domain/token.py), so every code a rule
# set can produce fits in a code's payload.
_REASON_CODE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_MAX_REASON_CODE = 64
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CST = timezone(timedelta(hours=8), "CST")  # Beijing time, for the sentences only
_HOUR = 3600.0


class InvalidRuleSet(InvalidInput):
    """A rule set that fails validation; ``field`` is the place, e.g. ``rules[3].colour``."""

    slug = "invalid-ruleset"


# --------------------------------------------------------------------------------------------
# Reading rule-set data with errors that name the place


class _Place:
    """A position in the rule-set data, for error messages like ``rules[3].condition.levels``."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def key(self, name: str) -> _Place:
        return _Place(f"{self.path}.{name}" if self.path else name)

    def index(self, i: int) -> _Place:
        return _Place(f"{self.path}[{i}]")

    def fail(self, problem: str) -> InvalidRuleSet:
        where = self.path or "rule set"
        return InvalidRuleSet(f"{where} {problem}", field=self.path or None)


def _mapping(value: object, at: _Place, allowed: Iterable[str]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise at.fail("must be an object")
    allowed = set(allowed)
    for k in value:
        if not isinstance(k, str) or k not in allowed:
            raise at.key(str(k)).fail(f"is not a known key (expected one of {sorted(allowed)})")
    return value


def _required(data: Mapping[str, object], name: str, at: _Place) -> object:
    if name not in data:
        raise at.key(name).fail("is required")
    return data[name]


def _int(value: object, at: _Place, *, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise at.fail(f"must be {kind}")
    return value


def _number(value: object, at: _Place, *, low: float, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise at.fail(f"must be a number between {low:g} and {high:g}")
    return float(value)


def _text(value: object, at: _Place, *, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.fail("must be a non-empty string")
    if pattern is not None and not pattern.fullmatch(value):
        raise at.fail(f"must match {pattern.pattern}")
    return value


def _enum_list(value: object, at: _Place, parse: Callable[[str], Any], names: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise at.fail(f"must be a non-empty list of {names}")
    out: list[Any] = []
    for i, item in enumerate(value):
        try:
            parsed = parse(item) if isinstance(item, str) else None
        except (ValueError, KeyError):
            parsed = None
        if parsed is None:
            raise at.index(i).fail(f"must be one of {names}")
        if parsed in out:
            raise at.index(i).fail("is listed twice")
        out.append(parsed)
    return out


def _bilingual(value: object, at: _Place) -> tuple[str, str]:
    data = _mapping(value, at, ("zh", "en"))
    return (
        _text(_required(data, "zh", at), at.key("zh")),
        _text(_required(data, "en", at), at.key("en")),
    )


# --------------------------------------------------------------------------------------------
# Recovery and conditions


@dataclass(frozen=True, slots=True)
class Recovery:
    """What clears an event's reason: ``days`` since the event and negative tests after it."""

    days: int
    negative_tests: int

    def __post_init__(self) -> None:
        if type(self.days) is not int or self.days < 0:
            raise ValueError("days must be an integer >= 0")
        if type(self.negative_tests) is not int or self.negative_tests < 0:
            raise ValueError("negative_tests must be an integer >= 0")

    @classmethod
    def _read(cls, value: object, at: _Place) -> Recovery:
        data = _mapping(value, at, ("days", "negative_tests"))
        return cls(
            days=_int(_required(data, "days", at), at.key("days"), minimum=0),
            negative_tests=_int(
                _required(data, "negative_tests", at), at.key("negative_tests"), minimum=0
            ),
        )

    def to_mapping(self) -> dict[str, int]:
        return {"days": self.days, "negative_tests": self.negative_tests}


@dataclass(slots=True)
class _Match:
    """One thing a condition found: its event time, what to show, and for states their end."""

    since: datetime
    detail: dict[str, Scalar]
    until: datetime | None = None  # states only: when the state ends (None: not known)
    #: states only: what ends it, when it is not the authority recording recovery (zh, en)
    clears: tuple[str, str] | None = None


class Condition(Protocol):
    """One predicate of the fixed vocabulary (see ``CONDITION_KINDS`` and docs/rules.md)."""

    kind: ClassVar[str]
    #: True for conditions on a state that lasts (case status, quarantine order): no recovery.
    state: ClassVar[bool]

    def to_mapping(self) -> dict[str, Any]: ...

    def find(self, ctx: _Context) -> _Match | None: ...


class _EventCondition:
    """Shared by the conditions on events: a ``within_days`` look-back window."""

    __slots__ = ()
    state: ClassVar[bool] = False
    within_days: int

    def horizon(self, ctx: _Context) -> datetime:
        return ctx.now - timedelta(days=self.within_days)


def _window_days(condition: Condition) -> int:
    assert isinstance(condition, _EventCondition)
    return condition.within_days


def _within_days(data: Mapping[str, object], at: _Place) -> int:
    return _int(_required(data, "within_days", at), at.key("within_days"), minimum=1)


@dataclass(frozen=True, slots=True)
class CaseStatusCondition:
    """The subject's current case status (the latest the authority recorded) is one of these."""

    kind: ClassVar[str] = "case_status"
    state: ClassVar[bool] = True
    statuses: frozenset[CaseStatus]

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> CaseStatusCondition:
        data = _mapping(data, at, ("kind", "statuses"))
        statuses = _enum_list(
            _required(data, "statuses", at),
            at.key("statuses"),
            CaseStatus,
            "confirmed, suspected, asymptomatic, recovered",
        )
        return cls(frozenset(statuses))

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind, "statuses": _sorted_values(self.statuses)}

    def find(self, ctx: _Context) -> _Match | None:
        case = ctx.current_case
        if case is None or case.status not in self.statuses:
            return None
        return _Match(case.since, {"status": case.status.value})


@dataclass(frozen=True, slots=True)
class QuarantineCondition:
    """A quarantine order is in force (``start <= now < end``)."""

    kind: ClassVar[str] = "quarantine_active"
    state: ClassVar[bool] = True

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> QuarantineCondition:
        _mapping(data, at, ("kind",))
        return cls()

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind}

    def find(self, ctx: _Context) -> _Match | None:
        now = ctx.now
        orders = [q for q in ctx.facts.quarantines if q.start <= now < q.end]
        if not orders:
            return None
        order = max(orders, key=lambda q: (q.end, q.start, q.kind))
        return _Match(order.start, {"kind": order.kind, "until": order.end.isoformat()}, order.end)


@dataclass(frozen=True, slots=True)
class ContactCondition(_EventCondition):
    """The authority recorded the subject as a contact of these kinds, last exposed recently."""

    kind: ClassVar[str] = "contact"
    kinds: frozenset[ContactKind]
    within_days: int

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> ContactCondition:
        data = _mapping(data, at, ("kind", "kinds", "within_days"))
        kinds = _enum_list(
            _required(data, "kinds", at), at.key("kinds"), ContactKind, "close, secondary"
        )
        return cls(frozenset(kinds), _within_days(data, at))

    def to_mapping(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kinds": _sorted_values(self.kinds),
            "within_days": self.within_days,
        }

    def find(self, ctx: _Context) -> _Match | None:
        now, horizon = ctx.now, self.horizon(ctx)
        found = [
            c
            for c in ctx.facts.contacts
            if c.kind in self.kinds and horizon < c.last_exposure <= now
        ]
        if not found:
            return None
        last = max(found, key=lambda c: (c.last_exposure, c.kind is ContactKind.CLOSE))
        return _Match(last.last_exposure, {"kind": last.kind.value})


# a stay rule is about areas at some risk; "low" is what every unlisted place is
_AT_RISK = {"medium": RiskLevel.MEDIUM, "high": RiskLevel.HIGH}

#: The stay records a stay condition counts unless its rule set lists others.
_OWN_SOURCES: Final = frozenset({StaySource.SELF, StaySource.SCAN})
_DEPARTMENT_SOURCES: Final = frozenset({StaySource.RAIL, StaySource.AVIATION, StaySource.TELECOM})


def _sources(data: Mapping[str, object], at: _Place) -> frozenset[StaySource]:
    if "sources" not in data:
        return _OWN_SOURCES
    found = _enum_list(
        data["sources"], at.key("sources"), StaySource, "self, scan, rail, aviation, telecom"
    )
    return frozenset(found)


def _source_values(sources: Iterable[StaySource]) -> list[str]:
    order = list(StaySource)
    return [s.value for s in sorted(set(sources), key=order.index)]


@dataclass(frozen=True, slots=True)
class StayCondition(_EventCondition):
    """A stay in an area while the area's level (at that moment) was one of ``levels``.

    Per area code as stayed in: the qualifying parts of the stays whose end lies in the
    window are pooled; ``min_hours`` applies to their total time (overlapping records, say a
    scan inside a declared stay, count once) and ``min_visits`` to the largest number of
    separate (non-overlapping) qualifying stays.

    ``sources`` are the kinds of stay records it counts: by default the person's own
    (``self``: itineraries, declarations) and checkpoint scans (``scan``). A department's
    records (``rail``, ``aviation``, ``telecom``) count only where the rule set lists them,
    and a reason that pooled any of them names its sources (``detail["sources"]``).
    """

    kind: ClassVar[str] = "stay_in_risk_area"
    levels: frozenset[RiskLevel]
    within_days: int
    min_hours: float = 0.0
    min_visits: int = 1
    sources: frozenset[StaySource] = _OWN_SOURCES

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> StayCondition:
        data = _mapping(
            data, at, ("kind", "levels", "within_days", "min_hours", "min_visits", "sources")
        )
        levels = _enum_list(
            _required(data, "levels", at), at.key("levels"), _AT_RISK.__getitem__, "medium, high"
        )
        return cls(
            frozenset(levels),
            _within_days(data, at),
            _number(data.get("min_hours", 0), at.key("min_hours"), low=0, high=24 * 366),
            _int(data.get("min_visits", 1), at.key("min_visits"), minimum=1),
            _sources(data, at),
        )

    def to_mapping(self) -> dict[str, Any]:
        hours = int(self.min_hours) if self.min_hours.is_integer() else self.min_hours
        out: dict[str, Any] = {
            "kind": self.kind,
            "levels": [lv.value for lv in sorted(self.levels, key=lambda lv: lv.rank)],
            "within_days": self.within_days,
            "min_hours": hours,
            "min_visits": self.min_visits,
        }
        if self.sources != _OWN_SOURCES:
            out["sources"] = _source_values(self.sources)
        return out

    def find(self, ctx: _Context) -> _Match | None:
        horizon = self.horizon(ctx)
        ranks = {level.rank for level in self.levels}
        groups: dict[str, list[_Part]] = {}
        contributed: dict[str, set[StaySource]] = {}
        wanted = self.sources
        for area, parts, source in ctx.stay_parts():
            if source not in wanted:
                continue
            for part in parts:
                if part[2] in ranks and part[1] > horizon:
                    group = groups.get(area)
                    if group is None:
                        groups[area] = [part]
                    else:
                        group.append(part)
                    contributed.setdefault(area, set()).add(source)
        # the best area's key and parts (its pool made once, at the end)
        best: tuple[tuple[datetime, int, str], list[_Part]] | None = None
        matching = 0
        min_seconds = self.min_hours * _HOUR
        min_visits = self.min_visits
        for area, parts in groups.items():
            if len(parts) == 1:  # the common case: one stay in the area, a pool of one part
                only = parts[0]
                if min_visits > 1 or (only[1] - only[0]).total_seconds() < min_seconds:
                    continue
                key = (only[1], only[2], area)
            else:
                pool = _pool(parts)
                if pool.seconds < min_seconds or pool.visits < min_visits:
                    continue
                key = (pool.event, pool.binding[2], area)
            matching += 1
            if best is None or key > best[0]:
                best = (key, parts)
        if best is None:
            return None
        (event, _, area), best_parts = best
        pool = _pool(best_parts)
        detail: dict[str, Scalar] = {
            "area": area,
            "level": pool.binding[3].value,
            "risk_area": pool.binding[4],
            "hours": round(pool.seconds / _HOUR, 1),
            "visits": pool.visits,
            "areas": matching,
        }
        used = contributed.get(area, set())
        if used & _DEPARTMENT_SOURCES:  # the reason says whose records it used
            detail["sources"] = ",".join(_source_values(used))
        return _Match(event, detail)


@dataclass(frozen=True, slots=True)
class SymptomsCondition(_EventCondition):
    """The most recent declaration (within the window) lists one of these symptoms."""

    kind: ClassVar[str] = "symptoms"
    any_of: frozenset[str]
    within_days: int

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> SymptomsCondition:
        data = _mapping(data, at, ("kind", "any_of", "within_days"))
        raw = _required(data, "any_of", at)
        where = at.key("any_of")
        if not isinstance(raw, list) or not raw:
            raise where.fail("must be a non-empty list of symptom words")
        words = [_text(w, where.index(i)).strip().lower() for i, w in enumerate(raw)]
        if len(set(words)) != len(words):
            raise where.fail("lists a symptom twice")
        return cls(frozenset(words), _within_days(data, at))

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind, "any_of": sorted(self.any_of), "within_days": self.within_days}

    def find(self, ctx: _Context) -> _Match | None:
        latest = ctx.latest_declaration
        if latest is None or latest.declared_at <= self.horizon(ctx):
            return None
        hit = sorted(self.any_of.intersection(latest.symptoms))
        if not hit:
            return None
        return _Match(latest.declared_at, {"symptoms": ",".join(hit)})


@dataclass(frozen=True, slots=True)
class TemperatureCondition(_EventCondition):
    """The most recent declaration (within the window) gives a temperature >= ``celsius``."""

    kind: ClassVar[str] = "temperature_at_least"
    celsius: float
    within_days: int

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> TemperatureCondition:
        data = _mapping(data, at, ("kind", "celsius", "within_days"))
        celsius = _number(_required(data, "celsius", at), at.key("celsius"), low=30, high=45)
        return cls(celsius, _within_days(data, at))

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind, "celsius": self.celsius, "within_days": self.within_days}

    def find(self, ctx: _Context) -> _Match | None:
        latest = ctx.latest_declaration
        if latest is None or latest.declared_at <= self.horizon(ctx):
            return None
        if latest.temperature is None or latest.temperature < self.celsius:
            return None
        return _Match(latest.declared_at, {"temperature": latest.temperature})


@dataclass(frozen=True, slots=True)
class PositiveTestCondition(_EventCondition):
    """A positive nucleic-acid result, reported by ``now``, sampled within the window."""

    kind: ClassVar[str] = "positive_test"
    within_days: int

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> PositiveTestCondition:
        data = _mapping(data, at, ("kind", "within_days"))
        return cls(_within_days(data, at))

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind, "within_days": self.within_days}

    def find(self, ctx: _Context) -> _Match | None:
        now, horizon = ctx.now, self.horizon(ctx)
        found = [
            t
            for t in ctx.facts.tests
            if t.outcome is TestOutcome.POSITIVE and t.reported_at <= now and t.sampled_at > horizon
        ]
        if not found:
            return None
        last = max(found, key=lambda t: (t.sampled_at, t.lab))
        return _Match(last.sampled_at, {"lab": last.lab})


@dataclass(frozen=True, slots=True)
class DeclaredContactCondition(_EventCondition):
    """A declaration within the window says the subject had contact with a case.

    Unlike symptoms this is about the past, so a later declaration does not withdraw it.
    """

    kind: ClassVar[str] = "declared_contact"
    within_days: int

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> DeclaredContactCondition:
        data = _mapping(data, at, ("kind", "within_days"))
        return cls(_within_days(data, at))

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind, "within_days": self.within_days}

    def find(self, ctx: _Context) -> _Match | None:
        now, horizon = ctx.now, self.horizon(ctx)
        times = [
            d.declared_at
            for d in ctx.facts.declarations
            if d.contact_with_case and horizon < d.declared_at <= now
        ]
        return _Match(max(times), {}) if times else None


@dataclass(frozen=True, slots=True)
class SharedColourCondition:
    """Mode 1: another region's latest summary gives at least ``colour``, assessed recently.

    A state: it holds while the other region says so, and ends when that region's newer
    summary is better (no recovery of its own). Summaries that only echo ``shared.*`` reasons
    are ignored, so two regions never hold each other non-green.
    """

    kind: ClassVar[str] = "shared_colour"
    state: ClassVar[bool] = True
    colour: Colour
    max_age_hours: int

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> SharedColourCondition:
        data = _mapping(data, at, ("kind", "colour", "max_age_hours"))
        raw = _text(_required(data, "colour", at), at.key("colour"))
        if raw not in ("yellow", "red"):
            raise at.key("colour").fail("must be yellow or red")
        hours = _int(_required(data, "max_age_hours", at), at.key("max_age_hours"), minimum=1)
        return cls(Colour(raw), hours)

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind, "colour": self.colour.value, "max_age_hours": self.max_age_hours}

    def find(self, ctx: _Context) -> _Match | None:
        latest: dict[str, SharedSummary] = {}
        for summary in ctx.facts.summaries:
            if summary.assessed_at > ctx.now:
                continue
            known = latest.get(summary.region)
            if known is None or summary.assessed_at > known.assessed_at:
                latest[summary.region] = summary
        horizon = ctx.now - timedelta(hours=self.max_age_hours)
        found = [
            s
            for s in latest.values()
            if s.colour.severity >= self.colour.severity and s.assessed_at >= horizon and not s.echo
        ]
        if not found:
            return None
        worst = max(found, key=lambda s: (s.colour.severity, s.assessed_at, s.region))
        detail: dict[str, Scalar] = {"region": worst.region, "colour": worst.colour.value}
        return _Match(
            worst.assessed_at, detail, worst.assessed_at + timedelta(hours=self.max_age_hours)
        )


@dataclass(frozen=True, slots=True)
class IdentityMismatchCondition:
    """The police's latest check (by now) of the person's name against their document says
    they do not match (a department's record, docs/travel.md): a pop-up (弹窗) state that
    holds until a later check matches. Only a rule set that has this rule uses the checks."""

    kind: ClassVar[str] = "identity_mismatch"
    state: ClassVar[bool] = True

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> IdentityMismatchCondition:
        _mapping(data, at, ("kind",))
        return cls()

    def to_mapping(self) -> dict[str, Any]:
        return {"kind": self.kind}

    def find(self, ctx: _Context) -> _Match | None:
        known = [c for c in ctx.facts.identity_checks if c.checked_at <= ctx.now]
        if not known:
            return None
        # the latest check decides; at the same moment a mismatch wins (the safe side)
        latest = max(known, key=lambda c: (c.checked_at, not c.matched))
        if latest.matched:
            return None
        detail: dict[str, Scalar] = {"source": "police", "department": latest.department}
        return _Match(latest.checked_at, detail, None, _IDENTITY_CLEARS)


_IDENTITY_CLEARS = (
    "持本人身份证件到社区或公安窗口人工核验身份、核验一致后",
    "once the identity is checked in person (bring the document to a community or police "
    "office) and found to match",
)


@dataclass(frozen=True, slots=True)
class StayWithoutDataCondition(_EventCondition):
    """A stay within the window in an area no data is had for (``areas``: region codes the
    rule set names, with everything inside them): the person's status cannot be established
    from where they came from, so a pop-up (弹窗) sends them to a person. The event is the end
    of the latest such stay (now, while still there); ``sources`` as for a stay in a risk area.
    """

    kind: ClassVar[str] = "stay_without_data"
    areas: tuple[str, ...]
    within_days: int
    sources: frozenset[StaySource] = _OWN_SOURCES

    @classmethod
    def _read(cls, data: Mapping[str, object], at: _Place) -> StayWithoutDataCondition:
        data = _mapping(data, at, ("kind", "areas", "within_days", "sources"))
        raw = _required(data, "areas", at)
        if not isinstance(raw, list) or not raw:
            raise at.key("areas").fail("must be a non-empty list of region codes")
        areas = []
        for i, area in enumerate(raw):
            if not (isinstance(area, str) and len(area) in (6, 9) and area.isascii()
                    and area.isdigit()):  # fmt: skip
                raise at.key("areas").index(i).fail("must be a six- or nine-digit region code")
            areas.append(area)
        return cls(tuple(sorted(set(areas))), _within_days(data, at), _sources(data, at))

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "areas": list(self.areas),
            "within_days": self.within_days,
        }
        if self.sources != _OWN_SOURCES:
            out["sources"] = _source_values(self.sources)
        return out

    def find(self, ctx: _Context) -> _Match | None:
        horizon, now = self.horizon(ctx), ctx.now
        prefixes = [_area_prefix(a) for a in self.areas]
        best: tuple[datetime, str, StaySource] | None = None
        for stay in ctx.facts.stays:
            if stay.arrived > now or stay.source not in self.sources:
                continue
            end = stay.end(now)
            if end <= horizon or not any(stay.area.startswith(p) for p in prefixes):
                continue
            if best is None or (end, stay.area) > best[:2]:
                best = (end, stay.area, stay.source)
        if best is None:
            return None
        return _Match(best[0], {"area": best[1], "source": best[2].value})


def _area_prefix(area: str) -> str:
    """The digits every code inside ``area`` starts with (``330000`` → ``33``)."""
    if len(area) == 9:
        return area
    for zeros, keep in ((4, 2), (2, 4)):
        if area.endswith("0" * zeros):
            return area[:keep]
    return area


_CONDITIONS: dict[str, Callable[[Mapping[str, object], _Place], Condition]] = {
    SharedColourCondition.kind: SharedColourCondition._read,
    CaseStatusCondition.kind: CaseStatusCondition._read,
    QuarantineCondition.kind: QuarantineCondition._read,
    ContactCondition.kind: ContactCondition._read,
    StayCondition.kind: StayCondition._read,
    SymptomsCondition.kind: SymptomsCondition._read,
    TemperatureCondition.kind: TemperatureCondition._read,
    PositiveTestCondition.kind: PositiveTestCondition._read,
    DeclaredContactCondition.kind: DeclaredContactCondition._read,
    IdentityMismatchCondition.kind: IdentityMismatchCondition._read,
    StayWithoutDataCondition.kind: StayWithoutDataCondition._read,
}

#: The fixed vocabulary of condition kinds a rule set may use.
CONDITION_KINDS: Final = tuple(_CONDITIONS)


def _sorted_values(items: Iterable[CaseStatus | ContactKind]) -> list[str]:
    return sorted(i.value for i in items)


# --------------------------------------------------------------------------------------------
# Rules and rule sets


@dataclass(frozen=True, slots=True)
class Rule:
    """One published rule. ``recovery`` is None exactly for state conditions."""

    id: str
    colour: Colour
    reason: str
    condition: Condition
    recovery: Recovery | None
    description_zh: str
    description_en: str

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "colour": self.colour.value,
            "reason": self.reason,
            "condition": self.condition.to_mapping(),
        }
        if self.recovery is not None:
            out["recovery"] = self.recovery.to_mapping()
        out["description"] = {"zh": self.description_zh, "en": self.description_en}
        return out


@dataclass(frozen=True, slots=True)
class RuleSetRef:
    """Which rule set produced an assessment; ``str()`` gives ``id@version``."""

    id: str
    version: str

    def __str__(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A validated, immutable rule set. Build it with :meth:`from_mapping`."""

    id: str
    version: str
    rules: tuple[Rule, ...]
    #: default recovery per colour, for event rules that do not give their own
    recovery: Mapping[Colour, Recovery] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    description_zh: str = ""
    description_en: str = ""

    @property
    def ref(self) -> RuleSetRef:
        return RuleSetRef(self.id, self.version)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @classmethod
    def from_mapping(cls, data: object) -> RuleSet:
        """Validate rule-set data (parsed JSON); raise :class:`InvalidRuleSet` naming the place."""
        top = _Place("")
        doc = _mapping(data, top, ("id", "version", "description", "recovery", "rules"))
        rs_id = _text(_required(doc, "id", top), top.key("id"), pattern=_IDENT)
        version = _text(_required(doc, "version", top), top.key("version"), pattern=_IDENT)
        zh, en = (
            _bilingual(doc["description"], top.key("description"))
            if "description" in doc
            else ("", "")
        )
        defaults: dict[Colour, Recovery] = {}
        if "recovery" in doc:
            at = top.key("recovery")
            for name, spec in _mapping(doc["recovery"], at, ("yellow", "red")).items():
                defaults[Colour(name)] = Recovery._read(spec, at.key(name))
        raw_rules = _required(doc, "rules", top)
        if not isinstance(raw_rules, list):
            raise top.key("rules").fail("must be a list")
        rules: list[Rule] = []
        seen: set[str] = set()
        for i, raw in enumerate(raw_rules):
            rule = _read_rule(raw, top.key("rules").index(i), defaults)
            if rule.id in seen:
                raise top.key("rules").index(i).key("id").fail(f"repeats rule id {rule.id!r}")
            seen.add(rule.id)
            rules.append(rule)
        return cls(rs_id, version, tuple(rules), MappingProxyType(defaults), zh, en)

    def to_mapping(self) -> dict[str, Any]:
        """The rule set as JSON-able data; ``from_mapping(rs.to_mapping()) == rs``."""
        out: dict[str, Any] = {"id": self.id, "version": self.version}
        if self.description_zh or self.description_en:
            out["description"] = {"zh": self.description_zh, "en": self.description_en}
        if self.recovery:
            out["recovery"] = {
                c.value: r.to_mapping()
                for c, r in sorted(self.recovery.items(), key=lambda kv: kv[0].severity)
            }
        out["rules"] = [r.to_mapping() for r in self.rules]
        return out


def _read_rule(raw: object, at: _Place, defaults: Mapping[Colour, Recovery]) -> Rule:
    data = _mapping(raw, at, ("id", "colour", "reason", "condition", "recovery", "description"))
    rule_id = _text(_required(data, "id", at), at.key("id"), pattern=_IDENT)
    colour_raw = _required(data, "colour", at)
    if colour_raw not in ("yellow", "red"):
        raise at.key("colour").fail("must be 'yellow' or 'red'")
    colour = Colour(colour_raw)
    reason = _text(_required(data, "reason", at), at.key("reason"), pattern=_REASON_CODE)
    if len(reason) > _MAX_REASON_CODE:
        raise at.key("reason").fail(f"must be at most {_MAX_REASON_CODE} characters")
    cond_at = at.key("condition")
    cond_raw = _required(data, "condition", at)
    if not isinstance(cond_raw, Mapping):
        raise cond_at.fail("must be an object")
    kind = cond_raw.get("kind")
    if not isinstance(kind, str) or kind not in _CONDITIONS:
        raise cond_at.key("kind").fail(f"must be one of {sorted(_CONDITIONS)}")
    condition = _CONDITIONS[kind](cond_raw, cond_at)
    recovery: Recovery | None
    if condition.state:
        if "recovery" in data:
            raise at.key("recovery").fail(
                f"does not apply to {kind}: the reason lasts exactly as long as the state"
            )
        recovery = None
    elif "recovery" in data:
        recovery = Recovery._read(data["recovery"], at.key("recovery"))
    elif colour in defaults:
        recovery = defaults[colour]
    else:
        raise at.key("recovery").fail(f"is required (the rule set has no default for {colour_raw})")
    if recovery is not None:
        window = _window_days(condition)
        if window < recovery.days or (recovery.negative_tests and window == recovery.days):
            raise cond_at.key("within_days").fail(
                f"({window}) must be longer than the recovery's {recovery.days} days, "
                "or the reason would lapse before it could be recovered and the negative "
                "tests could never matter"
            )
    zh, en = _bilingual(_required(data, "description", at), at.key("description"))
    return Rule(rule_id, colour, reason, condition, recovery, zh, en)


def load_builtin_ruleset(ruleset_id: str, version: str) -> RuleSet:
    """A rule set shipped in ``yimatong/domain/data/ruleset-{id}-{version}.json`` (cached)."""
    if not _IDENT.fullmatch(ruleset_id) or not _IDENT.fullmatch(version):
        raise ValueError("not a rule-set id or version")
    return _load_builtin(ruleset_id, version)


@cache
def _load_builtin(ruleset_id: str, version: str) -> RuleSet:
    name = f"ruleset-{ruleset_id}-{version}.json"
    resource = resources.files("yimatong.domain").joinpath("data").joinpath(name)
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LookupError(f"no built-in rule set {ruleset_id}@{version}") from None
    ruleset = RuleSet.from_mapping(json.loads(text))
    if (ruleset.id, ruleset.version) != (ruleset_id, version):
        raise InvalidRuleSet(f"{name} holds {ruleset.ref}, not {ruleset_id}@{version}")
    return ruleset


def load_default_ruleset() -> RuleSet:
    """The default rule set (DESIGN §4), read on first use."""
    return load_builtin_ruleset(DEFAULT_RULESET_ID, DEFAULT_RULESET_VERSION)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a colour: the rule that fired, its reason code, the event time and what to show."""

    code: str
    rule_id: str
    colour: Colour
    since: datetime
    detail: Mapping[str, Scalar] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __post_init__(self) -> None:
        require_aware(self.since, "since")
        detail = dict(self.detail)
        for k, v in detail.items():
            if not isinstance(k, str) or not isinstance(v, str | int | float | bool | None):
                raise TypeError("detail must map strings to str, int, float, bool or None")
        object.__setattr__(self, "detail", MappingProxyType(detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule_id": self.rule_id,
            "colour": self.colour.value,
            "since": self.since.isoformat(),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class TurnGreen:
    """What turns the colour green again.

    ``not_before``: the earliest moment (never before the assessment), once every reason's
    days have passed. ``negative_tests_needed``: how many more negative tests, sampled from
    now on, clear every reason that needs tests. ``open_ended``: some reason lasts until an
    authority records a change (an active case until recovery), so ``not_before`` is only a
    lower bound. ``lapses_at``: when tests are needed, the moment the colour would clear
    anyway as the reasons leave their rules' windows (None when there is no such moment).
    """

    not_before: datetime
    negative_tests_needed: int
    description_zh: str
    description_en: str
    open_ended: bool = False
    lapses_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "not_before": self.not_before.isoformat(),
            "negative_tests_needed": self.negative_tests_needed,
            "open_ended": self.open_ended,
            "lapses_at": _iso(self.lapses_at),
            "description_zh": self.description_zh,
            "description_en": self.description_en,
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    """The colour of one subject at ``assessed_at``, with its reasons and way back to green."""

    colour: Colour
    reasons: tuple[Reason, ...]
    ruleset: RuleSetRef
    assessed_at: datetime
    turns_green: TurnGreen | None
    last_negative_test_sampled_at: datetime | None = None
    hours_since_negative_test: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with stable keys; times are RFC 3339 strings with their offset."""
        return {
            "colour": self.colour.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "ruleset": {"id": self.ruleset.id, "version": self.ruleset.version},
            "assessed_at": self.assessed_at.isoformat(),
            "turns_green": self.turns_green.to_dict() if self.turns_green else None,
            "last_negative_test_sampled_at": _iso(self.last_negative_test_sampled_at),
            "hours_since_negative_test": self.hours_since_negative_test,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assessment:
        """The inverse of :meth:`to_dict`; ``ValueError`` names the first bad key."""
        try:
            return _assessment_from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a stored assessment: {exc}") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an RFC 3339 string")
    return require_aware(datetime.fromisoformat(value), name)


def _optional_time(value: object, name: str) -> datetime | None:
    return None if value is None else _time(value, name)


def _assessment_from_dict(data: Mapping[str, Any]) -> Assessment:
    reasons = []
    for i, r in enumerate(data["reasons"]):
        detail = r["detail"]
        if not isinstance(detail, Mapping):
            raise ValueError(f"reasons[{i}].detail must be an object")
        reasons.append(
            Reason(
                code=str(r["code"]),
                rule_id=str(r["rule_id"]),
                colour=Colour(r["colour"]),
                since=_time(r["since"], f"reasons[{i}].since"),
                detail=detail,
            )
        )
    tg = data["turns_green"]
    turns_green = None
    if tg is not None:
        needed = tg["negative_tests_needed"]
        if type(needed) is not int or needed < 0:
            raise ValueError("turns_green.negative_tests_needed must be an integer >= 0")
        turns_green = TurnGreen(
            not_before=_time(tg["not_before"], "turns_green.not_before"),
            negative_tests_needed=needed,
            description_zh=str(tg["description_zh"]),
            description_en=str(tg["description_en"]),
            open_ended=bool(tg["open_ended"]),
            lapses_at=_optional_time(tg["lapses_at"], "turns_green.lapses_at"),
        )
    hours = data["hours_since_negative_test"]
    if hours is not None and (type(hours) is not int or hours < 0):
        raise ValueError("hours_since_negative_test must be None or an integer >= 0")
    ruleset = data["ruleset"]
    return Assessment(
        colour=Colour(data["colour"]),
        reasons=tuple(reasons),
        ruleset=RuleSetRef(str(ruleset["id"]), str(ruleset["version"])),
        assessed_at=_time(data["assessed_at"], "assessed_at"),
        turns_green=turns_green,
        last_negative_test_sampled_at=_optional_time(
            data["last_negative_test_sampled_at"], "last_negative_test_sampled_at"
        ),
        hours_since_negative_test=hours,
    )


# --------------------------------------------------------------------------------------------
# Evaluation

#: a stretch of a stay at some risk: (start, end, level rank, level, the code that governed it)
_Part: TypeAlias = tuple[datetime, datetime, int, RiskLevel, str]

_CASE_TIE_ORDER = {
    CaseStatus.RECOVERED: 0,
    CaseStatus.SUSPECTED: 1,
    CaseStatus.ASYMPTOMATIC: 2,
    CaseStatus.CONFIRMED: 3,
}


@dataclass(frozen=True, slots=True)
class _LatestDeclaration:
    """The most recent declaration; several at the same moment are merged (worst of each)."""

    declared_at: datetime
    temperature: float | None
    symptoms: frozenset[str]


class _Context:
    """The facts as of ``now``, with what several rules need worked out once."""

    __slots__ = (
        "_latest",
        "_latest_known",
        "_stays",
        "current_case",
        "facts",
        "negatives",
        "now",
        "risk",
    )

    def __init__(self, facts: SubjectFacts, risk: RiskMap, now: datetime) -> None:
        self.facts = facts
        self.risk = risk
        self.now = now
        # negative samples known by now, oldest first (sampled <= reported <= now)
        self.negatives = sorted(
            t.sampled_at
            for t in facts.tests
            if t.outcome is TestOutcome.NEGATIVE and t.reported_at <= now
        )
        self.current_case = _current_case(facts.cases, now)
        self._latest: _LatestDeclaration | None = None
        self._latest_known = False
        self._stays: list[tuple[str, list[_Part], StaySource]] | None = None

    def negatives_after(self, when: datetime) -> int:
        return len(self.negatives) - bisect_right(self.negatives, when)

    @property
    def latest_declaration(self) -> _LatestDeclaration | None:
        if not self._latest_known:
            self._latest = _latest_declaration(self.facts.declarations, self.now)
            self._latest_known = True
        return self._latest

    def stay_parts(self) -> list[tuple[str, list[_Part], StaySource]]:
        """For each stay begun by now: the stretches spent there at a medium or high level,
        and the stay's source."""
        if self._stays is None:
            now, at_risk = self.now, self.risk.at_risk
            out: list[tuple[str, list[_Part], StaySource]] = []
            for stay in self.facts.stays:
                a = stay.arrived
                if a > now:
                    continue
                segments = at_risk(stay.area)
                if not segments:
                    continue
                left = stay.left
                b = left if left is not None and left < now else now  # stay.end(now)
                parts: list[_Part] = []
                for seg_start, seg_end, rank, level, source in segments:
                    if seg_start > b:
                        break  # in order: none later touches the stay
                    if seg_end is not None and seg_end <= a:
                        continue
                    start = seg_start if seg_start >= a else a
                    end = b if seg_end is None or seg_end > b else seg_end
                    # a stay of some length is [arrived, left): touching its end is not a visit
                    if a < b and not start < end:
                        continue
                    parts.append((start, end, rank, level, source))
                if parts:
                    out.append((stay.area, parts, stay.source))
            self._stays = out
        return self._stays


def _current_case(cases: Sequence[CaseFact], now: datetime) -> CaseFact | None:
    known = [c for c in cases if c.since <= now]
    if not known:
        return None
    # a tie at the same moment resolves to the more serious status
    return max(known, key=lambda c: (c.since, _CASE_TIE_ORDER[c.status]))


def _latest_declaration(
    declarations: Sequence[Declaration], now: datetime
) -> _LatestDeclaration | None:
    known = [d for d in declarations if d.declared_at <= now]
    if not known:
        return None
    at = max(d.declared_at for d in known)
    latest = [d for d in known if d.declared_at == at]
    temps = [d.temperature for d in latest if d.temperature is not None]
    symptoms = frozenset(s.strip().lower() for d in latest for s in d.symptoms)
    return _LatestDeclaration(at, max(temps) if temps else None, symptoms)


@dataclass(slots=True)
class _Pool:
    """The qualifying parts of the stays in one area, taken together."""

    seconds: float  # the time covered, overlapping records counted once
    visits: int
    event: datetime  # when the last part ended
    binding: _Part  # the part at the highest level that ended last


def _pool(parts: list[_Part]) -> _Pool:
    if len(parts) == 1:  # the common case: one stay in the area
        only = parts[0]
        return _Pool((only[1] - only[0]).total_seconds(), 1, only[1], only)
    parts.sort()  # by start (then end, rank, ...: never down to comparing two levels)
    seconds = 0.0
    run_start, run_end = parts[0][0], parts[0][1]
    event = run_end
    binding = parts[0]
    for part in parts:
        start, end = part[0], part[1]
        if start > run_end:
            seconds += (run_end - run_start).total_seconds()
            run_start, run_end = start, end
        elif end > run_end:
            run_end = end
        if end > event:
            event = end
        if (part[2], end, part[4]) > (binding[2], binding[1], binding[4]):
            binding = part
    seconds += (run_end - run_start).total_seconds()
    return _Pool(seconds, _separate_visits(parts), event, binding)


def _separate_visits(parts: list[_Part]) -> int:
    """The largest number of pairwise non-overlapping parts (greedy by end time).

    Overlapping records of one visit (a declared stay and a scan inside it) count once, and
    adding a record never lowers the count - so the rule stays monotone.
    """
    count = 0
    last_end: datetime | None = None
    for start, end, *_ in sorted(parts, key=_end_of):
        if last_end is None or start > last_end:
            count += 1
            last_end = end
    return count


def _end_of(part: _Part) -> datetime:
    return part[1]


@dataclass(slots=True)
class _Open:
    """A reason that still counts, with what it takes to clear it."""

    reason: Reason
    order: tuple[int, int]
    not_before: datetime
    tests_needed: int
    lapses: datetime | None
    open_ended: bool
    clears: tuple[str, str] | None = None


def assess_at(facts: SubjectFacts, risk: RiskMap, ruleset: RuleSet, now: datetime) -> Assessment:
    """Assess ``facts`` against ``ruleset`` as of ``now`` (see the module docstring)."""
    require_aware(now, "now")
    ctx = _Context(facts, risk, now)
    open_reasons: list[_Open] = []
    for index, rule in enumerate(ruleset.rules):
        match = rule.condition.find(ctx)
        if match is None:
            continue
        if rule.recovery is None:  # a state: lasts while it holds
            not_before = match.until if match.until is not None else now
            tests_needed, lapses, open_ended = 0, match.until, match.until is None
        else:
            not_before = match.since + timedelta(days=rule.recovery.days)
            tests_needed = max(0, rule.recovery.negative_tests - ctx.negatives_after(match.since))
            if tests_needed == 0 and now >= not_before:
                continue  # resolved
            window = _window_days(rule.condition)
            lapses, open_ended = match.since + timedelta(days=window), False
        reason = Reason(rule.reason, rule.id, rule.colour, match.since, match.detail)
        open_reasons.append(
            _Open(
                reason,
                (-rule.colour.severity, index),
                not_before,
                tests_needed,
                lapses,
                open_ended,
                match.clears if open_ended else None,
            )
        )
    open_reasons.sort(key=lambda o: o.order)
    reasons = tuple(o.reason for o in open_reasons)
    last_negative = ctx.negatives[-1] if ctx.negatives else None
    return Assessment(
        colour=Colour.worst(r.colour for r in reasons),
        reasons=reasons,
        ruleset=ruleset.ref,
        assessed_at=now,
        turns_green=_turns_green(open_reasons, now) if open_reasons else None,
        last_negative_test_sampled_at=last_negative,
        hours_since_negative_test=(
            int((now - last_negative).total_seconds() // _HOUR) if last_negative else None
        ),
    )


def _turns_green(open_reasons: list[_Open], now: datetime) -> TurnGreen:
    not_before = max([now, *(o.not_before for o in open_reasons)])
    tests = max(o.tests_needed for o in open_reasons)
    open_ended = any(o.open_ended for o in open_reasons)
    lapses_at: datetime | None = None
    if tests and not open_ended:
        ends = [o.not_before if o.tests_needed == 0 else o.lapses for o in open_reasons]
        if all(e is not None for e in ends):
            lapses_at = max(e for e in ends if e is not None)
    # what ends each open-ended reason: the authority recording recovery, or its own words
    clears = list(dict.fromkeys(o.clears or _RECOVERY for o in open_reasons if o.open_ended))
    zh, en = _describe(not_before if not_before > now else None, tests, clears, lapses_at)
    return TurnGreen(not_before, tests, zh, en, open_ended, lapses_at)


_RECOVERY = ("卫生健康部门登记康复后", "once the health authority records recovery")


_EN_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _beijing(when: datetime) -> str:
    """``YYYY-MM-DD HH:MM`` in Beijing time, rounded up so the moment shown is never early."""
    local = when.astimezone(_CST)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return local.strftime("%Y-%m-%d %H:%M")


def _describe(
    after: datetime | None,
    tests: int,
    ends: list[tuple[str, str]],
    lapses_at: datetime | None,
) -> tuple[str, str]:
    """The sentences of :class:`TurnGreen`, e.g. "after … (Beijing time) with one negative test"."""
    zh: list[str] = [end[0] for end in ends]
    en: list[str] = [end[1] for end in ends]
    core_en: list[str] = []
    if after is not None:
        zh.append(f"北京时间 {_beijing(after)} 之后")
        core_en.append(f"after {_beijing(after)} (Beijing time)")
    if tests:
        count = _EN_NUMBERS[tests] if tests < len(_EN_NUMBERS) else str(tests)
        noun = "test" if tests == 1 else "tests"
        zh.append(f"有 {tests} 次阴性核酸检测")
        core_en.append(f"{'with' if core_en else 'after'} {count} negative {noun}")
    if core_en:
        en.append(" ".join(core_en))
    text_zh = "，且".join(zh) if zh else "现在"
    text_en = ", and ".join(en) if en else "now"
    if lapses_at is not None:
        text_zh += f"；不再检测则北京时间 {_beijing(lapses_at)} 之后"
        text_en += f"; without a test, after {_beijing(lapses_at)} (Beijing time)"
    return text_zh, text_en
