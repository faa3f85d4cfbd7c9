"""A district's road network: centre lines with widths, and the cells they decide.

A road is a polyline of longitude/latitude vertices (CGCS2000) with a carriageway width and the
maintenance team responsible for it. A **cell exists** if its centre lies within half the width
of some road's centre line (distance measured in the district's Gauss–Krüger plane, where the
segments between vertices are straight: at city scale the difference from a geodesic is far below
a millimetre). Everything else is not road and has no cell.

The network is data (``road/data/<district>.json``, format in docs/road.md); ``load_network``
validates it. Only ``cells_of`` enumerates a road's cells; ``road_at`` answers "is this a cell,
and whose" through a bucket index, without enumerating the district's millions of cells.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from yimatong.domain.errors import InvalidInput
from yimatong.road.grid import CellId, Zone, zone_for_longitude

__all__ = [
    "MAX_ROAD_WIDTH_M",
    "MIN_ROAD_WIDTH_M",
    "Road",
    "RoadNetwork",
    "load_builtin_network",
    "load_network",
]

#: Narrower than this is a footpath, not a carriageway; also what keeps a road's cells
#: 4-connected (a band at least √2 m wide holds a connected chain of cell centres).
MIN_ROAD_WIDTH_M = 2.0
MAX_ROAD_WIDTH_M = 80.0
_BUCKET_M = 64  # side of the index squares; a few roads pass through each
_IDENT = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Road:
    """A road's centre line (CGCS2000 lon/lat vertices), width and responsible team."""

    id: str
    name: str
    team: str
    width_m: float
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not _IDENT.fullmatch(self.id):
            raise InvalidInput("road id must be a short lower-case identifier", field="id")
        if not _IDENT.fullmatch(self.team):
            raise InvalidInput("team must be a short lower-case identifier", field="team")
        if not (math.isfinite(self.width_m) and self.width_m >= MIN_ROAD_WIDTH_M):
            raise InvalidInput(f"road width must be at least {MIN_ROAD_WIDTH_M} m", field="width_m")
        if self.width_m > MAX_ROAD_WIDTH_M:
            raise InvalidInput(f"road width must be at most {MAX_ROAD_WIDTH_M} m", field="width_m")
        if len(self.points) < 2:
            raise InvalidInput("a road needs at least two points", field="points")


@dataclass(frozen=True)
class RoadNetwork:
    """A district's roads, projected once into its zone."""

    district: str
    name: str
    zone: Zone
    roads: tuple[Road, ...]
    synthetic: bool = False
    _planar: dict[str, tuple[tuple[float, float], ...]] = field(
        init=False, repr=False, compare=False
    )
    _index: dict[tuple[int, int], tuple[tuple[int, int], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        ids = [r.id for r in self.roads]
        if len(set(ids)) != len(ids):
            raise InvalidInput("road ids must be unique", field="roads")
        planar = {
            r.id: tuple(self.zone.project(lon, lat) for lon, lat in r.points) for r in self.roads
        }
        index: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for ri, road in enumerate(self.roads):
            pts = planar[road.id]
            half = road.width_m / 2
            for si in range(len(pts) - 1):
                (x0, y0), (x1, y1) = pts[si], pts[si + 1]
                bx0 = math.floor((min(x0, x1) - half) / _BUCKET_M)
                bx1 = math.floor((max(x0, x1) + half) / _BUCKET_M)
                by0 = math.floor((min(y0, y1) - half) / _BUCKET_M)
                by1 = math.floor((max(y0, y1) + half) / _BUCKET_M)
                for bx in range(bx0, bx1 + 1):
                    for by in range(by0, by1 + 1):
                        index.setdefault((bx, by), []).append((ri, si))
        object.__setattr__(self, "_planar", planar)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    def road(self, road_id: str) -> Road:
        for road in self.roads:
            if road.id == road_id:
                return road
        raise KeyError(road_id)

    def cells_of(self, road: Road) -> Iterator[CellId]:
        """Every cell of one road (each once), in no particular order."""
        pts = self._planar[road.id]
        half = road.width_m / 2
        seen: set[tuple[int, int]] = set()
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            for n in range(math.floor(min(y0, y1) - half), math.floor(max(y0, y1) + half) + 1):
                span = _row_span(n + 0.5, x0, y0, x1, y1, half)
                if span is None:
                    continue
                # The span is exact up to rounding; the distance test decides, as in road_at.
                for e in range(math.floor(span[0] - 0.5), math.floor(span[1] - 0.5) + 2):
                    if (e, n) not in seen and _distance(e + 0.5, n + 0.5, x0, y0, x1, y1) <= half:
                        seen.add((e, n))
                        yield CellId(self.zone.number, e, n)

    def cell_count(self) -> int:
        """How many cells the district has (a cell on two roads counts once)."""
        cells: set[CellId] = set()
        for road in self.roads:
            cells.update(self.cells_of(road))
        return len(cells)

    def road_at(self, cell: CellId) -> Road | None:
        """The road a cell belongs to (the widest, then the first, if roads overlap), or None."""
        if cell.zone != self.zone.number:
            return None
        cx, cy = cell.centre
        best: Road | None = None
        for ri, si in self._index.get((math.floor(cx / _BUCKET_M), math.floor(cy / _BUCKET_M)), ()):
            road = self.roads[ri]
            (x0, y0), (x1, y1) = self._planar[road.id][si : si + 2]
            if _distance(cx, cy, x0, y0, x1, y1) <= road.width_m / 2 and (
                best is None or road.width_m > best.width_m
            ):
                best = road
        return best

    def cell_exists(self, cell: CellId) -> bool:
        return self.road_at(cell) is not None


def _distance(px: float, py: float, x0: float, y0: float, x1: float, y1: float) -> float:
    """Distance from a point to a segment."""
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - x0) * dx + (py - y0) * dy) / length2))
    return math.hypot(px - (x0 + t * dx), py - (y0 + t * dy))


