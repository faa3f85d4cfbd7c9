"""The hub's dashboards: counts over time, read from ``tallies`` (never from a person's rows).

Four figures, each a list of series over equal time buckets:

- ``colours``: Mode 1 summaries received per issuer region and colour, per day;
- ``scans``: scans received per decision (PASS/DENY/CHECK), per hour;
- ``results``: test results received per lab and outcome, per day;
- ``mode2``: Mode 2 calls per region asked about (``verify``), conversions and refused codes,
  per hour.

Who may see them: the hub administrator (everything) and health authorities — an authority
scoped to a region sees the series of regions within it (its own province's scans, its own
issuers' colours, its own labs), a national authority everything. Days are China's days
(UTC+8); hours are UTC hours, drawn in the reader's time by the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from yimatong.adapters.db.tallies import Tally, read_tallies, truncate_hour
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import InvalidInput
from yimatong.hub.context import HubContext
from yimatong.hub.data_risk import scope_prefix

__all__ = ["FIGURES", "MAX_DAYS", "MAX_HOURS", "Dashboards"]

CHINA = timezone(timedelta(hours=8))
MAX_DAYS = 92
MAX_HOURS = 24 * 14


@dataclass(frozen=True, slots=True)
class _Figure:
    kind: str
    bucket: str  # hour | day
    by: tuple[str, ...]  # the columns a series is keyed by (summed over the rest)
    key: str  # which of them names the series' group: region, grp or ""


FIGURES = {
    "colours": _Figure("summary", "day", ("region", "label"), "region"),
    "scans": _Figure("scan", "hour", ("label",), ""),
    "results": _Figure("test", "day", ("grp", "label"), "grp"),
    "mode2": _Figure("mode2", "hour", ("region", "label"), "region"),
}


def _day(when: datetime) -> datetime:
    local = when.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class Dashboards:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    def figure(self, caller: Caller, name: str, span: int | None = None) -> dict[str, Any]:
        """``{"figure", "bucket", "from", "to", "times", "series": [{key, label, values}],
        "total"}``; ``span`` is days (day figures, default 14) or hours (default 48)."""
        require_role(caller, "admin", "authority")
        figure = FIGURES.get(name)
        if figure is None:
            raise InvalidInput(f"figure must be one of {', '.join(FIGURES)}", field="figure")
        prefix = None
        if caller.role == "authority" and caller.scope not in (None, "000000"):
            prefix = scope_prefix(caller.scope)
        if figure.kind == "mode2":
            self.ctx.tallies.flush()  # this worker's counts; other workers' within seconds
        now = self.ctx.clock()
        if figure.bucket == "day":
            days = span or 14
            if not 1 <= days <= MAX_DAYS:
                raise InvalidInput(f"days must be 1 to {MAX_DAYS}", field="days")
            end = _day(now) + timedelta(days=1)
            start = end - timedelta(days=days)
            times = [start + timedelta(days=i) for i in range(days)]
            bucket_of = _day
        else:
            hours = span or 48
            if not 1 <= hours <= MAX_HOURS:
                raise InvalidInput(f"hours must be 1 to {MAX_HOURS}", field="hours")
            end = truncate_hour(now) + timedelta(hours=1)
            start = end - timedelta(hours=hours)
            times = [start + timedelta(hours=i) for i in range(hours)]
            bucket_of = truncate_hour
        with self.ctx.db.read() as conn:
            rows = read_tallies(conn, figure.kind, start, end, by=figure.by, region_prefix=prefix)
        return {
            "figure": name,
            "bucket": figure.bucket,
            "from": start,
            "to": end,
            "times": [int(t.timestamp()) for t in times],
            "series": _series(rows, times, bucket_of, figure.key),
            "total": sum(r.n for r in rows),
        }


def _series(
    rows: Sequence[Tally], times: Sequence[datetime], bucket_of: Any, key: str
) -> list[dict[str, Any]]:
    index = {t: i for i, t in enumerate(times)}
    series: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        name = getattr(r, key) if key else ""
        values = series.setdefault((name, r.label), [0] * len(times))
        slot = index.get(bucket_of(r.hour))
        if slot is not None:
            values[slot] += r.n
    return [
        {"key": k, "label": label, "values": values}
        for (k, label), values in sorted(series.items())
    ]
