"""What the time partitions cost and save on PostgreSQL: inserts, and a day's purge.

Makes a scratch database (dropped at the end), migrates it (``stays`` is partitioned by day of
``expires_at``) and makes a plain copy of ``stays`` beside it, as it was before migration 0009.
Then, in the same run:

- insert the same rows (``--rows`` per day over ``--days`` days) into each: the partitioned
  table routes every row to its day's partition;
- purge one expired day: the housekeeper drops that day's partition (counting its rows first),
  against ``DELETE ... WHERE expires_at <= end of that day`` on the plain copy, then a VACUUM of
  it (what a delete leaves behind; a dropped partition leaves nothing).

    .venv/bin/python benchmarks/bench_partitions.py --db postgresql://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.partitions import maintain
from yimatong.config import normalise_db_url

_FILL = """
INSERT INTO {table} (sid, area, arrived, left_at, source, origin, created_at, expires_at)
SELECT 'a' || lpad(((g % 100000))::text, 31, '0'), '330106', :t0, :t0, 'scan', NULL, :t0,
       :day0 + ({day} || ' days')::interval + ((g % 86000) || ' seconds')::interval
  FROM generate_series(1, :n) g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL URL to make the scratch db from")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per day")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="rows of every day mixed through the table (default: in the order of their day)",
    )
    args = parser.parse_args()
    admin_url = normalise_db_url(args.db)
    name = f"ymt_bench_part_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        run(url, args.rows, args.days, interleave=args.interleave)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, per_day: int, days: int, *, interleave: bool = False) -> None:
    upgrade(url)
    engine = create_engine(url)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    n = per_day * days
    with engine.begin() as conn:
        # Without the foreign key to subjects on either table: the figure is the table's.
        conn.execute(text("ALTER TABLE stays DROP CONSTRAINT fk_stays_sid_subjects"))
        conn.execute(text("CREATE TABLE stays_plain (LIKE stays INCLUDING DEFAULTS)"))
        conn.execute(text("ALTER TABLE stays_plain ADD PRIMARY KEY (id)"))
        conn.execute(text("CREATE INDEX ON stays_plain (sid, arrived)"))
        conn.execute(text("CREATE UNIQUE INDEX ON stays_plain (origin)"))
    # By default rows come in the order of their day, as they arrive (now + the retention).
    day = "(g % :days)" if interleave else "((g - 1) / :per_day)"
    params = {"t0": today, "day0": today, "per_day": per_day, "days": days, "n": n}
    took: dict[str, float] = {}
    for table in ("stays_plain", "stays", "stays_plain", "stays"):  # interleaved, twice
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {table}"))
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(_FILL.format(table=table, day=day)), params)
        took[table] = time.perf_counter() - start  # the second run counts (warm)
    auto = create_engine(url, isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        conn.execute(text("VACUUM ANALYZE stays_plain"))
        conn.execute(text("VACUUM ANALYZE stays"))
    print(f"insert {n:,} rows over {days} days")
    for table in ("stays_plain", "stays"):
        print(f"  {table:<12} {took[table]:7.2f} s  {n / took[table]:>10,.0f} rows/s")
    print(f"  ratio (partitioned / plain throughput): {took['stays_plain'] / took['stays']:.2f}")

    # The first day's rows expire at the end of that day: "now" is just after it.
    now = today + timedelta(days=1)
    db = Database.from_url(url)
    start = time.perf_counter()
    dropped = maintain(db, now, ahead_days=0)
    t_drop = time.perf_counter() - start
    db.dispose()
    with auto.connect() as conn:
        start = time.perf_counter()
        deleted = conn.execute(
            text("DELETE FROM stays_plain WHERE expires_at <= :now"), {"now": now}
        ).rowcount
        t_delete = time.perf_counter() - start
        conn.execute(text("VACUUM stays_plain"))
        t_vacuum = time.perf_counter() - start - t_delete
    auto.dispose()
    engine.dispose()
    print(f"purge one expired day ({per_day:,} rows)")
    print(f"  drop partition   {t_drop * 1000:9.1f} ms  ({dropped.get('stays', 0):,} rows counted)")
    print(f"  row delete       {t_delete * 1000:9.1f} ms  ({deleted:,} rows)")
    print(f"  + its vacuum     {t_vacuum * 1000:9.1f} ms")
    print(f"  ratio (delete + vacuum) / drop: {(t_delete + t_vacuum) / t_drop:.1f}")


if __name__ == "__main__":
    main()
