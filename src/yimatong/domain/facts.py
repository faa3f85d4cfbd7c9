"""The facts that colours are computed from (DESIGN §3), as frozen value objects.

Pure: standard library only. Every datetime is timezone-aware; constructors refuse naive
ones because a naive time in a federation that spans one time zone today and many
checkpoints' clocks tomorrow is a bug waiting to happen.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, TypeAlias

__all__ = [
    "CaseFact",
    "CaseStatus",
    "Colour",
    "ContactFact",
    "ContactKind",
    "Declaration",
    "IdentityCheck",
    "QuarantineOrder",
    "RiskAreaPeriod",
    "RiskLevel",
    "RiskMap",
    "RiskSegment",
    "SharedSummary",
    "Stay",
    "StaySource",
    "SubjectFacts",
    "TestOutcome",
    "TestResult",
    "require_aware",
]


def require_aware(value: datetime, name: str) -> datetime:
    if value.__class__ is datetime and value.tzinfo is UTC:  # the common case, at once
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


class Colour(enum.Enum):
    """The three colours, ordered by severity (``Colour.RED.severity`` is highest)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def severity(self) -> int:
        return _COLOUR_SEVERITY[self]

    @classmethod
    def worst(cls, colours: Iterable[Colour]) -> Colour:
        return max(colours, key=lambda c: c.severity, default=cls.GREEN)


_COLOUR_SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


