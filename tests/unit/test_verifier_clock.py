"""Clock safety: offline decisions only with a clock that agrees with the hub's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yimatong.verifier.clock import Anchor, TimeSource, check_clock, parse_http_date

HUB = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class Time(TimeSource):
    def __init__(self, wall: datetime, elapsed: float = 100.0, boot: str = "b1") -> None:
        self._wall, self._elapsed, self._boot = wall, elapsed, boot

    def wall(self) -> datetime:
        return self._wall

    def elapsed(self) -> float:
        return self._elapsed

    def boot(self) -> str:
        return self._boot


def anchor(
    hub: datetime = HUB, elapsed: float = 100.0, boot: str = "b1", signed: bool = True
) -> Anchor:
    return Anchor(hub=hub, local=hub, elapsed=elapsed, boot=boot, signed=signed)


def test_never_seen_the_hub() -> None:
    v = check_clock(floor=None, estimate=None, source=Time(HUB))
    assert not v.ok and "never" in v.reason_en


def test_same_boot_uses_the_elapsed_time_both_ways() -> None:
    est = anchor(signed=False)
    one_hour_later = 100.0 + 3600
    ok = Time(HUB + timedelta(hours=1, minutes=4), one_hour_later)
    assert check_clock(floor=None, estimate=est, source=ok).ok
    fast = Time(HUB + timedelta(hours=1, minutes=6), one_hour_later)
    v = check_clock(floor=None, estimate=est, source=fast)
    assert not v.ok and v.drift is not None and v.drift > timedelta(0)
    assert "ahead" in v.reason_en and "快" in v.reason_zh
    slow = Time(HUB + timedelta(minutes=50), one_hour_later)
    v = check_clock(floor=None, estimate=est, source=slow)
    assert not v.ok and "behind" in v.reason_en


def test_after_a_reboot_only_the_signed_floor_holds() -> None:
    floor = anchor()
    behind = Time(HUB - timedelta(hours=3), 5.0, boot="b2")
    assert not check_clock(floor=floor, estimate=None, source=behind).ok
    ahead = Time(HUB + timedelta(days=2), 5.0, boot="b2")
    assert check_clock(floor=floor, estimate=None, source=ahead).ok  # cannot be told


def test_a_signed_floor_within_the_same_boot_grows_with_time() -> None:
    floor = anchor()
    # Three hours after the signed time, a clock showing one hour after it is behind.
    v = check_clock(
        floor=floor, estimate=None, source=Time(HUB + timedelta(hours=1), 100.0 + 3 * 3600)
    )
    assert not v.ok


def test_anchors_round_trip_and_http_dates_parse() -> None:
    a = anchor(signed=False)
    assert Anchor.from_dict(a.to_dict()) == a
    assert parse_http_date("Fri, 20 Nov 2026 02:00:00 GMT") == HUB
    assert parse_http_date("yesterday") is None
    assert parse_http_date(None) is None
