"""What may cross a node's edge: the pure checks behind every request model and parameter.

Every value a client sends passes one of these before a use case sees it, so that nothing a
client can send reaches the database, the clock arithmetic or a masked name in a shape that
breaks them. ``yimatong.edge_types`` wraps them as pydantic types for the routes; use cases,
the hub link and the command line call them directly. Each raises ``InvalidInput`` naming the
field; none repeats the value (it may be personal data).

- **Integers** that become ids, versions and cursors fit a signed 64-bit column:
  ``0 <= n <= MAX_ID`` (2^63 - 1). A larger one is not an id that exists; it is refused rather
  than passed to a driver that overflows.
- **Codes** are ASCII digits: ``[0-9]``, never ``\\d`` or ``str.isdigit()``, which also accept
  full-width and other scripts' digits (``３３０１０６``) that then match no row, or break ``int``.
- **Times** are RFC 3339 with an offset (``Z`` or ``±HH:MM``), normalised to UTC at once and
  within ``TIME_MIN`` .. ``TIME_MAX`` *after* normalisation. ``0001-01-01T00:00:00+14:00`` is
  a valid-looking string whose UTC form is outside ``datetime``'s range: every later
  ``astimezone``, comparison or ``+ timedelta`` on it raised ``OverflowError``. The window is
  narrower than ``datetime``'s (1900 to 9000) so that the arithmetic the rules do on a time
  (adding retention, windows of days, a century of key lifetime) can never leave the range.
- **Events** (scans, stays, declarations' travel, test samples and reports) are things that
  happened: within ``EVENT_PAST`` (366 days) before the node's ``now`` and at most
  ``CLOCK_SKEW`` (5 minutes) after it. No rule looks back further than a few weeks and personal
  records live for the retention period (30 days by default), so an event older than a year can
  change no colour and would be purged at once; a year still takes a checkpoint's queue that
  was offline for months, and catches a mistyped century (``0226``, ``2206``). Five minutes is
  how far the clocks of gates and labs may run ahead of ours.
- **Text** has no control (Unicode category Cc) or format (Cf) characters, no lone
  surrogates (Cs) and no line or paragraph separators (Zl, Zp): NUL truncates C strings,
  right-to-left overrides and zero-width characters make a masked name (or an audit purpose)
  read as something else. Names and one-line text allow none of them; long free text
  (statements, notes, descriptions) may hold line breaks and tabs (``\\n``, ``\\r``, ``\\t``),
  which people type into a form.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from yimatong.domain.errors import InvalidInput

__all__ = [
    "CLOCK_SKEW",
    "EVENT_PAST",
    "MAX_ID",
    "TIME_MAX",
    "TIME_MIN",
    "BadValue",
    "EventTimes",
    "check_event",
    "check_id",
    "check_name",
    "check_text",
    "check_time",
    "format_time",
    "is_digits",
    "parse_time",
    "parse_time_or_none",
]

MAX_ID = 2**63 - 1
TIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(9000, 1, 1, tzinfo=UTC)
EVENT_PAST = timedelta(days=366)
CLOCK_SKEW = timedelta(minutes=5)
_NAIVE_MIN = TIME_MIN.replace(tzinfo=None)
_NAIVE_MAX = TIME_MAX.replace(tzinfo=None)

# RFC 3339 section 5.6 (date-time): "T" or a space (its note), an optional fraction, "Z" or an
# offset; seconds may be left out (people type 08:00+08:00). [0-9], not \d. Written out rather
# than left to datetime.fromisoformat, which also takes ISO 8601's other forms (week dates,
# "20260101T...", no offset) and had each caller deciding what to do with a naive result.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?",
    re.ASCII,
)
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_LINE_BREAKS = frozenset("\n\r\t")


class BadValue(InvalidInput, ValueError):
    """A value refused at the edge; ``reason`` says why without naming the field.

    Also a ValueError, so that code reading its own files or a peer's answers (where a bad
    value is a broken document, not a client's mistake) can catch it as one.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}", field=field)
        self.reason = reason


# ---------------------------------------------------------------------------------- numbers
def check_id(value: int, field: str) -> int:
    """``value`` if it is an int from 0 to 2^63 - 1 (bool is not an int here)."""
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise BadValue(field, f"must be an integer from 0 to {MAX_ID}")
    return value


def is_digits(text: object, length: int | None = None) -> bool:
    """Whether ``text`` is ASCII digits only (of ``length``, when given)."""
    return (
        isinstance(text, str)
        and text.isascii()
        and text.isdigit()
        and (len(text) == length if length is not None else bool(text))
    )


