"""``feeds``: a department's manifest rows per second through the hub's signed upload path.

A scratch hub database, a registered rail department, and ``rows`` manifest records (60,000
by default) with distinct resident ID numbers, 40 trains, 16 carriages, in signed batches of
20,000 as ``yimatong feeds upload`` sends them. Each batch is timed from its JSON bytes to the
committed rows: parse, the batch signature, the per-row checks and pseudonyms, the records
(``department_records``) and their two feed rows each (departure and arrival), the batch row
and its log entry — what ``POST /v1/department-records`` does after the HTTP server read the
body. The baseline, alternating batch by batch in the same run, writes the same records and
feed rows (already prepared) through the bare driver: ``COPY`` on PostgreSQL, ``executemany``
on SQLite.
"""

from __future__ import annotations

import base64
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from yimatong.adapters.crypto import Algorithm, signing_key_from_seed
from yimatong.adapters.messages import department_batch_message, encode_signature
from yimatong.bench.core import Outcome, Table, bare_insert, benchmark
from yimatong.bench.live import in_process, scratch_database
from yimatong.credentials import Caller
from yimatong.domain.identity import check_character

__all__: list[str] = []

BATCH = 20_000
DEPARTMENT = "bench-rail"


def _manifest(n: int, now: datetime) -> list[dict[str, Any]]:
    """``n`` passengers on 40 trains of yesterday, 16 carriages each."""
    departs = now - timedelta(days=1)
    rows = []
    for i in range(n):
        birth = (datetime(1950, 1, 1) + timedelta(days=i // 900)).strftime("%Y%m%d")
        first17 = f"330106{birth}{i % 900 + 100:03d}"
        train = i % 40
        rows.append({
            "id_type": "111", "id_number": first17 + check_character(first17),
            "trip": f"G{1000 + train}", "date": departs.date().isoformat(),
            "from": "330100", "to": "520100",
            "departs_at": (departs + timedelta(minutes=15 * train)).isoformat(),
            "arrives_at": (departs + timedelta(minutes=15 * train, hours=7)).isoformat(),
            "carriage": f"{i // 40 % 16 + 1:02d}", "seat": f"{i // 640 % 20 + 1}{'ABCDF'[i % 5]}",
        })  # fmt: skip
    return rows


def _raw_writer(node: Any) -> Any:
    """Write prepared records and feed rows through the bare driver; returns seconds."""
    from yimatong.adapters.db.tables import department_records, hub_feed

    dialect = node.db.dialect
    feed_columns = ("seq", "sid", "kind", "region", "body", "dedupe", "created_at", "expires_at")
    record_columns = tuple(c.name for c in department_records.columns if c.name != "id")
    next_seq = [10**12]

    def text(value: Any) -> Any:
        if dialect == "sqlite" and isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if dialect == "sqlite" and isinstance(value, bool):
            return int(value)
        return value

    def write(checked: Any, now: datetime) -> float:
        first = next_seq[0]
        next_seq[0] += len(checked.feed_sids)
        at, until = text(now), text(now + timedelta(days=node.settings.retention_days))
        feed = [(first + i, sid, "stay", "330000", body, None, at, until)
                for i, (sid, body) in enumerate(zip(checked.feed_sids, checked.feed_bodies,
                                                    strict=True))]  # fmt: skip
        records = [tuple(map(text, r)) for r in checked.records]  # in record_columns' order
        raw = node.db.engine.raw_connection()
        try:
            start = time.perf_counter()
            cur = raw.cursor()
            for table, columns, rows in (
                (hub_feed.name, feed_columns, feed),
                (department_records.name, record_columns, records),
            ):
                bare_insert(cur, dialect, table, columns, rows)
            raw.commit()
            return time.perf_counter() - start
        finally:
            raw.close()

    return write


@benchmark("feeds", "a department's manifest rows per second through the signed upload path")
def feeds(
    *, repeats: int = 1, seconds: float = 0.0, db: str | None = None, rows: int = 60_000
) -> Outcome:
    del repeats, seconds
    from yimatong.hub.departments import Departments, _Rows

    key = signing_key_from_seed(Algorithm.EDDSA, bytes([8]) * 32)
    now = datetime.now(UTC).replace(microsecond=0)
    manifest = _manifest(rows, now)
    with scratch_database(db) as url, in_process("hub", url, rng=random.Random(1)) as node:
        departments = Departments(node.service)
        public = base64.b64encode(key.public.spki_der()).decode()
        departments.register(Caller(role="admin", name="bench"), department_id=DEPARTMENT,
                             kind="rail", name="Bench rail", region="330000",
                             public_key=public)  # fmt: skip
        caller = Caller(role="department", name="department-bench", scope=DEPARTMENT)
        dept = departments._department(DEPARTMENT)[0]
        raw = _raw_writer(node)
        ours: list[float] = []
        base: list[float] = []
        done = 0
        for n, first in enumerate(range(0, rows, BATCH)):
            batch = manifest[first : first + BATCH]
            message = department_batch_message(DEPARTMENT, f"b{n}", "rail", batch)
            body: dict[str, Any] = {"department_id": DEPARTMENT, "batch_id": f"b{n}",
                                    "kind": "rail", "records": batch,
                                    "signature": encode_signature(key.sign(message))}  # fmt: skip
            wire = orjson.dumps(body)
            start = time.perf_counter()
            got = departments.upload(caller, orjson.loads(wire))
            ours.append((time.perf_counter() - start) / len(batch))
            assert got["accepted"] == len(batch), got["rejected"][:3]
            done += len(batch)
            expires = now + timedelta(days=node.settings.retention_days)
            same = _Rows(node.service.federation_secret, now, dept, f"x{n}", expires)
            base.append(raw(same.check("rail", batch), now) / len(batch))
    backend = "PostgreSQL" if db else "SQLite"
    per_row, raw_row = statistics.median(ours), statistics.median(base)
    table = Table(("what", "rows/s", "µs per row"))
    table.add("signed upload (parse, signature, checks, pseudonyms, records, feed, log)",
              1 / per_row, per_row * 1e6)  # fmt: skip
    table.add("raw " + ("COPY" if db else "executemany") + " of the same records and feed rows",
              1 / raw_row, raw_row * 1e6)  # fmt: skip
    ratio = raw_row / per_row
    return Outcome(
        "feeds", 1 / per_row, "rows/s", 1 / raw_row, ratio, "≥ 0.5", ratio >= 0.5, table,
        [f"{backend}, {done:,} manifest rows (two feed rows each) in batches of {BATCH:,}, "
         "median per batch; the HTTP read of the body and the department's signing are not in it"],
    )  # fmt: skip
