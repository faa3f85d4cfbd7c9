"""`yimatong demo` as real processes, for the tests that play stories against it.

``running_demo`` starts the federation exactly as the README's first command does (a small
synthetic population, ports picked free), waits for its plan, and stops it afterwards; ``Demo``
reads the plan and plays a citizen and a checkpoint over loopback HTTP and the command line.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import free_port, yimatong

__all__ = ["Demo", "running_demo"]


@dataclass
class Demo:
    state: Path
    plan: dict[str, Any]
    proc: subprocess.Popen[bytes]

    def url(self, name: str) -> str:
        return next(n["url"] for n in self.plan["nodes"] if n["name"] == name)

    @property
    def hub(self) -> str:
        return self.url("hub")

    def checkpoint(self, region: str) -> str:
        return str(self.plan["credentials"]["checkpoints"][region])

    def otp(self, phone: str, after: int) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = (self.state / "sms.log").read_text(encoding="utf-8").splitlines()[after:]
            for line in reversed(lines):
                if f"\t{phone}\t" in line:
                    return re.findall(r"\d{6}", line.split("\t", 2)[2])[0]
            time.sleep(0.1)
        raise AssertionError("no one-time code arrived")

    def sign_in(self, base: str, phone: str) -> dict[str, str]:
        log = self.state / "sms.log"
        seen = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
        r = httpx.post(f"{base}/v1/auth/otp", json={"phone": phone}, timeout=10)
        assert r.status_code == 202, r.text
        r = httpx.post(
            f"{base}/v1/auth/session",
            json={"phone": phone, "otp": self.otp(phone, seen)},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def apply(self, base: str, me: dict[str, str], **body: Any) -> str:
        body.setdefault("id_type", "111")
        r = httpx.post(f"{base}/v1/applications", json=body, headers=me, timeout=10)
        assert r.status_code == 201, r.text
        return str(r.json()["sid"])

    def code(self, base: str, me: dict[str, str], sid: str, kind: str = "dynamic") -> str:
        r = httpx.post(
            f"{base}/v1/codes", json={"subject": sid, "kind": kind}, headers=me, timeout=10
        )
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    def verify(self, code: str, at: str, *extra: str, token_region: str | None = None) -> Any:
        result = yimatong(
            "verify", code, "--hub", self.hub, "--at", at, "--json",
            "--cache-dir", str(self.state / f"cache-{token_region or at}"), *extra,
            env={"YIMATONG_TOKEN": self.checkpoint(token_region or at)},
            check=False,
        )  # fmt: skip
        assert result.stdout.strip(), result.stderr
        return json.loads(result.stdout)


def _free_base() -> int:
    for _ in range(50):
        base = random.randrange(20000, 60000)
        ports = [base + i for i in range(5)]
        try:
            for p in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    return free_port()


@contextmanager
def running_demo(state: Path, population: int = 30) -> Iterator[Demo]:
    """The demo federation on ``state``, running until the block ends; then every node is down."""
    base = _free_base()
    out = (state / "demo.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "yimatong", "demo", "--state-dir", str(state),
         "--base-port", str(base), "--population", str(population)],
        stdout=out, stderr=subprocess.STDOUT, env={**os.environ},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        plan_path = state / "federation.json"
        while not plan_path.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((state / "demo.out").read_text()[-3000:])
            time.sleep(0.5)
        plan = json.loads(plan_path.read_text())
        yield Demo(state, plan, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
    # Stopping the demo stops every node.
    for n in plan["nodes"]:
        try:
            httpx.get(n["url"] + "/healthz", timeout=1)
        except httpx.HTTPError:
            continue
        raise AssertionError(f"{n['name']} still answers after the demo stopped")
