"""The checkpoint with real processes: it keeps deciding while the hub and the issuer come and
go, loses no scan and uploads none twice; a damaged cache is fetched again; a revoked key
fails within one refresh; and ``verify --offline`` works with nothing running. The hub runs on
SQLite and on PostgreSQL; the issuer and the checkpoint's cache on SQLite files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.checkpoint_helpers import Agent, Federation
from tests.e2e.processes import yimatong

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def fed(db_url: str, tmp_path: Path) -> Iterator[Federation]:
    federation = Federation(tmp=tmp_path, hub_db=db_url)
    try:
        federation.setup()
        yield federation
    finally:
        federation.stop()


def _wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_every_scan_gets_a_decision_while_hub_and_issuer_come_and_go(
    fed: Federation, tmp_path: Path
) -> None:
    cache = tmp_path / "gate-cache"
    agent = Agent(
        [
            "--hub",
            fed.hub_url,
            "--at",
            "330000",
            "--area",
            "330106",
            "--name",
            "gate-e2e",
            "--cache-dir",
            str(cache),
            "--json",
            "--refresh-every",
            "1",
            "--upload-every",
            "0.3",
            # Generous: the machine may be loaded; an unreachable hub still fails at once.
            "--timeout",
            "3.0",
        ],
        {"YIMATONG_TOKEN": fed.tokens["checkpoint"]},
        tmp_path / "agent.log",
    )
    decisions: list[dict] = []
    try:
        code1 = fed.code()
        assert _wait_for(lambda: (cache / "trust-list.json").exists())
        # 1. Everything up: decided online.
        for _ in range(5):
            decisions.append(d := agent.scan(code1))
            assert (d["outcome"], d["mode"]) == ("PASS", "online"), d
        bad = agent.scan("YMT1:NOPE")  # refused, recorded locally, never uploaded
        assert bad["outcome"] == "DENY"
        # 2. The hub goes away mid-stream: decided offline from the signed claims.
        fed.stop_hub()
        for _ in range(5):
            decisions.append(d := agent.scan(code1))
            assert (d["outcome"], d["mode"]) == ("PASS", "offline"), d
        # 3. The issuer goes away too.
        fed.stop_issuer()
        for _ in range(5):
            decisions.append(d := agent.scan(code1))
            assert (d["outcome"], d["mode"]) == ("PASS", "offline"), d
        # 4. The hub returns, the issuer is still away: the hub answers from the claims.
        fed.start_hub()
        assert _wait_for(lambda: fed.hub_scans()[0] == 15), fed.hub_scans()  # the queue drains
        for _ in range(5):
            decisions.append(d := agent.scan(code1))
            assert d["outcome"] == "PASS" and d["status"] in ("claims", "summary"), d
        # 5. The issuer returns.
        fed.start_issuer()
        code2 = fed.code()
        for _ in range(5):
            decisions.append(d := agent.scan(code2))
            assert (d["outcome"], d["mode"]) == ("PASS", "online"), d
        # The hub skips an issuer that failed for a few seconds; then it asks it again.
        for _ in range(40):
            decisions.append(d := agent.scan(code2))
            if d["status"] == "online":
                break
            time.sleep(0.5)
        assert d["status"] == "online", d
        status = agent.scan(":status")["status"]
        assert status["scans"] == len(decisions) + 1
        assert agent.close_stdin() == 0
    finally:
        agent.kill()
    total = len(decisions)
    assert f"checkpoint stopped: {total + 1} scans" in (tmp_path / "agent.log").read_text()
    assert len({d["scan_id"] for d in decisions}) == total
    # None lost, none twice: every scan with a holder is at the hub exactly once.
    assert _wait_for(lambda: fed.hub_scans() == (total, total)), (fed.hub_scans(), total)
    import sqlite3

    conn = sqlite3.connect(cache / "scans.sqlite")
    states = dict(conn.execute("SELECT state, count(*) FROM scans GROUP BY state").fetchall())
    conn.close()
    assert states == {"local": 1}  # only the refused code, which has no holder

    # Once an online call filled a cache, verify --offline works with nothing running.
    env = {"YIMATONG_TOKEN": fed.tokens["checkpoint"]}
    solo = tmp_path / "solo-cache"
    online = yimatong(
        "verify",
        code2,
        "--at",
        "330000",
        "--hub",
        fed.hub_url,
        "--json",
        "--cache-dir",
        str(solo),
        env=env,
    )
    assert json.loads(online.stdout)["mode"] == "online"
    fed.stop()
    offline = yimatong(
        "verify",
        code2,
        "--at",
        "330000",
        "--offline",
        "--json",
        "--cache-dir",
        str(solo),
    )
    answer = json.loads(offline.stdout)
    assert (answer["outcome"], answer["mode"]) == ("PASS", "offline")
    assert answer["display"]["masked_name"] == "林**"


def test_damaged_cache_and_revoked_key(fed: Federation, tmp_path: Path) -> None:
    env = {"YIMATONG_TOKEN": fed.tokens["checkpoint"]}
    cache = tmp_path / "cache"
    common = ["--at", "330000", "--cache-dir", str(cache), "--json"]
    code = fed.code()
    assert yimatong("verify", code, "--hub", fed.hub_url, *common, env=env).returncode == 0
    # A corrupted file is detected and fetched again.
    path = cache / "trust-list.json"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x20
    path.write_bytes(bytes(raw))
    damaged = yimatong("verify", code, "--offline", *common, check=False)
    assert damaged.returncode == 4  # CHECK: no trust list to verify against
    assert "damaged" in damaged.stderr
    healed = yimatong("verify", code, "--hub", fed.hub_url, *common, env=env)
    assert json.loads(healed.stdout)["outcome"] == "PASS"
    assert yimatong("verify", code, "--offline", *common).returncode == 0
    # A revoked key fails at the next refresh, online and then offline.
    keys = httpx.get(f"{fed.issuer_url}/v1/keys").json()["keys"]
    r = httpx.delete(
        f"{fed.hub_url}/v1/issuers/330000/keys/{keys[0]['kid']}",
        headers={"Authorization": f"Bearer {fed.tokens['admin']}"},
    )
    assert r.status_code == 200, r.text
    time.sleep(1.1)  # the revocation takes effect from its second on
    refused = yimatong("verify", code, "--hub", fed.hub_url, *common, env=env, check=False)
    assert refused.returncode == 3 and json.loads(refused.stdout)["valid"] is False
    offline = yimatong("verify", code, "--offline", *common, check=False)
    assert offline.returncode == 3 and json.loads(offline.stdout)["mode"] == "offline"
