"""The 1 m grid: zone choice, projection, cell ids, and the point ↔ cell round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yimatong.domain.errors import InvalidInput
from yimatong.road.grid import CellId, Zone, zone_for_longitude

HANGZHOU = zone_for_longitude(120.1675)
# A box around Hangzhou's old Xiacheng district, with a margin.
lons = st.floats(min_value=120.10, max_value=120.25, allow_nan=False)
lats = st.floats(min_value=30.20, max_value=30.35, allow_nan=False)


@pytest.mark.parametrize(
    ("lon", "zone", "epsg"),
    [
        (120.1675, 40, 4549),  # Hangzhou
        (121.47, 40, 4549),  # Shanghai
        (116.40, 39, 4548),  # Beijing
        (87.62, 29, 4538),  # Ürümqi
        (118.5, 40, 4549),  # exactly between 117° and 120°: the eastern zone
        (126.63, 42, 4551),  # Harbin
    ],
)
def test_zone_is_the_nearest_three_degree_meridian(lon: float, zone: int, epsg: int) -> None:
    chosen = zone_for_longitude(lon)
    assert chosen.number == zone
    assert chosen.central_meridian == zone * 3
    assert chosen.epsg == epsg


def test_zone_outside_china_is_refused() -> None:
    with pytest.raises(InvalidInput):
        zone_for_longitude(10.0)


def test_a_point_on_the_central_meridian_has_the_false_easting_and_the_meridian_arc() -> None:
    easting, northing = Zone(40).project(120.0, 30.0)
    assert easting == pytest.approx(500_000.0, abs=1e-6)
    # The GRS80 meridian arc from the equator to 30°N (a geodesic, computed independently
    # with pyproj.Geod in the test's writing): Gauss–Krüger keeps scale 1 on the meridian.
    assert northing == pytest.approx(3_320_113.398, abs=0.01)


def test_wgs84_and_cgcs2000_positions_fall_in_the_same_cell() -> None:
    assert HANGZHOU.cell_of(120.17, 30.28, "WGS84") == HANGZHOU.cell_of(120.17, 30.28, "CGCS2000")


def test_cell_id_text_round_trips_and_names_zone_and_metres() -> None:
    cell = HANGZHOU.cell_of(120.17, 30.28)
    assert str(cell) == "40:516356:3351164"
    assert CellId.parse(str(cell)) == cell


@pytest.mark.parametrize("text", ["", "40:1:2:3", "x:1:2", "40:-1:2", "99:1:2", "40:1", "40:1.5:2"])
def test_malformed_cell_ids_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        CellId.parse(text)


@pytest.mark.parametrize(("lon", "lat"), [(200.0, 30.0), (120.0, 91.0), (math.nan, 30.0)])
def test_positions_out_of_range_are_invalid_input(lon: float, lat: float) -> None:
    with pytest.raises(InvalidInput):
        HANGZHOU.cell_of(lon, lat)


@given(lons, lats)
def test_a_point_maps_to_the_cell_that_contains_it(lon: float, lat: float) -> None:
    easting, northing = HANGZHOU.project(lon, lat)
    cell = HANGZHOU.cell_of(lon, lat)
    assert cell.easting <= easting < cell.easting + 1
    assert cell.northing <= northing < cell.northing + 1


@given(lons, lats)
def test_cell_centre_maps_back_to_the_same_cell(lon: float, lat: float) -> None:
    cell = HANGZHOU.cell_of(lon, lat)
    assert HANGZHOU.cell_of(*cell.centre_lon_lat()) == cell
    assert CellId.parse(str(cell)) == cell


@given(
    st.floats(min_value=0.001, max_value=0.999),
    st.floats(min_value=0.001, max_value=0.999),
    st.integers(min_value=510_000, max_value=525_000),
    st.integers(min_value=3_345_000, max_value=3_360_000),
)
def test_a_planar_point_unprojected_returns_to_its_cell(
    fx: float, fy: float, east: int, north: int
) -> None:
    lon, lat = HANGZHOU.unproject(east + fx, north + fy)
    assert HANGZHOU.cell_of(lon, lat) == CellId(40, east, north)


@given(
    st.lists(st.tuples(st.floats(119.9, 120.4), st.floats(30.0, 30.5)), min_size=1, max_size=20),
    st.sampled_from(["WGS84", "CGCS2000"]),
)
def test_cells_of_many_positions_at_once_are_the_cells_of_each(
    points: list[tuple[float, float]], datum: str
) -> None:
    zone = zone_for_longitude(120.15)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    assert zone.cells_many(lons, lats, datum) == [  # type: ignore[arg-type]
        zone.cell_of(lon, lat, datum)  # type: ignore[arg-type]
        for lon, lat in points
    ]
