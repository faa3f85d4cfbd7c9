"""``yimatong log verify`` against a real hub on loopback: the log the hub signs on its own
schedule checks out; once an entry is rewritten in the hub's database, it does not."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, update

from tests.e2e.processes import NodeProcess, free_port, yimatong
from yimatong.adapters.db.tables import log_entries

pytestmark = pytest.mark.e2e


def _head_covering(url: str, size: int) -> dict[str, object]:
    """The hub's newest head once it covers ``size`` entries (it signs every second here)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        payload: dict[str, object] = httpx.get(url + "/v1/log/sth", timeout=5).json()["payload"]
        if payload["tree_size"] == size:
            return payload
        time.sleep(0.2)
    raise AssertionError(f"no signed head of {size} entries within 30 s")


def test_log_verify_passes_then_fails_once_an_entry_is_rewritten(
    db_url: str, tmp_path: Path
) -> None:
    state_dir = tmp_path / "hub"
    hub_args = [
        "--role",
        "hub",
        "--region",
        "000000",
        "--state-dir",
        str(state_dir),
        "--db",
        db_url,
    ]
    authority = yimatong(
        "creds", "add", *hub_args, "--as", "authority", "--scope", "330000", "--name", "zj-cdc"
    ).stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hub = NodeProcess(
        ["serve", *hub_args, "--port", str(port)],
        {"YMT_STH_INTERVAL": "1"},
        url,
        tmp_path / "hub.log",
    )
    state = tmp_path / "log-state.json"
    try:
        hub.wait_ready()
        for area in ("330106002", "330106008"):
            r = httpx.put(
                f"{url}/v1/risk-areas/{area}",
                json={"level": "high", "from": "2026-01-01T00:00:00+08:00"},
                headers={"Authorization": f"Bearer {authority}"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
        # the hub's own registration and key, then the two risk changes
        _head_covering(url, 4)
        ok = yimatong("log", "verify", "--hub", url, "--state", str(state), check=False)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith("log ok: 4 entries, 4 new checked"), ok.stdout

        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(
                update(log_entries)
                .where(log_entries.c.idx == 2)
                .values(entry=b'{"at":"2026-01-01T00:00:00+00:00","kind":"risk.set"}')
            )
        engine.dispose()
        # A node checking the whole log finds the rewritten entry.
        bad = yimatong("log", "verify", "--hub", url, check=False)
        assert bad.returncode == 3, bad.stdout + bad.stderr
        assert bad.stderr.strip() == (
            "yimatong: log verify failed: entry 2 as served is not the one the signed head "
            "covers (altered)"
        )
        # The node that kept its state is still consistent: it checked entry 2 when it was
        # honest, and fetches only what is new.
        kept = yimatong("log", "verify", "--hub", url, "--state", str(state), check=False)
        assert kept.returncode == 0, kept.stderr
    finally:
        hub.stop()
