"""Contact tracing (流调) from scan records: who was where a case was, when (docs/travel.md).

Pure: standard library and the domain only. The hub (``hub/tracing.py``) reads the scans and
hands them here; this module says which of them are evidence and scores each candidate.

A *case scan* is a checkpoint scan of the case. Another subject's scan is **evidence** against
it when it was in the same area (the checkpoint's six- or nine-digit code) within ``window`` of
it (±30 minutes by default). Evidence at the very same checkpoint (the same gate) weighs 1; at
another checkpoint of the same area it weighs ``area_weight`` (0.5).

Score of one piece of evidence: ``weight × (1 − |Δt| / (2 × window))`` — from ``weight`` for the
same minute down to half of it at the window's edge. A candidate's score is the chance-like
combination of its pieces, ``1 − Π(1 − pᵢ)``, as a whole percentage: more co-locations and
closer ones never lower it, and no number of them passes 100.

A *leg* is a rail or aviation manifest's record of a trip (a department's, ``hub/departments.py``).
Another passenger's leg on the case's trip (the same train or flight on the same day) is
evidence when they sat near: on a train, in the same carriage; on a flight, within
``seat_rows`` rows. Its score is ``1 − rows / (2 × (seat_rows + 1))`` when both seats' rows are
known and at most ``seat_rows`` apart (1 for the same row, above one half at the limit), and
``far_weight`` (0.3) for the rest of the same carriage (or a seat not known); it combines with
a candidate's scan evidence in the same product.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_SEAT_ROWS",
    "DEFAULT_WINDOW",
    "Candidate",
    "Evidence",
    "Leg",
    "ScanPoint",
    "TripEvidence",
    "score_candidates",
]

DEFAULT_WINDOW = timedelta(minutes=30)
DEFAULT_SEAT_ROWS = 3


@dataclass(frozen=True, slots=True)
class ScanPoint:
    """One scan: who (pseudonym), when, where (area and checkpoint name)."""

    sid: str
    at: datetime
    area: str
    checkpoint: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """A candidate's scan near one of the case's."""

    case_at: datetime
    at: datetime
    area: str
    checkpoint: str
    case_checkpoint: str
    minutes_apart: float
    same_checkpoint: bool
    weight: float  # this piece's score, 0..1


@dataclass(frozen=True, slots=True)
class Leg:
    """One passenger's leg of a trip, as a manifest gave it."""

    sid: str
    trip: str  # rail|aviation:number:date, e.g. rail:G1234:2026-11-19
    carriage: str | None
    seat: str | None
    seat_row: int | None
    departs: datetime
    arrives: datetime | None


@dataclass(frozen=True, slots=True)
class TripEvidence:
    """A candidate's leg on the case's trip, seated near."""

    trip: str
    carriage: str | None
    seat: str | None
    case_carriage: str | None
    case_seat: str | None
    rows_apart: int | None
    same_carriage: bool
    departs: datetime
    arrives: datetime | None
    weight: float

    @property
    def at(self) -> datetime:
        return self.arrives or self.departs

    case_at = at  # the same trip: the exposure ended when it arrived


@dataclass(frozen=True, slots=True)
class Candidate:
    sid: str
    score: int  # 0..100
    evidence: tuple[Evidence | TripEvidence, ...]  # strongest first

    @property
    def last_exposure(self) -> datetime:
        """When the candidate was last near the case: the later scan of the latest evidence."""
        return max(max(e.at, e.case_at) for e in self.evidence)


