"""What the dashboards cost: reading a figure, and counting it on the write path.

    .venv/bin/python benchmarks/bench_dashboards.py [--scans 1000000] [--db URL] [--json]

Fills a hub database (SQLite in a temporary directory, or ``--db`` — an empty PostgreSQL
database, say) with ``--scans`` scan rows spread over 48 hours in the feed, counted into
``tallies`` as ``append_feed`` counts them, then times:

* **read**: the "scans per hour" figure from ``tallies`` (``read_tallies``: a primary-key range
  scan), against the same figure computed from the feed itself (a ``GROUP BY`` over two days of
  ``hub_feed`` with the decision read out of the JSON body, which is what a dashboard without
  ``tallies`` would run), with and without an index on ``hub_feed (kind, created_at)``;
* **write**: ``append_feed`` of a 20,000-row lab batch and of a 1,000-row scan batch, with the
  tally upsert and without it (the same call with ``tally_feed`` replaced by a no-op), the
  loops alternating;
* **Mode 2**: ``TallyBuffer.count`` per call, against a bare dict increment.

Each figure is the median of ``--repeats`` runs; ratios are ours / baseline. Not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Index, func, insert, select, text

from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.tables import hub_feed
from yimatong.adapters.db.tallies import Tally, TallyBuffer, add_tallies, read_tallies
from yimatong.hub import data as hub_data

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DECISIONS = ("PASS", "PASS", "PASS", "PASS", "CHECK", "DENY")


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fill(db: Database, scans: int, rng: random.Random) -> None:
    """``scans`` feed rows over 48 hours, and their tallies (as append_feed would count)."""
    counts: dict[tuple[datetime, str, str], int] = {}
    batch: list[dict[str, Any]] = []
    with db.uow() as uow:
        seq = next_value(uow.conn, "feed", by=scans) - scans
        for _ in range(scans):
            seq += 1
            at = NOW - timedelta(seconds=rng.randrange(48 * 3600))
            province = rng.choice(("330000", "520000", "420000", "110000", "440000"))
            decision = rng.choice(DECISIONS)
            batch.append(
                {
                    "seq": seq,
                    "sid": f"{rng.getrandbits(128):032x}",
                    "kind": "scan",
                    "region": province,
                    "body": {"area": province[:2] + "0102001", "decision": decision},
                    "dedupe": None,
                    "created_at": at,
                    "expires_at": at + timedelta(days=30),
                }
            )
            hour = at.replace(minute=0, second=0, microsecond=0)
            counts[(hour, province, decision)] = counts.get((hour, province, decision), 0) + 1
            if len(batch) == 20_000:
                uow.conn.execute(insert(hub_feed), batch)
                batch.clear()
        if batch:
            uow.conn.execute(insert(hub_feed), batch)
        add_tallies(uow.conn, (Tally("scan", h, r, "", d, n) for (h, r, d), n in counts.items()))
        uow.commit()


def figure_from_tallies(db: Database) -> int:
    with db.read() as conn:
        rows = read_tallies(
            conn, "scan", NOW - timedelta(hours=48), NOW + timedelta(hours=1), by=("label",)
        )
    return sum(r.n for r in rows)


def figure_from_feed(db: Database) -> int:
    decision = hub_feed.c.body["decision"].as_string()
    if db.dialect == "postgresql":
        hour = func.date_trunc("hour", hub_feed.c.created_at)
    else:
        hour = func.strftime("%Y-%m-%dT%H", hub_feed.c.created_at)
    stmt = (
        select(hour, decision, func.count())
        .where(
            hub_feed.c.kind == "scan",
            hub_feed.c.created_at >= NOW - timedelta(hours=48),
            hub_feed.c.created_at < NOW + timedelta(hours=1),
        )
        .group_by(hour, decision)
    )
    with db.read() as conn:
        return sum(int(r[2]) for r in conn.execute(stmt))


def plan(db: Database, sql: str) -> list[str]:
    with db.read() as conn:
        if db.dialect == "postgresql":
            return [r[0] for r in conn.execute(text("EXPLAIN " + sql))]
        return [str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]


def lab_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "sid": f"{rng.getrandbits(128):032x}",
            "kind": "test",
            "region": "310000",
            "body": {
                "sampled_at": "2026-11-20T01:00:00+00:00",
                "reported_at": "2026-11-20T09:00:00+00:00",
                "outcome": "negative",
                "lab": "上海某检测所",
                "lab_id": "sh-1",
                "lab_region": "310000",
            },
            "dedupe": None,
            "created_at": NOW,
            "expires_at": NOW + timedelta(days=30),
        }
        for _ in range(n)
    ]


def scan_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "sid": f"{rng.getrandbits(128):032x}",
            "kind": "scan",
            "region": "520000",
            "body": {
                "id": f"s-{rng.getrandbits(64):x}",
                "at": NOW.isoformat(),
                "area": "520102017",
                "decision": rng.choice(DECISIONS),
                "temperature": 36.5,
                "checkpoint": "贵阳北站",
            },
            "dedupe": f"scan:{rng.getrandbits(64):x}",
            "created_at": NOW,
            "expires_at": NOW + timedelta(days=30),
        }
        for _ in range(n)
    ]


def append_seconds(db: Database, rows: list[dict[str, Any]], *, tally: bool) -> float:
    real = hub_data.tally_feed
    if not tally:
        hub_data.tally_feed = lambda conn, rows: 0  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        with db.uow() as uow:
            hub_data.append_feed(uow.conn, rows)
            uow.commit()
        return time.perf_counter() - start
    finally:
        hub_data.tally_feed = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=1_000_000)
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temp dir)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'hub.db'}"
        upgrade(url)
        db = Database.from_url(url)
        start = time.perf_counter()
        fill(db, args.scans, rng)
        filled = time.perf_counter() - start
        assert figure_from_tallies(db) == figure_from_feed(db) == args.scans
        figures: dict[str, Any] = {
            "scans": args.scans,
            "backend": db.dialect,
            "fill_seconds": round(filled, 1),
        }
        read = median_seconds(lambda: figure_from_tallies(db), args.repeats)
        scan_no_index = median_seconds(lambda: figure_from_feed(db), args.repeats)
        index = Index("ix_bench_hub_feed_kind_created_at", hub_feed.c.kind, hub_feed.c.created_at)
        index.create(db.engine)
        scan_index = median_seconds(lambda: figure_from_feed(db), args.repeats)
        index.drop(db.engine)
        hour_sql = "'2026-11-18 12:00:00.000000'" if db.dialect == "sqlite" else "now()"
        figures["read"] = {
            "tallies_ms": round(read * 1000, 2),
            "feed_group_by_ms": round(scan_no_index * 1000, 1),
            "feed_group_by_with_index_ms": round(scan_index * 1000, 1),
            "ratio_feed_to_tallies": round(scan_no_index / read),
            "ratio_indexed_feed_to_tallies": round(scan_index / read),
            "tallies_plan": plan(
                db, f"SELECT * FROM tallies WHERE kind = 'scan' AND hour >= {hour_sql}"
            ),
        }
        write: dict[str, Any] = {}
        for name, make in (
            ("lab_batch_20000", lambda: lab_rows(20_000, rng)),
            ("scan_batch_1000", lambda: scan_rows(1000, rng)),
        ):
            with_t, without_t = [], []
            for _ in range(args.repeats):  # alternating
                with_t.append(append_seconds(db, make(), tally=True))
                without_t.append(append_seconds(db, make(), tally=False))
            a, b = statistics.median(with_t), statistics.median(without_t)
            write[name] = {
                "with_tallies_ms": round(a * 1000, 1),
                "without_ms": round(b * 1000, 1),
                "ratio": round(a / b, 3),
            }
        figures["write"] = write
        buffer = TallyBuffer(db, lambda: NOW, interval=3600)
        plain: dict[str, int] = {}
        n = 200_000

        def bare() -> None:
            for _ in range(n):
                plain["k"] = plain.get("k", 0) + 1

        def counted() -> None:
            for _ in range(n):
                buffer.count("mode2", region="520000", grp="330000", label="verify")

        base_s = median_seconds(bare, args.repeats)
        ours_s = median_seconds(counted, args.repeats)
        buffer.flush()
        figures["mode2_count"] = {
            "per_call_us": round(ours_s / n * 1e6, 2),
            "dict_increment_us": round(base_s / n * 1e6, 3),
            "ratio": round(ours_s / base_s, 1),
        }
        db.dispose()
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    r, w, m = figures["read"], figures["write"], figures["mode2_count"]
    print(f"{args.scans:,} scans over 48 h on {figures['backend']} (filled in {filled:.0f} s)")
    print(f"scans per hour from tallies: {r['tallies_ms']} ms")
    print(
        f"  from the feed (GROUP BY): {r['feed_group_by_ms']} ms = {r['ratio_feed_to_tallies']}x;"
        f" with an index on (kind, created_at): {r['feed_group_by_with_index_ms']} ms = "
        f"{r['ratio_indexed_feed_to_tallies']}x"
    )
    print(f"  plan: {' / '.join(r['tallies_plan'])}")
    for name, v in w.items():
        print(
            f"append_feed {name}: {v['with_tallies_ms']} ms with tallies, {v['without_ms']} ms"
            f" without = {v['ratio']}x"
        )
    print(f"Mode 2 count: {m['per_call_us']} µs a call = {m['ratio']}x a bare dict increment")


if __name__ == "__main__":
    main()
