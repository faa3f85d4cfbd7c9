"""A cell's colour from its observations at a moment: ``assess_cell(observations, ruleset, now)``.

Pure. The caller passes the accepted observations of one cell (any order); the rule set decides:

1. Only observations at or before ``now``, no older than the rule set's lookback, count.
2. **Confirmation** (the same test for a defect and for a clear pass): an observation from a
   *trusted* vehicle with confidence ≥ ``trusted_min_confidence`` confirms at once; otherwise it
   is confirmed at the first observation that brings the number of **distinct devices** seen
   within the preceding ``window`` to ``min_devices`` (each with confidence ≥
   ``min_confidence``). Ten reports from one phone are one device.
3. A **confirmed clear pass** (a re-inspection that saw nothing) wipes the slate: only defect
   observations after the latest one count.
4. Each confirmed defect type is a **finding** at the worst level seen among its counted
   observations, coloured by the rule set's table; the cell takes the worst colour, with one
   reason per finding (worst first). ``confirmed_at`` is when the cell's colour was first
   confirmed — the earliest confirmation among the findings of that colour; None when green.

Defects seen but not (yet) confirmed are listed in ``pending``; they do not colour the cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from yimatong.road.observations import AcceptedObservation
from yimatong.road.rules import Colour, Confirmation, RoadRuleSet, Severity

__all__ = ["CellColour", "Reason", "assess_cell", "confirmed_at"]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # road.<defect>.<level>, e.g. road.pothole.severe
    defect: str
    severity: Severity
    colour: Colour
    confirmed_at: datetime
    first_seen_at: datetime
    devices: int  # distinct devices among the counted observations
    trusted: bool  # confirmed by a trusted vehicle


@dataclass(frozen=True, slots=True)
class CellColour:
    colour: Colour
    reasons: tuple[Reason, ...]
    confirmed_at: datetime | None
    ruleset: str
    cleared_at: datetime | None = None  # the latest confirmed clear pass counted
    pending: tuple[str, ...] = ()  # defect types seen but not confirmed


def _counted(
    observations: Iterable[AcceptedObservation], rule: Confirmation
) -> list[AcceptedObservation]:
    """The observations that count, in time order; at one instant a trusted vehicle's
    confirming one first, then by device and seq — a total order, so that the result does
    not depend on the order given (at a tie, a trusted vehicle confirms)."""
    return sorted(
        (a for a in observations if a.observation.confidence >= rule.min_confidence),
        key=lambda a: (
            a.observation.observed_at,
            not (a.trusted and a.observation.confidence >= rule.trusted_min_confidence),
            a.observation.device_id,
            a.observation.seq,
        ),
    )


def _confirms(ordered: Sequence[AcceptedObservation], i: int, rule: Confirmation) -> bool | None:
    """Whether observation ``i`` (of time-ordered ones) confirms: True if by a trusted
    vehicle, False if by the number of devices within the window, None if it does not."""
    current = ordered[i]
    at = current.observation.observed_at
    if current.trusted and current.observation.confidence >= rule.trusted_min_confidence:
        return True
    devices = set()
    for a in reversed(ordered[: i + 1]):
        if at - a.observation.observed_at > rule.window:
            break
        devices.add(a.observation.device_id)
    return False if len(devices) >= rule.min_devices else None


def confirmed_at(
    observations: Iterable[AcceptedObservation], rule: Confirmation
) -> tuple[datetime, bool] | None:
    """When ``observations`` (one defect type, or clear passes) became confirmed, and whether a
    trusted vehicle did it; None if they are not confirmed."""
    ordered = _counted(observations, rule)
    for i, current in enumerate(ordered):
        how = _confirms(ordered, i, rule)
        if how is not None:
            return current.observation.observed_at, how
    return None


def _latest_confirmed_clear(
    clears: Iterable[AcceptedObservation], rule: Confirmation
) -> datetime | None:
    """The latest clear pass that was itself a confirming one."""
    ordered = _counted(clears, rule)
    for i in range(len(ordered) - 1, -1, -1):
        if _confirms(ordered, i, rule) is not None:
            return ordered[i].observation.observed_at
    return None


def assess_cell(
    observations: Iterable[AcceptedObservation], ruleset: RoadRuleSet, now: datetime
) -> CellColour:
    """The cell's colour as of ``now`` (see the module docstring)."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    rule = ruleset.confirmation
    since = now - rule.lookback
    counted = [a for a in observations if since <= a.observation.observed_at <= now]
    cleared = _latest_confirmed_clear([a for a in counted if a.observation.defect is None], rule)
    by_defect: dict[str, list[AcceptedObservation]] = {}
    for a in counted:
        defect = a.observation.defect
        if defect is not None and (cleared is None or a.observation.observed_at > cleared):
            by_defect.setdefault(defect, []).append(a)
    reasons = []
    pending = []
    for defect, seen in sorted(by_defect.items()):
        found = confirmed_at(seen, rule)
        if found is None:
            pending.append(defect)
            continue
        severity = max(a.observation.severity for a in seen if a.observation.severity is not None)
        colour = ruleset.colour_of(defect, severity)
        reasons.append(
            Reason(
                code=f"road.{defect}.{severity.label}",
                defect=defect,
                severity=severity,
                colour=colour,
                confirmed_at=found[0],
                first_seen_at=min(a.observation.observed_at for a in seen),
                devices=len({a.observation.device_id for a in seen}),
                trusted=found[1],
            )
        )
    reasons.sort(key=lambda r: (-r.colour, -r.severity, r.code))
    if not reasons:
        return CellColour(Colour.GREEN, (), None, ruleset.ref, cleared, tuple(pending))
    worst = reasons[0].colour
    first = min(r.confirmed_at for r in reasons if r.colour == worst)
    return CellColour(worst, tuple(reasons), first, ruleset.ref, cleared, tuple(pending))
