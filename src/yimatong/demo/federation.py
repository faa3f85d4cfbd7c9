"""``yimatong demo``: the whole federation on one machine.

What runs, each a separate ``yimatong serve`` process on its own loopback port with its own
SQLite file under the state directory:

| node | region | mode |
| --- | --- | --- |
| hub (national platform), also hosting 540000 西藏 | 000000 | Mode 2, Mode 3 |
| native issuer 浙江 | 330000 | Mode 1 |
| native issuer 贵州 | 520000 | Mode 1 |
| legacy issuer 湖北 (its own "HBJKM" codes and API) | 420000 | reached through an adapter |
| road node 下城区 路面健康码 (synthetic district ``xiacheng-synthetic``) | 330100 | docs/road.md |

The first start prepares everything (later starts reuse it): secrets, each node's database,
credentials, the registry at the hub, a synthetic population in every region; then, once the
nodes run, it plays the health authority and a lab over the hub's public API (risk areas,
entry policies, cases and contacts, test results) and a sensing vehicle and a citizen's phone
over the road node's API (defects found, work orders dispatched, one repaired and re-inspected).
``federation.json`` records what a person trying it needs; the one-time sign-in codes are
appended to ``sms.log``.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = ["DemoError", "NodeSpec", "run_demo"]


class DemoError(Exception):
    """The demo cannot start or stopped early; the message says why in one line."""


NATIONAL = "000000"
HOSTED = "540000"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: str
    region: str
    title: str
    port: int

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def specs(base_port: int) -> list[NodeSpec]:
    return [
        NodeSpec("hub", "hub", NATIONAL, "国家平台 hub (hosts 540000 西藏)", base_port),
        NodeSpec("zhejiang", "issuer", "330000", "浙江 Zhejiang", base_port + 1),
        NodeSpec("guizhou", "issuer", "520000", "贵州 Guizhou", base_port + 2),
        NodeSpec("hubei", "legacy", "420000", "湖北 Hubei (legacy HBJKM)", base_port + 3),
        NodeSpec("road", "road", ROAD_REGION, "下城区 路面健康码 road (synthetic)", base_port + 4),
    ]


Echo = Callable[[str], None]


def _env(state: Path, spec: NodeSpec, secret: str) -> dict[str, str]:
    node_dir = state / spec.name
    extra = {"YMT_DISTRICT": ROAD_DISTRICT} if spec.role == "road" else {}
    return {
        **extra,
        "YMT_ROLE": spec.role,
        "YMT_REGION": spec.region,
        "YMT_STATE_DIR": str(node_dir),
        "YMT_DB_URL": f"sqlite:///{node_dir / 'node.db'}",
        "YMT_FEDERATION_SECRET": secret,
        "YMT_SMS_LOG": str(state / "sms.log"),
    }


def run_demo(
    state: Path, base_port: int, population: int, *, echo: Echo, progress: Any, seed: int = 2020
) -> None:
    """Prepare on first start, run every node, stop them all on Ctrl-C or SIGTERM.

    Nothing is touched before the state directory is ours (no other demo holds its lock) and
    every port is free: a second demo refuses with the reason instead of disturbing the first.
    Everything under ``state`` is the owner's only (files 0600, directories 0700): it holds
    the nodes' databases, keys, credentials, logs and the demo's SMS log (phone numbers).
    """
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _claimed(state):
        _run_claimed(state, base_port, population, echo=echo, progress=progress, seed=seed)


def _run_claimed(
    state: Path, base_port: int, population: int, *, echo: Echo, progress: Any, seed: int
) -> None:
    nodes = specs(base_port)
    _check_ports_free(nodes)
    fed_path = state / "federation.json"
    from yimatong.config import load_or_create_secrets

    secret = load_or_create_secrets(state)["federation"]
    fresh = not fed_path.exists()
    if fresh:
        plan = _prepare(state, nodes, secret, population, seed, echo, progress)
    else:
        plan = json.loads(fed_path.read_text())
        if [n["url"] for n in plan["nodes"]] != [n.url() for n in nodes]:
            raise DemoError(
                f"{state} was prepared with other ports; use --base-port "
                f"{plan['nodes'][0]['url'].rsplit(':', 1)[1]} or a new --state-dir"
            )
    with _running(state, nodes, secret, plan, echo) as procs:
        if fresh:
            _play_authority_and_lab(state, nodes, plan, population, seed, echo, progress)
            _play_road(state, next(n for n in nodes if n.role == "road"), plan, echo)
            _write_private(fed_path, plan)
        _print_summary(state, nodes, plan, echo)
        _wait(procs, echo)


@contextmanager
def _claimed(state: Path) -> Iterator[None]:
    """Hold ``state/demo.lock`` while this demo runs; refuse if another demo holds it."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock (the port check still stands)
        yield
        return
    fd = os.open(state / "demo.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            raise DemoError(
                f"another yimatong demo (pid {holder}) is running with {state}; "
                "stop it first, or use another --state-dir and --base-port"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _check_ports_free(nodes: list[NodeSpec]) -> None:
    """Every node's port must be free on 127.0.0.1 (bound the way uvicorn binds it)."""
    busy = []
    for spec in nodes:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", spec.port))
            except OSError:
                busy.append(f"{spec.port} ({spec.name})")
    if busy:
        raise DemoError(
            f"port {', '.join(busy)} is in use on 127.0.0.1 (another demo or service?); "
            f"stop it or choose other ports with --base-port"
        )


# ------------------------------------------------------------------ preparation
def _prepare(
    state: Path,
    nodes: list[NodeSpec],
    secret: str,
    population: int,
    seed: int,
    echo: Echo,
    progress: Any,
) -> dict[str, Any]:
    from yimatong.adapters import keystore
    from yimatong.bootstrap import build_issuer
    from yimatong.config import Settings
    from yimatong.credentials import Caller, add_credential
    from yimatong.demo.loader import load_native
    from yimatong.demo.population import generate_population
    from yimatong.hub.app import build_hub
    from yimatong.legacy import build_legacy
    from yimatong.legacy.store import register_person

    now = datetime.now(UTC)
    rng = random.SystemRandom()
    admin = Caller(role="admin", name="demo")
    creds: dict[str, Any] = {"issuers": {}}
    echo(f"preparing the demo federation in {state} (first start only)")
    # A preparation cut short leaves no federation.json: start its nodes afresh.
    for spec in nodes:
        shutil.rmtree(state / spec.name, ignore_errors=True)
    for leftover in ("sms.log", "lab-shanghai.pem"):
        (state / leftover).unlink(missing_ok=True)

    def settings_of(spec: NodeSpec) -> Settings:
        return Settings.from_environ(_env(state, spec, secret)).with_defaults()

    hub_spec, *others = nodes
    road_spec = next(n for n in others if n.role == "road")
    others = [n for n in others if n.role != "road"]
    creds["road"] = _prepare_road(state, settings_of(road_spec), now, rng)
    hub = build_hub(settings_of(hub_spec), hosted=(HOSTED,))
    with hub.db.uow() as uow:
        for role in ("admin", "authority"):
            creds[f"hub_{role}"] = add_credential(
                uow.conn, name=f"demo-{role}", role=role, now=now, rng=rng
            )
        creds["checkpoints"] = {
            region: add_credential(
                uow.conn,
                name=f"demo-checkpoint-{region}",
                role="checkpoint",
                now=now,
                rng=rng,
                scope=region,
            )
            for region in ("330000", "520000", "420000", HOSTED)
        }
        uow.commit()
    registry = hub.service.registry

    for spec in others:
        settings = settings_of(spec)
        if spec.role == "legacy":
            legacy = build_legacy(settings)
            app = legacy.service.app_named("hub")
            registry.register_issuer(
                admin,
                region=spec.region,
                name=spec.title,
                kind="legacy",
                endpoint=spec.url(),
                legacy_prefix="HBJKM:",
                outbound_token=f"{app.app_key}:{app.app_secret}",
            )
            # The legacy system knows resident ID cards only (its own card type "1").
            people = [
                p
                for p in generate_population(spec.region, population, seed=seed, now=now)
                if p.id_type.value == "111"
            ]
            with progress(people, label=f"  {spec.title}: registering residents") as bar:
                for person in bar:
                    register_person(
                        legacy.service.store,
                        name=person.name,
                        id_number=person.id_number,
                        phone=person.phone,
                        status=_legacy_status(person),
                        now=now,
                        rng=rng,
                    )
            legacy.close()
            continue
        issuer = build_issuer(settings, start_sync=False)
        with issuer.db.uow() as uow:
            outbound = add_credential(uow.conn, name="hub", role="node", now=now, rng=rng)
            local = {
                role: add_credential(uow.conn, name=f"demo-{role}", role=role, now=now, rng=rng)
                for role in ("admin", "staff", "checkpoint", "authority")
            }
            # Each key proved by itself, from the node's own keystore (as `keys proof` does).
            keys = keystore.registrations(uow.conn, issuer.service.cipher, spec.region)
            uow.commit()
        answer = registry.register_issuer(
            admin,
            region=spec.region,
            name=spec.title,
            kind="native",
            endpoint=spec.url(),
            keys=keys,
            outbound_token=outbound,
        )
        creds["issuers"][spec.region] = {"hub_token": answer["credential"], **local}
        people = generate_population(spec.region, population, seed=seed, now=now)
        with progress(length=len(people), label=f"  {spec.title}: loading residents") as bar:
            load_native(issuer.service, people, now=now, progress=bar.update)
        issuer.close()
    hub.close()
    hub_key = _hub_public_key(state, hub_spec, secret)
    return {
        "nodes": [
            {"name": n.name, "role": n.role, "region": n.region, "title": n.title, "url": n.url()}
            for n in nodes
        ],
        "hosted": [{"region": HOSTED, "url": f"{nodes[0].url()}/regions/{HOSTED}"}],
        "hub_key": hub_key,
        "credentials": creds,
        "sms_log": str(state / "sms.log"),
        "population": population,
        "seed": seed,
        "prepared_at": now.isoformat(),
    }


def _legacy_status(person: Any) -> str:
    if person.cases:
        return "11"
    if any(c.kind.value == "close" for c in person.contacts):
        return "10"
    if person.contacts:
        return "01"
    return "00"


def _hub_public_key(state: Path, hub: NodeSpec, secret: str) -> dict[str, str]:
    from yimatong.adapters import keystore
    from yimatong.adapters.db.database import Database

    db = Database.from_url(_env(state, hub, secret)["YMT_DB_URL"])
    try:
        with db.read() as conn:
            key = next(k for k in keystore.list_keys(conn, NATIONAL) if k.revoked_at is None)
    finally:
        db.dispose()
    return {"kid": key.kid.hex(), "public_key": base64.b64encode(key.public_der).decode()}


# ------------------------------------------------------------------ processes
@contextmanager
def _running(
    state: Path, nodes: list[NodeSpec], secret: str, plan: dict[str, Any], echo: Echo
) -> Iterator[list[tuple[NodeSpec, subprocess.Popen[bytes]]]]:
    procs: list[tuple[NodeSpec, subprocess.Popen[bytes]]] = []
    logs = []
    exe = [sys.executable, "-m", "yimatong"]
    try:
        for spec in nodes:
            env = {**os.environ, **_env(state, spec, secret)}
            args = [*exe, "serve", "--port", str(spec.port)]
            if spec.role == "hub":
                args += ["--hosted", HOSTED]
            if spec.role == "issuer":
                env["YMT_HUB_URL"] = nodes[0].url()
                env["YMT_HUB_TOKEN"] = plan["credentials"]["issuers"][spec.region]["hub_token"]
                env["YMT_HUB_KEY"] = plan["hub_key"]["public_key"]
                env["YMT_SYNC_INTERVAL"] = "3"
            fd = os.open(state / f"{spec.name}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            log = os.fdopen(fd, "ab")
            logs.append(log)
            # our own interpreter running our own command
            proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            procs.append((spec, proc))
        for spec, proc in procs:
            _wait_healthy(spec, proc, state)
        yield procs
    finally:
        for _spec, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _spec, proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
        echo("all nodes stopped")


def _wait_healthy(spec: NodeSpec, proc: subprocess.Popen[bytes], state: Path) -> None:
    """Up when *our* process answers as the node it should be (role and region)."""
    log = state / (spec.name + ".log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"{spec.title} stopped at start (exit {proc.returncode}); see {log}")
        try:
            answer = httpx.get(spec.url() + "/healthz", timeout=1)
            health = answer.json() if answer.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            health = {}
        if health.get("status") == "ok" and proc.poll() is None:
            if (health.get("role"), health.get("region")) != (spec.role, spec.region):
                raise DemoError(f"another service answers on port {spec.port}; see {log}")
            return
        time.sleep(0.2)
    raise DemoError(f"{spec.title} did not come up within 60 s; see {log}")


def _wait(procs: list[tuple[NodeSpec, subprocess.Popen[bytes]]], echo: Echo) -> None:
    stop = {"now": False}

    def handler(signum: int, _frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop["now"]:
        for spec, proc in procs:
            if proc.poll() is not None:
                raise DemoError(
                    f"{spec.title} exited with {proc.returncode}; the demo stopped every node "
                    f"(see {spec.name}.log in the state directory)"
                )
        time.sleep(0.5)
    echo("stopping…")


# ------------------------------------------------- the authority and a lab, over HTTP
def _play_authority_and_lab(
    state: Path,
    nodes: list[NodeSpec],
    plan: dict[str, Any],
    population: int,
    seed: int,
    echo: Echo,
    progress: Any,
) -> None:
    with httpx.Client(base_url=nodes[0].url(), timeout=60) as http:
        play_authority_and_lab(http, state, plan, population, seed, echo, progress)


def play_authority_and_lab(
    http: httpx.Client,
    state: Path,
    plan: dict[str, Any],
    population: int,
    seed: int,
    echo: Echo,
    progress: Any,
) -> None:
    """What the health authority and a lab send the hub (``http``) over its public API.

    Machine credentials (authority, lab, administrator): none of it is a counted event of the
    per-client limits, however large the population.
    """
    from yimatong.demo.population import generate_population

    creds = plan["credentials"]
    authority = {"Authorization": f"Bearer {creds['hub_authority']}"}
    admin = {"Authorization": f"Bearer {creds['hub_admin']}"}
    now = datetime.fromisoformat(plan["prepared_at"])
    # Risk areas: Wuhan high, a Hangzhou street and a Guiyang district medium.
    changes = [
        {"area": "420100", "level": "high", "from": "2026-01-01T00:00:00+08:00"},
        {"area": "330106002", "level": "medium", "from": "2026-01-01T00:00:00+08:00"},
        {"area": "520102", "level": "medium", "from": "2026-01-01T00:00:00+08:00"},
    ]
    _check(http.post("/v1/risk-areas/batch", json={"changes": changes}, headers=authority))
    _apply_demo_policies(http, authority, echo)
    # A lab registered in Shanghai uploads everyone's results.
    key_path = state / "lab-shanghai.pem"
    lab = _register_lab(http, admin, key_path)
    creds["lab"] = {"lab_id": lab["lab_id"], "token": lab["credential"], "key": str(key_path)}
    results: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    for region in ("330000", "520000", "420000"):
        for person in generate_population(region, population, seed=seed, now=now):
            for t in person.tests:
                results.append(
                    {
                        "id_type": person.id_type.value,
                        "id_number": person.id_number,
                        "sampled_at": t.sampled_at.isoformat(),
                        "reported_at": t.reported_at.isoformat(),
                        "result": t.outcome.value,
                    }
                )
            for c in person.cases:
                facts.append(
                    {
                        "id_type": person.id_type.value,
                        "id_number": person.id_number,
                        "kind": "case",
                        "status": c.status.value,
                        "since": c.since.isoformat(),
                    }
                )
            for k in person.contacts:
                facts.append(
                    {
                        "id_type": person.id_type.value,
                        "id_number": person.id_number,
                        "kind": "contact",
                        "contact_kind": k.kind.value,
                        "last_exposure": k.last_exposure.isoformat(),
                    }
                )
    _upload_results(http, lab, key_path, results, progress)
    with progress(length=len(facts), label="  health authority: cases and contacts") as bar:
        for start in range(0, len(facts), 2000):
            part = facts[start : start + 2000]
            _check(http.post("/v1/facts", json={"facts": part}, headers=authority))
            bar.update(len(part))


def _apply_demo_policies(http: httpx.Client, authority: dict[str, str], echo: Echo) -> None:
    try:
        from yimatong.verifier.demo import DEMO_POLICIES
    except ImportError:  # the checkpoint's policies are not part of this build
        return
    for region, body in DEMO_POLICIES:
        response = http.put(f"/v1/policies/{region}", json=body, headers=authority)
        if response.status_code >= 400:
            echo(f"  policy for {region} not set: {response.text[:200]}")


def _register_lab(http: httpx.Client, admin: dict[str, str], key_path: Path) -> dict[str, Any]:
    from yimatong.adapters.crypto import Algorithm, generate_signing_key

    key = generate_signing_key(Algorithm.EDDSA)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_pem())
    body = {
        "lab_id": "sh-kingmed",
        "name": "上海金域医学检验所",
        "region": "310000",
        "public_key": base64.b64encode(key.public.spki_der()).decode(),
    }
    answer: dict[str, Any] = _check(http.post("/v1/labs", json=body, headers=admin)).json()
    return answer


def _upload_results(
    http: httpx.Client,
    lab: dict[str, Any],
    key_path: Path,
    rows: list[dict[str, Any]],
    progress: Any,
) -> None:
    from yimatong.adapters.crypto import load_signing_key
    from yimatong.adapters.messages import batch_message

    key = load_signing_key(key_path.read_bytes())
    headers = {"Authorization": f"Bearer {lab['credential']}"}
    with progress(length=len(rows), label="  lab 上海金域: uploading results") as bar:
        for index, start in enumerate(range(0, len(rows), 2000)):
            part = rows[start : start + 2000]
            batch = f"demo-{index}"
            message = {"lab_id": lab["lab_id"], "batch_id": batch, "results": part}
            signed = key.sign(batch_message(lab["lab_id"], batch, part))
            signature = base64.urlsafe_b64encode(signed).rstrip(b"=")
            _check(
                http.post(
                    "/v1/test-results",
                    json={**message, "signature": signature.decode()},
                    headers=headers,
                )
            )
            bar.update(len(part))


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise DemoError(
            f"demo setup failed: {response.request.method} {response.request.url.path} "
            f"answered {response.status_code}: {response.text[:300]}"
        )
    return response


# ------------------------------------------------------------------ output
def _write_private(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    os.replace(tmp, path)


def _print_summary(state: Path, nodes: list[NodeSpec], plan: dict[str, Any], echo: Echo) -> None:
    lines = ["", "yimatong demo federation is running:"]
    for n in nodes:
        docs = "" if n.role == "legacy" else f"   docs {n.url()}/docs"
        lines.append(f"  {n.title:34} {n.url()}{docs}")
    lines.append(f"  {'西藏 540000 (Mode 3, at the hub)':34} {plan['hosted'][0]['url']}")
    road = next(n for n in nodes if n.role == "road")
    lines.append(f"  {'the road map (路面健康码)':34} {road.url()}/")
    lines += [
        "",
        f"  credentials      {state / 'federation.json'}",
        f"  one-time codes   {state / 'sms.log'}",
        f"  node logs        {state}/*.log",
        "",
        "  a checkpoint in Guizhou verifying a code through the hub:",
        f"    YIMATONG_TOKEN=<credentials.checkpoints.520000> yimatong verify CODE "
        f"--hub {nodes[0].url()} --at 520000",
        "",
        "Ctrl-C stops every node.",
    ]
    echo("\n".join(lines))


# ------------------------------------------------- the road node: a vehicle and a phone
ROAD_REGION = "330100"
ROAD_DISTRICT = "xiacheng-synthetic"
ROAD_VEHICLE = "xc-inspect-01"


def _prepare_road(state: Path, settings: Any, now: datetime, rng: Any) -> dict[str, Any]:
    """The road node's database, its credentials and a registered sensing vehicle (its key in
    ``road-vehicle.pem``, 0600)."""
    from yimatong.adapters.crypto import Algorithm, generate_signing_key
    from yimatong.credentials import add_credential
    from yimatong.roadnode.app import build_road

    node = build_road(settings, start_jobs=False)
    creds: dict[str, Any] = {
        "vehicle": ROAD_VEHICLE,
        "vehicle_key": str(state / "road-vehicle.pem"),
    }
    with node.db.uow() as uow:
        for name, role, scope in (
            ("admin", "admin", None),
            ("team-north", "team", "team-north"),
            ("team-south", "team", "team-south"),
            ("traffic_police", "department", "traffic_police"),
            ("transport", "department", "transport"),
            ("municipal", "department", "municipal"),
        ):
            creds[name] = add_credential(
                uow.conn, name=f"demo-road-{name}", role=role, now=now, rng=rng, scope=scope
            )
        uow.commit()
    key = generate_signing_key(Algorithm.EDDSA)
    _write_private_bytes(state / "road-vehicle.pem", key.private_pem())
    node.service.register_vehicle(
        ROAD_VEHICLE, owner="下城区市政养护（演示）", public_key_der=key.public.spki_der(),
        trusted=True,
    )  # fmt: skip
    node.close()
    return creds


def _write_private_bytes(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _play_road(state: Path, spec: NodeSpec, plan: dict[str, Any], echo: Echo) -> None:
    """Over the road node's API: a citizen's phone reports a pothole first, the vehicle drives
    the district two days ago and finds five defects (three potholes, a missing manhole cover,
    a crack), team-south repairs the manhole and the vehicle's next pass sees it clear."""
    from datetime import timedelta

    from yimatong.adapters.crypto import load_signing_key
    from yimatong.road.network import load_builtin_network
    from yimatong.road.observations import batch_signing_bytes

    creds = plan["credentials"]["road"]
    key = load_signing_key(Path(creds["vehicle_key"]).read_bytes())
    net = load_builtin_network(ROAD_DISTRICT)
    now = datetime.now(UTC)
    seq = iter(range(10**6))
    http = httpx.Client(base_url=spec.url(), timeout=30)

    def at(road_id: str, segment: int, along: float) -> tuple[float, float]:
        road = net.road(road_id)
        (x0, y0), (x1, y1) = (net.zone.project(*p) for p in road.points[segment : segment + 2])
        x, y = x0 + (x1 - x0) * along, y0 + (y1 - y0) * along
        return net.zone.unproject(int(x) + 0.5, int(y) + 0.5)

    def row(device: str, where: tuple[float, float], when: datetime, defect: str | None = None,
            level: str | None = None, confidence: float = 0.93) -> dict[str, Any]:  # fmt: skip
        return {
            "device_id": device, "seq": next(seq), "observed_at": when.isoformat(),
            "lon": where[0], "lat": where[1], "datum": "CGCS2000", "heading_deg": 0.0,
            "speed_mps": 8.0, "defect": defect, "severity": level, "confidence": confidence,
            "image_sha256": (defect or "clear").encode().hex().ljust(64, "0")[:64],
        }  # fmt: skip

    def send(rows: list[dict[str, Any]], signed: bool = True) -> dict[str, Any]:
        body = json.dumps({"observations": rows}).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            signature = key.sign(batch_signing_bytes(body))
            headers["Ymt-Device"] = ROAD_VEHICLE
            headers["Ymt-Signature"] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
        answer = http.post("/v1/road/observations", content=body, headers=headers)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    found = {
        "pothole-a": (at("ns3-n", 3, 0.4), "pothole", "severe"),
        "pothole-b": (at("ew3", 7, 0.6), "pothole", "moderate"),
        "pothole-c": (at("ns6-s", 5, 0.5), "pothole", "severe"),
        "manhole": (at("ew5", 4, 0.3), "manhole_cover_missing", "severe"),
        "crack": (at("diag1", 8, 0.5), "longitudinal_crack", "light"),
    }
    pass_at = now - timedelta(hours=48)
    citizen = row("app-demo-7f3a", found["pothole-a"][0], pass_at - timedelta(hours=3),
                  "pothole", "moderate", 0.7)  # fmt: skip
    send([citizen], signed=False)
    report = send(
        [row(ROAD_VEHICLE, where, pass_at + timedelta(minutes=i), d, lv)
         for i, (where, d, lv) in enumerate(found.values())]
    )  # fmt: skip
    team = {"Authorization": f"Bearer {creds['team-south']}"}
    manhole_cell = str(net.zone.cell_of(*found["manhole"][0]))
    orders = http.get("/v1/road/work-orders", headers=team).json()["work_orders"]
    order = next((o for o in orders if manhole_cell in o["cells"]), None)
    if order is None:  # the manhole's road is team-north's
        team = {"Authorization": f"Bearer {creds['team-north']}"}
        orders = http.get("/v1/road/work-orders", headers=team).json()["work_orders"]
        order = next(o for o in orders if manhole_cell in o["cells"])
    for step in ({"step": "on_site"}, {"step": "repaired", "photo_sha256": "5e" * 32}):
        http.post(f"/v1/road/work-orders/{order['id']}/steps", json=step,
                  headers=team).raise_for_status()  # fmt: skip
    send([row(ROAD_VEHICLE, found["manhole"][0], datetime.now(UTC) - timedelta(seconds=1))])
    http.close()
    echo(
        f"  road: {len(report['findings'])} findings, {len(report['work_orders'])} work orders, "
        f"one repaired and re-inspected"
    )
