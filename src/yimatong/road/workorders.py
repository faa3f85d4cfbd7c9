"""Work orders as a pure state machine (docs/road.md, "Work orders").

    dispatched ──arrive──▶ on_site ──repair(photo)──▶ repaired ──verify──▶ verified (final)
        ▲                                               │
        └──────────────────── reopen ◀──────────────────┘   (re-inspection still sees the defect)

Each step takes ``now`` and returns a new ``WorkOrder`` with one more event; a step the state
does not allow raises ``Conflict``. The deadline is ``dispatched + ruleset.deadlines[severity]``
and is set again, from the reopening, when an order is reopened. ``escalate(order, now)`` raises
the escalation level to the number of whole deadline periods the order is overdue (at most the
rule set's ``max_escalation``) while it is not yet repaired; an order that is repaired in time
never escalates.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime

from yimatong.domain.errors import Conflict, InvalidInput
from yimatong.road.grid import CellId
from yimatong.road.rules import RoadRuleSet, Severity

__all__ = ["Event", "Status", "WorkOrder", "arrive", "dispatch", "escalate", "reopen", "repair",
           "verify"]  # fmt: skip

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class Status(enum.StrEnum):
    DISPATCHED = "dispatched"
    ON_SITE = "on_site"
    REPAIRED = "repaired"
    VERIFIED = "verified"


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    kind: str  # dispatched, on_site, repaired, verified, reopened, escalated
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: str
    team: str
    road_id: str
    defect: str
    severity: Severity
    cells: tuple[CellId, ...]
    status: Status
    dispatched_at: datetime
    deadline: datetime
    escalation: int = 0
    repair_photo_sha256: str | None = None
    events: tuple[Event, ...] = ()

    def overdue(self, now: datetime) -> bool:
        return self.status in (Status.DISPATCHED, Status.ON_SITE) and now > self.deadline


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")


def dispatch(
    order_id: str,
    *,
    team: str,
    road_id: str,
    defect: str,
    severity: Severity,
    cells: tuple[CellId, ...],
    ruleset: RoadRuleSet,
    now: datetime,
) -> WorkOrder:
    """A new order for a confirmed finding, to the team responsible for the road."""
    _aware(now)
    if not cells:
        raise InvalidInput("a work order covers at least one cell", field="cells")
    ruleset.colour_of(defect, severity)  # a known type at one of its levels
    return WorkOrder(
        id=order_id,
        team=team,
        road_id=road_id,
        defect=defect,
        severity=severity,
        cells=tuple(sorted(set(cells))),
        status=Status.DISPATCHED,
        dispatched_at=now,
        deadline=now + ruleset.deadlines[severity],
        events=(Event(now, "dispatched", team),),
    )


def _step(order: WorkOrder, allowed: Status, now: datetime) -> None:
    _aware(now)
    if order.status is not allowed:
        raise Conflict(f"work order is {order.status.value}, not {allowed.value}", field="status")
    if now < order.events[-1].at:
        raise InvalidInput("a step cannot come before the last one", field="at")


def arrive(order: WorkOrder, now: datetime) -> WorkOrder:
    _step(order, Status.DISPATCHED, now)
    return replace(order, status=Status.ON_SITE, events=(*order.events, Event(now, "on_site")))


def repair(order: WorkOrder, photo_sha256: str, now: datetime) -> WorkOrder:
    """Repaired, with the SHA-256 of the repair photo (the photo itself is stored elsewhere)."""
    _step(order, Status.ON_SITE, now)
    if not _SHA256_HEX.fullmatch(photo_sha256):
        raise InvalidInput("photo hash must be 64 lower-case hex digits", field="photo_sha256")
    return replace(
        order,
        status=Status.REPAIRED,
        repair_photo_sha256=photo_sha256,
        events=(*order.events, Event(now, "repaired", photo_sha256)),
    )


def verify(order: WorkOrder, now: datetime) -> WorkOrder:
    """A re-inspection found the cells clear: the order is done."""
    _step(order, Status.REPAIRED, now)
    return replace(order, status=Status.VERIFIED, events=(*order.events, Event(now, "verified")))


def reopen(order: WorkOrder, ruleset: RoadRuleSet, now: datetime, reason: str) -> WorkOrder:
    """A re-inspection still sees the defect: back to the team, with a fresh deadline."""
    _step(order, Status.REPAIRED, now)
    return replace(
        order,
        status=Status.DISPATCHED,
        deadline=now + ruleset.deadlines[order.severity],
        repair_photo_sha256=None,
        events=(*order.events, Event(now, "reopened", reason)),
    )


def escalate(order: WorkOrder, ruleset: RoadRuleSet, now: datetime) -> WorkOrder:
    """Raise the escalation level if the order is overdue; otherwise return it unchanged."""
    _aware(now)
    if not order.overdue(now):
        return order
    period = ruleset.deadlines[order.severity]
    level = min(1 + int((now - order.deadline) / period), ruleset.max_escalation)
    if level <= order.escalation:
        return order
    return replace(
        order, escalation=level, events=(*order.events, Event(now, "escalated", str(level)))
    )
