"""The citizen pages in Chromium: sign in with the code from the inbox, apply, declare, show
my code; the QR is read back from a screenshot (with the vendored jsQR) and verifies; a new
code comes after the refresh period; English and large text; axe on every page."""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.admin_support import axe
from tests.browser.conftest import LiveServer, Tab
from tests.conftest import FakeClock
from tests.integration.admin_support import credential
from tests.integration.conftest import Inbox, issuer_settings, make_id
from yimatong.bootstrap import Node, build_issuer

PHONE = "13800138000"

#: Decode a PNG (base64) with the jsQR the checkpoint page vendors: the pixels, not the DOM.
DECODE = """async (png) => {
    const { default: jsQR } = await import(document.querySelector('meta[name=root]').content
                                           + '/static/vendor/jsqr/jsqr.mjs');
    const img = new Image();
    img.src = 'data:image/png;base64,' + png;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const found = jsQR(data.data, canvas.width, canvas.height);
    return found ? found.data : null;
}"""


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[Node, Inbox, FakeClock]]:
    inbox = Inbox()
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    built = build_issuer(
        issuer_settings(f"sqlite:///{tmp_path / 'zj.db'}", tmp_path),
        clock=clock,
        rng=random.Random(5),
        sms=inbox,
    )
    yield built, inbox, clock
    built.close()


def shot(tab: Tab, name: str) -> None:
    """A screenshot to ``$YMT_SCREENSHOTS/citizen-NAME.png`` when that is set (never committed)."""
    folder = os.environ.get("YMT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(Path(folder) / f"citizen-{name}.png"), full_page=True)


def no_violations(tab: Tab, where: str) -> None:
    found = axe(tab)
    assert found == [], (where, found)


def sign_in(tab: Tab, base: str, inbox: Inbox) -> None:
    page = tab.page
    page.goto(base + "/")
    no_violations(tab, "sign-in, phone")
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_label("验证码（6位数字）").wait_for()
    no_violations(tab, "sign-in, code")
    assert PHONE not in page.url and PHONE not in page.title()
    page.get_by_label("验证码（6位数字）").fill(inbox.last_code(PHONE))
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(base + "/")


def decode_qr(tab: Tab) -> Any:
    png = tab.page.locator("#code-qr").screenshot()
    return tab.page.evaluate(DECODE, base64.b64encode(png).decode("ascii"))


def test_sign_in_apply_declare_and_show_a_code_that_verifies_and_changes(
    tab: Tab, node: tuple[Node, Inbox, FakeClock]
) -> None:
    issuer, inbox, clock = node
    gate = credential(issuer, "gate-1", "checkpoint")
    with LiveServer(issuer.app) as server:
        base = server.url
        page = tab.page
        sign_in(tab, base, inbox)
        no_violations(tab, "home, empty")
        page.get_by_label("姓名").fill("张三丰")
        page.get_by_label("居民身份证号码").fill(make_id("330106", "19800101"))
        page.get_by_role("button", name="提交申请").click()
        page.locator("#done").wait_for()
        assert "张**" in page.locator("#people").inner_text()
        shot(tab, "home")
        no_violations(tab, "home, one person")

        page.goto(base + "/people/0/declare")
        # The picker fills the area code: 浙江省 → 杭州市 → 西湖区 → 西湖街道.
        for label, choice in (("省份", "浙江省"), ("城市", "杭州市"), ("区县", "西湖区"),
                              ("街道/乡镇", "西湖街道")):  # fmt: skip
            picker = page.locator("#itinerary").get_by_label(label, exact=True)
            page.wait_for_function("(el) => !el.disabled", arg=picker.element_handle())
            picker.select_option(label=choice)
        page.wait_for_function("() => document.getElementById('area').value === '330106008'")
        no_violations(tab, "declare")
        page.get_by_label("体温（°C）").fill("36.5")
        page.get_by_role("button", name="提交申报").click()
        page.wait_for_url(base + "/people/0?done=declared")
        no_violations(tab, "person")

        page.goto(base + "/people/0/code?refresh=3")
        qr = page.locator("#code-qr svg")
        qr.wait_for()
        panel = page.locator("#code-panel")
        assert panel.get_attribute("data-colour") == "green"
        assert "colour-green" in (page.locator("body").get_attribute("class") or "")
        first = page.locator("#code-qr").get_attribute("data-code")
        assert first and first.startswith("YMT1:")
        assert decode_qr(tab) == first  # the pixels on screen are the code
        answer = httpx.post(
            base + "/v1/codes/verify",
            json={"code": first},
            headers={"Authorization": f"Bearer {gate}"},
        )
        assert answer.status_code == 200 and answer.json()["colour"] == "green"
        no_violations(tab, "my code")
        shot(tab, "code")
        clock.advance(seconds=61)  # the node's clock: a minute on, a new code is due
        page.wait_for_function(
            "(old) => document.getElementById('code-qr').dataset.code !== old", arg=first,
            timeout=15_000,
        )  # fmt: skip
        second = page.locator("#code-qr").get_attribute("data-code")
        assert second != first and decode_qr(tab) == second
        assert page.locator("#refresh-error").is_hidden()

        for path in ("/people/0/activity", "/people/0/corrections", "/people/0/card"):
            page.goto(base + path)
            no_violations(tab, path)

        page.goto(base + "/people/0/code")
        page.get_by_role("link", name="English").click()
        page.locator("#code-heading").wait_for()
        assert "Health code" in page.locator("#code-heading").inner_text()
        page.get_by_role("link", name="Large text").click()
        page.locator("#code-qr svg").wait_for()
        assert "large" in (page.locator("html").get_attribute("class") or "")
        no_violations(tab, "my code, English, large")
        shot(tab, "code-en-large")
        assert tab.foreign_requests(base) == []
        assert not [m for m in tab.console if "Content Security Policy" in m]
