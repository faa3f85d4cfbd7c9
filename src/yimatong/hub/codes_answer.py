"""The shared vocabulary of Mode 2: one answer for a code of any kind, from any source.

No I/O here (no database, no HTTP). ``Verification`` is what the hub learned about a code,
built from the signed claims, an issuer's own 验码 answer or a Mode 1 summary; ``view()`` is
the JSON answer; ``national_claims`` turns it into the claims of a national code. Inputs from
other nodes are read defensively: what does not have the expected shape is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yimatong.domain.edge import BadValue, check_time, parse_time
from yimatong.domain.facts import Colour
from yimatong.domain.token import MAX_REASONS, CodeKind, HealthClaims, new_claims
from yimatong.hub.registry import NATIONAL

__all__ = [
    "COLOURS",
    "Verification",
    "display",
    "from_answer",
    "from_claims",
    "national_claims",
    "read_hours",
    "read_reasons",
    "read_time",
    "readable_answer",
    "reason_codes",
]

_COLOUR_LABELS = {"green": "绿码", "yellow": "黄码", "red": "红码"}
COLOURS = frozenset(_COLOUR_LABELS)
#: The shape HealthClaims gives a reason code (domain/token.py).
_REASON_CODE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


@dataclass(frozen=True)
class Verification:
    """One verified code in the shared vocabulary (``view()`` is the JSON answer)."""

    issuer: str
    issuer_kind: str
    kind: str
    sid: str | None
    colour: str
    reasons: tuple[Mapping[str, Any], ...]
    masked_name: str
    masked_id: str
    status: str
    status_checked_at: datetime
    claimed_colour: str | None = None
    colour_since: datetime | None = None
    hours_since_negative_test: int | None = None
    turns_green: Any = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None

    def view(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "valid": True,
            "issuer": self.issuer,
            "issuer_kind": self.issuer_kind,
            "kind": self.kind,
            "sid": self.sid,
            "colour": self.colour,
        }
        if self.claimed_colour is not None:
            body["claimed_colour"] = self.claimed_colour
        if self.colour_since is not None:
            body["colour_since"] = self.colour_since
        body["reasons"] = [dict(r) for r in self.reasons]
        if self.turns_green is not None:
            body["turns_green"] = self.turns_green
        body["hours_since_negative_test"] = self.hours_since_negative_test
        body["display"] = display(self.masked_name, self.masked_id, self.colour)
        body["status"] = self.status
        body["status_checked_at"] = self.status_checked_at
        if self.issued_at is not None:
            body["issued_at"] = self.issued_at
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        return body

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(str(r["code"]) for r in self.reasons)


def display(masked_name: str, masked_id: str, colour: str) -> dict[str, str]:
    return {
        "masked_name": masked_name,
        "masked_id": masked_id,
        "colour_zh": _COLOUR_LABELS[colour],
        "colour_en": colour,
    }


def read_time(value: Any) -> datetime | None:
    """A time from a peer's answer, in UTC; None if it is missing or unusable."""
    try:
        if isinstance(value, datetime):
            return check_time(value, "time")
        return parse_time(value, "time") if isinstance(value, str) else None
    except BadValue:
        return None


def read_hours(value: Any) -> int | None:
    if type(value) is int and 0 <= value <= 100_000:
        return value
    return None


def read_reasons(value: Any) -> tuple[Mapping[str, Any], ...]:
    """Reason codes or reason objects, as ``[{"code", ...}]`` (anything else is dropped)."""
    if not isinstance(value, list):
        return ()
    out: list[Mapping[str, Any]] = []
    for item in value[:64]:
        if isinstance(item, str):
            out.append({"code": item})
        elif isinstance(item, Mapping) and isinstance(item.get("code"), str):
            out.append(dict(item))
    return tuple(out)


def readable_answer(answer: Any, region: str) -> bool:
    if not isinstance(answer, Mapping) or answer.get("valid") is not True:
        return False
    shown = answer.get("display")
    return (
        answer.get("issuer") == region
        and answer.get("colour") in COLOURS
        and isinstance(shown, Mapping)
        and isinstance(shown.get("masked_name"), str)
        and isinstance(shown.get("masked_id"), str)
    )


def from_claims(claims: HealthClaims, kind: str, now: datetime) -> Verification:
    return Verification(
        issuer=claims.issuer,
        issuer_kind=kind,
        kind=claims.kind.value,
        sid=claims.sid,
        colour=claims.colour.value,
        claimed_colour=claims.colour.value,
        colour_since=claims.colour_since,
        reasons=tuple({"code": r} for r in claims.reasons),
        hours_since_negative_test=claims.hours_since_negative_test,
        masked_name=claims.masked_name,
        masked_id=claims.masked_id,
        status="claims",
        status_checked_at=claims.issued_at,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
    )


def from_answer(
    claims: HealthClaims, kind: str, answer: Mapping[str, Any], now: datetime
) -> Verification:
    if answer.get("status") == "claims":
        # The issuer answered from the signed claims (its database was down): no fresher.
        return from_claims(claims, kind, now)
    shown = answer["display"]
    return Verification(
        issuer=claims.issuer,
        issuer_kind=kind,
        kind=claims.kind.value,
        sid=claims.sid,
        colour=str(answer["colour"]),
        claimed_colour=claims.colour.value,
        colour_since=read_time(answer.get("colour_since")),
        reasons=read_reasons(answer.get("reasons")),
        turns_green=answer.get("turns_green"),
        hours_since_negative_test=read_hours(answer.get("hours_since_negative_test")),
        masked_name=str(shown["masked_name"]),
        masked_id=str(shown["masked_id"]),
        status="online",
        status_checked_at=now,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
    )


def reason_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Codes that fit a code's claims (shape and count, as HealthClaims checks); others drop."""
    kept: list[str] = []
    for code in codes:
        if len(code) <= 64 and _REASON_CODE.fullmatch(code) and code not in kept:
            kept.append(code)
        if len(kept) == MAX_REASONS:
            break
    return tuple(kept)


def national_claims(checked: Verification, now: datetime) -> HealthClaims:
    """The claims of the national code: the current colour, reasons and masked identity."""
    assert checked.sid is not None

    def claims(masked_name: str, masked_id: str) -> HealthClaims:
        since = checked.colour_since if checked.colour_since is not None else now
        return new_claims(
            issuer=NATIONAL,
            sid=checked.sid or "",
            colour=Colour(checked.colour),
            colour_since=min(since, now),
            reasons=reason_codes(checked.reason_codes),
            hours_since_negative_test=checked.hours_since_negative_test,
            masked_name=masked_name,
            masked_id=masked_id,
            kind=CodeKind.DYNAMIC,
            now=now,
        )

    try:
        return claims(checked.masked_name, checked.masked_id)
    except ValueError:
        # A masked form the claims refuse (unmasked or overlong, from another system): show
        # nothing rather than something unmasked.
        return claims("", "")
