"""An issuer node in-process on each database backend, with a fake clock and a captured SMS."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from yimatong.adapters.crypto import FieldCipher
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import Settings
from yimatong.credentials import add_credential
from yimatong.domain.identity import check_character

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
