"""A small federation in-process for the Mode 2 and Mode 3 tests.

The hub, a native issuer (Zhejiang, 330000) and the legacy HBJKM system (Hubei, 420000), each a
real node behind a Starlette ``TestClient``, each on its own database (SQLite files, or
PostgreSQL databases made once per test module and emptied per use). The issuer and the legacy
system are registered at the hub over HTTP as an operator would: the issuer with its
``/v1/keys`` and a ``node`` credential made at the issuer for the hub, the legacy system with
its prefix and the hub's partner app as ``"appKey:appSecret"``.

The hub reaches the other nodes through ``ctx.clients``: a factory from endpoint to
``httpx.Client`` that hands out the TestClients, or raises a connection error for a node the
test has "switched off".
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from tests.conftest import FakeClock, _truncate_all
from tests.integration.conftest import DATA_KEY, SECRET, Inbox, make_id
from yimatong.adapters import keystore
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import Settings
from yimatong.credentials import add_credential
from yimatong.hub.app import build_hub
from yimatong.hub.context import HubContext
from yimatong.legacy import LegacyApp, build_legacy, register_person
from yimatong.legacy import metadata as legacy_metadata

__all__ = [
    "HB",
    "HUB_APP",
    "ZJ",
    "Databases",
    "Federation",
    "federation",
    "hub_settings",
]

FEDERATION_SECRET = base64.b64decode(SECRET)
ZJ = "http://zj.test"
HB = "http://hb.test"

ADMIN_APP = LegacyApp(
    app_key="hbjkm-admin-modes",
    app_secret="admin-secret-modes-0123",
    name="admin",
    scopes=frozenset({"user", "admin", "validateInfo"}),
)
HUB_APP = LegacyApp(
    app_key="hbjkm-hub-modes",
    app_secret="hub-secret-modes-0123456789",
    name="hub",
    scopes=frozenset({"validateInfo", "fullIdentity"}),
)
GATE_APP = LegacyApp(
    app_key="hbjkm-gate-modes",
    app_secret="gate-secret-modes-0123456",
    name="gate",
    scopes=frozenset({"validateInfo"}),
)
LEGACY_APPS = {a.app_key: a for a in (ADMIN_APP, HUB_APP, GATE_APP)}


class Databases:
    """Extra databases beside the ``db_url`` fixture's: one per node of a test.

    On PostgreSQL each is made once per test session (``<session db>_<name>``), emptied for
    every test that asks for it, and dropped with the session's database (``pg_database``
    drops ``<its name>_*``): ``DROP DATABASE`` waits for a checkpoint and a fresh one must be
    migrated, each seconds on a busy server, so a pool per module cost minutes a run."""

    #: (server, database) made in this process
    _made: ClassVar[set[tuple[str, str]]] = set()

    def url(self, db_url: str, tmp_path: Path, name: str) -> str:
        if db_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / (name + '.db')}"
        base, _, main = db_url.rpartition("/")
        wanted = f"{main}_{name}"
        url = f"{base}/{wanted}"
        if (base, wanted) not in self._made:
            admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{wanted}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{wanted}"'))
            admin.dispose()
            self._made.add((base, wanted))
        _truncate_all(url)
        engine = create_engine(url)
        legacy_metadata.drop_all(engine)
        engine.dispose()
        return url

    def close(self) -> None:
        """Nothing to do: the session drops the databases (see the class)."""


def hub_settings(db_url: str, state_dir: Path, **extra: str) -> Settings:
    return Settings.from_environ(
        {
            "YMT_ROLE": "hub",
            "YMT_REGION": "000000",
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": db_url,
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
            **extra,
        }
    )


def node_settings(
    db_url: str, state_dir: Path, *, role: str, region: str, **extra: str
) -> Settings:
    return Settings.from_environ(
        {
            "YMT_ROLE": role,
            "YMT_REGION": region,
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": db_url,
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
            **extra,
        }
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Federation:
    clock: FakeClock
    hub: Node
    http: TestClient  # the hub
    zj: Node
    zj_http: TestClient
    legacy: Node
    legacy_http: TestClient
    inbox: Inbox
    tokens: dict[str, str]
    down: set[str] = field(default_factory=set)
    clients: dict[str, httpx.Client] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    @property
    def ctx(self) -> HubContext:
        ctx: HubContext = self.hub.service
        return ctx

    def as_(self, name: str) -> dict[str, str]:
        return bearer(self.tokens[name])

    def client_for(self, endpoint: str) -> httpx.Client:
        """``ctx.clients``: the in-process node, refusing while the test has it switched off.

        The hub keeps the client it is given, so the switch is looked at on every request.
        """
        if endpoint not in self.clients:
            return httpx.Client(timeout=1.5)  # a real address (a closed port in some tests)

        def route(request: httpx.Request) -> httpx.Response:
            if endpoint in self.down:
                raise httpx.ConnectError("switched off by the test", request=request)
            return self.clients[endpoint].send(request)

        return httpx.Client(transport=httpx.MockTransport(route))

    # ------------------------------------------------------------- the Zhejiang citizen
    def zj_citizen(
        self, phone: str = "13800000001", id_number: str | None = None
    ) -> tuple[dict[str, str], str]:
        """Sign in at the Zhejiang issuer and apply: (session headers, sid)."""
        r = self.zj_http.post("/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
        r = self.zj_http.post(
            "/v1/auth/session", json={"phone": phone, "otp": self.inbox.last_code(phone)}
        )
        assert r.status_code == 200, r.text
        me = bearer(r.json()["token"])
        body = {"name": "张三丰", "id_type": "111", "id_number": id_number or make_id()}
        r = self.zj_http.post("/v1/applications", json=body, headers=me)
        assert r.status_code == 201, r.text
        return me, r.json()["sid"]

    def zj_code(self, me: dict[str, str], sid: str, kind: str = "dynamic") -> dict[str, Any]:
        r = self.zj_http.post("/v1/codes", json={"subject": sid, "kind": kind}, headers=me)
        assert r.status_code == 201, r.text
        answer: dict[str, Any] = r.json()
        return answer

    # ------------------------------------------------------------- the Hubei person
    def hb_person(self, status: str = "00", **kwargs: Any) -> tuple[str, str, str]:
        """Register someone at the legacy system: (user_id, code, id_number)."""
        id_number = kwargs.pop("id_number", None) or make_id(
            "420102", "19800101", f"{self.rng.randrange(1000):03d}"
        )
        user_id, code = register_person(
            self.legacy.service.store,
            name="李四",
            id_number=id_number,
            phone="13912345678",
            status=status,
            now=self.clock(),
            rng=self.rng,
            **kwargs,
        )
        return user_id, code, id_number

    # ------------------------------------------------------------- the hub's answers
    def verify(self, code: str, token: str = "checkpoint", **body: Any) -> httpx.Response:
        return self.http.post(
            "/v1/codes/verify", json={"code": code, **body}, headers=self.as_(token)
        )


@contextmanager
def federation(
    *,
    hub_db: str,
    zj_db: str,
    legacy_db: str,
    state: Path,
    clock: FakeClock,
    hosted: tuple[str, ...] = (),
    hub_extra: dict[str, str] | None = None,
    zj_extra: dict[str, str] | None = None,
    zj_hub_link: bool = False,
    legacy_apps: dict[str, LegacyApp] | None = None,
) -> Iterator[Federation]:
    """Build, register and yield the federation; close everything afterwards.

    ``zj_extra`` adds settings of the Zhejiang issuer. With ``zj_hub_link`` the issuer also has
    its link to the hub (``YMT_HUB_URL`` and a ``node`` credential of 330000 made at the hub,
    ``tokens["zj-hub-link"]``), so its relay (``/v1/hub/...``) reaches the hub in-process; its
    sync rounds are not started (a test runs ``zj.link.sync_once()`` itself).
    The hub's answers to the two registrations keep the node credentials it made:
    ``tokens["zj-node"]`` (330000) and ``tokens["hb-node"]`` (420000).
    """
    inbox = Inbox()
    with ExitStack() as stack:
        hub = build_hub(
            hub_settings(hub_db, state / "hub", **(hub_extra or {})),
            clock=clock,
            rng=random.Random(1),
            hosted=hosted,
            sms=inbox,
        )
        stack.callback(_close_hub, hub)
        http = stack.enter_context(TestClient(hub.app, raise_server_exceptions=False))
        link_settings: dict[str, str] = {}
        if zj_hub_link:
            with hub.db.uow() as uow:
                link_token = add_credential(
                    uow.conn,
                    name="zj-hub-link",
                    role="node",
                    now=clock(),
                    rng=random.Random("zj-hub-link"),
                    scope="330000",
                )
                uow.commit()
            link_settings = {"YMT_HUB_URL": str(http.base_url), "YMT_HUB_TOKEN": link_token}
        zj = build_issuer(
            node_settings(
                zj_db,
                state / "zj",
                role="issuer",
                region="330000",
                **{**(zj_extra or {}), **link_settings},
            ),
            clock=clock,
            rng=random.Random(2),
            sms=inbox,
            hub_client=http if zj_hub_link else None,
            start_sync=not zj_hub_link,
        )
        stack.callback(zj.close)
        legacy = build_legacy(
            node_settings(legacy_db, state / "hb", role="legacy", region="420000"),
            clock=clock,
            rng=random.Random(3),
            app_keys=legacy_apps or LEGACY_APPS,
        )
        stack.callback(legacy.close)
        zj_http = stack.enter_context(
            TestClient(zj.app, base_url=ZJ, raise_server_exceptions=False)
        )
        legacy_http = stack.enter_context(
            TestClient(legacy.app, base_url=HB, raise_server_exceptions=False)
        )
        tokens: dict[str, str] = {}
        with hub.db.uow() as uow:
            for role, scope in (
                ("admin", None),
                ("checkpoint", "520000"),
                ("staff", None),
                ("lab", "lab-1"),
            ):
                tokens[role] = add_credential(
                    uow.conn,
                    name=f"hub-{role}",
                    role=role,
                    now=clock(),
                    rng=random.Random(role),
                    scope=scope,
                )
            tokens["unscoped-checkpoint"] = add_credential(
                uow.conn,
                name="hub-checkpoint-2",
                role="checkpoint",
                now=clock(),
                rng=random.Random("cp2"),
            )
            uow.commit()
        with zj.db.uow() as uow:
            outbound = add_credential(
                uow.conn, name="the-hub", role="node", now=clock(), rng=random.Random(5)
            )
            tokens["zj-authority"] = add_credential(
                uow.conn, name="zj-authority", role="authority", now=clock(), rng=random.Random(6)
            )
            uow.commit()
        tokens["zj-outbound"] = outbound
        if zj_hub_link:
            tokens["zj-hub-link"] = link_settings["YMT_HUB_TOKEN"]
        fed = Federation(
            clock=clock,
            hub=hub,
            http=http,
            zj=zj,
            zj_http=zj_http,
            legacy=legacy,
            legacy_http=legacy_http,
            inbox=inbox,
            tokens=tokens,
            clients={ZJ: zj_http, HB: legacy_http},
        )
        fed.ctx.clients = fed.client_for
        with zj.db.read() as conn:  # what `yimatong keys proof` prints at the issuer
            keys = [k.to_json() for k in keystore.registrations(conn, zj.service.cipher, "330000")]
        r = http.post(
            "/v1/issuers",
            json={
                "region": "330000",
                "name": "浙江省",
                "kind": "native",
                "endpoint": ZJ,
                "keys": keys,
                "outbound_token": outbound,
            },
            headers=fed.as_("admin"),
        )
        assert r.status_code == 201, r.text
        tokens["zj-node"] = r.json()["credential"]
        r = http.post(
            "/v1/issuers",
            json={
                "region": "420000",
                "name": "湖北省",
                "kind": "legacy",
                "endpoint": HB,
                "legacy_prefix": "HBJKM:",
                "outbound_token": f"{HUB_APP.app_key}:{HUB_APP.app_secret}",
            },
            headers=fed.as_("admin"),
        )
        assert r.status_code == 201, r.text
        tokens["hb-node"] = r.json()["credential"]
        yield fed


def _close_hub(hub: Node) -> None:
    ctx: HubContext = hub.service
    for hosted in ctx.hosted_services.values():
        hosted.node.close()
    hub.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
