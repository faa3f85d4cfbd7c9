"""The road node's pages in Chromium: the map draws the roads and the red and yellow cells from
the node's vector data (nothing from elsewhere, no CSP refusal), its filters redraw, a cell's
history opens from the map, the board shows a team its orders after signing in with its
credential, and the dashboard shows the times to finding and to repair."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.browser.conftest import LiveServer, Tab
from tests.conftest import FakeClock
from tests.road_support import Vehicle, cell_of, register, road_settings, road_tokens, spot
from yimatong.bootstrap import Node
from yimatong.roadnode.app import build_road

POTHOLE = spot("ns3-n", 2)
CRACK = spot("ew4", 6)


@pytest.fixture(scope="module")
def road(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, dict[str, str]]]:
    tmp: Path = tmp_path_factory.mktemp("road")
    clock = FakeClock(datetime.now(UTC))
    node = build_road(
        road_settings(f"sqlite:///{tmp / 'r.db'}", tmp), clock=clock, start_jobs=False
    )
    tokens = road_tokens(node, clock())
    http = TestClient(node.app)
    car = Vehicle("veh-browser")
    register(http, tokens["admin"], car)
    at = clock() - timedelta(hours=3)
    body, headers = car.batch(
        [car.observe(POTHOLE, at, "pothole", "severe"),
         car.observe(CRACK, at, "longitudinal_crack", "light")]
    )  # fmt: skip
    assert http.post("/v1/road/observations", content=body, headers=headers).status_code == 200
    yield node, tokens
    node.close()


def test_the_map_draws_cells_from_vector_data_and_filters_them(
    tab: Tab, road: tuple[Node, dict[str, str]]
) -> None:
    node, _ = road
    with LiveServer(node.app) as server:
        page = tab.page
        page.goto(server.url + "/")
        page.wait_for_selector("#road-map[data-drawn='2']")
        assert page.locator("#road-map polyline.road").count() == 22
        assert page.locator("#road-map circle.cell-mark.red").count() == 1
        assert page.locator("#road-map circle.cell-mark.yellow").count() == 1
        page.select_option("#defect", "pothole")
        page.wait_for_selector("#road-map[data-drawn='1']")
        assert page.locator("#cell-list tr").count() == 1
        page.select_option("#defect", "")
        page.select_option("#severity", "severe")
        page.wait_for_selector("#road-map[data-drawn='1']")
        page.locator(f"#road-map a[data-cell='{cell_of(*POTHOLE)}'] circle").click()
        page.wait_for_url(f"**/road/cells/{cell_of(*POTHOLE)}")
        assert "road.pothole.severe" in page.locator("main").inner_text()
        assert "veh-browser" in page.locator("main").inner_text()
        assert tab.foreign_requests(server.url) == []
        assert not [m for m in tab.console if "Content Security Policy" in m], tab.console


def test_a_team_signs_in_to_its_board_and_the_dashboard_shows_the_times(
    tab: Tab, road: tuple[Node, dict[str, str]]
) -> None:
    node, tokens = road
    with LiveServer(node.app) as server:
        page = tab.page
        page.goto(server.url + "/road/orders")
        page.get_by_label("凭证").fill(tokens["north"])
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/road/orders")
        board = page.locator("main").inner_text()
        assert "pothole" in board and "longitudinal_crack" in board  # both on team-north roads
        page.goto(server.url + "/road/dashboard")
        assert page.locator("#red").inner_text() == "1"
        assert page.locator("#yellow").inner_text() == "1"
        assert page.locator("#to-confirmation td").first.inner_text() == "2"
        assert "road-default@2026.1" in page.locator("main").inner_text()
        assert tab.foreign_requests(server.url) == []


def test_a_citizen_reports_a_jolt_from_the_report_page_and_sees_the_points_it_earned(
    tab: Tab, road: tuple[Node, dict[str, str]]
) -> None:
    node, tokens = road
    where = spot("ew6", 9)
    with LiveServer(node.app) as server:
        page = tab.page
        page.goto(server.url + "/road/report")
        page.get_by_label("经度").fill(f"{where[0]:.7f}")
        page.get_by_label("纬度").fill(f"{where[1]:.7f}")
        page.get_by_role("button", name="报告").click()
        page.wait_for_selector("#report-result[data-state='accepted']")
        device = page.locator("#my-device").inner_text()
        assert device.startswith("app-")
        # A vehicle then confirms a pothole there: the phone's report earns its points.
        car = Vehicle("veh-browser-2", seqs=iter(range(10**6)))
        http = TestClient(node.app)
        register(http, tokens["admin"], car)
        node.service.clock.now = datetime.now(UTC) + timedelta(seconds=1)  # the FakeClock
        body, headers = car.batch([car.observe(where, node.service.clock(), "pothole", "severe")])
        assert (
            http.post("/v1/road/observations", content=body, headers=headers).json()["points"] == 10
        )
        page.reload()
        page.wait_for_function("document.getElementById('my-points').textContent === '10'")
        assert tab.foreign_requests(server.url) == []
        assert not [m for m in tab.console if "Content Security Policy" in m], tab.console
