"""A hub and a Zhejiang issuer as real processes on loopback, for the checkpoint's e2e tests,
and a ``yimatong checkpoint`` agent driven through its stdin and stdout."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from tests.e2e.processes import BIN, NodeProcess, free_port, yimatong
from tests.integration.conftest import DATA_KEY, SECRET, make_id
from yimatong.adapters.db.tables import hub_feed
from yimatong.config import normalise_db_url

__all__ = ["ENV", "Agent", "Federation", "make_id"]

ENV = {"YMT_FEDERATION_SECRET": SECRET, "YMT_DATA_KEYS": DATA_KEY}


def _otp(sms_log: Path, phone: str) -> str:
    for line in reversed(sms_log.read_text(encoding="utf-8").splitlines()):
        if f"\t{phone}\t" in line:
            found = re.search(r"\d{6}", line.split("\t", 2)[2])
            assert found
            return found.group(0)
    raise AssertionError("no one-time code in sms.log")


@dataclass
class Federation:
    """The hub (on ``hub_db``) and issuer 330000 (SQLite), each restartable on its port."""

    tmp: Path
    hub_db: str
    hub_port: int = field(default_factory=free_port)
    issuer_port: int = field(default_factory=free_port)
    hub: NodeProcess | None = None
    issuer: NodeProcess | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    _starts: int = 0

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.issuer_port}"

    def _hub_args(self) -> list[str]:
        return [
            "--role",
            "hub",
            "--region",
            "000000",
            "--state-dir",
            str(self.tmp / "hub"),
            "--db",
            self.hub_db,
        ]

    def _issuer_args(self) -> list[str]:
        return ["--role", "issuer", "--region", "330000", "--state-dir", str(self.tmp / "zj")]

    def start_hub(self) -> None:
        self._starts += 1
        self.hub = NodeProcess(
            ["serve", *self._hub_args(), "--port", str(self.hub_port)],
            ENV,
            self.hub_url,
            self.tmp / f"hub-{self._starts}.log",
        )
        self.hub.wait_ready()

    def start_issuer(self) -> None:
        self._starts += 1
        self.issuer = NodeProcess(
            ["serve", *self._issuer_args(), "--port", str(self.issuer_port)],
            ENV,
            self.issuer_url,
            self.tmp / f"issuer-{self._starts}.log",
        )
        self.issuer.wait_ready()

    def stop_hub(self) -> None:
        if self.hub is not None:
            self.hub.stop()
            self.hub = None

    def stop_issuer(self) -> None:
        if self.issuer is not None:
            self.issuer.stop()
            self.issuer = None

    def stop(self) -> None:
        self.stop_hub()
        self.stop_issuer()

    def setup(self) -> None:
        """Credentials, both nodes up, the issuer registered at the hub, the demo policies."""

        def creds(args: list[str], role: str, name: str) -> str:
            return yimatong(
                "creds", "add", *args, "--as", role, "--name", name, env=ENV
            ).stdout.strip()

        self.tokens["admin"] = creds(self._hub_args(), "admin", "ops")
        self.tokens["checkpoint"] = creds(self._hub_args(), "checkpoint", "gate-e2e")
        self.tokens["authority"] = creds(self._hub_args(), "authority", "nhc")
        outbound = creds(self._issuer_args(), "node", "the-hub")
        self.start_hub()
        self.start_issuer()
        # The issuer's keys, each proved by itself, as its operator hands them to the admin.
        keys = json.loads(yimatong("keys", "proof", *self._issuer_args(), env=ENV).stdout)
        r = httpx.post(
            f"{self.hub_url}/v1/issuers",
            json={
                "region": "330000",
                "name": "浙江省",
                "endpoint": self.issuer_url,
                "keys": keys,
                "outbound_token": outbound,
            },
            headers={"Authorization": f"Bearer {self.tokens['admin']}"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        rule = self.tmp / "green.json"
        rule.write_text(json.dumps({"===": [{"var": "code.colour"}, "green"]}))
        yimatong(
            "policy",
            "set",
            "330000",
            "--file",
            str(rule),
            "--description",
            "绿码 / green",
            "--hub",
            self.hub_url,
            env={"YIMATONG_TOKEN": self.tokens["authority"]},
        )

    def code(self, phone: str = "13900001111", kind: str = "dynamic") -> str:
        """Sign in (or again), apply once, and get a fresh code."""
        with httpx.Client(base_url=self.issuer_url, timeout=10) as http:
            assert http.post("/v1/auth/otp", json={"phone": phone}).status_code == 202
            otp = _otp(self.tmp / "zj" / "sms.log", phone)
            r = http.post("/v1/auth/session", json={"phone": phone, "otp": otp})
            assert r.status_code == 200, r.text
            me = {"Authorization": f"Bearer {r.json()['token']}"}
            mine = http.get("/v1/subjects", headers=me)
            subjects = mine.json() if mine.status_code == 200 else []
            if isinstance(subjects, dict):
                subjects = subjects.get("subjects", [])
            if subjects:
                sid = subjects[0]["sid"]
            else:
                body = {"name": "林小红", "id_type": "111", "id_number": make_id("330106")}
                r = http.post("/v1/applications", json=body, headers=me)
                assert r.status_code == 201, r.text
                sid = r.json()["sid"]
            r = http.post("/v1/codes", json={"subject": sid, "kind": kind}, headers=me)
            assert r.status_code == 201, r.text
            code: str = r.json()["code"]
            return code

    def hub_scans(self) -> tuple[int, int]:
        """(scan rows at the hub, distinct scan ids among them)."""
        engine = create_engine(normalise_db_url(self.hub_db))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(func.count(), func.count(hub_feed.c.dedupe.distinct())).where(
                        hub_feed.c.kind == "scan"
                    )
                ).one()
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
        return int(rows[0]), int(rows[1])


class Agent:
    """``yimatong checkpoint`` as a process: write lines in, read JSON decisions out."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self._err = log.open("w")
        self.proc = subprocess.Popen(
            [str(BIN / "yimatong"), "checkpoint", *args],
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.log = log

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def scan(self, line: str, timeout: float = 20.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        try:
            out = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no decision within {timeout}s: {self.log.read_text()[-2000:]}"
            ) from None
        decision: dict[str, Any] = json.loads(out)
        return decision

    def close_stdin(self, timeout: float = 30.0) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=timeout)

    def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._err.close()
