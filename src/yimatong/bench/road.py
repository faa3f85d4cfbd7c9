"""The road node's two scale figures (issue 13, item 8; docs/road.md, "Scale").

``road-ingest``: sensing-vehicle observations per second on one core through the road node's
ingest (``RoadService.ingest``: the JSON body of a signed batch of 2,000 rows — the signature,
each row parsed and checked, projected to its cell, its road found, its digest, the bulk
insert, the assessment of the cells it reports defects in), against the raw bulk insert of the
same rows through the bare driver (``executemany`` on SQLite, ``COPY`` on PostgreSQL), the
batches alternating. A vehicle's pass is mostly clear passes: 1 row in 100 is a detection.

``road-map``: a district of about 5 million cells (a synthetic grid of 40 roads, 16 m wide,
8 km long; the count is their area less the crossings) with 1 % of them not green (50,000 rows
in ``road_cells``, written directly: the setup, not what is timed); the time of one map view
(``RoadService.cells`` for a 1 km × 1 km bbox, GeoJSON built), against the bare SELECT of the
same rows. The target is an answer under 100 ms.
"""

from __future__ import annotations

import base64
import itertools
import math
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from yimatong.bench.core import Outcome, Table, bare_insert, benchmark, measure
from yimatong.bench.live import scratch_database

__all__: list[str] = []

BATCH = 2_000
DETECTION_EVERY = 100
VIEW_M = 1000


