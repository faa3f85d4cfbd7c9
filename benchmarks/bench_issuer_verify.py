"""验码 round trip: one checkpoint asking a real issuer process over loopback HTTP.

Starts `yimatong serve` (one worker, SQLite) in a temporary directory, signs a citizen up,
makes a code, then times sequential `POST /v1/codes/verify` calls on one keep-alive
connection. Baseline measured in the same run against the same server: `GET /healthz`,
the floor of HTTP + framework + loopback for this machine right now. Prints medians of
several rounds and the ratio to the baseline.

    .venv/bin/python benchmarks/bench_issuer_verify.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from yimatong.domain.identity import check_character

BIN = Path(sys.executable).parent / "yimatong"


def make_id() -> str:
    first17 = "330106" + "19800101" + "123"  # made up; belongs to nobody
    return first17 + check_character(first17)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*args: str) -> str:
    return subprocess.run([str(BIN), *args], check=True, capture_output=True, text=True).stdout


def timed(client: httpx.Client, method: str, path: str, n: int, **kw: object) -> float:
    start = time.perf_counter()
    for _ in range(n):
        r = client.request(method, path, **kw)  # type: ignore[arg-type]
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}: {r.text[:200]}")
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        node = ["--region", "330000", "--state-dir", str(state)]
        checkpoint = run("creds", "add", *node, "--as", "checkpoint", "--name", "bench").strip()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [str(BIN), "serve", *node, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        try:
            with httpx.Client(base_url=url, timeout=10) as http:
                for _ in range(100):
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                phone = "13800001111"
                http.post("/v1/auth/otp", json={"phone": phone})
                line = (state / "sms.log").read_text(encoding="utf-8").splitlines()[-1]
                otp = re.findall(r"\d{6}", line.split("\t", 2)[2])[0]
                token = http.post("/v1/auth/session", json={"phone": phone, "otp": otp}).json()
                me = {"Authorization": f"Bearer {token['token']}"}
                sid = http.post(
                    "/v1/applications",
                    json={"name": "测试者", "id_type": "111", "id_number": make_id()},
                    headers=me,
                ).json()["sid"]
                cp = {"Authorization": f"Bearer {checkpoint}"}
                ours: list[float] = []
                base: list[float] = []
                for _ in range(args.rounds):
                    # a printed code: valid for the whole run
                    code = http.post(
                        "/v1/codes", json={"subject": sid, "kind": "printed"}, headers=me
                    ).json()["code"]
                    timed(http, "POST", "/v1/codes/verify", 50, json={"code": code}, headers=cp)
                    base.append(timed(http, "GET", "/healthz", args.requests))
                    ours.append(
                        timed(
                            http,
                            "POST",
                            "/v1/codes/verify",
                            args.requests,
                            json={"code": code},
                            headers=cp,
                        )
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    o, b = statistics.median(ours), statistics.median(base)
    print(f"验码 round trip (POST /v1/codes/verify): {o * 1e6:8.0f} µs  {1 / o:7.0f} req/s")
    print(f"baseline GET /healthz round trip:       {b * 1e6:8.0f} µs  {1 / b:7.0f} req/s")
    print(f"ratio verify / healthz: {o / b:.2f}  (one client, one worker, loopback, SQLite)")


if __name__ == "__main__":
    main()
