"""A small federation in-process for the checkpoint tests: a hub (on the backend under test),
a Zhejiang issuer registered at it (SQLite), and verifiers talking to the hub's TestClient."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.integration.conftest import DATA_KEY, SECRET, Inbox, Issuer, issuer_settings, make_id
from yimatong.adapters import keystore
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import Settings
from yimatong.credentials import add_credential
from yimatong.hub.app import build_hub
from yimatong.hub.context import HubContext
from yimatong.hub.policies import EntryPolicies, PolicyDecider, demo_policies
from yimatong.verifier.clock import TimeSource
from yimatong.verifier.verifier import CheckpointConfig, Verifier

__all__ = ["FakeTime", "Federation", "down_client", "start_federation"]

ISSUER_URL = "http://issuer-330000.test"


class FakeTime(TimeSource):
    """The test's clock as a checkpoint sees it: ``offset`` moves only the wall clock."""

    def __init__(self, clock: Callable[[], datetime], boot: str = "boot-1") -> None:
        self.clock = clock
        self.start = clock()
        self.offset = timedelta(0)
        self.boot_id = boot

    def wall(self) -> datetime:
        return self.clock() + self.offset

    def elapsed(self) -> float:
        return (self.clock() - self.start).total_seconds() + 1000.0

    def boot(self) -> str:
        return self.boot_id


def down_client() -> httpx.Client:
    """An httpx client whose every request fails as if the network were gone."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return httpx.Client(transport=httpx.MockTransport(refuse))


def hub_settings(db_url: str, state_dir: Path) -> Settings:
    return Settings.from_environ(
        {
            "YMT_ROLE": "hub",
            "YMT_REGION": "000000",
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": db_url,
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
        }
    )


@dataclass
class Federation:
    hub: Node
    hub_client: TestClient
    issuer: Issuer
    clock: Any
    tmp: Path
    tokens: dict[str, str] = field(default_factory=dict)
    verifiers: list[Verifier] = field(default_factory=list)

    @property
    def ctx(self) -> HubContext:
        ctx: HubContext = self.hub.service
        return ctx

    def hub_token(self, role: str, scope: str | None = None, name: str | None = None) -> str:
        key = name or f"{role}-{scope}"
        if key not in self.tokens:
            with self.hub.db.uow() as uow:
                self.tokens[key] = add_credential(
                    uow.conn,
                    name=key,
                    role=role,
                    now=self.clock(),
                    rng=random.Random(key),
                    scope=scope,
                )
                uow.commit()
        return self.tokens[key]

    def as_hub(self, role: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.hub_token(role, scope)}"}

    def citizen(self, phone: str = "13800138000", **apply: Any) -> tuple[dict[str, str], str]:
        me = self.issuer.sign_in(phone)
        sid = self.issuer.apply(me, **apply)["sid"]
        return me, sid

    def code(self, me: dict[str, str], sid: str, kind: str = "dynamic") -> str:
        r = self.issuer.client.post("/v1/codes", json={"subject": sid, "kind": kind}, headers=me)
        assert r.status_code in (200, 201), r.text
        code: str = r.json()["code"]
        return code

    def declare_fever(self, me: dict[str, str], sid: str) -> None:
        r = self.issuer.client.post(
            "/v1/declarations", json={"subject": sid, "temperature": 38.2}, headers=me
        )
        assert r.status_code in (200, 201), r.text

    def verifier(
        self,
        cache: Path | None = None,
        *,
        http: httpx.Client | None = None,
        time: TimeSource | None = None,
        **config: Any,
    ) -> Verifier:
        config.setdefault("hub_url", "http://testserver")
        config.setdefault("token", self.hub_token("checkpoint", "330000"))
        config.setdefault("at_region", "330000")
        config.setdefault("name", "gate-1")
        v = Verifier(
            CheckpointConfig(cache_dir=cache or self.tmp / "cache", **config),
            time_source=time or FakeTime(self.clock),
            http=http or self.hub_client,
        )
        self.verifiers.append(v)
        return v


def start_federation(
    db_url: str, tmp_path: Path, clock: Any, *, seed_policies: bool = True
) -> Iterator[Federation]:
    hub = build_hub(hub_settings(db_url, tmp_path / "hub"), clock=clock, rng=random.Random(3))
    ctx: HubContext = hub.service
    ctx.decider = PolicyDecider(ctx)
    inbox = Inbox()
    issuer_db = f"sqlite:///{tmp_path / 'issuer.db'}"
    node = build_issuer(
        issuer_settings(issuer_db, tmp_path / "issuer"),
        clock=clock,
        rng=random.Random(5),
        sms=inbox,
    )
    with node.db.uow() as uow:
        outbound = add_credential(
            uow.conn, name="hub", role="node", now=clock(), rng=random.Random("hub")
        )
        keys = [
            k.to_json() for k in keystore.registrations(uow.conn, node.service.cipher, "330000")
        ]
        uow.commit()
    issuer_client = TestClient(node.app, raise_server_exceptions=False)
    issuer_client.__enter__()
    ctx.clients = lambda endpoint: issuer_client
    hub_client = TestClient(hub.app, raise_server_exceptions=False)
    hub_client.__enter__()
    fed = Federation(
        hub=hub,
        hub_client=hub_client,
        issuer=Issuer(node=node, client=issuer_client, inbox=inbox, tokens={}),
        clock=clock,
        tmp=tmp_path,
    )
    r = hub_client.post(
        "/v1/issuers",
        json={
            "region": "330000",
            "name": "浙江省",
            "kind": "native",
            "endpoint": ISSUER_URL,
            "keys": keys,
            "outbound_token": outbound,
        },
        headers=fed.as_hub("admin"),
    )
    assert r.status_code == 201, r.text
    if seed_policies:
        EntryPolicies(ctx).seed(demo_policies())
    try:
        yield fed
    finally:
        for v in fed.verifiers:
            v.close()
        hub_client.__exit__(None, None, None)
        issuer_client.__exit__(None, None, None)
        hub.close()
        node.close()


__all__ += ["make_id"]
