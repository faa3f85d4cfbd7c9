"""What a node writes is readable by its owner only (issue 7, item 11): files 0600, dirs 0700.

Its databases with their ``-wal`` and ``-shm`` files, its secrets, the demo's SMS log (phone
numbers in clear), the hosted regions' files, the metrics of ``serve --workers N`` — whatever
the umask of the shell that started it (the tests start from 022, the common default).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import FakeClock
from tests.e2e.processes import free_port
from yimatong.config import Settings
from yimatong.hub.app import build_hub


def _loose(root: Path, paths: Iterable[Path]) -> list[str]:
    """The paths under ``root`` that a group or others could read, with their modes."""
    found = []
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode & 0o077 or (mode & want) != want:
            found.append(f"{path.relative_to(root)} {oct(mode)}")
    return found


def test_a_node_creates_its_files_for_its_owner_only(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "hub"
    settings = Settings.from_environ(
        {"YMT_ROLE": "hub", "YMT_REGION": "000000", "YMT_STATE_DIR": str(state)}
    )
    old = os.umask(0o022)
    try:
        hub = build_hub(settings, clock=clock, hosted=("540000",))  # the default SMS: a file
        try:
            with TestClient(hub.app) as http:
                r = http.post("/regions/540000/v1/auth/otp", json={"phone": "13800138000"})
                assert r.status_code == 202, r.text
                names = {p.name for p in state.iterdir()}
                loose = _loose(tmp_path, [state, *state.rglob("*")])
        finally:
            hub.close()
    finally:
        os.umask(old)
    expected = {"hub-000000.db", "hosted-540000.db", "secrets.json", "sms.log"}
    assert expected | {"hub-000000.db-wal", "hub-000000.db-shm"} <= names
    assert loose == []


@pytest.mark.slow
def test_serve_with_workers_keeps_its_state_for_its_owner(tmp_path: Path) -> None:
    state = tmp_path / "node"
    port = free_port()
    args = ["serve", "--region", "330000", "--state-dir", str(state), "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "yimatong", *args, "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=0o022,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the node did not start"
            time.sleep(0.2)
        httpx.post(f"http://127.0.0.1:{port}/v1/auth/otp", json={"phone": "13800138000"})
        paths = [state, *state.rglob("*")]
        names = {p.name for p in paths}
        loose = _loose(tmp_path, paths)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert {"issuer-330000.db", "issuer-330000.db-wal", "metrics", "sms.log"} <= names
    assert any(p.parent.name == "metrics" for p in paths)  # each worker's metrics files
    assert loose == []