# ------------------------------------------------------------------------------------ times
def check_time(value: datetime, field: str) -> datetime:
    """``value`` in UTC, if it is aware and within ``TIME_MIN`` .. ``TIME_MAX`` once in UTC."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise BadValue(field, "must be a time with an offset")
    offset = value.utcoffset()
    assert offset is not None
    try:
        # Without the tzinfo: astimezone() itself overflows at the ends of datetime's range.
        utc = value.replace(tzinfo=None) - offset
    except OverflowError:
        utc = None
    if utc is None or not _NAIVE_MIN <= utc < _NAIVE_MAX:
        raise BadValue(field, f"must be from {TIME_MIN.date()} to {TIME_MAX.date()} (UTC)")
    return utc.replace(tzinfo=UTC)


def parse_time(text: object, field: str) -> datetime:
    """An RFC 3339 time with an offset, in UTC and within range; InvalidInput otherwise."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BadValue(
            field, "must be an RFC 3339 time with an offset, e.g. 2026-01-01T08:00:00+08:00"
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = match.groups()
    if not zulu and not sign:
        raise BadValue(
            field, "must be an RFC 3339 time with an offset; it has no UTC offset (add +08:00)"
        )
    try:
        if zulu:
            tz = UTC
        elif int(om) > 59:
            raise ValueError("offset minutes")
        else:
            delta = timedelta(hours=int(oh), minutes=int(om))
            tz = timezone(-delta if sign == "-" else delta)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        # A leap second (:60) is read as the last moment of its minute.
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second or 0), 59),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        raise BadValue(field, "is not a valid date and time") from None
    return check_time(parsed, field)


def parse_time_or_none(text: object, field: str) -> datetime | None:
    """``parse_time``, with None (JSON null) passing through."""
    return None if text is None else parse_time(text, field)


def format_time(value: datetime) -> str:
    """A time as RFC 3339 in UTC (the form every node writes)."""
    return check_time(value, "time").isoformat()


def check_event(
    value: datetime, now: datetime, field: str, *, ahead: timedelta = CLOCK_SKEW
) -> datetime:
    """``value`` in UTC, if it lies from ``EVENT_PAST`` before ``now`` to ``ahead`` after it."""
    value = check_time(value, field)
    if value > now + ahead:
        raise BadValue(field, "is in the future")
    if value < now - EVENT_PAST:
        raise BadValue(field, f"is more than {EVENT_PAST.days} days in the past")
    return value


# The shape nearly every machine writes: seconds with a fraction of up to 6 digits or none,
# "T", then "Z" or "±HH:MM", each field in its range (fromisoformat takes an offset's minute 60
# as the next hour, where parse_time refuses it). For it datetime.fromisoformat (in C) builds
# the value parse_time does; anything else takes parse_time itself.
_PLAIN_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:[0-5][0-9])",
    re.ASCII,
)
_UTC_SECONDS = len("2026-01-01T00:00:00+00:00")


class EventTimes:
    """``check_event(parse_time(text, field), now, field)`` for the many texts of one batch.

    Each distinct text is read once (a lab reports a plate of samples at one time). A text of
    the plain shape is read by ``datetime.fromisoformat`` after a strict match; any other
    text, or one that fails there or falls outside the window, is left to ``parse_time`` and
    ``check_event``, which give the answer or the error. So every answer is theirs.
    """

    __slots__ = ("_hi", "_lo", "_now", "_seen")

    def __init__(self, now: datetime) -> None:
        self._now = now
        # within check_time's range too, so that nothing passes here that it would refuse
        self._lo = max(now - EVENT_PAST, TIME_MIN)
        self._hi = min(now + CLOCK_SKEW, TIME_MAX - timedelta(microseconds=1))
        self._seen: dict[str, tuple[datetime, str]] = {}

    def get(self, text: object, field: str) -> datetime:
        """The event time ``text`` gives, in UTC; BadValue naming ``field`` otherwise."""
        return self.timed(text, field)[0]

    def timed(self, text: object, field: str) -> tuple[datetime, str]:
        """:meth:`get` with the time's RFC 3339 text in UTC (``format_time`` of it)."""
        known = self._plain(text) if type(text) is str else None
        if known is not None:
            return known
        value = check_event(parse_time(text, field), self._now, field)
        return value, value.isoformat()

    def known(self, texts: list[Any]) -> list[tuple[datetime, str] | None]:
        """For each text, what :meth:`timed` gives if it is a time of the plain shape in the
        window, else None (:meth:`timed` then says what it is, or what is wrong with it)."""
        plain = self._plain
        return [plain(t) if type(t) is str else None for t in texts]

    def _plain(self, text: str) -> tuple[datetime, str] | None:
        found = self._seen.get(text)
        if found is not None or _PLAIN_RFC3339.fullmatch(text) is None:
            return found
        try:
            value = datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError):
            return None
        if not self._lo <= value <= self._hi:
            return None
        # a text in UTC to the second is already its own isoformat()
        same = len(text) == _UTC_SECONDS and text.endswith("+00:00")
        found = self._seen[text] = (value, text if same else value.isoformat())
        return found


# ------------------------------------------------------------------------------------- text
def check_text(value: str, field: str, *, multiline: bool = False) -> str:
    """``value`` if it holds no control, format or separator characters.

    ``multiline`` allows line breaks and tabs (long free text typed into a form).
    """
    if not isinstance(value, str):
        raise BadValue(field, "must be text")
    if value.isascii() and value.isprintable():
        return value  # the common case, without a look-up per character
    for char in value:
        if unicodedata.category(char) in _REFUSED and not (multiline and char in _LINE_BREAKS):
            raise BadValue(
                field,
                f"must not contain control or invisible formatting characters (U+{ord(char):04X})",
            )
    return value


def check_name(value: str, field: str = "name") -> str:
    """A person's name: one line of text with no control or format characters."""
    return check_text(value, field)
