"""Time per checkpoint decision, offline and online, against a bare Ed25519 verify.

    .venv/bin/python benchmarks/bench_checkpoint.py [--repeats 3] [--seconds 0.5] [--json]

Builds, in one process, a hub and a Zhejiang issuer (SQLite files in a temporary directory),
registers the issuer, seeds the demo's entry policies, makes a citizen's dynamic code, and fills
a checkpoint's cache with one online refresh. Then it times ``Verifier.verify`` (the whole
decision: parse, signature, key and expiry checks, facts, CertLogic policy, the result):

* offline, without a scan record (``name`` unset): the decision alone;
* offline, with a scan record: plus the durable insert into the queue (WAL, synchronous=FULL,
  so one fsync per scan — the price of "a scan shown is on disk");
* online against the in-process hub (ASGI over Starlette's TestClient, the hub's Mode 2
  calling the issuer in-process): plus two HTTP round trips and the issuer's status lookup.

The baseline, measured in the same run with the loops alternating, is the bare library call
``Ed25519PublicKey.verify`` on a 64-byte message (DESIGN §8: 15.7 k/s per core). The ratio is
ours / baseline. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx is what we ship
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from yimatong.adapters import keystore
from yimatong.bench.core import measure
from yimatong.bootstrap import build_issuer
from yimatong.config import Settings
from yimatong.credentials import Caller, add_credential
from yimatong.hub.app import build_hub
from yimatong.hub.policies import EntryPolicies, PolicyDecider, demo_policies
from yimatong.verifier.verifier import CheckpointConfig, Verifier

SECRET = base64.b64encode(b"federation-secret-for-bench-0001").decode()
DATA_KEY = "b1:" + base64.b64encode(b"\x02" * 32).decode()
MESSAGE = bytes(range(64))


class Inbox:
    def __init__(self) -> None:
        self.last: dict[str, str] = {}

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        found = re.search(r"\d{6}", text)
        if found:
            self.last[phone] = found.group(0)


def _settings(role: str, region: str, state: Path) -> Settings:
    return Settings.from_environ(
        {
            "YMT_ROLE": role,
            "YMT_REGION": region,
            "YMT_STATE_DIR": str(state),
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
        }
    )


def federation(tmp: Path) -> tuple[Any, TestClient, str, str]:
    """(hub node, hub client, checkpoint token, a dynamic code)."""
    hub = build_hub(_settings("hub", "000000", tmp / "hub"), rng=random.Random(1))
    ctx = hub.service
    ctx.decider = PolicyDecider(ctx)
    inbox = Inbox()
    issuer = build_issuer(
        _settings("issuer", "330000", tmp / "zj"), rng=random.Random(2), sms=inbox
    )
    now = ctx.clock()
    with issuer.db.uow() as uow:
        outbound = add_credential(uow.conn, name="hub", role="node", now=now, rng=random.Random(3))
        keys = keystore.registrations(uow.conn, issuer.service.cipher, "330000")
        uow.commit()
    issuer_client = TestClient(issuer.app)
    issuer_client.__enter__()
    ctx.clients = lambda endpoint: issuer_client
    ctx.registry.register_issuer(
        Caller(role="admin", name="bench"),
        region="330000",
        name="浙江省",
        kind="native",
        endpoint="http://issuer.bench",
        keys=keys,
        outbound_token=outbound,
    )
    EntryPolicies(ctx).seed(demo_policies())
    with hub.db.uow() as uow:
        token = add_credential(
            uow.conn, name="gate", role="checkpoint", now=now, rng=random.Random(4)
        )
        uow.commit()
    phone = "13800138000"
    issuer_client.post("/v1/auth/otp", json={"phone": phone})
    session = issuer_client.post(
        "/v1/auth/session", json={"phone": phone, "otp": inbox.last[phone]}
    ).json()["token"]
    me = {"Authorization": f"Bearer {session}"}
    sid = issuer_client.post(
        "/v1/applications",
        json={"name": "张三丰", "id_type": "111", "id_number": "330106198001011235"},
        headers=me,
    )
    if sid.status_code != 201:
        raise SystemExit(f"could not apply: {sid.text}")
    code = issuer_client.post("/v1/codes", json={"subject": sid.json()["sid"]}, headers=me).json()[
        "code"
    ]
    hub_client = TestClient(hub.app)
    hub_client.__enter__()
    return hub, hub_client, token, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _hub, client, token, code = federation(tmp)
        base = {"hub_url": "http://testserver", "token": token, "at_region": "330000"}
        online = Verifier(CheckpointConfig(cache_dir=tmp / "cache", **base), http=client)
        report = online.refresh()
        if any(v.startswith("error") for v in report.values()):
            raise SystemExit(f"refresh failed: {report}")
        decision = Verifier(
            CheckpointConfig(cache_dir=tmp / "cache", offline=True, at_region="330000")
        )
        recorded = Verifier(
            CheckpointConfig(
                cache_dir=tmp / "cache", offline=True, at_region="330000", name="bench-gate"
            )
        )
        for v, want in ((decision, "offline"), (online, "online")):
            result = v.verify(code)
            if (result.outcome, result.mode) != ("PASS", want):
                raise SystemExit(f"unexpected {result.outcome} {result.mode}: {result.notes}")

        key = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
        public = key.public_key()
        signature = key.sign(MESSAGE)

        def baseline() -> None:
            public.verify(signature, MESSAGE)

        times = measure(
            baseline,
            lambda: decision.verify(code),
            lambda: recorded.verify(code),
            lambda: online.verify(code),
            repeats=args.repeats,
            seconds=args.seconds,
        )
        for v in (online, decision, recorded):
            v.close()
        client.__exit__(None, None, None)

    names = [
        "baseline: bare Ed25519 verify",
        "offline decision",
        "offline decision + scan record",
        "online decision (in-process hub)",
    ]
    rows = [
        {
            "what": name,
            "us_per_op": round(t * 1e6, 1),
            "per_s": round(1 / t),
            "ratio": round(t / times[0], 1),
        }
        for name, t in zip(names, times, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'':36} {'µs/op':>10} {'ops/s':>10} {'× baseline':>11}")
    for r in rows:
        print(f"{r['what']:36} {r['us_per_op']:>10} {r['per_s']:>10} {r['ratio']:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