@contextmanager
def _road_node(db_url: str | None) -> Iterator[Any]:
    from yimatong.config import Settings
    from yimatong.roadnode.app import build_road

    with tempfile.TemporaryDirectory(prefix="ymt-bench-road-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'road.db'}"
        settings = Settings.from_environ(
            {"YMT_ROLE": "road", "YMT_REGION": "330100", "YMT_STATE_DIR": tmp, "YMT_DB_URL": url}
        )
        node = build_road(settings, start_jobs=False)
        try:
            yield node
        finally:
            node.close()


def _drive(node: Any, rows: int, now: datetime, device: str) -> list[dict[str, Any]]:
    """A vehicle's observations a metre apart along the district's roads, one in a hundred a
    pothole (the rest clear passes), in the last hour."""
    net = node.service.network
    zone = net.zone
    out: list[dict[str, Any]] = []
    seq = itertools.count()
    for road in itertools.cycle(net.roads):
        pts = [zone.project(lon, lat) for lon, lat in road.points]
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            length = math.hypot(x1 - x0, y1 - y0)
            for m in range(int(length)):
                if len(out) == rows:
                    return out
                x, y = x0 + (x1 - x0) * m / length, y0 + (y1 - y0) * m / length
                lon, lat = zone.unproject(math.floor(x) + 0.5, math.floor(y) + 0.5)
                i = next(seq)
                detect = i % DETECTION_EVERY == DETECTION_EVERY - 1
                out.append({
                    "device_id": device, "seq": i,
                    "observed_at": (now - timedelta(seconds=3600 - i * 3600 / rows)).isoformat(),
                    "lon": lon, "lat": lat, "datum": "CGCS2000", "heading_deg": 90.0,
                    "speed_mps": 9.5, "defect": "pothole" if detect else None,
                    "severity": "moderate" if detect else None,
                    "confidence": 0.91, "image_sha256": f"{i:064x}",
                })  # fmt: skip
    return out


def _raw_writer(node: Any) -> Any:
    """Write the same rows (another device id) through the bare driver; returns seconds."""
    from yimatong.adapters.db.tables import road_observations
    from yimatong.road.observations import Observation

    dialect = node.db.dialect
    columns = [c.name for c in road_observations.columns]
    zone = node.service.network.zone
    counter = itertools.count()

    def prepared(batch: list[dict[str, Any]], now: datetime) -> list[tuple[Any, ...]]:
        tag = f"raw-{next(counter)}"
        at: Any = now
        out = []
        for row in batch:
            obs = Observation.from_payload(row)
            cell = zone.cell_of(obs.lon, obs.lat)
            when: Any = obs.observed_at
            if dialect == "sqlite":
                when = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                at = now.strftime("%Y-%m-%d %H:%M:%S.%f")
            values = {
                "device_id": tag, "seq": obs.seq, "e": cell.easting, "n": cell.northing,
                "observed_at": when, "kind": "detection" if obs.defect else "clear",
                "defect": obs.defect,
                "severity": None if obs.severity is None else int(obs.severity),
                "confidence": obs.confidence, "magnitude_g": None, "lon": obs.lon, "lat": obs.lat,
                "datum": obs.datum, "heading_deg": obs.heading_deg, "speed_mps": obs.speed_mps,
                "image_sha256": obs.image_sha256, "owner_kind": "vehicle", "signed": True,
                "trusted": True, "digest": obs.digest(), "received_at": at,
            }  # fmt: skip
            out.append(tuple(values[c] for c in columns))
        return out

    def write(rows: list[tuple[Any, ...]]) -> float:
        raw = node.db.engine.raw_connection()
        try:
            start = time.perf_counter()
            cur = raw.cursor()
            bare_insert(cur, dialect, road_observations.name, columns, rows)
            raw.commit()
            return time.perf_counter() - start
        finally:
            raw.close()

    return prepared, write


@benchmark("road-ingest", "vehicle observations per second through road ingest, against raw insert")
def road_ingest(
    *, repeats: int = 1, seconds: float = 0.0, db: str | None = None, rows: int = 40_000
) -> Outcome:
    del repeats, seconds
    from yimatong.adapters.crypto import Algorithm, signing_key_from_seed
    from yimatong.road.observations import batch_signing_bytes

    key = signing_key_from_seed(Algorithm.EDDSA, bytes([13]) * 32)
    now = datetime.now(UTC)
    with scratch_database(db) as url, _road_node(url) as node:
        service = node.service
        service.register_vehicle(
            "bench-veh", owner="bench", public_key_der=key.public.spki_der(), trusted=True
        )
        observations = _drive(node, rows, now, "bench-veh")
        prepared, write = _raw_writer(node)
        ours: list[float] = []
        base: list[float] = []
        findings = 0
        for first in range(0, rows, BATCH):
            batch = observations[first : first + BATCH]
            body = orjson.dumps({"observations": batch})
            signature = base64.urlsafe_b64encode(key.sign(batch_signing_bytes(body))).decode()
            start = time.perf_counter()
            report = service.ingest(body, device="bench-veh", signature=signature)
            ours.append((time.perf_counter() - start) / len(batch))
            assert report.accepted == len(batch) and not report.errors, report.errors[:3]
            findings += len(report.findings)
            base.append(write(prepared(batch, now)) / len(batch))
    backend = "PostgreSQL" if db else "SQLite"
    per_row, raw_row = statistics.median(ours), statistics.median(base)
    table = Table(("what", "rows/s", "µs per row"))
    table.add("road ingest (signature, checks, cells, digests, insert, assessment)",
              1 / per_row, per_row * 1e6)  # fmt: skip
    table.add("raw " + ("COPY" if db else "executemany") + " of the same rows", 1 / raw_row,
              raw_row * 1e6)  # fmt: skip
    ratio = raw_row / per_row
    return Outcome(
        "road-ingest", 1 / per_row, "rows/s", 1 / raw_row, ratio, "≥ 0.5", ratio >= 0.5, table,
        [f"{backend}, one core, {rows:,} observations in signed batches of {BATCH:,} "
         f"(1 in {DETECTION_EVERY} a detection: {findings:,} findings), median per batch; "
         "the baseline's rows are prepared before its clock starts"],
    )  # fmt: skip


def _big_network() -> Any:
    """A synthetic district of about 5 million cells: 20 north–south and 20 east–west roads,
    16 m wide and 8 km long, 400 m apart (Hangzhou's longitudes)."""
    from yimatong.road.grid import zone_for_longitude
    from yimatong.road.network import Road, RoadNetwork

    zone = zone_for_longitude(120.15)
    x0, y0 = 505_000.0, 3_340_000.0
    roads = []
    for i in range(20):
        x = x0 + 200 + 400 * i
        roads.append(((x, y0), (x, y0 + 8000), f"ns{i}"))
        y = y0 + 200 + 400 * i
        roads.append(((x0, y), (x0 + 8000, y), f"ew{i}"))
    return RoadNetwork(
        district="bench-5m",
        name="bench",
        zone=zone,
        roads=tuple(
            Road(
                id=name,
                name=name,
                team="team-bench",
                width_m=16.0,
                points=tuple(zone.unproject(*p) for p in (a, b)),
            )
            for a, b, name in roads
        ),
        synthetic=True,
    ), (x0, y0)


@benchmark("road-map", "a map view over a 5-million-cell district with 1 % not green")
def road_map(*, repeats: int = 5, seconds: float = 0.3, db: str | None = None) -> Outcome:
    from sqlalchemy import insert, select

    from yimatong.adapters.db.tables import road_cells
    from yimatong.roadnode.service import RoadService

    network, (x0, y0) = _big_network()
    width, length, count = 16, 8000, 40
    cells_total = count * width * length - (count // 2) ** 2 * width * width
    non_green = cells_total // 100
    rng = random.Random(5)
    now = datetime.now(UTC)
    with scratch_database(db) as url, _road_node(url) as node:
        service = RoadService(
            db=node.db, network=network, ruleset=node.service.ruleset, clock=node.service.clock,
            log=node.service.translog, departments=node.service.departments,
        )  # fmt: skip
        chosen: set[tuple[int, int]] = set()
        while len(chosen) < non_green:
            i, along, across = rng.randrange(count), rng.randrange(length), rng.randrange(width)
            k = i // 2
            if i % 2 == 0:  # north–south road k
                cell = (int(x0 + 200 + 400 * k - width / 2 + across), int(y0 + along))
            else:
                cell = (int(x0 + along), int(y0 + 200 + 400 * k - width / 2 + across))
            chosen.add(cell)
        rows = [
            {"e": e, "n": n, "colour": 2 if (e + n) % 3 else 1, "severity": 3,
             "defects": ",pothole,", "reasons": [{"code": "road.pothole.severe"}],
             "confirmed_at": now, "first_seen_at": now, "ruleset": "road-default@2026.1",
             "work_order": None, "updated_at": now}
            for e, n in sorted(chosen)
        ]  # fmt: skip
        with node.db.uow() as uow:
            for i in range(0, len(rows), 10_000):
                uow.conn.execute(insert(road_cells), rows[i : i + 10_000])
            uow.commit()
        # A 1 km × 1 km view in the middle of the district.
        cx, cy = x0 + 4000, y0 + 4000
        lon0, lat0 = network.zone.unproject(cx - VIEW_M / 2, cy - VIEW_M / 2)
        lon1, lat1 = network.zone.unproject(cx + VIEW_M / 2, cy + VIEW_M / 2)
        bbox = (lon0, lat0, lon1, lat1)
        e0, n0, e1, n1 = service._metres(bbox)
        t = road_cells.c
        bare = (
            select(t.e, t.n, t.colour, t.severity, t.defects, t.work_order)
            .where(t.e.between(e0, e1), t.n.between(n0, n1))
        )  # fmt: skip
        shown = len(service.cells(bbox)["features"])

        def view() -> None:
            service.cells(bbox)

        def raw() -> None:
            with node.db.read() as conn:
                conn.execute(bare).all()

        ours, base = measure(view, raw, repeats=repeats, seconds=seconds)
    ms = ours * 1000
    table = Table(("what", "ms per view"))
    table.add(f"map view: bbox → GeoJSON of {shown:,} cells", ms)
    table.add("bare SELECT of the same rows", base * 1000)
    backend = "PostgreSQL" if db else "SQLite"
    return Outcome(
        "road-map", ms, "ms", base * 1000, base / ours, "< 100 ms", ms < 100, table,
        [f"{backend}, a district of about {cells_total:,} cells, {non_green:,} not green "
         f"(stored), a {VIEW_M} m × {VIEW_M} m view"],
    )  # fmt: skip
