"""Browser tests: Debian's Chromium driven by Playwright, against nodes served over loopback.

Chromium comes from apt (``.ci/run`` installs it); where it is missing these tests are
skipped and say so. Playwright's own browser downloads are never used. Each test gets a fresh
browser context (no cookies, no storage); every request a page makes is recorded, so a test
can assert that nothing left the node.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = os.environ.get("YMT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Per module, not per session: Playwright's sync API keeps an asyncio loop running in
    # this thread while it is open, and a later test file in the same pytest-xdist worker
    # that calls asyncio.run() would find it ("cannot be called from a running event loop").
    if not Path(CHROMIUM).exists():
        why = f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("YMT_REQUIRE_BROWSER"):  # CI: never skip them silently
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page in a fresh context, with every request and console message it made."""

    page: Any
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def foreign_requests(self, origin: str) -> list[str]:
        return [u for u in self.requests if not u.startswith((origin, "data:", "blob:"))]

    def axe(self) -> list[dict[str, Any]]:
        """Serious or critical accessibility violations (axe-core, WCAG 2.1 A and AA)."""
        # Evaluated, not added as a <script>: the node's CSP refuses inline script tags.
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        result = self.page.evaluate(
            """async () => (await axe.run(document, {runOnly: {type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"""
        )
        return [v for v in result if v.get("impact") in ("serious", "critical")]


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    opened = Tab(page)
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: opened.console.append(f"{m.type}: {m.text}"))
    yield opened
    context.close()
