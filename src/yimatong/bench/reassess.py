"""``reassess``: a risk-area change reaching every colour it touches, on a province's data.

A scratch issuer database gets ``residents`` people (100,000 by default; ``--residents
1000000`` for the province of the issue, about 20 M rows) with 14 days of itineraries each
(20 stays over Zhejiang's streets) and a green status, loaded through the driver (``COPY`` on
PostgreSQL, ``executemany`` on SQLite) and then ``ANALYZE``d, as a database in service has its
statistics. Then two changes are timed through the
issuer's own code path — the hub link's: the risk period stored, everyone who stayed there
marked for review (one query over the changed areas, answered by the partial index
``ix_stays_area_sid``), and the reviews done in bulk (``reassess_many``, 2,000 people a
transaction):

* **full**: the whole province (330000) becomes high risk: every resident is reassessed;
* **1 %**: one street where 1 % of the residents stayed becomes high risk.

The baseline, in the same run, is a raw scan of the same rows through the database driver
(every stay and every status, fetched and discarded): what reading the facts costs before any
rule runs. With fewer than 1,000,000 residents the 1 M figures are extrapolated linearly
(the work is per resident, in fixed-size batches), and the table says so. Each change is
also split into its phases: *mark* (finding who stayed there), then the reviews' *read* (the
facts a rule can look at), *rules* and *write*, and *other* (review pages, commits).
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from yimatong.adapters.db.tables import assessments, risk_periods
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
    """People, statuses and itineraries straight into the tables through the driver (COPY on
    PostgreSQL, executemany on SQLite); seconds it took."""
    rng = random.Random(7)
    streets = _streets(node)
    start = time.perf_counter()
    sqlite = node.db.dialect == "sqlite"

    def at(when: datetime) -> Any:  # as the column stores it
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else when

    expires, created, since = (
        at(NOW + timedelta(days=30)),
        at(NOW - timedelta(days=60)),
        at(NOW - timedelta(days=30)),
    )
    assessed, pushed = at(NOW - timedelta(hours=1)), at(NOW)
    body = json.dumps({"colour": "green", "reasons": []})
    times = [
        (at(arrived), at(arrived + timedelta(hours=16)))
        for arrived in (
            NOW - timedelta(days=14) + timedelta(hours=16.8 * k) for k in range(STAYS_EACH)
        )
    ]
    people_each = CHUNK // STAYS_EACH
    for first in range(0, residents, people_each):
        people = range(first, min(residents, first + people_each))
        subject_rows, status_rows, stay_rows = [], [], []
        for i in people:
            sid = f"{i:032x}"
            subject_rows.append(
                (sid, "330000", "111", b"\0", b"\0", "张*", "33**01", created, expires)
            )
            status_rows.append((sid, "green", since, assessed, "bench", body, pushed))
            for k, (arrived, left) in enumerate(times):
                area = ONE_PERCENT_STREET if (i % 100 == 0 and k == 5) else rng.choice(streets)
                stay_rows.append((sid, area, arrived, left, "self", arrived, expires))
        with node.db.uow() as uow:
            uow.conn.begin()  # so that uow.commit() commits what the driver did
            raw = uow.conn.connection.dbapi_connection
            cur = raw.cursor()
            for table, columns, rows in (
                ("subjects", _SUBJECT_COLUMNS, subject_rows),
                ("assessments", _STATUS_COLUMNS, status_rows),
                ("stays", _STAY_COLUMNS, stay_rows),
            ):
                if sqlite:
                    marks = ", ".join("?" * len(columns))
                    cur.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 (our constants)
                        rows,
                    )
                else:
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            cur.close()
            uow.commit()
        echo(f"  loaded {min(residents, first + len(people)):,} of {residents:,} residents")
    with node.db.engine.connect() as conn:  # statistics, as a database in service has them
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return time.perf_counter() - start


_SUBJECT_COLUMNS = (
    "sid", "region", "doc_type", "enc_name", "enc_id_number", "masked_name", "masked_id",
    "created_at", "expires_at",
)  # fmt: skip
_STATUS_COLUMNS = ("sid", "colour", "colour_since", "assessed_at", "ruleset", "body", "pushed_at")
_STAY_COLUMNS = ("sid", "area", "arrived", "left_at", "source", "created_at", "expires_at")


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


def _change(node: Any, area: str, version: int) -> tuple[float, int, dict[str, float]]:
    """The hub link's path for one new high-risk period: seconds, people reassessed, and the
    seconds of each phase (mark: finding who stayed there; read, rules, write: the reviews)."""
    from yimatong.issuer.sync import HubLink, SyncReport

    link = HubLink(node.service, client=None, clock=lambda: NOW)  # type: ignore[arg-type]
    timings = node.service.reassess_timings
    for key in timings:
        timings[key] = 0.0
    start = time.perf_counter()
    with node.db.uow() as uow:
        uow.conn.execute(insert(risk_periods), [{
            "area": area, "level": "high", "effective_from": NOW - timedelta(days=20),
            "until": None, "set_by": "bench", "version": version, "origin": None,
        }])  # fmt: skip
        link._mark_for_review(uow.conn, {area}, NOW)  # as _pull_risk does
        uow.commit()
    marked = time.perf_counter() - start
    report = SyncReport()
    link._review_due(report)  # as the next step of the same round does
    total = time.perf_counter() - start
    phases = {"mark": marked, **{k: timings[k] for k in ("read", "rules", "write")}}
    phases["other"] = total - sum(phases.values())  # paging, commits
    return total, report.reassessed, phases


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
        one, one_n, one_phases = _change(node, ONE_PERCENT_STREET, 1)
        full, full_n, full_phases = _change(node, PROVINCE, 2)
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
    for label, phases in (("1 %", one_phases), ("full", full_phases)):
        for phase, seconds in phases.items():
            table.add(f"  {label}: {phase}", "", seconds, "", seconds * scale)
    full_1m, one_1m = full * scale, one * scale
    return Outcome(
        "reassess", full_1m, "s for 1 M (full)", baseline * scale, full / baseline,
        "full ≤ 30 s, 1 % ≤ 2 s at 1 M", full_1m <= 30 and one_1m <= 2, table,
        [f"{backend}, {residents:,} residents × {STAYS_EACH} stays "
         f"({'measured' if residents >= 1_000_000 else 'extrapolated linearly to 1 M'}); "
         f"ratio = full change / raw scan; colours after: {colours}"],
    )  # fmt: skip
