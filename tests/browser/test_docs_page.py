"""/docs in a real browser: Swagger UI renders from the node's own files, nothing else loads."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tests.browser.conftest import LiveServer, Tab
from tests.integration.conftest import issuer_settings
from yimatong.bootstrap import build_issuer


def test_the_api_docs_render_with_no_request_leaving_the_node(
    tab: Tab, tmp_path: Path, clock: Any
) -> None:
    node = build_issuer(
        issuer_settings(f"sqlite:///{tmp_path / 'n.db'}", tmp_path), rng=random.Random(1)
    )
    try:
        with LiveServer(node.app) as server:
            tab.page.goto(server.url + "/docs")
            tab.page.get_by_text("/v1/codes/verify", exact=True).first.wait_for(timeout=15000)
            assert tab.foreign_requests(server.url) == []
            assert not [m for m in tab.console if "Content Security Policy" in m], tab.console
    finally:
        node.close()