def _row_span(
    y: float, x0: float, y0: float, x1: float, y1: float, r: float
) -> tuple[float, float] | None:
    """The x interval where the line at height ``y`` meets the capsule of radius r round a segment.

    The capsule (a rectangle with two half-discs) is convex, so the meeting is one interval: the
    union of what the two end discs and the rectangle each give.
    """
    lo, hi = math.inf, -math.inf
    for px, py in ((x0, y0), (x1, y1)):
        dy = y - py
        if abs(dy) <= r:
            w = math.sqrt(r * r - dy * dy)
            lo, hi = min(lo, px - w), max(hi, px + w)
    dx, dyy = x1 - x0, y1 - y0
    length = math.hypot(dx, dyy)
    if length > 0:
        # Points x on the line: along = ((x-x0)dx + (y-y0)dyy)/L in [0, L];
        # across = ((x-x0)dyy - (y-y0)dx)/L in [-r, r]. Each is linear in x.
        bounds = [(-math.inf, math.inf)]
        for a, b, low, high in (
            (dx / length, (y - y0) * dyy / length, 0.0, length),
            (dyy / length, -(y - y0) * dx / length, -r, r),
        ):
            # a * (x - x0) + b in [low, high]
            if a == 0:
                if not low <= b <= high:
                    bounds.append((math.inf, -math.inf))
                continue
            u, v = x0 + (low - b) / a, x0 + (high - b) / a
            bounds.append((min(u, v), max(u, v)))
        rlo = max(b[0] for b in bounds)
        rhi = min(b[1] for b in bounds)
        if rlo <= rhi:
            lo, hi = min(lo, rlo), max(hi, rhi)
    return (lo, hi) if lo <= hi else None


def load_network(data: Mapping[str, Any]) -> RoadNetwork:
    """A network from its JSON form (docs/road.md); InvalidInput names the bad place."""
    try:
        if data.get("format") != "ymt-road-network/1":
            raise InvalidInput("format must be ymt-road-network/1", field="format")
        district = str(data["district"])
        if not _IDENT.fullmatch(district):
            raise InvalidInput("district must be a short lower-case identifier", field="district")
        zone = zone_for_longitude(float(data["central_longitude"]))
        roads = []
        for i, raw in enumerate(data["roads"]):
            try:
                roads.append(
                    Road(
                        id=str(raw["id"]),
                        name=str(raw["name"]),
                        team=str(raw["team"]),
                        width_m=float(raw["width_m"]),
                        points=tuple((float(lon), float(lat)) for lon, lat in raw["points"]),
                    )
                )
            except InvalidInput as exc:
                raise InvalidInput(
                    f"roads[{i}]: {exc.message}", field=f"roads[{i}].{exc.field}"
                ) from None
        return RoadNetwork(
            district=district,
            name=str(data["name"]),
            zone=zone,
            roads=tuple(roads),
            synthetic=bool(data.get("synthetic", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"not a road network: {exc!r}", field="network") from None


@cache
def load_builtin_network(district: str) -> RoadNetwork:
    """A network shipped in ``yimatong/road/data/network-<district>.json`` (cached)."""
    if not _IDENT.fullmatch(district):
        raise ValueError("not a district id")
    resource = (
        resources.files("yimatong.road").joinpath("data").joinpath(f"network-{district}.json")
    )
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LookupError(f"no built-in road network {district}") from None
    return load_network(json.loads(text))
