"""An issuer node in-process on each database backend, with a fake clock and a captured SMS."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, FieldCipher, generate_signing_key
from yimatong.adapters.signed import canonical
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import Settings
from yimatong.credentials import Caller, add_credential
from yimatong.domain.identity import check_character
from yimatong.hub.app import build_hub

SECRET = base64.b64encode(b"federation-secret-for-tests-0001").decode()
DATA_KEY = "t1:" + base64.b64encode(b"\x01" * 32).decode()


def make_id(area: str = "330106", birth: str = "19800101", seq: str = "123") -> str:
    """A resident ID number that passes GB 11643 (made up; belongs to nobody)."""
    first17 = area + birth + seq
    return first17 + check_character(first17)


@dataclass
class Inbox:
    """The test's SMS gateway: keeps what would have been sent."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        self.messages.append((phone, text))

    def last_code(self, phone: str) -> str:
        for p, t in reversed(self.messages):
            if p == phone:
                found = re.search(r"\d{6}", t)
                assert found
                return found.group(0)
        raise AssertionError("no code sent to that phone")


@dataclass
class Issuer:
    node: Node
    client: TestClient
    inbox: Inbox
    tokens: dict[str, str]

    def sign_in(self, phone: str) -> dict[str, str]:
        r = self.client.post("/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
        r = self.client.post(
            "/v1/auth/session", json={"phone": phone, "otp": self.inbox.last_code(phone)}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def as_role(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def apply(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        body.setdefault("name", "张三丰")
        body.setdefault("id_type", "111")
        body.setdefault("id_number", make_id())
        r = self.client.post("/v1/applications", json=body, headers=headers)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result


def issuer_settings(db_url: str, state_dir: Path, region: str = "330000") -> Settings:
    return Settings.from_environ(
        {
            "YMT_ROLE": "issuer",
            "YMT_REGION": region,
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": db_url,
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
        }
    )


@pytest.fixture
def issuer(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Issuer]:
    inbox = Inbox()
    node = build_issuer(
        issuer_settings(db_url, tmp_path), clock=clock, rng=random.Random(7), sms=inbox
    )
    tokens = {}
    with node.db.uow() as uow:
        for role in ("staff", "checkpoint", "authority", "admin"):
            tokens[role] = add_credential(
                uow.conn, name=f"test-{role}", role=role, now=clock(), rng=random.Random(role)
            )
        uow.commit()
    with TestClient(node.app, raise_server_exceptions=False) as client:
        yield Issuer(node=node, client=client, inbox=inbox, tokens=tokens)
    node.close()


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher.from_spec(DATA_KEY)


# ------------------------------------------------- a hub and an issuer, linked
ADMIN = Caller(role="admin", name="test-admin")


def _settings(db_url: str, state: Path, role: str, region: str, **extra: str) -> Settings:
    env = {
        "YMT_ROLE": role,
        "YMT_REGION": region,
        "YMT_STATE_DIR": str(state),
        "YMT_DB_URL": db_url,
        "YMT_FEDERATION_SECRET": SECRET,
        "YMT_DATA_KEYS": DATA_KEY,
        **extra,
    }
    return Settings.from_environ(env)


@dataclass
class Federation:
    hub: Node
    hub_http: TestClient
    issuer: Node
    http: TestClient
    inbox: Inbox
    tokens: dict[str, str]

    def h(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def sign_in(self, phone: str) -> dict[str, str]:
        """A fresh session (sessions last 12 hours; stories span weeks)."""
        self.http.post("/v1/auth/otp", json={"phone": phone})
        token = self.http.post(
            "/v1/auth/session", json={"phone": phone, "otp": self.inbox.last_code(phone)}
        ).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    def citizen(self, phone: str = "13800138000", **apply: Any) -> tuple[dict[str, str], str]:
        me = self.sign_in(phone)
        body = {"name": "林小红", "id_type": "111", "id_number": make_id(), **apply}
        r = self.http.post("/v1/applications", json=body, headers=me)
        assert r.status_code == 201, r.text
        return me, r.json()["sid"]

    def lab_result(self, id_number: str, sampled: datetime, result: str = "negative") -> None:
        """A lab registered in Shanghai uploads one signed result for ``id_number``."""
        if "lab" not in self.tokens:
            self._lab_key = generate_signing_key(Algorithm.EDDSA)
            r = self.hub_http.post(
                "/v1/labs",
                json={
                    "lab_id": "sh-1",
                    "name": "上海某检测所",
                    "region": "310000",
                    "public_key": base64.b64encode(self._lab_key.public.spki_der()).decode(),
                },
                headers=self.h("admin"),
            )
            assert r.status_code == 201, r.text
            self.tokens["lab"] = r.json()["credential"]
        self._batches = getattr(self, "_batches", 0) + 1
        message = {
            "lab_id": "sh-1",
            "batch_id": f"b-{self._batches}",
            "results": [
                {
                    "id_type": "111",
                    "id_number": id_number,
                    "sampled_at": sampled.isoformat(),
                    "reported_at": (sampled + timedelta(hours=8)).isoformat(),
                    "result": result,
                }
            ],
        }
        sig = base64.urlsafe_b64encode(self._lab_key.sign(canonical(message))).rstrip(b"=")
        r = self.hub_http.post(
            "/v1/test-results", json={**message, "signature": sig.decode()}, headers=self.h("lab")
        )
        assert r.status_code in (200, 201), r.text

    def sync(self) -> Any:
        report = self.issuer.link.sync_once()
        assert not report.errors, report.errors
        return report


@pytest.fixture
def federation(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Federation]:
    hub_db = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'hub.db'}"
    issuer_db = f"sqlite:///{tmp_path / 'issuer.db'}"
    hub = build_hub(_settings(hub_db, tmp_path / "hub", "hub", "000000"), clock=clock)
    tokens: dict[str, str] = {}
    rng = random.Random(3)
    with hub.db.uow() as uow:
        tokens["authority"] = add_credential(
            uow.conn, name="cdc", role="authority", now=clock(), rng=rng
        )
        tokens["admin"] = add_credential(uow.conn, name="root", role="admin", now=clock(), rng=rng)
        uow.commit()
    hub_http = TestClient(hub.app)
    # Register the issuer at the hub the way `yimatong demo` does.
    probe = build_issuer(
        _settings(issuer_db, tmp_path / "issuer", "issuer", "330000"),
        clock=clock,
        start_sync=False,
    )
    with probe.db.read() as conn:
        keys = keystore.registrations(conn, probe.service.cipher, "330000")
    probe.close()
    answer = hub.service.registry.register_issuer(
        ADMIN, region="330000", name="浙江", kind="native", endpoint="http://zj", keys=keys
    )
    inbox = Inbox()
    issuer = build_issuer(
        _settings(
            issuer_db,
            tmp_path / "issuer",
            "issuer",
            "330000",
            YMT_HUB_URL="http://testserver",
            YMT_HUB_TOKEN=answer["credential"],
        ),
        clock=clock,
        rng=random.Random(5),
        sms=inbox,
        hub_client=hub_http,
        start_sync=False,
    )
    http = TestClient(issuer.app)
    yield Federation(hub, hub_http, issuer, http, inbox, tokens)
    issuer.close()
    hub.close()
