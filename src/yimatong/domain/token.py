"""What a health code says: the claims an issuer signs (DESIGN §5), as a pure value object.

The wire format (``YMT1:`` + base45 + COSE_Sign1 + CWT) lives in ``yimatong.adapters.wire``;
this module knows nothing of CBOR or keys. Every time is timezone-aware and has whole-second
precision, because the wire carries epoch seconds: a claim that round-trips through a code
compares equal to the one that was signed.

A code is read offline by any checkpoint in any region, so it carries only what a checkpoint
may see: a colour with machine reason codes, the hours since the last negative test, and a
*masked* name and ID number. ``HealthClaims`` refuses a non-empty name or ID without a ``*``
in it, a last guard against signing someone's full ID number into a QR code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from yimatong.domain.facts import Colour, require_aware

__all__ = [
    "DYNAMIC_LIFETIME",
    "MAX_MASKED_LENGTH",
    "MAX_REASONS",
    "PRINTED_LIFETIME",
    "CodeKind",
    "HealthClaims",
    "new_claims",
]


class CodeKind(enum.Enum):
    """A code shown on a phone and refreshed every minute, or one printed on a card."""

    DYNAMIC = "dynamic"
    PRINTED = "printed"


#: A displayed code expires quickly so that a screenshot is worth little (anti-replay).
DYNAMIC_LIFETIME = timedelta(seconds=60)
#: A printed card (people without smartphones) lives long; its status is checked online.
PRINTED_LIFETIME = timedelta(days=30)

_DEFAULT_LIFETIME = {CodeKind.DYNAMIC: DYNAMIC_LIFETIME, CodeKind.PRINTED: PRINTED_LIFETIME}

#: Upper bounds that keep even the largest code under the verifier's input cap
#: (``adapters.wire.code.MAX_CODE_LENGTH``: at most ~2,400 of 2,560 characters); a typical
#: code is ~290.
#: Reason codes have the shape and length limit rule sets give them (domain/assessment.py).
MAX_REASONS = 16
MAX_MASKED_LENGTH = 48
_MAX_HOURS = 100_000  # ~11 years; anything larger is a bug, not a test result

_REGION = re.compile(r"[0-9]{6}")
_SID = re.compile(r"[0-9a-f]{32}")
# Machine reason codes: "stay.medium-risk", "contact.close", "temperature.fever", ...
_REASON = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_MAX_REASON_LENGTH = 64


@dataclass(frozen=True, slots=True)
class HealthClaims:
    """The claims of one health code.

    ``sid`` is the subject pseudonym (32 lowercase hex characters, 16 bytes on the wire);
    ``reasons`` are machine reason codes, not sentences; ``hours_since_negative_test`` is
    None when the subject has no negative test on record.
    """

    issuer: str
    issued_at: datetime
    expires_at: datetime
    sid: str
    colour: Colour
    colour_since: datetime
    reasons: tuple[str, ...]
    hours_since_negative_test: int | None
    masked_name: str
    masked_id: str
    kind: CodeKind
    version: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.issuer, str) or not _REGION.fullmatch(self.issuer):
            raise ValueError("issuer must be a six-digit region code")
        _require_whole_seconds(self.issued_at, "issued_at")
        _require_whole_seconds(self.expires_at, "expires_at")
        _require_whole_seconds(self.colour_since, "colour_since")
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        if not isinstance(self.sid, str) or not _SID.fullmatch(self.sid):
            raise ValueError("sid must be 32 lowercase hex characters")
        if not isinstance(self.colour, Colour):
            raise TypeError("colour must be a Colour")
        if not isinstance(self.kind, CodeKind):
            raise TypeError("kind must be a CodeKind")
        _check_reasons(self.reasons)
        hours = self.hours_since_negative_test
        if hours is not None and (type(hours) is not int or not 0 <= hours <= _MAX_HOURS):
            raise ValueError(f"hours_since_negative_test must be None or 0..{_MAX_HOURS}")
        _check_masked(self.masked_name, "masked_name")
        _check_masked(self.masked_id, "masked_id")
        if type(self.version) is not int or self.version < 1:
            raise ValueError("version must be a positive integer")

    @property
    def lifetime(self) -> timedelta:
        return self.expires_at - self.issued_at


def new_claims(
    *,
    issuer: str,
    sid: str,
    colour: Colour,
    colour_since: datetime,
    reasons: Iterable[str],
    hours_since_negative_test: int | None,
    masked_name: str,
    masked_id: str,
    kind: CodeKind,
    now: datetime,
    lifetime: timedelta | None = None,
) -> HealthClaims:
    """Claims for a code issued at ``now``, expiring after ``lifetime`` (default by ``kind``).

    Times are truncated to whole seconds and expressed in UTC, as they will be after a
    round trip through the wire.
    """
    require_aware(now, "now")
    require_aware(colour_since, "colour_since")
    if lifetime is None:
        lifetime = _DEFAULT_LIFETIME[kind]
    whole = timedelta(seconds=int(lifetime.total_seconds()))
    if whole <= timedelta(0):
        raise ValueError("lifetime must be at least one second")
    issued_at = _to_second(now)
    return HealthClaims(
        issuer=issuer,
        issued_at=issued_at,
        expires_at=issued_at + whole,
        sid=sid,
        colour=colour,
        colour_since=_to_second(colour_since),
        reasons=tuple(reasons),
        hours_since_negative_test=hours_since_negative_test,
        masked_name=masked_name,
        masked_id=masked_id,
        kind=kind,
    )


def _to_second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _require_whole_seconds(value: datetime, name: str) -> None:
    if type(value) is not datetime or value.tzinfo is not UTC:  # the usual case, checked fast
        require_aware(value, name)
    if value.microsecond:
        raise ValueError(f"{name} must have whole-second precision")


def _check_reasons(reasons: tuple[str, ...]) -> None:
    if not isinstance(reasons, tuple):
        raise TypeError("reasons must be a tuple of reason codes")
    if len(reasons) > MAX_REASONS:
        raise ValueError(f"at most {MAX_REASONS} reasons")
    for reason in reasons:
        if (
            not isinstance(reason, str)
            or len(reason) > _MAX_REASON_LENGTH
            or not _REASON.fullmatch(reason)
        ):
            raise ValueError(f"not a machine reason code: {reason!r}")


def _check_masked(value: str, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str")
    if len(value) > MAX_MASKED_LENGTH:
        raise ValueError(f"{name} is longer than {MAX_MASKED_LENGTH} characters")
    if value and "*" not in value:
        # Deliberately no echo of the value: it may be exactly what must not be logged.
        raise ValueError(f"{name} must be masked (contain '*') or empty")
