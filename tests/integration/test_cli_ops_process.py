"""The operators' commands against a real ``yimatong serve --role hub`` process on loopback.

A lab is registered with ``labs add``, uploads a results file with ``results upload`` under a
pseudo-terminal (so the progress bar is drawn as a person sees it), and runs the same file
again: nothing lands twice. An authority sets a risk area and ``risk list`` verifies it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import BIN, NodeProcess, free_port, yimatong
from tests.integration.conftest import make_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = 5000


def _in_terminal(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run ``yimatong ARGS`` with stdout and stderr on a pseudo-terminal; (exit code, screen)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [str(BIN / "yimatong"), *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **env, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_lab_upload_with_progress_and_rerun(db_url: str, tmp_path: Path) -> None:
    state = tmp_path / "hub"
    node_args = ["--role", "hub", "--region", "000000", "--state-dir", str(state), "--db", db_url]
    admin = yimatong("creds", "add", *node_args, "--as", "admin", "--name", "ops").stdout.strip()
    authority = yimatong(
        "creds", "add", *node_args, "--as", "authority", "--name", "nhc"
    ).stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hub = NodeProcess(["serve", *node_args, "--port", str(port)], {}, url, tmp_path / "hub.log")
    try:
        hub.wait_ready()
        env = {"YMT_HUB_URL": url}
        key = tmp_path / "lab.pem"
        done = yimatong(
            "labs", "add", "--lab-id", "hz-kingmed", "--name", "杭州某医学检验所",
            "--region", "330106", "--key-out", str(key), "--token", admin, env=env,
        )  # fmt: skip
        lab_token = done.stdout.strip()
        assert lab_token.startswith("ymt_c_")
        assert oct(key.stat().st_mode & 0o777) == "0o600"

        results = tmp_path / "results.csv"
        results.write_text(
            "id_type,id_number,sampled_at,reported_at,result\n"
            + "".join(
                f"111,{make_id(seq=f'{i % 1000:03d}', birth=f'19{60 + i // 1000}0101')},"
                "2026-11-19T08:00+08:00,2026-11-19T20:00+08:00,negative\n"
                for i in range(ROWS)
            ),
            encoding="utf-8",
        )
        upload = ["results", "upload", str(results), "--lab", "hz-kingmed", "--key", str(key),
                  "--batch-size", "1000", "--token", lab_token]  # fmt: skip
        start = time.perf_counter()
        code, screen = _in_terminal(upload, env)
        elapsed = time.perf_counter() - start
        assert code == 0, screen
        assert "Uploading results" in screen
        assert "100%" in screen  # the bar, drawn on the terminal
        assert f"{ROWS}/{ROWS}" in screen
        assert f"{ROWS} results in 5 batches: {ROWS} accepted, 0 already at the hub" in screen
        print(f"\n  results upload of {ROWS} rows over loopback: {elapsed:.2f} s")

        again = yimatong(*upload, env=env)
        assert again.stdout.strip() == (
            f"{ROWS} results in 5 batches: 0 accepted, {ROWS} already at the hub "
            "(duplicate batches)"
        )

        # the authority's job against the same process, and anyone's signed list
        yimatong("risk", "set", "330106002", "--level", "medium",
                 "--from", "2026-11-01T00:00+08:00", "--token", authority, env=env)  # fmt: skip
        listed = yimatong("risk", "list", env=env).stdout
        assert "signature ok" in listed
        assert "浙江省 杭州市 西湖区 北山街道" in listed
        refused = yimatong("risk", "list", "--hub-kid", "00" * 8, env=env, check=False)
        assert refused.returncode == 1
        assert refused.stderr.startswith("yimatong: ")
        assert httpx.get(url + "/healthz").json()["role"] == "hub"
    finally:
        hub.stop()
