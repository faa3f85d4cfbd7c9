"""The journey of issue 8, in real Chromium against `yimatong demo` running as processes.

A Zhejiang citizen signs in on Zhejiang's page, applies, declares a trip to a street and opens
"my code". The test takes the QR **from a screenshot of that page** and plays it to Guizhou's
checkpoint page through Chromium's fake camera (a Y4M video written from the screenshot):
PASS. Guizhou's checkpoint then loses the network; a second code (a new screenshot, as a photo)
is still decided in the browser, and its scan reaches the hub exactly once when the network is
back. Last, the health authority raises the citizen's street to high risk on the hub's admin
page; the citizen's page, reloaded, is red and says why.

With ``YMT_SCREENSHOTS=dir`` every step is saved as ``journey-N-step.png`` (the README's
pictures are made so: ``YMT_SCREENSHOTS=docs/screenshots pytest tests/browser/test_journey.py``,
with Debian's ``fonts-noto-cjk`` installed so that Chromium can draw Chinese).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.checkpoint_world import camera_browser, lists_ready, sign_in
from tests.browser.conftest import Tab
from tests.e2e.demo_support import Demo, running_demo
from tests.integration.conftest import make_id

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

CHINA = timezone(timedelta(hours=8))
SCREENSHOTS = os.environ.get("YMT_SCREENSHOTS")
PHONE = "13905710188"
STREET = "330106008"  # 西湖街道, 杭州市西湖区
MOBILE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("journey")) as running:
        yield running


def shot(page: Any, step: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"journey-{step}.png"), full_page=True)


# ------------------------------------------------------------- the QR, from a screenshot
def qr_from_screenshot(page: Any, width: int = 640, height: int = 480) -> Image.Image:
    """The page as a screenshot, cut to the drawn QR (and some of the page around it), on a
    white camera frame: what a phone held up to the checkpoint's camera would show."""
    png = page.screenshot()
    box = page.locator("#code-qr").bounding_box()
    assert box, "my code shows no QR"
    scale = page.evaluate("() => window.devicePixelRatio")
    margin = 12
    image = Image.open(__import__("io").BytesIO(png)).convert("L")
    cut = image.crop(
        (
            max(0, int((box["x"] - margin) * scale)),
            max(0, int((box["y"] - margin) * scale)),
            min(image.width, int((box["x"] + box["width"] + margin) * scale)),
            min(image.height, int((box["y"] + box["height"] + margin) * scale)),
        )
    )
    fit = min((width - 20) / cut.width, (height - 20) / cut.height, 1.0)
    if fit < 1.0:
        cut = cut.resize((int(cut.width * fit), int(cut.height * fit)), Image.Resampling.LANCZOS)
    frame = Image.new("L", (width, height), 255)
    frame.paste(cut, ((width - cut.width) // 2, (height - cut.height) // 2))
    return frame


def write_y4m(path: Path, frame: Image.Image, frames: int = 10) -> None:
    """A Y4M video (4:2:0) of a grey ``frame`` as its luma, grey chroma: Chromium's fake camera."""
    luma = frame.tobytes()
    chroma = b"\x80" * ((frame.width // 2) * (frame.height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


# ------------------------------------------------------------------------ the citizen
def citizen_signs_in(demo: Demo, page: Any, base: str) -> None:
    log = demo.state / "sms.log"
    seen = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    page.goto(base + "/")
    page.get_by_label("手机号码").wait_for()
    shot(page, "1-sign-in")
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_label("验证码（6位数字）").fill(demo.otp(PHONE, seen))
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(base + "/")


def citizen_applies_and_declares(page: Any, base: str) -> None:
    page.get_by_label("姓名").fill("林晓雯")
    page.get_by_label("居民身份证号码").fill(make_id("330106", "19900412", "028"))
    page.get_by_role("button", name="提交申请").click()
    page.locator("#done").wait_for()
    shot(page, "2-applied")
    page.goto(base + "/people/0/declare")
    page.get_by_label("体温（°C）").fill("36.5")
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_url(base + "/people/0?done=declared")
    arrived = (datetime.now(CHINA) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.goto(base + "/people/0/declare")
    page.fill("#area", STREET)
    page.fill("#from", arrived)
    page.locator("#itinerary button[type=submit]").click()
    page.wait_for_url(base + "/people/0/declare?done=itinerary")
    shot(page, "3-declared")


def open_my_code(page: Any, base: str) -> str:
    page.goto(base + "/people/0/code")
    page.locator("#code-qr svg").wait_for()
    return str(page.get_attribute("#code-qr", "data-code"))


# ------------------------------------------------------------------------- the hub
def scans_at_hub(demo: Demo, checkpoint: str) -> int:
    db = sqlite3.connect(f"file:{demo.state / 'hub' / 'node.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT body FROM hub_feed WHERE kind = 'scan'").fetchall()
    finally:
        db.close()
    return sum(1 for (body,) in rows if json.loads(body).get("checkpoint") == checkpoint)


def until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"waited {timeout:.0f} s: {what}")


def test_a_zhejiang_citizen_is_checked_in_guizhou_online_and_offline_then_turns_red_with_her_street(
    browser: Any, demo: Demo, tmp_path: Path
) -> None:
    zj, gz, hub = demo.url("zhejiang"), demo.url("guizhou"), demo.hub
    creds = demo.plan["credentials"]

    # A Zhejiang citizen on her phone: sign in, apply, declare, my code.
    phone = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=MOBILE)
    citizen = Tab(phone.new_page())
    citizen.page.on("request", lambda r: citizen.requests.append(r.url))
    citizen_signs_in(demo, citizen.page, zj)
    citizen_applies_and_declares(citizen.page, zj)
    first = open_my_code(citizen.page, zj)
    assert citizen.page.get_attribute("#code-panel", "data-colour") == "green"
    shot(citizen.page, "4-my-code")
    video = tmp_path / "my-code.y4m"
    write_y4m(video, qr_from_screenshot(citizen.page))

    # Guizhou's checkpoint page, its camera pointed at the citizen's phone.
    with camera_browser(browser, video) as camera:
        gate = camera.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        gate.grant_permissions(["camera"], origin=gz)
        checkpoint = Tab(gate.new_page())
        checkpoint.page.on("request", lambda r: checkpoint.requests.append(r.url))
        sign_in(checkpoint, gz, creds["issuers"]["520000"]["checkpoint"])
        lists_ready(checkpoint)
        checkpoint.page.fill("#temperature", "36.5")
        checkpoint.page.click("#camera")
        checkpoint.page.wait_for_function(
            "() => window.checkpoint.results.length > 0", timeout=30000
        )
        shot(checkpoint.page, "5-checkpoint-pass")
        result = checkpoint.page.locator("#result")
        assert result.get_attribute("data-outcome") == "PASS", result.inner_text()
        assert result.get_attribute("data-mode") == "online"
        assert "林**" in result.inner_text()  # her masked name: the code on her screen
        checkpoint.page.click("#camera")  # stop the camera: the next code is a photo
        until(lambda: scans_at_hub(demo, "demo-checkpoint") == 1, 20, "the online scan at the hub")

        # The network goes; a second code (a new screenshot, as a photo) is decided offline.
        gate.set_offline(True)
        citizen.page.reload()
        second = open_my_code(citizen.page, zj)
        assert second != first
        photo = tmp_path / "second.png"
        qr_from_screenshot(citizen.page).save(photo)
        checkpoint.page.fill("#temperature", "36.6")
        checkpoint.page.set_input_files("#photo", str(photo))
        checkpoint.page.wait_for_function(
            "() => window.checkpoint.results.length > 1", timeout=30000
        )
        shot(checkpoint.page, "6-checkpoint-offline")
        assert result.get_attribute("data-outcome") == "PASS", result.inner_text()
        assert result.get_attribute("data-mode") == "offline"
        assert "离线" in checkpoint.page.inner_text("#status")
        assert scans_at_hub(demo, "demo-checkpoint") == 1

        gate.set_offline(False)
        checkpoint.page.wait_for_function(
            "() => document.getElementById('queue').textContent === ''", timeout=30000
        )
        until(lambda: scans_at_hub(demo, "demo-checkpoint") == 2, 20, "the offline scan")
        checkpoint.page.reload()  # a page that starts again sends nothing twice
        checkpoint.page.wait_for_selector("body[data-ready=yes]")
        time.sleep(2)
        assert scans_at_hub(demo, "demo-checkpoint") == 2
        assert checkpoint.foreign_requests(gz) == []

    # The health authority raises her street to high risk on the hub's admin page.
    office = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    admin = Tab(office.new_page())
    admin.page.goto(f"{hub}/signin/staff?next=/admin/areas/{STREET}")
    admin.page.fill("#token", creds["hub_authority"])
    admin.page.click("button[type=submit]")
    admin.page.wait_for_url(f"**/admin/areas/{STREET}")
    admin.page.check("input[name=level][value=high]")
    since = (datetime.now(CHINA) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    admin.page.fill("#from", since)
    admin.page.click(f"form[action$='/admin/areas/{STREET}'] button[type=submit]")
    admin.page.wait_for_selector("#done")
    shot(admin.page, "7-admin-high-risk")
    office.close()

    # After the next refresh her page is red and says why.
    def red() -> bool:
        citizen.page.reload()
        citizen.page.locator("#code-qr svg").wait_for()
        return citizen.page.get_attribute("#code-panel", "data-colour") == "red"

    until(red, 60, "the citizen's page to turn red")
    reasons = citizen.page.inner_text("#code-reasons")
    assert "西湖街道" in reasons or STREET in reasons, reasons
    assert "高风险" in reasons, reasons
    shot(citizen.page, "8-my-code-red")
    assert citizen.foreign_requests(zj) == []
    phone.close()
