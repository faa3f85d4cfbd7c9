"""``reassess``: a risk-area change reaching every colour it touches, on a province's data.

A scratch issuer database gets ``residents`` people (100,000 by default; ``--residents
1000000`` for the province of the issue, about 20 M rows) with 14 days of itineraries each
(20 stays over Zhejiang's streets) and a green status. Then two changes are timed through the
issuer's own code path — the hub link's: the risk period stored, everyone who stayed there
marked for review (one query over the changed areas, answered by the partial index
``ix_stays_area_sid``), and the reviews done in bulk (``reassess_many``, 2,000 people a
transaction):

* **full**: the whole province (330000) becomes high risk: every resident is reassessed;
* **1 %**: one street where 1 % of the residents stayed becomes high risk.

The baseline, in the same run, is a raw scan of the same rows through the database driver
(every stay and every status, fetched and discarded): what reading the facts costs before any
rule runs. With fewer than 1,000,000 residents the 1 M figures are extrapolated linearly
(the work is per resident, in fixed-size batches), and the table says so.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from yimatong.adapters.db.tables import assessments, risk_periods, stays, subjects
from yimatong.bench.core import Outcome, Table, benchmark
from yimatong.bench.live import in_process, scratch_database

__all__: list[str] = []

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
STAYS_EACH = 20
CHUNK = 20_000
ONE_PERCENT_STREET = "330106008"  # 西湖街道
PROVINCE = "330000"


def _streets(node: Any) -> list[str]:
    divisions = node.service.divisions
    found = [r.code for r in divisions.descendants(PROVINCE) if len(r.code) == 9]
    return [c for c in found if c != ONE_PERCENT_STREET][:2000]


def _load(node: Any, residents: int, echo: Any) -> float:
    """People, statuses and itineraries straight into the tables; seconds it took."""
    rng = random.Random(7)
    streets = _streets(node)
    start = time.perf_counter()
    expires = NOW + timedelta(days=30)
    for first in range(0, residents, CHUNK // STAYS_EACH):
        people = range(first, min(residents, first + CHUNK // STAYS_EACH))
        subject_rows, status_rows, stay_rows = [], [], []
        for i in people:
            sid = f"{i:032x}"
            subject_rows.append({
                "sid": sid, "region": "330000", "doc_type": "111", "enc_name": b"\0",
                "enc_id_number": b"\0", "masked_name": "张*", "masked_id": "33**01",
                "created_at": NOW - timedelta(days=60), "expires_at": expires,
            })  # fmt: skip
            status_rows.append({
                "sid": sid, "colour": "green", "colour_since": NOW - timedelta(days=30),
                "assessed_at": NOW - timedelta(hours=1), "ruleset": "bench",
                "body": {"colour": "green", "reasons": []}, "pushed_at": NOW,
            })  # fmt: skip
            for k in range(STAYS_EACH):
                arrived = NOW - timedelta(days=14) + timedelta(hours=16.8 * k)
                area = ONE_PERCENT_STREET if (i % 100 == 0 and k == 5) else rng.choice(streets)
                stay_rows.append({
                    "sid": sid, "area": area, "arrived": arrived,
                    "left_at": arrived + timedelta(hours=16), "source": "self",
                    "created_at": arrived, "expires_at": expires,
                })  # fmt: skip
        with node.db.uow() as uow:
            uow.conn.execute(insert(subjects), subject_rows)
            uow.conn.execute(insert(assessments), status_rows)
            uow.conn.execute(insert(stays), stay_rows)
            uow.commit()
        echo(f"  loaded {min(residents, first + len(people)):,} of {residents:,} residents")
    return time.perf_counter() - start


def _raw_scan(node: Any) -> float:
    """Seconds to fetch every stay and status row through the bare driver."""
    raw = node.db.engine.raw_connection()
    try:
        start = time.perf_counter()
        cur = raw.cursor()
        for sql in ("SELECT sid, area, arrived, left_at, source FROM stays",
                    "SELECT sid, colour, colour_since FROM assessments"):  # fmt: skip
            cur.execute(sql)
            while cur.fetchmany(10_000):
                pass
        cur.close()
        return time.perf_counter() - start
    finally:
        raw.close()


def _change(node: Any, area: str, version: int) -> tuple[float, int]:
    """The hub link's path for one new high-risk period: seconds, and people reassessed."""
    from yimatong.issuer.sync import HubLink, SyncReport

    link = HubLink(node.service, client=None, clock=lambda: NOW)  # type: ignore[arg-type]
    start = time.perf_counter()
    with node.db.uow() as uow:
        uow.conn.execute(insert(risk_periods), [{
            "area": area, "level": "high", "effective_from": NOW - timedelta(days=20),
            "until": None, "set_by": "bench", "version": version, "origin": None,
        }])  # fmt: skip
        link._mark_for_review(uow.conn, {area}, NOW)  # as _pull_risk does
        uow.commit()
    report = SyncReport()
    link._review_due(report)  # as the next step of the same round does
    return time.perf_counter() - start, report.reassessed


def _colours(node: Any) -> dict[str, int]:
    with node.db.read() as conn:
        rows = conn.execute(
            select(assessments.c.colour, text("count(*)")).group_by(assessments.c.colour)
        ).all()
    return {str(c): int(n) for c, n in rows}


@benchmark("reassess", "a risk change over a province's residents (14 days of itineraries)")
def reassess(
    *, repeats: int = 1, seconds: float = 0.0, db: str | None = None, residents: int = 100_000
) -> Outcome:
    del repeats, seconds  # one run: the data is the size
    import click

    with (
        scratch_database(db) as url,
        in_process("issuer", url, clock=lambda: NOW, rng=random.Random(1)) as node,
    ):
        load = _load(node, residents, lambda line: click.echo(line, err=True))
        scan = _raw_scan(node)
        one, one_n = _change(node, ONE_PERCENT_STREET, 1)
        full, full_n = _change(node, PROVINCE, 2)
        scan_after = _raw_scan(node)
        colours = _colours(node)
    backend = "PostgreSQL" if db else "SQLite"
    scale = 1_000_000 / residents
    baseline = (scan + scan_after) / 2
    table = Table(("what", "people", "seconds", "per person µs", "at 1 M residents s"))
    table.add("load (not timed against)", residents, load, load / residents * 1e6, load * scale)
    table.add("raw scan of stays + statuses", residents, baseline, baseline / residents * 1e6,
              baseline * scale)  # fmt: skip
    table.add("1 % change (one street)", one_n, one, one / max(one_n, 1) * 1e6, one * scale)
    table.add("full change (the province)", full_n, full, full / max(full_n, 1) * 1e6,
              full * scale)  # fmt: skip
    full_1m, one_1m = full * scale, one * scale
    return Outcome(
        "reassess", full_1m, "s for 1 M (full)", baseline * scale, full / baseline,
        "full ≤ 30 s, 1 % ≤ 2 s at 1 M", full_1m <= 30 and one_1m <= 2, table,
        [f"{backend}, {residents:,} residents × {STAYS_EACH} stays "
         f"({'measured' if residents >= 1_000_000 else 'extrapolated linearly to 1 M'}); "
         f"ratio = full change / raw scan; colours after: {colours}"],
    )  # fmt: skip
