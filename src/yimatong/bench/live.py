"""What the benchmarks over real HTTP share: a node process, a load generator, a scratch database.

``serving`` starts ``yimatong serve`` (an issuer, or a hub with an issuer behind it) in a
temporary state directory, pinned to the first core when the machine has more than one, with a
citizen, a checkpoint credential and a printed code ready; ``Wrk`` drives it with ``wrk`` (Debian's
package) from the other core and reads its figures from a Lua ``done`` hook, not from its text.
With a PostgreSQL URL a scratch database is created on that server for the run and dropped
after it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "Federation",
    "Load",
    "Node",
    "Wrk",
    "cpu_seconds",
    "federation",
    "in_process",
    "scratch_database",
    "serving",
]

BIN = Path(sys.executable).parent / "yimatong"
#: The server gets the first core, the load generator the second (a 2-core machine).
SERVER_CPUS = {0}
LOAD_CPUS = {1}


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _pin(cpus: set[int]) -> Any:
    if _cores() < 2:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scratch_database(url: str | None) -> Iterator[str | None]:
    """``None`` (SQLite in the state dir), or a fresh database on ``url``'s PostgreSQL server."""
    if not url:
        yield None
        return
    import psycopg
    from sqlalchemy.engine import make_url

    given = make_url(url).set(drivername="postgresql")
    name = f"ymt_bench_{secrets.token_hex(4)}"
    admin = given.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield given.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def in_process(role: str, db_url: str | None, **build: Any) -> Iterator[Any]:
    """A node of ``role`` (issuer 330000 or the hub) built in this process on ``db_url`` (a
    temporary SQLite file when None), its periodic jobs not started."""
    from yimatong.config import Settings

    region = "000000" if role == "hub" else "330000"
    with tempfile.TemporaryDirectory(prefix=f"ymt-bench-{role}-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'node.db'}"
        settings = Settings.from_environ(
            {"YMT_ROLE": role, "YMT_REGION": region, "YMT_STATE_DIR": tmp, "YMT_DB_URL": url}
        ).with_defaults()
        if role == "hub":
            from yimatong.hub.app import build_hub

            node = build_hub(settings, **build)
        else:
            from yimatong.bootstrap import build_issuer

            node = build_issuer(settings, start_sync=False, **build)
        try:
            yield node
        finally:
            node.close()


@dataclass
class Node:
    url: str
    state: Path
    checkpoint: str  # bearer token of a checkpoint credential
    code: str  # a printed code of a green citizen (valid for weeks)
    proc: subprocess.Popen[bytes]


def _run(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603  (our own command, our own arguments)
        [str(BIN), *args], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"yimatong {args[0]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def _wait_ready(
    url: str,
    *,
    path: str = "/readyz",
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Until ``url + path`` answers 200 (90 s at most); a ``proc`` that exits is an error."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-500:] if log is not None else ""
            raise RuntimeError(f"the node exited: {tail}")
        with suppress(httpx.HTTPError):
            if httpx.get(url + path, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready in 90 s")


@contextmanager
def serving(
    db_url: str | None = None, *, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[Node]:
    """An issuer (330000) serving on loopback, pinned to the first core, ready to be loaded."""
    with tempfile.TemporaryDirectory(prefix="ymt-bench-") as tmp:
        state = Path(tmp)
        node_env = {"YMT_LOG_LEVEL": "warning", **(env or {})}
        node = ["--region", "330000", "--state-dir", str(state)]
        if db_url:
            node += ["--db", db_url]
        _run("db", "upgrade", "--role", "issuer", *node, env=node_env)
        checkpoint = _run(
            "creds", "add", *node, "--as", "checkpoint", "--name", "bench-gate", env=node_env
        ).strip()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = state / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603
                [str(BIN), "serve", *node, "--port", str(port), "--workers", str(workers),
                 "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **node_env},
                preexec_fn=_pin(SERVER_CPUS),
            )  # fmt: skip
        try:
            _wait_ready(url, proc=proc, log=log)
            code = _citizen_code(url, state)
            yield Node(url, state, checkpoint, code, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _citizen_code(url: str, state: Path) -> str:
    """Sign a made-up citizen up over HTTP (the OTP from the demo SMS log); a printed code."""
    from yimatong.domain.identity import check_character

    first17 = "330106" + "19800101" + "123"  # made up; belongs to nobody
    phone = "13800001111"
    with httpx.Client(base_url=url, timeout=10) as http:
        http.post("/v1/auth/otp", json={"phone": phone}).raise_for_status()
        line = (state / "sms.log").read_text(encoding="utf-8").splitlines()[-1]
        otp = re.findall(r"\d{6}", line.split("\t", 2)[2])[0]
        r = http.post("/v1/auth/session", json={"phone": phone, "otp": otp})
        r.raise_for_status()
        me = {"Authorization": f"Bearer {r.json()['token']}"}
        r = http.post(
            "/v1/applications",
            json={
                "name": "测试者",
                "id_type": "111",
                "id_number": first17 + check_character(first17),
            },
            headers=me,
        )
        r.raise_for_status()
        r = http.post("/v1/codes", json={"subject": r.json()["sid"], "kind": "printed"}, headers=me)
        r.raise_for_status()
        return str(r.json()["code"])


# ---------------------------------------------------------------------------------- wrk
_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
%(auth)s
local pause = %(delay)d
if pause > 0 then
  function delay() return pause end
end
function done(summary, latency, requests)
  io.write(string.format(
    "YMT-WRK {\\"requests\\":%%d,\\"duration_us\\":%%d,\\"non2xx\\":%%d,\\"errors\\":%%d,"
    .. "\\"p50\\":%%d,\\"p90\\":%%d,\\"p99\\":%%d,\\"max\\":%%d}\\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Load:
    """One wrk run: requests per second (all answers), latency percentiles in ms."""

    rps: float
    requests: int
    non2xx: int
    errors: int
    p50: float
    p90: float
    p99: float
    max: float

    @property
    def ok_rps(self) -> float:
        return self.rps * (self.requests - self.non2xx) / max(1, self.requests)


def _lua(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string is a valid Lua string here


class Wrk:
    """``wrk`` from the second core, against one node."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.exe = shutil.which("wrk")
        if self.exe is None:
            raise RuntimeError(
                "this benchmark needs wrk as its load generator: apt-get install -y wrk"
            )
        self._dir = tempfile.TemporaryDirectory(prefix="ymt-wrk-")

    def close(self) -> None:
        self._dir.cleanup()

    def run(
        self,
        path: str,
        *,
        seconds: float,
        connections: int,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        delay_ms: int = 0,
        timeout: float = 2.0,
    ) -> Load:
        script = Path(self._dir.name) / f"s{secrets.token_hex(3)}.lua"
        script.write_text(
            _SCRIPT
            % {
                "method": _lua("POST" if body is not None else "GET"),
                "body": _lua(json.dumps(body)) if body is not None else "nil",
                "auth": f'wrk.headers["Authorization"] = {_lua("Bearer " + token)}'
                if token
                else "",
                "delay": delay_ms,
            },
            encoding="ascii",
        )
        assert self.exe is not None
        done = subprocess.run(  # noqa: S603
            [self.exe, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             f"--timeout={max(1, round(timeout))}s", "-s", str(script), self.url + path],
            capture_output=True, text=True, check=False, preexec_fn=_pin(LOAD_CPUS),
        )  # fmt: skip
        line = next((x for x in done.stdout.splitlines() if x.startswith("YMT-WRK ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed: {(done.stderr or done.stdout).strip()[-300:]}")
        figures = json.loads(line.removeprefix("YMT-WRK "))
        seconds_run = figures["duration_us"] / 1e6
        return Load(
            rps=figures["requests"] / seconds_run,
            requests=figures["requests"],
            non2xx=figures["non2xx"],
            errors=figures["errors"],
            p50=figures["p50"] / 1000,
            p90=figures["p90"] / 1000,
            p99=figures["p99"] / 1000,
            max=figures["max"] / 1000,
        )


# ----------------------------------------------------------------------- a federation
@dataclass
class Federation:
    """``yimatong demo`` running: the plan, and a Zhejiang citizen's printed code."""

    state: Path
    plan: dict[str, Any]
    code: str

    def url(self, name: str) -> str:
        return str(next(n["url"] for n in self.plan["nodes"] if n["name"] == name))

    def pid(self, name: str) -> int:
        """The process serving node ``name``."""
        found = _pids_serving(int(self.url(name).rsplit(":", 1)[1]))
        if len(found) != 1:
            raise RuntimeError(f"expected one process serving {name}, found {found}")
        return found[0]


def _pids_serving(port: int) -> list[int]:
    """Processes whose command line serves ``--port port`` (the demo's node processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and b"--port" in argv:
            at = argv.index(b"--port")
            if at + 1 < len(argv) and argv[at + 1] == str(port).encode():
                found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin_process(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` to ``cpus`` (as ``taskset -a -p`` does)."""
    if _cores() < 2:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError):
            os.sched_setaffinity(int(task.name), cpus)


@contextmanager
def federation(population: int = 3) -> Iterator[Federation]:
    """The demo federation on free ports, every node pinned to the server's core."""
    with tempfile.TemporaryDirectory(prefix="ymt-bench-fed-") as tmp:
        state = Path(tmp)
        base = free_port()
        while any(_port_busy(base + i) for i in range(4)):
            base = free_port()
        log = (state / "demo.out").open("wb")
        proc = subprocess.Popen(  # noqa: S603
            [str(BIN), "demo", "--state-dir", str(state / "demo"), "--base-port", str(base),
             "--population", str(population)],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
        )  # fmt: skip
        try:
            plan_path = state / "demo" / "federation.json"
            deadline = time.monotonic() + 300
            while not plan_path.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the demo did not start: {(state / 'demo.out').read_text()[-400:]}"
                    )
                time.sleep(0.3)
            plan = json.loads(plan_path.read_text())
            for node in plan["nodes"]:
                _wait_ready(node["url"], path="/healthz")  # the legacy node has no /readyz
                for pid in _pids_serving(int(node["url"].rsplit(":", 1)[1])):
                    pin_process(pid, SERVER_CPUS)
            zj = next(n["url"] for n in plan["nodes"] if n["name"] == "zhejiang")
            yield Federation(state, plan, _citizen_code(zj, state / "demo"))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