def score_candidates(
    case_sid: str,
    case_scans: Sequence[ScanPoint],
    others: Iterable[ScanPoint],
    *,
    window: timedelta = DEFAULT_WINDOW,
    area_weight: float = 0.5,
    case_legs: Sequence[Leg] = (),
    other_legs: Iterable[Leg] = (),
    seat_rows: int = DEFAULT_SEAT_ROWS,
    far_weight: float = 0.3,
) -> list[Candidate]:
    """The candidates among ``others`` (scans) and ``other_legs`` (legs on the case's trips),
    best first (score, then latest exposure, then sid)."""
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    if not 0 <= area_weight <= 1 or not 0 <= far_weight <= 1:
        raise ValueError("area_weight and far_weight must be between 0 and 1")
    if seat_rows < 0:
        raise ValueError("seat_rows must not be negative")
    by_area: dict[str, list[ScanPoint]] = {}
    for scan in case_scans:
        by_area.setdefault(scan.area, []).append(scan)
    span = window.total_seconds()
    found: dict[str, list[Evidence | TripEvidence]] = {}
    seen: set[tuple[str, datetime, str, datetime, str]] = set()
    for other in others:
        if other.sid == case_sid:
            continue
        for case in by_area.get(other.area, ()):
            apart = abs((other.at - case.at).total_seconds())
            if apart > span:
                continue
            key = (other.sid, other.at, other.checkpoint, case.at, case.checkpoint)
            if key in seen:  # the same scan read twice (overlapping windows of the query)
                continue
            seen.add(key)
            same = other.checkpoint == case.checkpoint
            weight = (1.0 if same else area_weight) * (1 - apart / (2 * span))
            found.setdefault(other.sid, []).append(
                Evidence(
                    case_at=case.at,
                    at=other.at,
                    area=other.area,
                    checkpoint=other.checkpoint,
                    case_checkpoint=case.checkpoint,
                    minutes_apart=round(apart / 60, 1),
                    same_checkpoint=same,
                    weight=round(weight, 4),
                )
            )
    for sid, trip in _trip_evidence(case_sid, case_legs, other_legs, seat_rows, far_weight):
        found.setdefault(sid, []).append(trip)
    out = []
    for sid, evidence in found.items():
        missed = 1.0
        for e in evidence:
            missed *= 1 - e.weight
        evidence.sort(key=lambda e: (-e.weight, getattr(e, "minutes_apart", 0.0), e.at))
        out.append(Candidate(sid, min(100, round(100 * (1 - missed))), tuple(evidence)))
    out.sort(key=lambda c: (-c.score, -c.last_exposure.timestamp(), c.sid))
    return out


def _trip_evidence(
    case_sid: str,
    case_legs: Sequence[Leg],
    others: Iterable[Leg],
    seat_rows: int,
    far_weight: float,
) -> Iterable[tuple[str, TripEvidence]]:
    """Each other passenger's leg seated near one of the case's on the same trip."""
    by_trip: dict[str, list[Leg]] = {}
    for leg in case_legs:
        by_trip.setdefault(leg.trip, []).append(leg)
    seen: set[tuple[str, str, str | None, str | None]] = set()
    for other in others:
        if other.sid == case_sid:
            continue
        for case in by_trip.get(other.trip, ()):
            rail = other.trip.startswith("rail:")
            same_carriage = case.carriage is not None and case.carriage == other.carriage
            if rail and not same_carriage:
                continue  # another carriage of the train
            rows = (
                abs(case.seat_row - other.seat_row)
                if case.seat_row is not None and other.seat_row is not None
                else None
            )
            if rows is not None and rows <= seat_rows:
                weight = 1 - rows / (2 * (seat_rows + 1))
            elif rail:
                weight = far_weight  # the same carriage, farther or seat not known
            else:
                continue  # a flight: only the rows near count
            key = (other.sid, other.trip, other.seat, case.seat)
            if key in seen:
                continue
            seen.add(key)
            yield (
                other.sid,
                TripEvidence(
                    trip=other.trip,
                    carriage=other.carriage,
                    seat=other.seat,
                    case_carriage=case.carriage,
                    case_seat=case.seat,
                    rows_apart=rows,
                    same_carriage=same_carriage,
                    departs=other.departs,
                    arrives=other.arrives,
                    weight=round(weight, 4),
                ),
            )
