"""Date-times for CertLogic: the spec's string formats and its JavaScript-``Date``-like offsets.

CertLogic (specification 1.3.2) has exactly two ways to make a date-time: ``plusTime`` and
``dccDateOfBirth``. Both land here. A date-time is a timezone-aware :class:`datetime` in UTC
with millisecond precision (``microsecond`` is always a multiple of 1000), because the spec
normalises every date-time to milliseconds and offsets it in UTC, as JavaScript's
``Date.setUTC*`` methods do.

Standard library only. Errors are plain :class:`ValueError` with a message that never quotes
the input (it may be a date of birth); :mod:`yimatong.rules.certlogic` turns them into
``CertLogicEvaluationError`` with the place in the expression.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Final

__all__ = [
    "TIME_UNITS",
    "UTC",
    "dcc_date_of_birth",
    "format_datetime",
    "offset_datetime",
    "parse_datetime",
    "plus_time",
]

#: The time units ``plusTime`` accepts, in the spec's order.
TIME_UNITS: Final = ("year", "month", "day", "hour")

# [0-9], not \d: \d also matches other scripts' digits. fullmatch, not $: $ accepts a final "\n".
# The offset alternatives are the spec's h, hh, hmm, hhmm, h:mm and hh:mm.
_DATE_TIME = re.compile(
    r"""
    (?P<year>[0-9]{4})
    (?:-(?P<month>[0-9]{2})
      (?:-(?P<day>[0-9]{2})
        (?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})
          (?:\.(?P<fraction>[0-9]+))?
          (?P<offset>Z|[+-][0-9]{1,4}|[+-][0-9]{1,2}:[0-9]{2})?
        )?
      )?
    )?
    """,
    re.VERBOSE,
)
_DATE_OF_BIRTH = re.compile(r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?)?")


def _offset(text: str | None) -> timezone:
    """The time zone of an offset in one of the spec's forms; none or ``Z`` means UTC."""
    if text is None or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:]
    if ":" in digits:
        hours_text, minutes_text = digits.split(":")
    elif len(digits) <= 2:  # h, hh
        hours_text, minutes_text = digits, "0"
    else:  # hmm, hhmm
        hours_text, minutes_text = digits[:-2], digits[-2:]
    hours, minutes = int(hours_text), int(minutes_text)
    if hours > 23 or minutes > 59:
        raise ValueError("the time zone offset is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _date_parts(
    year_text: str, month_text: str | None, day_text: str | None
) -> tuple[int, int, int]:
    """Year, month and day; a partial date means its *last* possible day (``dccDateOfBirth``)."""
    year = int(year_text)
    if year < 1:
        raise ValueError("years before 0001 are not supported")
    month = 12 if month_text is None else int(month_text)
    if not 1 <= month <= 12:
        raise ValueError("the month is out of range")
    if day_text is None:
        return year, month, _last_day(year, month)
    day = int(day_text)
    if not 1 <= day <= _last_day(year, month):
        raise ValueError("the day is out of range for its month")
    return year, month, day


@lru_cache(maxsize=4096)
def parse_datetime(text: str) -> datetime:
    """Parse a date(-time) string in one of the formats ``plusTime`` accepts.

    ``YYYY`` and ``YYYY-MM`` are read as ``dccDateOfBirth`` reads them (the last day they can
    mean); a date without a time is midnight; a missing offset is ``Z``; sub-second digits
    beyond the third are dropped (rounding down to the millisecond). The result is in UTC.
    Cached: a verifier parses the same validation clock for every rule it evaluates.
    """
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise ValueError("not an allowed date or date-time format")
    year, month, day = _date_parts(match["year"], match["month"], match["day"])
    if match["hour"] is None:
        return datetime(year, month, day, tzinfo=UTC)
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("the time of day is out of range")
    millisecond = int((match["fraction"] or "0")[:3].ljust(3, "0"))
    local = datetime(
        year, month, day, hour, minute, second, millisecond * 1000, tzinfo=_offset(match["offset"])
    )
    try:
        return local.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0
        raise ValueError("the date-time is out of the supported range") from None


@lru_cache(maxsize=4096)
def dcc_date_of_birth(text: str) -> datetime:
    """The ``dccDateOfBirth`` conversion: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` to midnight UTC.

    A partial date becomes the last date consistent with it: ``2004`` is 2004-12-31 and
    ``2004-02`` is 2004-02-29.
    """
    match = _DATE_OF_BIRTH.fullmatch(text)
    if match is None:
        raise ValueError("not a date of birth of the form YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = _date_parts(match["year"], match["month"], match["day"])
    return datetime(year, month, day, tzinfo=UTC)


def offset_datetime(moment: datetime, amount: int, unit: str) -> datetime:
    """Add ``amount`` units as JavaScript's ``Date.setUTC<unit>(getUTC<unit>() + amount)`` does.

    Hours and days are exact durations in UTC (no DST, no leap seconds). Months and years keep
    the day of the month and let it overflow into the next month, as ``Date`` does:
    2020-02-29 plus one year is 2021-03-01 and 2021-01-31 plus one month is 2021-03-03.
    """
    if unit not in TIME_UNITS:
        raise ValueError("unknown time unit")
    if amount == 0:
        return moment
    try:
        if unit == "hour":
            return moment + timedelta(hours=amount)
        if unit == "day":
            return moment + timedelta(days=amount)
        if unit == "month":
            months = moment.year * 12 + moment.month - 1 + amount
        else:  # year
            months = (moment.year + amount) * 12 + moment.month - 1
        year, month_index = divmod(months, 12)
        first = moment.replace(year=year, month=month_index + 1, day=1)
        return first + timedelta(days=moment.day - 1)
    except (OverflowError, ValueError):  # beyond datetime's years 1..9999
        raise ValueError("the date-time is out of the supported range") from None


def plus_time(text: str, amount: int, unit: str) -> datetime:
    """The ``plusTime`` operation on an already-evaluated string operand."""
    return offset_datetime(parse_datetime(text), amount, unit)


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.sssZ`` in UTC, as JavaScript's ``Date.toISOString`` writes it."""
    if moment.tzinfo is None:
        raise ValueError("a CertLogic date-time is timezone-aware")
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )
