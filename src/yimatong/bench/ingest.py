"""``ingest``: lab results per second through the hub's signed upload path.

A scratch hub database, a registered lab, and ``rows`` results (100,000 by default) with
distinct resident ID numbers, sample times to the second (each row its own) and report times
by plate of 96, in signed batches of 20,000 as a lab sends them. Each batch is timed from its
JSON bytes to the committed feed rows: parse, the batch signature, per-row checks and
pseudonyms (HMAC of the ID number), the feed insert and the dashboards' tally — what
``POST /v1/test-results`` does after the HTTP server read the body. The baseline, alternating
batch by batch in the same run, writes the same rows (the same sids, body texts and times,
other seqs) through the bare driver, already prepared: ``COPY`` on PostgreSQL,
``executemany`` on SQLite.
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from yimatong.adapters.crypto import Algorithm, signing_key_from_seed
from yimatong.adapters.messages import batch_message, encode_signature
from yimatong.bench.core import Outcome, Table, bare_insert, benchmark
from yimatong.bench.live import in_process, scratch_database
from yimatong.credentials import Caller
from yimatong.domain.identity import DocumentType, check_character, subject_id

__all__: list[str] = []

BATCH = 20_000
LAB = "bench-lab"


def _results(n: int, now: datetime) -> list[dict[str, Any]]:
    """A lab's day: one sample a second over ten hours, reported by plate of 96 wells."""
    start, reports = now - timedelta(hours=20), now - timedelta(hours=8)
    rows = []
    for i in range(n):
        birth = (datetime(1950, 1, 1) + timedelta(days=i // 900)).strftime("%Y%m%d")
        first17 = f"330106{birth}{i % 900 + 100:03d}"
        rows.append({
            "id_type": "111", "id_number": first17 + check_character(first17),
            "sampled_at": (start + timedelta(seconds=i % 36_000)).isoformat(),
            "reported_at": (reports + timedelta(minutes=i // 96 % 480)).isoformat(),
            "result": "negative" if i % 50 else "positive",
        })  # fmt: skip
    return rows


def _same_rows(node: Any, batch: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sid, body text) of each row as the upload stores it, computed the plain way."""
    lab = {"lab": "Bench lab", "lab_id": LAB, "lab_region": "310000"}
    secret = node.service.federation_secret
    out = []
    for row in batch:
        sid = subject_id(secret, DocumentType.RESIDENT_ID, row["id_number"])
        body = {
            "sampled_at": datetime.fromisoformat(row["sampled_at"]).astimezone(UTC).isoformat(),
            "reported_at": datetime.fromisoformat(row["reported_at"]).astimezone(UTC).isoformat(),
            "outcome": row["result"],
            **lab,
        }
        out.append((sid, json.dumps(body)))
    return out


def _raw_writer(node: Any) -> Any:
    """Write prepared feed rows through the bare driver; returns seconds."""
    from yimatong.adapters.db.tables import hub_feed

    dialect = node.db.dialect
    columns = ("seq", "sid", "kind", "region", "body", "dedupe", "created_at", "expires_at")
    next_seq = [10**12]

    def write(same: list[tuple[str, str]], now: datetime) -> float:
        first = next_seq[0]
        next_seq[0] += len(same)
        at: Any = now
        until: Any = now + timedelta(days=node.settings.retention_days)
        if dialect == "sqlite":  # the text SQLAlchemy writes for a UTC time on SQLite
            at, until = (t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in (at, until))
        rows = [(first + i, sid, "test", "310000", body, None, at, until)
                for i, (sid, body) in enumerate(same)]  # fmt: skip
        raw = node.db.engine.raw_connection()
        try:
            start = time.perf_counter()
            cur = raw.cursor()
            bare_insert(cur, dialect, hub_feed.name, columns, rows)
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
            base.append(raw(_same_rows(node, batch), now) / len(batch))
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
