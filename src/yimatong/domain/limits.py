"""The node's limits per client: what is counted, how much is allowed, and in what windows.

A limit is a name (``otp.address``), a key (a client address, a phone's keyed hash, a
credential's name) and one or more rates, each "so many events per fixed window" (``20/m``:
twenty a minute, counted from the top of the minute). An event is refused while any of its
windows is full; the second, longer window makes the back-off grow for a caller who keeps on.
Counting happens in ``adapters/db/limits.py``, in the node's own database, so that every worker
of a node (``serve --workers N``) and every machine of a PostgreSQL node shares the counts.

Only events worth limiting are counted — one-time codes, sign-in attempts, failed bearer tokens,
look-ups by ID number, conversions — never 验码, the checkpoint's hot path.

Each limit is a setting ``YMT_LIMIT_<NAME>`` (upper case, dots as underscores), a comma-separated
list of ``COUNT/[N]UNIT`` with UNIT one of s, m, h, d (``10/s,600/h``, ``5/10m``), or ``off``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["LIMITS", "Rate", "env_key", "parse_rates", "window_start"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*")


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` events per fixed window of ``seconds``."""

    count: int
    seconds: int

    def __post_init__(self) -> None:
        if self.count < 1 or self.seconds < 1:
            raise ValueError("a rate needs a positive count and window")

    def __str__(self) -> str:
        for unit, size in sorted(_UNITS.items(), key=lambda u: -u[1]):
            if self.seconds % size == 0:
                n = self.seconds // size
                return f"{self.count}/{'' if n == 1 else n}{unit}"
        raise AssertionError("unreachable: every window is a whole number of seconds")


#: name → (default rates, what is counted and keyed by). docs/operations.md lists the same.
LIMITS: Mapping[str, tuple[str, str]] = {
    "otp.address": ("20/m,200/h", "one-time codes sent, per client address"),
    "otp.phone": ("5/h", "one-time codes sent, per phone (by its keyed hash)"),
    "signin.address": ("30/m,300/h", "sign-in attempts (phone + code), per client address"),
    "link_code.subject": ("5/h", "consent codes texted to a person's phone on record, per person"),
    "bad_token.address": ("20/m,100/h", "bearer tokens refused, per client address (back-off)"),
    "lookup.credential": ("30/m,300/h", "look-ups by ID number, per checkpoint credential"),
    "lookup.address": ("60/m,600/h", "look-ups by ID number, per client address"),
    "convert.address": ("10/s,600/h", "anonymous conversions (Mode 2), per client address"),
    "convert.credential": ("50/s", "conversions by a credential (a node), per credential"),
}


def env_key(name: str) -> str:
    """The setting of limit ``name``: ``otp.address`` → ``YMT_LIMIT_OTP_ADDRESS``."""
    return "YMT_LIMIT_" + name.upper().replace(".", "_")


def parse_rates(text: str) -> tuple[Rate, ...]:
    """``"20/m,200/h"`` → two rates; ``"off"`` → none. ValueError says what is wrong."""
    text = text.strip()
    if text.lower() == "off":
        return ()
    rates = []
    for part in text.split(","):
        found = _RATE.fullmatch(part)
        if found is None:
            raise ValueError(f"{part.strip()!r} is not COUNT/[N]UNIT (unit s, m, h or d)")
        count, n, unit = int(found[1]), int(found[2] or 1), found[3]
        if count < 1 or n < 1:
            raise ValueError(f"{part.strip()!r}: count and window must be positive")
        rates.append(Rate(count, n * _UNITS[unit]))
    if len({r.seconds for r in rates}) != len(rates):
        raise ValueError("two rates of one limit have the same window")
    return tuple(sorted(rates, key=lambda r: r.seconds))


def window_start(now: datetime, seconds: int) -> int:
    """The start (POSIX seconds) of the fixed window of ``seconds`` that holds ``now``."""
    epoch = int(now.timestamp())
    return epoch - epoch % seconds
