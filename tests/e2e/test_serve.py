"""``yimatong serve`` as a newcomer runs it: its own log lines appear, the docs it names exist."""

from __future__ import annotations

import os
import re
import signal
import time
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


def _leaders(log: Path) -> list[int]:
    found = re.findall(r"this worker \(pid (\d+)\) runs the node's periodic jobs", log.read_text())
    return [int(pid) for pid in found]


@pytest.mark.slow
def test_with_two_workers_one_runs_the_jobs_and_another_takes_over_when_it_is_killed(
    tmp_path: Path,
) -> None:
    node = _serve(tmp_path, "--workers", "2")
    try:
        node.wait_ready()
        deadline = time.monotonic() + 20
        while not _leaders(node.log) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # the other worker has tried (every 2 s) and stays out
        leaders = _leaders(node.log)
        assert len(leaders) == 1, node.log.read_text()
        os.kill(leaders[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while len(_leaders(node.log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = _leaders(node.log)
        assert len(after) == 2 and after[1] != leaders[0], node.log.read_text()
        assert httpx.get(node.url + "/readyz", timeout=5).status_code == 200
    finally:
        node.stop()
