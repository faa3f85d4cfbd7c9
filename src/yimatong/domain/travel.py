"""The travel code (行程码): the cities a subject stayed in, long enough, lately (docs/travel.md).

Pure: standard library and the domain only; ``now`` is a parameter.

What counts as a stay in a city, within the window ``[now - window, now]``:

* a stay with a duration (a declared itinerary, a rail or aviation leg, a telecom stay): the
  part of ``[arrived, left or now]`` inside the window;
* instants — checkpoint scans, and the departure and arrival of a rail or aviation leg (a
  department's manifest): two consecutive instants of the subject in the same city, at most
  ``max_scan_gap`` apart, with no stay elsewhere in between, say the subject was in that city
  between them (arriving by train at 10:00 and leaving by air at 18:00 is eight hours there;
  the entry names both sources). A single instant says nothing about how long.

The time of a city is the *union* of those intervals (a declared stay and the scans inside it
count once). A city is listed when that time is at least ``min_stay`` (4 hours, as the national
itinerary card did). A listed city is *starred* when it holds a medium- or high-risk area now
(or lies inside one): the star says the city has one, not that the person was in it.

The city of an area is its prefecture-level ancestor (``xxxx00``); a municipality's districts
(北京 110000 …) belong to the municipality, and a county-level unit a province administers
directly (仙桃 429004) stands for itself. Every entry says which sources it came from.

The subject's own view is finer: with ``fine=True`` each city carries the recorded places
(district or street as recorded) with their own time and their own level now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from yimatong.domain.errors import UnknownRegion
from yimatong.domain.facts import RiskLevel, RiskMap, Stay, StaySource, require_aware
from yimatong.domain.regions import Divisions, Level, area_prefix

__all__ = [
    "DEPARTMENT_SOURCES",
    "MAX_CODE_CITIES",
    "MUNICIPALITIES",
    "TRAVEL_LIFETIME",
    "TravelCity",
    "TravelClaims",
    "TravelCodeCity",
    "TravelParams",
    "TravelPlace",
    "TravelRecord",
    "city_of",
    "claims_of",
    "source_kind",
    "travel_record",
]

#: Provinces whose districts belong to the municipality itself (there is no prefecture level).
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})

#: The sources whose records may be instants (a scan, a manifest leg's departure or arrival).
_INSTANTS = frozenset({StaySource.SCAN, StaySource.RAIL, StaySource.AVIATION})

#: Stays that a department sent (rail and aviation manifests, telecom operators).
DEPARTMENT_SOURCES = frozenset({StaySource.RAIL, StaySource.AVIATION, StaySource.TELECOM})


def source_kind(source: StaySource) -> str:
    """``declared`` (the subject's own itinerary or declaration), ``scan`` or ``department``."""
    if source is StaySource.SCAN:
        return "scan"
    if source in DEPARTMENT_SOURCES:
        return "department"
    return "declared"


@dataclass(frozen=True, slots=True)
class TravelParams:
    """How long makes a stay, over how many days, and how far apart two scans still join."""

    min_stay: timedelta = timedelta(hours=4)
    window: timedelta = timedelta(days=14)
    max_scan_gap: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if self.min_stay <= timedelta(0):
            raise ValueError("min_stay must be positive")
        if self.window <= timedelta(0):
            raise ValueError("window must be positive")
        if self.max_scan_gap < timedelta(0):
            raise ValueError("max_scan_gap must not be negative")


@dataclass(frozen=True, slots=True)
class TravelPlace:
    """One recorded place inside a city (the subject's own, finer view)."""

    area: str
    minutes: int
    first: datetime
    last: datetime
    sources: tuple[StaySource, ...]
    level: RiskLevel  # the place's level now


@dataclass(frozen=True, slots=True)
class TravelCity:
    """One city of the travel code."""

    city: str
    minutes: int  # time in the city within the window (the union of its intervals)
    first: datetime  # first moment in the city within the window
    last: datetime  # last moment in the city within the window
    sources: tuple[StaySource, ...]
    starred: bool
    star_level: RiskLevel | None  # the highest medium/high level in the city now
    places: tuple[TravelPlace, ...] = ()  # only with ``fine=True``


@dataclass(frozen=True, slots=True)
class TravelRecord:
    as_of: datetime
    window_start: datetime
    params: TravelParams
    cities: tuple[TravelCity, ...] = field(default=())  # most recent first

    @property
    def starred(self) -> bool:
        return any(c.starred for c in self.cities)


def city_of(divisions: Divisions, area: str) -> str:
    """The city-level code an area belongs to (see the module docstring).

    A code the divisions do not know falls back to its shape (``xxxx00``).
    """
    try:
        chain = divisions.ancestors(area)
    except UnknownRegion:
        return area[:2] + "0000" if area[:6].endswith("0000") else area[:4] + "00"
    for region in chain:
        if region.level is Level.CITY:
            return region.code
    province = chain[-1]
    if province.code in MUNICIPALITIES or len(chain) == 1:
        return province.code
    return chain[-2].code  # a county-level unit the province administers directly


# ---------------------------------------------------------------------------- intervals
_Interval = tuple[datetime, datetime]


def _union_length(intervals: Iterable[_Interval]) -> timedelta:
    total = timedelta(0)
    end: datetime | None = None
    start: datetime | None = None
    for a, b in sorted(intervals):
        if end is None or start is None or a > end:
            if end is not None and start is not None:
                total += end - start
            start, end = a, b
        elif b > end:
            end = b
    if end is not None and start is not None:
        total += end - start
    return total


@dataclass
class _Acc:
    intervals: list[_Interval] = field(default_factory=list)
    sources: set[StaySource] = field(default_factory=set)


def _clip(a: datetime, b: datetime, lo: datetime, hi: datetime) -> _Interval | None:
    a, b = max(a, lo), min(b, hi)
    return (a, b) if a <= b else None


def travel_record(
    stays: Sequence[Stay],
    risk: RiskMap,
    now: datetime,
    divisions: Divisions,
    *,
    params: TravelParams | None = None,
    fine: bool = False,
) -> TravelRecord:
    """The travel code of one subject as of ``now`` (see the module docstring)."""
    require_aware(now, "now")
    params = params or TravelParams()
    lo = now - params.window
    cities: dict[str, _Acc] = {}
    places: dict[tuple[str, str], _Acc] = {}
    cache: dict[str, str] = {}

    def city(area: str) -> str:
        found = cache.get(area)
        if found is None:
            found = cache[area] = city_of(divisions, area)
        return found

    def add(area: str, interval: _Interval, sources: Iterable[StaySource]) -> None:
        c = city(area)
        for acc in (cities.setdefault(c, _Acc()), places.setdefault((c, area), _Acc())):
            acc.intervals.append(interval)
            acc.sources.update(sources)

    long_stays: list[Stay] = []
    scans: list[Stay] = []
    for stay in stays:
        if stay.arrived > now:
            continue
        if (stay.source is StaySource.SCAN and stay.left is None) or (
            stay.source in _INSTANTS and stay.left == stay.arrived
        ):
            scans.append(stay)
        else:
            long_stays.append(stay)
    for stay in long_stays:
        clipped = _clip(stay.arrived, stay.end(now), lo, now)
        if clipped is not None:
            add(stay.area, clipped, (stay.source,))
    scans.sort(key=lambda s: s.arrived)
    for before, after in pairwise(scans):
        c = city(before.area)
        if city(after.area) != c or after.arrived - before.arrived > params.max_scan_gap:
            continue
        if any(
            city(s.area) != c and s.arrived < after.arrived and s.end(now) > before.arrived
            for s in long_stays
        ):
            continue  # somewhere else in between
        clipped = _clip(before.arrived, after.arrived, lo, now)
        if clipped is None:
            continue
        # the run is credited to the place of each instant (and to the city once, by the union)
        sources = {before.source, after.source}
        add(before.area, clipped, sources)
        if after.area != before.area:
            add(after.area, clipped, sources)

    stars = _starred_prefixes(risk, now)
    out: list[TravelCity] = []
    for c, acc in cities.items():
        length = _union_length(acc.intervals)
        if length < params.min_stay:
            continue
        star = _star_level(c, stars, risk, now)
        found_places: tuple[TravelPlace, ...] = ()
        if fine:
            found_places = tuple(
                sorted(
                    (
                        TravelPlace(
                            area=area,
                            minutes=int(_union_length(p.intervals).total_seconds() // 60),
                            first=min(a for a, _ in p.intervals),
                            last=max(b for _, b in p.intervals),
                            sources=_ordered(p.sources),
                            level=risk.level_at(area, now),
                        )
                        for (pc, area), p in places.items()
                        if pc == c
                    ),
                    key=lambda p: (p.last, p.area),
                    reverse=True,
                )
            )
        out.append(
            TravelCity(
                city=c,
                minutes=int(length.total_seconds() // 60),
                first=min(a for a, _ in acc.intervals),
                last=max(b for _, b in acc.intervals),
                sources=_ordered(acc.sources),
                starred=star is not None,
                star_level=star,
                places=found_places,
            )
        )
    out.sort(key=lambda e: (e.last, e.city), reverse=True)
    return TravelRecord(as_of=now, window_start=lo, params=params, cities=tuple(out))


_SOURCE_ORDER = {s: i for i, s in enumerate(StaySource)}


def _ordered(sources: set[StaySource]) -> tuple[StaySource, ...]:
    return tuple(sorted(sources, key=_SOURCE_ORDER.__getitem__))


def _starred_prefixes(risk: RiskMap, now: datetime) -> list[str]:
    """The area of every period in force now at medium or high."""
    return [
        p.area
        for p in risk.periods
        if p.level is not RiskLevel.LOW
        and p.effective_from <= now
        and (p.until is None or p.until > now)
    ]


def _star_level(city: str, stars: list[str], risk: RiskMap, now: datetime) -> RiskLevel | None:
    """The highest medium/high level now of an area inside ``city`` or containing it."""
    best: RiskLevel | None = None
    candidates = [city]
    prefix = area_prefix(city)
    candidates += [area for area in stars if area.startswith(prefix)]
    for area in candidates:
        level = risk.level_at(area, now)  # resolved: a finer code lowered to low wins
        if level is not RiskLevel.LOW and (best is None or level.rank > best.rank):
            best = level
    return best


# ------------------------------------------------------------------------ the signed code
#: Most cities a travel code carries (the most recent first); the code says when it left some out.
MAX_CODE_CITIES = 40
#: A travel code lives five minutes: it is shown on the page beside the health code (whose QR
#: refreshes every minute) and changes only when a stay or a risk area does.
TRAVEL_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TravelCodeCity:
    """One city as a travel code carries it: the code, the star and the kinds of sources."""

    city: str
    star: RiskLevel | None
    sources: tuple[StaySource, ...]


@dataclass(frozen=True, slots=True)
class TravelClaims:
    """The claims of one signed travel code (``adapters/wire/travel_code.py``).

    The star is the one at ``issued_at``; a checkpoint reads it as of then. ``truncated`` says
    that more cities were listed than a code carries.
    """

    issuer: str
    issued_at: datetime
    expires_at: datetime
    sid: str
    masked_name: str
    masked_id: str
    window_days: int
    min_stay_minutes: int
    cities: tuple[TravelCodeCity, ...]
    truncated: bool = False
    version: int = 1

    def __post_init__(self) -> None:
        for name in ("issued_at", "expires_at"):
            value = getattr(self, name)
            require_aware(value, name)
            if value.microsecond:
                raise ValueError(f"{name} must have whole-second precision")
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        if not (len(self.issuer) == 6 and self.issuer.isascii() and self.issuer.isdigit()):
            raise ValueError("issuer must be a six-digit region code")
        if len(self.sid) != 32 or any(c not in "0123456789abcdef" for c in self.sid):
            raise ValueError("sid must be 32 lowercase hex characters")
        for name in ("masked_name", "masked_id"):
            value = getattr(self, name)
            if len(value) > 48 or (value and "*" not in value):
                raise ValueError(f"{name} must be masked (contain '*') or empty")
        if not 1 <= self.window_days <= 366 or not 1 <= self.min_stay_minutes <= 100_000:
            raise ValueError("window_days or min_stay_minutes out of range")
        if len(self.cities) > MAX_CODE_CITIES:
            raise ValueError(f"at most {MAX_CODE_CITIES} cities in a code")
        for c in self.cities:
            if not (len(c.city) == 6 and c.city.isascii() and c.city.isdigit()):
                raise ValueError("a city must be a six-digit code")
            if c.star is RiskLevel.LOW:
                raise ValueError("a star is medium or high, or none")

    @property
    def starred(self) -> bool:
        return any(c.star is not None for c in self.cities)


def claims_of(
    record: TravelRecord,
    *,
    issuer: str,
    sid: str,
    masked_name: str,
    masked_id: str,
    lifetime: timedelta,
) -> TravelClaims:
    """The claims of a code for ``record`` (issued at its ``as_of``, to the second)."""
    issued = record.as_of.replace(microsecond=0)
    cities = record.cities[:MAX_CODE_CITIES]
    return TravelClaims(
        issuer=issuer,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=max(int(lifetime.total_seconds()), 1)),
        sid=sid,
        masked_name=masked_name,
        masked_id=masked_id,
        window_days=max(int(record.params.window.total_seconds() // 86400), 1),
        min_stay_minutes=int(record.params.min_stay.total_seconds() // 60),
        cities=tuple(TravelCodeCity(c.city, c.star_level, c.sources) for c in cities),
        truncated=len(record.cities) > MAX_CODE_CITIES,
    )
