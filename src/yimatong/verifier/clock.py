"""Can this checkpoint's clock be trusted for an offline decision?

Offline, the checkpoint's own clock decides whether a code has expired: a gate whose clock was
set back a day accepts yesterday's screenshots. So the verifier compares its wall clock with
the hub's time whenever it sees the hub, and refuses offline decisions when they disagree by
more than ``max_drift`` (default five minutes), saying why.

What it knows of the hub's time (each an ``Anchor``: the hub's time, and the local wall clock
and boot-time counter when it was learnt):

* the ``issued_at`` of the freshest signed list — signed, so nobody on the network can move it,
  but possibly older than the moment it was fetched (a list is signed once per version): it is
  a *floor*: the hub's time now is at least that plus the time elapsed since;
* the ``Date`` header of the hub's last answer — unsigned and whole seconds, but current: an
  *estimate* of the hub's time.

Elapsed time is measured with the boot-time counter (``CLOCK_BOOTTIME`` on Linux: it counts
suspend and ignores wall-clock changes), which only means something within one boot; an
anchor from an earlier boot keeps only the floor, without the elapsed time.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MAX_DRIFT",
    "Anchor",
    "ClockVerdict",
    "SystemTime",
    "TimeSource",
    "check_clock",
    "parse_http_date",
]

DEFAULT_MAX_DRIFT = timedelta(minutes=5)
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class TimeSource:
    """The wall clock, a boot-time counter and the boot's identity (tests pass a fake)."""

    def wall(self) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError

    def elapsed(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def boot(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class SystemTime(TimeSource):
    def __init__(self) -> None:
        self._boot = _read_boot_id()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def elapsed(self) -> float:
        if hasattr(time, "CLOCK_BOOTTIME"):
            return time.clock_gettime(time.CLOCK_BOOTTIME)
        return time.monotonic()

    def boot(self) -> str:
        return self._boot


def _read_boot_id() -> str:
    try:
        return "boot:" + _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        # No boot id (not Linux): anchors are good within this process only.
        return f"process:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class Anchor:
    """The hub's time ``hub`` as learnt at local wall time ``local`` and counter ``elapsed``."""

    hub: datetime
    local: datetime
    elapsed: float
    boot: str
    signed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "hub": self.hub.isoformat(),
            "local": self.local.isoformat(),
            "elapsed": self.elapsed,
            "boot": self.boot,
            "signed": self.signed,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Anchor:
        return cls(
            hub=datetime.fromisoformat(str(raw["hub"])),
            local=datetime.fromisoformat(str(raw["local"])),
            elapsed=float(raw["elapsed"]),
            boot=str(raw["boot"]),
            signed=bool(raw["signed"]),
        )

    @classmethod
    def now(cls, hub: datetime, source: TimeSource, *, signed: bool) -> Anchor:
        return cls(hub, source.wall(), source.elapsed(), source.boot(), signed)


@dataclass(frozen=True, slots=True)
class ClockVerdict:
    ok: bool
    #: local minus hub, when it could be estimated
    drift: timedelta | None
    reason_zh: str = ""
    reason_en: str = ""


def check_clock(
    *,
    floor: Anchor | None,
    estimate: Anchor | None,
    source: TimeSource,
    max_drift: timedelta = DEFAULT_MAX_DRIFT,
) -> ClockVerdict:
    """Whether the local wall clock agrees with what is known of the hub's time."""
    now = source.wall()
    elapsed, boot = source.elapsed(), source.boot()

    def since(anchor: Anchor) -> timedelta | None:
        if anchor.boot != boot or elapsed < anchor.elapsed:
            return None
        return timedelta(seconds=elapsed - anchor.elapsed)

    if floor is None and estimate is None:
        return ClockVerdict(
            False,
            None,
            "从未与国家平台对时，无法离线判定",
            "the hub's time has never been seen: offline decisions need one online refresh",
        )
    drift = None
    if estimate is not None:
        passed = since(estimate)
        if passed is not None:
            drift = now - (estimate.hub + passed)
            if abs(drift) > max_drift:
                return _off(drift)
    if floor is not None:
        passed = since(floor)
        lowest = floor.hub + (passed or timedelta(0))
        if now < lowest - max_drift:
            return _off(now - lowest)
    return ClockVerdict(True, drift)


def _off(drift: timedelta) -> ClockVerdict:
    minutes = int(abs(drift).total_seconds() // 60)
    zh_dir, en_dir = ("快", "ahead of") if drift > timedelta(0) else ("慢", "behind")
    return ClockVerdict(
        False,
        drift,
        f"本机时钟比国家平台{zh_dir}约 {minutes} 分钟，不能离线判定；请校准时钟",
        f"the local clock is about {minutes} min {en_dir} the hub's: "
        "no offline decisions until it is set right",
    )


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime, or None."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
