"""The 1 m × 1 m cell grid of a district (docs/road.md, "Cells").

A position from a device is a longitude/latitude on WGS-84 (GPS) or CGCS2000 (BeiDou and the
national surveys). It is projected with PROJ (through ``pyproj``) onto the CGCS2000 3-degree
Gauss–Krüger zone of the district — EPSG:4534 (central meridian 75°E) … EPSG:4554 (135°E), the
grid China's surveying and urban mapping use — and binned into square metres.

**Zone choice.** One zone per district, from the district's central longitude: the central
meridian is the multiple of 3° nearest to it (``3 * floor((lon + 1.5) / 3)``). A district is a
few kilometres wide, so every point of it is well inside ±1.5° of that meridian, where the
Gauss–Krüger scale error is below 1.4 × 10⁻⁴ (0.14 mm in a 1 m cell). All cells of a district use
its zone, even a point of the district that lies past a zone boundary: the grid must not jump.

**WGS-84 and CGCS2000** differ by a few centimetres today (both are ITRF-aligned); PROJ treats
the two as the same ("ballpark" transformation), which is far below the 1 m cell size and the
few-metre error of a vehicle's GNSS fix.

**Cell id.** ``"<zone>:<E>:<N>"``: the zone number (central meridian / 3, so Hangzhou is 40) and
the easting and northing, in integer metres, of the cell's south-west corner in that zone
(easting with the zone's 500 000 m false easting, no zone prefix). The cell holds the points with
``E <= easting < E + 1`` and ``N <= northing < N + 1``; its centre is ``(E + 0.5, N + 0.5)``.
Example: ``40:516356:3351164``. Ids are stable: they depend only on the zone and the metres, not
on the order in which cells were seen or on any table.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pyproj import CRS, Transformer

from yimatong.domain.errors import InvalidInput

__all__ = [
    "GEOGRAPHIC_EPSG",
    "CellId",
    "Datum",
    "Zone",
    "zone_for_longitude",
]

#: The geographic systems a device may report in, by name.
Datum = Literal["WGS84", "CGCS2000"]
GEOGRAPHIC_EPSG: dict[str, int] = {"WGS84": 4326, "CGCS2000": 4490}

_FIRST_CM, _LAST_CM = 75, 135  # EPSG:4534 … EPSG:4554, the CGCS2000 3-degree CM zones
_FIRST_EPSG = 4534
_CELL_ID = re.compile(r"(?P<zone>[0-9]{2}):(?P<e>[0-9]{1,7}):(?P<n>[0-9]{1,8})")


@dataclass(frozen=True, slots=True)
class Zone:
    """A CGCS2000 3-degree Gauss–Krüger zone, named by its number (central meridian / 3)."""

    number: int

    def __post_init__(self) -> None:
        if not _FIRST_CM // 3 <= self.number <= _LAST_CM // 3:
            raise ValueError(f"no CGCS2000 3-degree zone {self.number} (25..45 cover China)")

    @property
    def central_meridian(self) -> int:
        return self.number * 3

    @property
    def epsg(self) -> int:
        return _FIRST_EPSG + (self.central_meridian - _FIRST_CM) // 3

    def project(self, lon: float, lat: float, datum: Datum = "CGCS2000") -> tuple[float, float]:
        """(easting, northing) in metres of a longitude/latitude in degrees."""
        _check_lon_lat(lon, lat)
        easting, northing = _forward(GEOGRAPHIC_EPSG[datum], self.epsg).transform(lon, lat)
        if not (math.isfinite(easting) and math.isfinite(northing)):
            raise InvalidInput("position cannot be projected", field="position")
        return float(easting), float(northing)

    def cells_many(
        self, lons: Sequence[float], lats: Sequence[float], datum: Datum = "CGCS2000"
    ) -> list[CellId | None]:
        """The cells of many longitudes/latitudes (checked as ``project`` checks them) in one
        PROJ call on arrays — what ``cell_of`` gives for each, None where a position cannot
        be projected."""
        for lon, lat in zip(lons, lats, strict=True):
            _check_lon_lat(lon, lat)
        xs, ys = array("d", lons), array("d", lats)
        _forward(GEOGRAPHIC_EPSG[datum], self.epsg).transform(xs, ys, inplace=True)
        floor, finite, zone = math.floor, math.isfinite, self.number
        return [
            CellId(zone, floor(x), floor(y)) if finite(x) and finite(y) else None
            for x, y in zip(xs, ys, strict=True)
        ]

    def unproject(self, easting: float, northing: float) -> tuple[float, float]:
        """(longitude, latitude) on CGCS2000 of a point of the zone."""
        lon, lat = _forward(self.epsg, GEOGRAPHIC_EPSG["CGCS2000"]).transform(easting, northing)
        return float(lon), float(lat)

    def cell_at(self, easting: float, northing: float) -> CellId:
        """The cell that holds a projected point."""
        return CellId(self.number, math.floor(easting), math.floor(northing))

    def cell_of(self, lon: float, lat: float, datum: Datum = "CGCS2000") -> CellId:
        """The cell that holds a longitude/latitude."""
        return self.cell_at(*self.project(lon, lat, datum))


def zone_for_longitude(central_longitude: float) -> Zone:
    """The district's zone: the 3-degree zone whose central meridian is nearest its centre."""
    if not _FIRST_CM - 1.5 <= central_longitude < _LAST_CM + 1.5:
        raise InvalidInput("longitude outside the CGCS2000 zones (73.5°E..136.5°E)", field="lon")
    return Zone(math.floor((central_longitude + 1.5) / 3))


@dataclass(frozen=True, slots=True, order=True)
class CellId:
    """One square metre: the zone and the integer easting/northing of its south-west corner."""

    zone: int
    easting: int
    northing: int

    def __str__(self) -> str:
        return f"{self.zone}:{self.easting}:{self.northing}"

    @classmethod
    def parse(cls, text: str) -> CellId:
        found = _CELL_ID.fullmatch(text)
        if found is None:
            raise InvalidInput("not a cell id (zone:easting:northing)", field="cell")
        zone = int(found["zone"])
        if not _FIRST_CM // 3 <= zone <= _LAST_CM // 3:
            raise InvalidInput("not a cell id (zone 25..45)", field="cell")
        return cls(zone, int(found["e"]), int(found["n"]))

    @property
    def centre(self) -> tuple[float, float]:
        """The projected centre (easting, northing) in metres."""
        return self.easting + 0.5, self.northing + 0.5

    def centre_lon_lat(self) -> tuple[float, float]:
        """The centre as CGCS2000 longitude/latitude."""
        return Zone(self.zone).unproject(*self.centre)

    def neighbours4(self) -> tuple[CellId, ...]:
        z, e, n = self.zone, self.easting, self.northing
        return (CellId(z, e + 1, n), CellId(z, e - 1, n), CellId(z, e, n + 1), CellId(z, e, n - 1))


def _check_lon_lat(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidInput("longitude must be within -180..180", field="lon")
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidInput("latitude must be within -90..90", field="lat")


@cache
def _forward(source_epsg: int, target_epsg: int) -> Transformer:
    # Building a transformer reads PROJ's database (milliseconds); one per pair, kept.
    return Transformer.from_crs(
        CRS.from_epsg(source_epsg), CRS.from_epsg(target_epsg), always_xy=True
    )
