"""Roads decide which cells exist; the shipped synthetic district is what its script writes."""

from __future__ import annotations

import importlib.util
import math
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.errors import InvalidInput
from yimatong.road.grid import CellId, zone_for_longitude
from yimatong.road.network import Road, RoadNetwork, load_builtin_network, load_network

ROOT = Path(__file__).parents[2]
ZONE = zone_for_longitude(120.17)
ORIGIN_E, ORIGIN_N = 516_000.0, 3_351_000.0


def _road(points_en: list[tuple[float, float]], width: float, rid: str = "r1") -> Road:
    points = tuple(ZONE.unproject(ORIGIN_E + e, ORIGIN_N + n) for e, n in points_en)
    return Road(rid, "test road", "team-a", width, points)


def _network(*roads: Road) -> RoadNetwork:
    return RoadNetwork("test", "test district", ZONE, roads)


def test_a_cell_exists_when_its_centre_is_within_half_the_width() -> None:
    net = _network(_road([(0, 0.5), (100, 0.5)], width=10.0))  # east-west, centre line n = 0.5
    assert net.cell_exists(CellId(40, 516_050, 3_351_000))  # on the centre line
    assert net.cell_exists(CellId(40, 516_050, 3_351_005))  # centre 5.0 m away: on the edge
    assert not net.cell_exists(CellId(40, 516_050, 3_351_006))  # centre 6.0 m away
    assert not net.cell_exists(CellId(40, 516_050, 3_350_993))  # centre 7.0 m away on the south
    assert not net.cell_exists(CellId(40, 516_150, 3_351_000))  # past the road's end
    assert not net.cell_exists(CellId(39, 516_050, 3_351_000))  # another zone


def test_a_straight_road_has_length_times_width_cells() -> None:
    net = _network(_road([(0.3, 0.5), (100.3, 0.5)], width=10.0))
    cells = set(net.cells_of(net.roads[0]))
    # 100 m long plus the round ends, 11 cells across (centres at -5 … +5 m inclusive)
    assert 11 * 100 <= len(cells) <= 11 * 100 + 2 * 5 * 11
    assert net.cell_count() == len(cells)


def test_overlapping_roads_give_the_cell_to_the_wider_one() -> None:
    wide = _road([(0, 0.5), (100, 0.5)], width=20.0, rid="wide")
    narrow = _road([(50.5, -50), (50.5, 50)], width=6.0, rid="narrow")
    net = _network(narrow, wide)
    crossing = CellId(40, 516_050, 3_351_000)
    assert net.road_at(crossing) == net.road("wide")
    assert net.road_at(CellId(40, 516_050, 3_351_030)) == net.road("narrow")
    cells = set(net.cells_of(wide)) | set(net.cells_of(narrow))
    assert net.cell_count() == len(cells)


@pytest.mark.parametrize("width", [1.9, 0.0, math.nan, 81.0])
def test_a_road_narrower_than_two_metres_or_absurdly_wide_is_refused(width: float) -> None:
    with pytest.raises(InvalidInput):
        _road([(0, 0), (10, 0)], width=width)


def test_a_network_with_a_bad_road_names_the_place() -> None:
    data = {
        "format": "ymt-road-network/1",
        "district": "d",
        "name": "d",
        "central_longitude": 120.17,
        "roads": [{"id": "r", "name": "r", "team": "t", "width_m": 1, "points": [[120, 30]] * 2}],
    }
    with pytest.raises(InvalidInput) as caught:
        load_network(data)
    assert caught.value.field == "roads[0].width_m"
    with pytest.raises(InvalidInput):
        load_network({**data, "format": "other"})
    with pytest.raises(InvalidInput):
        load_network({"format": "ymt-road-network/1"})


offsets = st.tuples(
    st.floats(min_value=-150, max_value=150, allow_nan=False),
    st.floats(min_value=-150, max_value=150, allow_nan=False),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(offsets, min_size=2, max_size=4), st.floats(min_value=2.0, max_value=12.0))
def test_the_cells_of_a_road_are_contiguous(
    points: list[tuple[float, float]], width: float
) -> None:
    net = _network(_road(points, width))
    cells = set(net.cells_of(net.roads[0]))
    assert cells
    start = next(iter(cells))
    reached = {start}
    queue = deque([start])
    while queue:
        for nb in queue.popleft().neighbours4():
            if nb in cells and nb not in reached:
                reached.add(nb)
                queue.append(nb)
    assert reached == cells


@settings(max_examples=25, deadline=None)
@given(st.lists(offsets, min_size=2, max_size=3), st.floats(min_value=2.0, max_value=8.0))
def test_road_at_agrees_with_the_enumerated_cells(
    points: list[tuple[float, float]], width: float
) -> None:
    net = _network(_road(points, width))
    cells = set(net.cells_of(net.roads[0]))
    for cell in list(cells)[:200]:
        assert net.road_at(cell) is net.roads[0]
        for nb in cell.neighbours4():
            assert net.cell_exists(nb) == (nb in cells)


def test_the_shipped_district_is_synthetic_in_zone_40_with_two_teams() -> None:
    net = load_builtin_network("xiacheng-synthetic")
    assert net.synthetic
    assert "synthetic" in net.name
    assert net.zone.number == 40
    assert {r.team for r in net.roads} == {"team-north", "team-south"}
    centre = net.zone.cell_of(120.1675, 30.2835)
    assert net.road_at(centre) is not None  # the middle arterials cross there
    with pytest.raises(LookupError):
        load_builtin_network("nowhere")


def test_the_shipped_district_is_what_its_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_road_network.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
