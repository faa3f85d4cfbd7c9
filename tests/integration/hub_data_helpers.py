"""A hub in-process on each backend for the national-data tests, with credentials by role."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.integration.conftest import DATA_KEY, SECRET
from yimatong.adapters.crypto import Algorithm, SigningKey, VerifyingKey, signing_key_from_seed
from yimatong.adapters.signed import canonical
from yimatong.bootstrap import Node
from yimatong.config import Settings
from yimatong.credentials import add_credential
from yimatong.hub.app import build_hub

__all__ = [
    "FEDERATION_SECRET",
    "Hub",
    "NodeTestClient",
    "hub_settings",
    "lab_key",
    "sign_batch",
    "start_hub",
]

FEDERATION_SECRET = base64.b64decode(SECRET)


class NodeTestClient(TestClient):
    """A TestClient that NodeClient can drive: it drops the per-call ``timeout`` (an
    in-process app has no network to wait for, and TestClient warns about the argument)."""

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:
        kwargs.pop("timeout", None)
        return super().request(method, url, **kwargs)


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
class Hub:
    node: Node
    client: TestClient
    clock: Callable[[], datetime]
    _n: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, role: str, scope: str | None = None) -> dict[str, str]:
        """Headers with a credential of ``role`` limited to ``scope`` (made once per pair)."""
        key = f"{role}:{scope}"
        if key not in self.tokens:
            self._n += 1
            with self.node.db.uow() as uow:
                self.tokens[key] = add_credential(
                    uow.conn,
                    name=f"t-{role}-{scope}-{self._n}",
                    role=role,
                    now=self.clock(),
                    rng=random.Random(key),
                    scope=scope,
                )
                uow.commit()
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def hub_keys(self) -> dict[bytes, VerifyingKey]:
        key = self.node.service.hub_key()
        return {key.kid: key.public}


def start_hub(db_url: str, tmp_path: Path, clock: Callable[[], datetime]) -> tuple[Hub, Any]:
    """(hub, closer): the caller closes the TestClient and disposes the engine."""
    node = build_hub(hub_settings(db_url, tmp_path), clock=clock, rng=random.Random(11))
    client = NodeTestClient(node.app, raise_server_exceptions=False)
    client.__enter__()

    def close() -> None:
        client.__exit__(None, None, None)
        node.close()

    return Hub(node=node, client=client, clock=clock), close


def lab_key(seed: int = 1) -> SigningKey:
    return signing_key_from_seed(Algorithm.EDDSA, bytes([seed]) * 32)


def sign_batch(
    key: SigningKey, lab_id: str, batch_id: str, results: list[dict[str, Any]]
) -> dict[str, Any]:
    """The body a lab posts: the batch and its signature over the canonical JSON."""
    message = canonical({"lab_id": lab_id, "batch_id": batch_id, "results": results})
    signature = base64.urlsafe_b64encode(key.sign(message)).rstrip(b"=").decode()
    return {"lab_id": lab_id, "batch_id": batch_id, "results": results, "signature": signature}
