"""The checkpoint page in real Chromium: sign-in and roles, a typed code, a photo, the camera,
accessibility at each state, the issuer's page through its relay; nothing leaves the node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.checkpoint_world import (
    World,
    camera_browser,
    checkpoint_world,
    lists_ready,
    qr_matrix,
    qr_pixels,
    relay_issuer,
    scan,
    screenshot,
    sign_in,
    write_png,
    write_y4m,
)
from tests.browser.conftest import LiveServer, Tab


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with checkpoint_world(tmp_path_factory.mktemp("checkpoint")) as made:
        yield made


def test_a_typed_code_passes_online(tab: Tab, world: World) -> None:
    sign_in(tab, world.url, world.fed.tokens["checkpoint"])
    lists_ready(tab)
    screenshot(tab, "ready")
    got = scan(tab, world.code("13800000011"), "36.5")
    screenshot(tab, "pass-online")
    assert got["outcome"] == "PASS", got
    assert got["mode"] == "online"
    assert "符合520000通行规则" in got["text"] and "meets the entry policy of 520000" in got["text"]
    assert tab.foreign_requests(world.url) == []


def test_without_a_checkpoint_credential_the_page_asks_for_one(tab: Tab, world: World) -> None:
    page = tab.page
    page.goto(world.url + "/checkpoint")
    page.wait_for_url("**/signin/staff?next=/checkpoint")
    assert tab.axe() == []
    page.fill("#token", world.fed.tokens["staff"])
    page.click("button[type=submit]")
    page.wait_for_url("**/checkpoint")
    assert page.get_by_role("alert").inner_text() == "此页面只供核验点凭证使用。"
    # The page's JSON calls are the API's: a staff session may not upload scans.
    status = page.evaluate(
        """async () => (await fetch('/v1/scans', {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json', 'X-CSRF-Token':
                        document.querySelector('meta[name=csrf-token]').content},
              body: JSON.stringify({scans: [{id: 'x', sid: '0'.repeat(32), area: '520000',
                    at: new Date().toISOString(), decision: 'PASS', checkpoint: 'x'}]})})).status"""
    )
    assert status == 403


def test_the_page_passes_axe_at_each_state(tab: Tab, world: World) -> None:
    sign_in(tab, world.url, world.credential("gate-axe"))
    lists_ready(tab)
    assert tab.axe() == []
    for code, temperature in ((world.code("13800000021"), "36.5"), ("not a code", None)):
        scan(tab, code, temperature)
        assert tab.axe() == [], code
    tab.page.click("#settings summary")
    assert tab.axe() == []
    screenshot(tab, "settings")
    tab.page.goto(world.url + "/prefs?lang=en&next=/checkpoint")
    tab.page.wait_for_selector("body[data-ready=yes]")
    assert tab.page.get_attribute("html", "lang") == "en"
    assert tab.axe() == []
    tab.page.goto(world.url + "/prefs?size=large&next=/checkpoint")
    tab.page.wait_for_selector("body[data-ready=yes]")
    assert tab.page.get_attribute("html", "class") == "large"
    scan(tab, world.code("13800000022"), "38.2")
    assert "temperature at the gate 38.2 °C" in tab.page.inner_text("#result")
    screenshot(tab, "deny-large-en")
    assert tab.axe() == []


def test_a_photo_of_a_code_is_decoded_and_decided(tab: Tab, world: World, tmp_path: Path) -> None:
    sign_in(tab, world.url, world.credential("gate-photo"))
    lists_ready(tab)
    code = world.code("13800000031")
    photo = tmp_path / "code.png"
    write_png(photo, qr_pixels(qr_matrix(tab, code), 640, 480))
    before = tab.page.evaluate("() => window.checkpoint.results.length")
    tab.page.fill("#temperature", "36.4")
    tab.page.set_input_files("#photo", str(photo))
    tab.page.wait_for_function(f"() => window.checkpoint.results.length > {before}")
    screenshot(tab, "photo")
    assert tab.page.get_attribute("#result", "data-outcome") == "PASS"


def test_the_camera_scans_a_code_and_decides(browser: Any, world: World, tmp_path: Path) -> None:
    # A browser of its own: Chromium's fake camera plays a Y4M file the test writes.
    helper = browser.new_context()
    page = helper.new_page()
    page.goto(world.url + "/signin/staff")
    code = world.code("13800000041")
    video = tmp_path / "qr.y4m"
    write_y4m(video, qr_pixels(qr_matrix(Tab(page), code), 640, 480))
    helper.close()
    with camera_browser(browser, video) as camera:
        context = camera.new_context(locale="zh-CN")
        context.grant_permissions(["camera"], origin=world.url)
        tab = Tab(context.new_page())
        tab.page.on("request", lambda r: tab.requests.append(r.url))
        sign_in(tab, world.url, world.credential("gate-camera"))
        lists_ready(tab)
        tab.page.click("#camera")
        tab.page.wait_for_function("() => window.checkpoint.results.length > 0", timeout=20000)
        screenshot(tab, "camera")
        assert tab.page.get_attribute("#result", "data-outcome") == "CHECK"  # no temperature
        assert "需人工核验：缺少现场体温" in tab.page.inner_text("#result")
        assert tab.foreign_requests(world.url) == []


def test_on_an_issuer_the_page_reaches_the_hub_only_through_its_relay(
    tab: Tab, world: World, tmp_path: Path
) -> None:
    with relay_issuer(world.fed, tmp_path) as gz, LiveServer(gz.node.app) as issuer:
        sign_in(tab, issuer.url, gz.checkpoint)
        lists_ready(tab)
        got = scan(tab, world.code("13800000051"), "36.5")
        screenshot(tab, "issuer-relay")
        assert (got["outcome"], got["mode"]) == ("PASS", "online"), got
        tab.page.wait_for_function("() => document.getElementById('queue').textContent === ''")
        assert world.scans_at_hub("gz-gate-1") == 1
        # The hub's international trust too, through the relay, verified in the page.
        tab.page.wait_for_function("() => window.checkpoint.verifier.international !== null")
        api = [u for u in tab.requests if "/v1/" in u]
        assert api and all(u.startswith(issuer.url + "/v1/hub/") for u in api), api
        assert issuer.url + "/v1/hub/international-trust" in api, api
        assert tab.foreign_requests(issuer.url) == []
