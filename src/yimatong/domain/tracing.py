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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["DEFAULT_WINDOW", "Candidate", "Evidence", "ScanPoint", "score_candidates"]

DEFAULT_WINDOW = timedelta(minutes=30)


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
class Candidate:
    sid: str
    score: int  # 0..100
    evidence: tuple[Evidence, ...]  # closest first

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
) -> list[Candidate]:
    """The candidates among ``others``, best first (score, then latest exposure, then sid)."""
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    if not 0 <= area_weight <= 1:
        raise ValueError("area_weight must be between 0 and 1")
    by_area: dict[str, list[ScanPoint]] = {}
    for scan in case_scans:
        by_area.setdefault(scan.area, []).append(scan)
    span = window.total_seconds()
    found: dict[str, list[Evidence]] = {}
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
    out = []
    for sid, evidence in found.items():
        missed = 1.0
        for e in evidence:
            missed *= 1 - e.weight
        evidence.sort(key=lambda e: (-e.weight, e.minutes_apart, e.at))
        out.append(Candidate(sid, min(100, round(100 * (1 - missed))), tuple(evidence)))
    out.sort(key=lambda c: (-c.score, -c.last_exposure.timestamp(), c.sid))
    return out
