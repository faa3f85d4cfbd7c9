"""One issuer node as a real process over loopback HTTP, driven like a citizen and a checkpoint.

OTP sign-in → application → declaration with a stay in a medium-risk street → yellow with
reasons and a turn-green date → code → ``yimatong verify CODE --json`` shows yellow and the
masked identity. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import NodeProcess, free_port, yimatong
from tests.integration.conftest import make_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _otp(sms_log: Path, phone: str) -> str:
    for line in reversed(sms_log.read_text(encoding="utf-8").splitlines()):
        if f"\t{phone}\t" in line:
            found = re.search(r"\d{6}", line.split("\t", 2)[2])
            assert found
            return found.group(0)
    raise AssertionError("no one-time code in sms.log")


def test_citizen_to_checkpoint_over_http(db_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    node_args = ["--region", "330000", "--state-dir", str(state), "--db", db_url]
    checkpoint = yimatong(
        "creds", "add", *node_args, "--as", "checkpoint", "--name", "gate-1"
    ).stdout.strip()
    authority = yimatong(
        "creds", "add", *node_args, "--as", "authority", "--name", "hz-cdc"
    ).stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    node = NodeProcess(["serve", *node_args, "--port", str(port)], {}, url, tmp_path / "node.log")
    try:
        node.wait_ready()
        with httpx.Client(base_url=url, timeout=10) as http:
            r = http.put(
                "/v1/risk-areas/330106002",
                json={"level": "medium", "from": "2026-01-01T00:00:00+08:00"},
                headers={"Authorization": f"Bearer {authority}"},
            )
            assert r.status_code == 200, r.text
            phone = "13812345678"
            assert http.post("/v1/auth/otp", json={"phone": phone}).status_code == 202
            r = http.post(
                "/v1/auth/session", json={"phone": phone, "otp": _otp(state / "sms.log", phone)}
            )
            me = {"Authorization": f"Bearer {r.json()['token']}"}
            r = http.post(
                "/v1/applications",
                json={"name": "陈小明", "id_type": "111", "id_number": make_id()},
                headers=me,
            )
            assert r.status_code == 201, r.text
            sid = r.json()["sid"]
            now = datetime.now(UTC)
            r = http.post(
                "/v1/declarations",
                json={
                    "subject": sid,
                    "temperature": 36.6,
                    "travel": [
                        {
                            "area": "330106002",
                            "from": (now - timedelta(days=3)).isoformat(),
                            "to": (now - timedelta(days=2)).isoformat(),
                        }
                    ],
                },
                headers=me,
            )
            assert r.status_code == 201, r.text
            assessed = r.json()
            assert assessed["colour"] == "yellow"
            assert assessed["reasons"] and assessed["turns_green"]
            r = http.post("/v1/codes", json={"subject": sid}, headers=me)
            code = r.json()["code"]
        result = yimatong(
            "verify", code, "--node", url, "--json", env={"YIMATONG_TOKEN": checkpoint}
        )
        answer = json.loads(result.stdout)
        assert answer["colour"] == "yellow"
        assert answer["display"]["masked_name"] == "陈**"
        assert re.fullmatch(r"33\*{14}\w\w", answer["display"]["masked_id"])
        # A bad code: one readable line, non-zero exit.
        bad = yimatong(
            "verify", "YMT1:NOPE", "--node", url, env={"YIMATONG_TOKEN": checkpoint}, check=False
        )
        assert bad.returncode == 1
        assert len(bad.stderr.strip().splitlines()) == 1
        # Nothing personal reached the node's output.
        out = (tmp_path / "node.log").read_text()
        assert "陈小明" not in out and phone not in out
    finally:
        node.stop()
