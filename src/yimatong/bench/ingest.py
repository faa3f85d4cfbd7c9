"""``ingest``: lab results per second through the hub's signed upload path.

A scratch hub database, a registered lab, and ``rows`` results (100,000 by default) with
distinct resident ID numbers, in signed batches of 20,000 as a lab sends them. Each batch is
timed from its JSON bytes to the committed feed rows: parse, the batch signature, per-row checks
and pseudonyms (HMAC of the ID number), the feed insert and the dashboards' tally — what
``POST /v1/test-results`` does after the HTTP server read the body. The baseline, alternating
batch by batch in the same run, writes the same number of feed rows through the bare driver:
``COPY`` on PostgreSQL, ``executemany`` on SQLite, the rows already prepared.
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
from yimatong.adapters.messages import batch_message, encode_signature
from yimatong.bench.core import Outcome, Table, benchmark
from yimatong.bench.live import in_process, scratch_database
from yimatong.credentials import Caller
from yimatong.domain.identity import check_character

__all__: list[str] = []

BATCH = 20_000
LAB = "bench-lab"


def _results(n: int, now: datetime) -> list[dict[str, Any]]:
    sampled = (now - timedelta(hours=20)).isoformat()
    reported = (now - timedelta(hours=8)).isoformat()
    rows = []
    for i in range(n):
        birth = (datetime(1950, 1, 1) + timedelta(days=i // 900)).strftime("%Y%m%d")
        first17 = f"330106{birth}{i % 900 + 100:03d}"
        rows.append({
            "id_type": "111", "id_number": first17 + check_character(first17),
            "sampled_at": sampled, "reported_at": reported,
            "result": "negative" if i % 50 else "positive",
        })  # fmt: skip
    return rows


def _raw_writer(node: Any) -> Any:
    """Write ``count`` prepared feed rows through the bare driver; returns seconds."""
    from yimatong.adapters.db.tables import hub_feed

    dialect = node.db.dialect
    columns = ("seq", "sid", "kind", "region", "body", "dedupe", "created_at", "expires_at")
    next_seq = [10**12]

    def write(count: int, now: datetime) -> float:
        first = next_seq[0]
        next_seq[0] += count
        body = orjson.dumps({"sampled_at": now.isoformat(), "reported_at": now.isoformat(),
                             "outcome": "negative", "lab": "x", "lab_id": LAB,
                             "lab_region": "310000"}).decode()  # fmt: skip
        rows = [(first + i, f"{first + i:032x}", "test", "310000", body, None, now,
                 now + timedelta(days=30)) for i in range(count)]  # fmt: skip
        raw = node.db.engine.raw_connection()
        try:
            start = time.perf_counter()
            cur = raw.cursor()
            if dialect == "postgresql":
                with cur.copy(f"COPY {hub_feed.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                text_rows = [(*r[:6], r[6].isoformat(" "), r[7].isoformat(" ")) for r in rows]
                cur.executemany(  # our own table and column names, not input
                    f"INSERT INTO {hub_feed.name} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join('?' * len(columns))})",
                    text_rows,
                )
            raw.commit()
            return time.perf_counter() - start
        finally:
            raw.close()

    return write


@benchmark("ingest", "lab results per second through the signed upload path, against raw COPY")
def ingest(
    *, repeats: int = 1, seconds: float = 0.0, db: str | None = None, rows: int = 100_000
) -> Outcome:
    del repeats, seconds
    from yimatong.hub.labs import Labs

    key = signing_key_from_seed(Algorithm.EDDSA, bytes([9]) * 32)
    now = datetime.now(UTC).replace(microsecond=0)
    results = _results(rows, now)
    with scratch_database(db) as url, in_process("hub", url, rng=random.Random(1)) as node:
        labs = Labs(node.service)
        public = base64.b64encode(key.public.spki_der()).decode()
        answer = labs.register(Caller(role="admin", name="bench"), lab_id=LAB,
                               name="Bench lab", region="310000", public_key=public)  # fmt: skip
        lab = Caller(role="lab", name="lab-bench", scope=LAB)
        raw = _raw_writer(node)
        ours: list[float] = []
        base: list[float] = []
        done = 0
        for n, first in enumerate(range(0, rows, BATCH)):
            batch = results[first : first + BATCH]
            body: dict[str, Any] = {"lab_id": LAB, "batch_id": f"b{n}", "results": batch}
            body["signature"] = encode_signature(key.sign(batch_message(LAB, f"b{n}", batch)))
            wire = orjson.dumps(body)
            start = time.perf_counter()
            got = labs.upload(lab, orjson.loads(wire))
            ours.append((time.perf_counter() - start) / len(batch))
            assert got["accepted"] == len(batch), got
            done += len(batch)
            base.append(raw(len(batch), now) / len(batch))
        del answer
    backend = "PostgreSQL" if db else "SQLite"
    per_row, raw_row = statistics.median(ours), statistics.median(base)
    table = Table(("what", "rows/s", "µs per row"))
    table.add("signed upload (parse, signature, checks, pseudonyms, feed, tally)",
              1 / per_row, per_row * 1e6)  # fmt: skip
    table.add("raw " + ("COPY" if db else "executemany") + " of the same rows", 1 / raw_row,
              raw_row * 1e6)  # fmt: skip
    ratio = raw_row / per_row
    return Outcome(
        "ingest", 1 / per_row, "rows/s", 1 / raw_row, ratio, "≥ 0.5", ratio >= 0.5, table,
        [f"{backend}, {done:,} results in batches of {BATCH:,}, median per batch; "
         "the HTTP read of the body and the lab's own signing are not in it"],
    )  # fmt: skip
