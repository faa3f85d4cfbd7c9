"""The checkpoint page keeps deciding without the network: decisions in the browser from the
signed lists it keeps, marked offline with the lists' age; scans queued and uploaded once; a
revoked key refused; a wrong clock refused; the time from scan to decision measured."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.browser.checkpoint_world import (
    World,
    checkpoint_world,
    lists_ready,
    scan,
    screenshot,
    sign_in,
)
from tests.browser.conftest import Tab


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with checkpoint_world(tmp_path_factory.mktemp("offline")) as made:
        yield made


def _pending(tab: Tab) -> int:
    return int(tab.page.evaluate("() => window.checkpoint.verifier.store.count('pending')"))


def test_offline_a_code_is_decided_in_the_browser_and_its_scan_reaches_the_hub_once(
    tab: Tab, world: World
) -> None:
    token = world.credential("gate-offline")
    sign_in(tab, world.url, token)
    lists_ready(tab)
    first = scan(tab, world.code("13800000101"), "36.5")
    assert (first["outcome"], first["mode"]) == ("PASS", "online"), first
    tab.page.wait_for_function("() => document.getElementById('queue').textContent === ''")
    assert world.scans_at_hub("gate-offline") == 1

    tab.page.context.set_offline(True)
    second = scan(tab, world.code("13800000102"), "36.6")
    screenshot(tab, "pass-offline")
    assert (second["outcome"], second["mode"]) == ("PASS", "offline"), second
    assert "离线判定" in second["text"]
    assert "离线" in second["status"] and "列表更新于" in second["status"], second["status"]
    assert "待上传 1 条" in second["status"]
    assert _pending(tab) == 1
    assert world.scans_at_hub("gate-offline") == 1

    tab.page.context.set_offline(False)  # the page's "online" handler refreshes and uploads
    deadline = time.monotonic() + 20
    while _pending(tab) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pending(tab) == 0
    assert world.scans_at_hub("gate-offline") == 2
    # The upload's answer lost, the scan is sent again: the hub still holds it once.
    again = tab.page.evaluate("() => window.checkpoint.results[1].scan_id")
    assert again
    resent = tab.page.evaluate(
        """async (id) => {
            const v = window.checkpoint.verifier;
            const at = new Date().toISOString().slice(0, 19) + '+00:00';
            const sid = '0'.repeat(32);
            await v.store.addScan({id, seq: 2, sid, at, area: '520000', decision: 'PASS',
                                   checkpoint: 'gate-offline', state: 'pending'});
            return await v.upload();
        }""",
        again,
    )
    assert resent["duplicates"] == 1 and resent["sent"] == 0, resent
    assert world.scans_at_hub("gate-offline") == 2
    assert tab.foreign_requests(world.url) == []


def test_a_wrong_clock_refuses_offline_decisions(tab: Tab, world: World) -> None:
    tab.page.clock.install(time=datetime.now())
    sign_in(tab, world.url, world.credential("gate-clock"))
    lists_ready(tab)
    code = world.code("13800000103")
    tab.page.context.set_offline(True)
    tab.page.clock.set_system_time(datetime.now() - timedelta(days=2))
    got = scan(tab, code, "36.5")
    screenshot(tab, "clock-refused")
    assert got["outcome"] == "CHECK", got
    assert got["mode"] == "offline"
    assert "本机时钟比国家平台慢约" in got["text"] and "behind the hub's" in got["text"], got


def test_the_time_from_scan_to_decision_online_and_offline(tab: Tab, world: World) -> None:
    """Medians over 20 scans each (performance.now() around the decision, in the browser):
    ``pytest -s tests/browser/test_checkpoint_offline.py -k time`` prints them."""
    sign_in(tab, world.url, world.credential("gate-timing"))
    lists_ready(tab)
    codes = [world.code(f"138000002{i:02d}") for i in range(4)]
    online = [scan(tab, codes[i % 4], "36.5") for i in range(20)]
    tab.page.context.set_offline(True)
    offline = [scan(tab, codes[i % 4], "36.5") for i in range(20)]
    assert {(g["outcome"], g["mode"]) for g in online} == {("PASS", "online")}
    assert {(g["outcome"], g["mode"]) for g in offline} == {("PASS", "offline")}
    on = statistics.median(g["ms"] for g in online)
    off = statistics.median(g["ms"] for g in offline)
    # A figure to read, not to assert: timings are never test outcomes on a shared machine.
    print(f"\nscan to decision in Chromium, median of 20: online {on:.1f} ms, offline {off:.1f} ms")


def test_the_page_opens_and_decides_with_no_network_from_its_service_worker(
    tab: Tab, world: World
) -> None:
    sign_in(tab, world.url, world.credential("gate-reload"))
    lists_ready(tab)
    tab.page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    tab.page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    code = world.code("13800000105")
    tab.page.context.set_offline(True)
    tab.page.reload()  # served by the service worker, its files from its cache
    tab.page.wait_for_selector("body[data-ready=yes]", timeout=20000)
    got = scan(tab, code, "36.5")
    screenshot(tab, "reloaded-offline")
    assert (got["outcome"], got["mode"]) == ("PASS", "offline"), got
    assert "离线" in got["status"]


def test_a_code_signed_by_a_revoked_key_is_refused_offline(tab: Tab, world: World) -> None:
    # Last in this module: it revokes Zhejiang's key.
    sign_in(tab, world.url, world.credential("gate-revoked"))
    lists_ready(tab)
    code = world.code("13800000104")
    kid = next(
        k["kid"]
        for k in world.fed.http.get("/v1/trust-list").json()["payload"]["keys"]
        if k["region"] == "330000"
    )
    r = world.fed.http.delete(f"/v1/issuers/330000/keys/{kid}", headers=world.fed.as_("admin"))
    assert r.status_code < 300, r.text
    tab.page.reload()  # the page refreshes its lists as it starts (every minute otherwise)
    tab.page.wait_for_selector("body[data-ready=yes]")
    tab.page.wait_for_function(
        f"() => [...window.checkpoint.verifier.trust.keyring.byKid.values()]"
        f".some(k => k.kid === '{kid}' && k.revoked_at !== null)",
        timeout=20000,
    )
    tab.page.context.set_offline(True)
    got = scan(tab, code, "36.5")
    screenshot(tab, "deny-revoked-offline")
    assert (got["outcome"], got["mode"]) == ("DENY", "offline"), got
    assert "健康码无效" in got["text"] and "the health code is not valid" in got["text"]
