"""Manual colours (人工赋码) that cannot be abused: what an override must name, who may approve
it, how it combines with the rules' colour, and how a log monitor finds a burst of them.

A colour that is not the output of the published rule set over recorded facts can only come
from an *override*, and an override must have all of:

* a **reason** from a closed list of epidemic reasons (``REASONS``) — no "other", no free text
  as a reason (the note is shown beside it, it does not justify it);
* under **each person**, a **recorded fact** of a kind that reason may rest on: a case,
  contact, quarantine order or test that reached this issuer through the hub (so a health
  authority's credential or a signed lab put it there, and the hub's transparency log holds
  its batch). Something the official types in — "a venue scan", a stay, a declaration — is
  not such a fact;
* an **expiry**, at most ``MAX_DAYS`` days on;
* **two different staff** of the health authority (四眼原则): the one who asks is never the one
  who approves;
* above ``hourly_limit`` people in one region within an hour, the **hub's authority** too.

Raising reasons make the colour at least the override's (a worse colour from the rules still
wins: an override never hides a new fact). ``fact_in_error`` lowers: while it lasts the colour
is the override's even if the rules say worse, because the fact under it was shown wrong and is
being withdrawn where it came from.

Pure: standard library only; time is a parameter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from yimatong.domain.assessment import Assessment, Reason, TurnGreen
from yimatong.domain.errors import Forbidden, InvalidInput
from yimatong.domain.facts import Colour, require_aware

__all__ = [
    "DEFAULT_HOURLY_LIMIT",
    "FACT_KINDS",
    "MAX_DAYS",
    "MAX_SUBJECTS",
    "REASONS",
    "ActiveOverride",
    "Burst",
    "OverrideReason",
    "apply_overrides",
    "bursts",
    "check_approver",
    "check_request",
    "needs_hub",
    "sids_digest",
]

#: The longest an override may last: it bridges until the facts and rules catch up.
MAX_DAYS: Final = 14
#: The most people one override names.
MAX_SUBJECTS: Final = 5000
#: People per region per hour above which the hub's authority must approve as well.
DEFAULT_HOURLY_LIMIT: Final = 20
#: The kinds of recorded fact an override can rest on (rows mirrored from the hub's feed).
FACT_KINDS: Final = ("case", "contact", "quarantine", "test")

_ORDER = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


@dataclass(frozen=True, slots=True)
class OverrideReason:
    """One reason of the closed list: the facts it may rest on and the colours it may give."""

    code: str
    facts: tuple[str, ...]
    colours: tuple[Colour, ...]
    lowers: bool
    zh: str
    en: str


#: The closed list: epidemic reasons only.
REASONS: Final[Mapping[str, OverrideReason]] = MappingProxyType(
    {
        r.code: r
        for r in (
            OverrideReason(
                "case_linked",
                ("case", "contact"),
                (Colour.YELLOW, Colour.RED),
                False,
                "流调认定与病例有关联",
                "linked to a case by the epidemiological investigation",
            ),
            OverrideReason(
                "contact_upgraded",
                ("contact",),
                (Colour.YELLOW, Colour.RED),
                False,
                "流调将密接等级上调",
                "contact level raised by the investigation",
            ),
            OverrideReason(
                "positive_test",
                ("test",),
                (Colour.RED,),
                False,
                "阳性检测结果待规则处理",
                "a recorded positive test the rules do not yet weigh",
            ),
            OverrideReason(
                "quarantine_order",
                ("quarantine",),
                (Colour.YELLOW, Colour.RED),
                False,
                "隔离管控令",
                "under a recorded quarantine order",
            ),
            OverrideReason(
                "fact_in_error",
                FACT_KINDS,
                (Colour.GREEN, Colour.YELLOW),
                True,
                "所依据的事实有误,正在撤回",
                "the fact behind the colour was shown wrong and is being withdrawn",
            ),
        )
    }
)


@dataclass(frozen=True, slots=True)
class ActiveOverride:
    """An override in force for one person, as the assessment sees it."""

    id: int
    colour: Colour
    reason: str
    fact_kind: str
    fact_seq: int
    effective_at: datetime
    expires_at: datetime
    log_index: int | None = None

    def __post_init__(self) -> None:
        require_aware(self.effective_at, "effective_at")
        require_aware(self.expires_at, "expires_at")


def check_request(
    *,
    colour: str,
    reason: str,
    note: str,
    expires_at: datetime,
    subjects: int,
    now: datetime,
) -> tuple[Colour, OverrideReason]:
    """What an override must name, checked before any person is looked at."""
    require_aware(now, "now")
    found = REASONS.get(reason)
    if found is None:
        raise InvalidInput(
            f"reason must be one of {', '.join(REASONS)} (epidemic reasons only)", field="reason"
        )
    try:
        wanted = Colour(colour)
    except ValueError:
        raise InvalidInput("colour must be green, yellow or red", field="colour") from None
    if wanted not in found.colours:
        allowed = ", ".join(c.value for c in found.colours)
        raise InvalidInput(f"{reason} gives only {allowed}", field="colour")
    if not 1 <= len(note.strip()) <= 500:
        raise InvalidInput("note must be 1 to 500 characters", field="note")
    require_aware(expires_at, "expires_at")
    if expires_at <= now:
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    if expires_at > now + timedelta(days=MAX_DAYS):
        raise InvalidInput(f"an override lasts at most {MAX_DAYS} days", field="expires_at")
    if not 1 <= subjects <= MAX_SUBJECTS:
        raise InvalidInput(f"an override names 1 to {MAX_SUBJECTS} people", field="subjects")
    return wanted, found


def check_approver(requested_by: str, approver: str) -> None:
    """四眼原则: the one who asked cannot approve."""
    if requested_by == approver:
        raise Forbidden("an override needs a second member of staff: you asked for this one")


def needs_hub(approved_last_hour: int, subjects: int, hourly_limit: int) -> bool:
    """Whether this override takes the region above its hourly limit of people."""
    return approved_last_hour + subjects > hourly_limit


def sids_digest(sids: Iterable[str]) -> str:
    """The hex SHA-256 of the sorted pseudonyms, newline-separated: what the log keeps of who
    (a keyed pseudonym confirms nothing to whoever lacks the federation secret)."""
    return hashlib.sha256("\n".join(sorted(sids)).encode("ascii")).hexdigest()


def apply_overrides(
    assessment: Assessment, overrides: Sequence[ActiveOverride], now: datetime
) -> Assessment:
    """The rules' ``assessment`` with the overrides in force at ``now`` applied.

    Each override adds a reason (``override.<reason>``, with the override's id, fact and
    expiry). Raising overrides give at least their colour; a lowering one (``fact_in_error``)
    gives its own colour whatever the rules say, and the best lowering one wins.
    """
    live = [o for o in overrides if o.effective_at <= now < o.expires_at]
    if not live:
        return assessment
    colour = assessment.colour
    lowering = [o for o in live if REASONS[o.reason].lowers]
    raising = [o for o in live if not REASONS[o.reason].lowers]
    if lowering:
        colour = min((o.colour for o in lowering), key=_ORDER.__getitem__)
    for o in raising:
        if _ORDER[o.colour] > _ORDER[colour]:
            colour = o.colour
    reasons = tuple(assessment.reasons) + tuple(
        Reason(
            code=f"override.{o.reason}",
            rule_id=f"override:{o.id}",
            colour=o.colour,
            since=o.effective_at,
            detail={
                "override": o.id,
                "fact_kind": o.fact_kind,
                "fact_seq": o.fact_seq,
                "expires_at": o.expires_at.isoformat(),
                "log_index": o.log_index,
            },
        )
        for o in sorted(live, key=lambda o: o.id)
    )
    turns_green = assessment.turns_green
    if colour is Colour.GREEN:
        turns_green = None
    elif raising:
        last = max(o.expires_at for o in raising)
        if turns_green is None:
            turns_green = TurnGreen(
                not_before=last,
                negative_tests_needed=0,
                description_zh=f"人工赋码于 {last.isoformat()} 到期",
                description_en=f"the manual colour ends at {last.isoformat()}",
            )
        elif last > turns_green.not_before:
            turns_green = replace(turns_green, not_before=last)
    return replace(assessment, colour=colour, reasons=reasons, turns_green=turns_green)


# ------------------------------------------------------------------ the log monitor
@dataclass(frozen=True, slots=True)
class Burst:
    """More people overridden in one region within ``window`` than the limit allows."""

    region: str
    start: datetime
    end: datetime
    overrides: int
    subjects: int
    indexes: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "overrides": self.overrides,
            "subjects": self.subjects,
            "indexes": list(self.indexes),
        }


def bursts(
    entries: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    limit: int,
    window: timedelta = timedelta(hours=1),
) -> list[Burst]:
    """The bursts of ``override.applied`` entries in a log: for each region, each maximal run
    of entries where the people overridden within ``window`` of one another exceed ``limit``.

    ``entries`` are (index, entry) pairs as ``GET /v1/log/entries`` gives them (an entry is
    the log's JSON object). Whether the hub approved does not matter here: a monitor flags the
    burst either way, for someone outside the region to look at.
    """
    by_region: dict[str, list[tuple[datetime, int, int]]] = {}
    for index, entry in entries:
        if entry.get("kind") != "override.applied":
            continue
        at = require_aware(datetime.fromisoformat(str(entry["at"])), "at")
        by_region.setdefault(str(entry.get("region", "")), []).append(
            (at, index, int(entry.get("subjects", 0)))
        )
    found: list[Burst] = []
    for region, rows in sorted(by_region.items()):
        rows.sort()
        start = 0
        total = 0
        run: list[tuple[datetime, int, int]] | None = None
        for end, row in enumerate(rows):
            total += row[2]
            while row[0] - rows[start][0] >= window:
                total -= rows[start][2]
                start += 1
            if total > limit:
                members = rows[start : end + 1]
                if run is not None and members[0] <= run[-1]:
                    run = sorted(set(run) | set(members))
                else:
                    if run is not None:
                        found.append(_burst(region, run))
                    run = list(members)
        if run is not None:
            found.append(_burst(region, run))
    return found


def _burst(region: str, run: list[tuple[datetime, int, int]]) -> Burst:
    return Burst(
        region=region,
        start=run[0][0],
        end=run[-1][0],
        overrides=len(run),
        subjects=sum(r[2] for r in run),
        indexes=tuple(r[1] for r in run),
    )