class RiskLevel(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class StaySource(enum.Enum):
    SELF = "self"  # self-declared itinerary
    SCAN = "scan"  # a checkpoint scan
    RAIL = "rail"
    AVIATION = "aviation"
    TELECOM = "telecom"


class TestOutcome(enum.Enum):
    __test__ = False  # not a pytest test class
    NEGATIVE = "negative"
    POSITIVE = "positive"


class CaseStatus(enum.Enum):
    CONFIRMED = "confirmed"
    SUSPECTED = "suspected"
    ASYMPTOMATIC = "asymptomatic"
    RECOVERED = "recovered"


class ContactKind(enum.Enum):
    CLOSE = "close"  # 密切接触者
    SECONDARY = "secondary"  # 次密切接触者


@dataclass(frozen=True, slots=True)
class Declaration:
    """A health declaration (健康申报) by the subject or a proxy (代办)."""

    declared_at: datetime
    temperature: float | None = None  # °C, as measured by the declarant
    symptoms: tuple[str, ...] = ()  # e.g. ("fever", "cough"); empty means none
    residence: str | None = None  # region or township code
    contact_with_case: bool = False
    proxy_relationship: str | None = None  # set when a relative declared on the subject's behalf

    def __post_init__(self) -> None:
        require_aware(self.declared_at, "declared_at")
        if self.temperature is not None and not 30.0 <= self.temperature <= 45.0:
            raise ValueError("temperature must be between 30 and 45 °C")


@dataclass(frozen=True, slots=True)
class Stay:
    """A stay in an area (行程): a six-digit region or nine-digit township/street code."""

    area: str
    arrived: datetime
    left: datetime | None = None  # None: still there
    source: StaySource = StaySource.SELF

    def __post_init__(self) -> None:
        arrived, left = self.arrived, self.left
        if not (arrived.__class__ is datetime and arrived.tzinfo is UTC):
            require_aware(arrived, "arrived")
        if left is not None:
            if not (left.__class__ is datetime and left.tzinfo is UTC):
                require_aware(left, "left")
            if left < arrived:
                raise ValueError("a stay cannot end before it begins")

    def end(self, now: datetime) -> datetime:
        """When the stay ended, or ``now`` if it has not."""
        return self.left if self.left is not None and self.left < now else now


@dataclass(frozen=True, slots=True)
class TestResult:
    """A nucleic-acid test result (核酸检测结果). Validity counts from ``reported_at``."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    sampled_at: datetime
    reported_at: datetime
    outcome: TestOutcome
    lab: str

    def __post_init__(self) -> None:
        require_aware(self.sampled_at, "sampled_at")
        require_aware(self.reported_at, "reported_at")
        if self.reported_at < self.sampled_at:
            raise ValueError("a result cannot be reported before its sample was taken")


@dataclass(frozen=True, slots=True)
class CaseFact:
    """Case status set by a health authority, from ``since``."""

    status: CaseStatus
    since: datetime

    def __post_init__(self) -> None:
        require_aware(self.since, "since")


@dataclass(frozen=True, slots=True)
class ContactFact:
    """Close or secondary contact of a case, with the date of the last exposure."""

    kind: ContactKind
    last_exposure: datetime

    def __post_init__(self) -> None:
        require_aware(self.last_exposure, "last_exposure")


@dataclass(frozen=True, slots=True)
class QuarantineOrder:
    start: datetime
    end: datetime
    kind: str = "central"  # central | home

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end < self.start:
            raise ValueError("a quarantine order cannot end before it begins")


@dataclass(frozen=True, slots=True)
class RiskAreaPeriod:
    """One period during which ``area`` had ``level``. ``until`` None means still in force."""

    area: str
    level: RiskLevel
    effective_from: datetime
    until: datetime | None = None

    def __post_init__(self) -> None:
        require_aware(self.effective_from, "effective_from")
        if self.until is not None:
            require_aware(self.until, "until")

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.effective_from <= end and (self.until is None or self.until > start)


@dataclass(frozen=True, slots=True)
class RiskSegment:
    """A stretch of time ``[start, end)`` during which one area's level was ``level``.

    ``source`` is the code whose period governed: the area itself or one of the codes that
    contain it. ``end`` None means the segment is still in force.
    """

    start: datetime
    end: datetime | None
    level: RiskLevel
    source: str

    def contains(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)


#: A stretch of a risk timeline at some risk: (start, end or None, level rank, level, source).
RiskStretch: TypeAlias = tuple[datetime, datetime | None, int, RiskLevel, str]


@dataclass(frozen=True)
class RiskMap:
    """Risk levels with their history, indexed by area code.

    At each moment the level of a place is set by the *finest* code in its chain (township or
    street, nine digits ⊂ county ⊂ city ``xxxx00`` ⊂ province ``xx0000``) that has a period
    *in force at that moment*. A street lowered to low wins over its high-risk county while the
    street's period lasts; before the street had any period, or after it ended, the county's
    level applies again. Where several periods of the same code are in force at once, the one
    that took effect last wins (a later decision supersedes an earlier open-ended one); on a
    tie the higher level wins. Periods are half-open: in force from ``effective_from`` up to,
    but not including, ``until``. A moment with no period in force anywhere in the chain is low.

    The resolved history of each area (:meth:`timeline`) is computed on first use and kept,
    so that one map built per risk-list version serves every assessment cheaply.
    """

    periods: tuple[RiskAreaPeriod, ...] = ()
    _by_area: dict[str, tuple[RiskAreaPeriod, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _timelines: dict[str, tuple[tuple[datetime, ...], tuple[RiskSegment, ...]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _at_risk: dict[str, tuple[RiskStretch, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        grouped: dict[str, list[RiskAreaPeriod]] = {}
        for p in self.periods:
            grouped.setdefault(p.area, []).append(p)
        self._by_area.update({k: tuple(v) for k, v in grouped.items()})

    @staticmethod
    def ancestors(area: str) -> list[str]:
        """``area`` and the codes that contain it, finest first."""
        chain = [area]
        if len(area) > 9:
            chain.append(area[:9])
        county = area[:6]
        if len(area) > 6:
            chain.append(county)
        if county[4:] != "00":
            chain.append(county[:4] + "00")
        if county[2:] != "0000":
            chain.append(county[:2] + "0000")
        return chain

    def timeline(self, area: str) -> tuple[RiskSegment, ...]:
        """The resolved level history of ``area``: ordered, non-overlapping segments.

        Stretches of time where no code of the chain has a period in force are left out
        (they are low).
        """
        return self._resolved(area)[1]

    def governing(self, area: str, when: datetime) -> str | None:
        """The code whose period sets ``area``'s level at ``when`` (None: nothing, so low)."""
        segment = self._segment_at(area, when)
        return segment.source if segment is not None else None

    def level_at(self, area: str, when: datetime) -> RiskLevel:
        segment = self._segment_at(area, when)
        return segment.level if segment is not None else RiskLevel.LOW

    def max_level_during(self, area: str, start: datetime, end: datetime) -> RiskLevel:
        """Highest level ``area`` had at any moment in [start, end]."""
        return max(
            (s.level for s in self.segments_during(area, start, end)),
            key=lambda level: level.rank,
            default=RiskLevel.LOW,
        )

    def segments_during(self, area: str, start: datetime, end: datetime) -> list[RiskSegment]:
        """The segments of :meth:`timeline` that touch [start, end], in order."""
        starts, segments = self._resolved(area)
        i = max(bisect_right(starts, start) - 1, 0)
        found: list[RiskSegment] = []
        while i < len(segments) and segments[i].start <= end:
            s = segments[i]
            if s.end is None or s.end > start:
                found.append(s)
            i += 1
        return found

    def at_risk(self, area: str) -> tuple[RiskStretch, ...]:
        """The medium and high segments of :meth:`timeline`, in order, as plain tuples
        ``(start, end, level rank, level, source)``: what the stay rules walk, kept per area."""
        found = self._at_risk.get(area)
        if found is None:
            found = tuple(
                (s.start, s.end, s.level.rank, s.level, s.source)
                for s in self.timeline(area)
                if s.level is not RiskLevel.LOW
            )
            self._at_risk[area] = found  # a race only computes the same value twice
        return found

    def periods_of(self, area: str) -> Sequence[RiskAreaPeriod]:
        """Every period that can govern ``area``: its own and its ancestors', finest first."""
        return tuple(p for code in self.ancestors(area) for p in self._by_area.get(code, ()))

    def _segment_at(self, area: str, when: datetime) -> RiskSegment | None:
        starts, segments = self._resolved(area)
        i = bisect_right(starts, when) - 1
        if i >= 0 and segments[i].contains(when):
            return segments[i]
        return None

    def _resolved(self, area: str) -> tuple[tuple[datetime, ...], tuple[RiskSegment, ...]]:
        cached = self._timelines.get(area)
        if cached is None:
            segments = _resolve_chain(
                [
                    (depth, p)
                    for depth, code in enumerate(self.ancestors(area))
                    for p in self._by_area.get(code, ())
                ]
            )
            cached = (tuple(s.start for s in segments), segments)
            self._timelines[area] = cached  # a race only computes the same value twice
        return cached


def _resolve_chain(candidates: list[tuple[int, RiskAreaPeriod]]) -> tuple[RiskSegment, ...]:
    """Resolve the periods of one chain (``depth`` 0 = finest) into segments.

    Between two consecutive period boundaries the set of periods in force does not change,
    so one look at each boundary is enough: O(boundaries × periods) for one chain, done once.
    """
    if not candidates:
        return ()
    bounds = sorted(
        {p.effective_from for _, p in candidates}
        | {p.until for _, p in candidates if p.until is not None}
    )
    segments: list[RiskSegment] = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        best: tuple[tuple[int, datetime, int], RiskAreaPeriod] | None = None
        for depth, p in candidates:
            if p.effective_from <= start and (p.until is None or p.until > start):
                key = (-depth, p.effective_from, p.level.rank)
                if best is None or key > best[0]:
                    best = (key, p)
        if best is None:
            continue
        winner = best[1]
        last = segments[-1] if segments else None
        if (
            last is not None
            and last.end == start
            and last.level is winner.level
            and last.source == winner.area
        ):
            segments[-1] = RiskSegment(last.start, end, last.level, last.source)
        else:
            segments.append(RiskSegment(start, end, winner.level, winner.area))
    return tuple(segments)


@dataclass(frozen=True, slots=True)
class SharedSummary:
    """Mode 1: the colour another region's issuer gave this subject, with its reason codes.

    A summary whose reasons are all ``shared.*`` only echoes some third region's summary; the
    rules ignore those, so two regions can never hold each other non-green.
    """

    region: str
    colour: Colour
    reasons: tuple[str, ...]
    assessed_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.assessed_at, "assessed_at")

    @property
    def echo(self) -> bool:
        return bool(self.reasons) and all(r.startswith("shared.") for r in self.reasons)


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """The police's check of the name a person gave against their document (hub feed
    ``identity``, docs/travel.md): whether it matched, and when; never the name itself."""

    checked_at: datetime
    matched: bool
    department: str = ""

    def __post_init__(self) -> None:
        require_aware(self.checked_at, "checked_at")


@dataclass(frozen=True)
class SubjectFacts:
    """Everything known about one subject that the rules may look at."""

    declarations: tuple[Declaration, ...] = ()
    stays: tuple[Stay, ...] = ()
    tests: tuple[TestResult, ...] = ()
    cases: tuple[CaseFact, ...] = ()
    contacts: tuple[ContactFact, ...] = ()
    quarantines: tuple[QuarantineOrder, ...] = ()
    summaries: tuple[SharedSummary, ...] = ()
    identity_checks: tuple[IdentityCheck, ...] = ()
