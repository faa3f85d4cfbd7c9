"""``yimatong serve`` as a newcomer runs it: its own log lines appear, the docs it names exist."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import NodeProcess, free_port

pytestmark = pytest.mark.e2e


def _serve(tmp_path: Path, *extra: str) -> NodeProcess:
    port = free_port()
    return NodeProcess(
        ["serve", "--role", "issuer", "--region", "330000", "--state-dir", str(tmp_path),
         "--port", str(port), *extra],
        env={k: v for k, v in os.environ.items() if not k.startswith("YMT_")},
        url=f"http://127.0.0.1:{port}",
        log=tmp_path / "node.log",
    )  # fmt: skip


def test_serve_prints_the_nodes_own_info_lines(tmp_path: Path) -> None:
    node = _serve(tmp_path)
    try:
        node.wait_ready()
        assert httpx.get(node.url + "/docs", timeout=5).status_code == 200
    finally:
        node.stop()
    log = node.log.read_text()
    # A first start makes the node's signing key and says so (kid only, nothing personal).
    assert "INFO yimatong" in log and "created signing key kid=" in log, log


def test_serve_log_level_warning_keeps_info_lines_out(tmp_path: Path) -> None:
    node = _serve(tmp_path, "--log-level", "warning")
    try:
        node.wait_ready()
    finally:
        node.stop()
    assert "created signing key" not in node.log.read_text()
