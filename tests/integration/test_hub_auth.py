"""Node-to-node authentication at the hub: unregistered, revoked and wrong-role callers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.integration.conftest import ADMIN, _settings
from yimatong.bootstrap import Node
from yimatong.credentials import add_credential, revoke_credential
from yimatong.hub.app import build_hub


@pytest.fixture
def hub(
    db_url: str, tmp_path: Path, clock: Any
) -> Iterator[tuple[Node, TestClient, dict[str, str]]]:
    node = build_hub(_settings(db_url, tmp_path, "hub", "000000"), clock=clock)
    rng = random.Random(11)
    tokens: dict[str, str] = {}
    with node.db.uow() as uow:
        for name, role, scope in (
            ("lab", "lab", "sh-1"),
            ("checkpoint", "checkpoint", "520000"),
            ("authority-zj", "authority", "330000"),
            ("gone", "node", "330000"),
        ):
            tokens[name] = add_credential(
                uow.conn, name=name, role=role, now=clock(), rng=rng, scope=scope
            )
        uow.commit()
    for region in ("330000", "520000"):
        answer = node.service.registry.register_issuer(
            ADMIN, region=region, name=region, kind="native", endpoint=f"http://{region}"
        )
        tokens[region] = answer["credential"]
    with TestClient(node.app) as http:
        yield node, http, tokens
    node.close()


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_unregistered_callers_are_refused(hub) -> None:  # type: ignore[no-untyped-def]
    _node, http, _tokens = hub
    for token in ("ymt_c_made-up", "ymt_s_made-up", "not-even-ours"):
        r = http.post("/v1/summaries", json={"summaries": []}, headers=_h(token))
        assert r.status_code == 401, r.text
        assert r.json()["type"] == "/problems/unauthorized"


def test_a_revoked_node_credential_is_refused(hub, clock) -> None:  # type: ignore[no-untyped-def]
    node, http, tokens = hub
    with node.db.uow() as uow:
        revoke_credential(uow.conn, name="gone", now=clock())
        uow.commit()
    r = http.get("/v1/feed", headers=_h(tokens["gone"]))
    assert r.status_code == 401, r.text


def test_wrong_roles_and_scopes_are_refused(hub) -> None:  # type: ignore[no-untyped-def]
    _node, http, tokens = hub
    # A lab cannot post cases; a checkpoint cannot read the feed.
    fact = {"subject": "0" * 32, "kind": "case", "status": "confirmed",
            "since": "2026-11-01T00:00:00+08:00"}  # fmt: skip
    r = http.post("/v1/facts", json={"facts": [fact]}, headers=_h(tokens["lab"]))
    assert r.status_code == 403, r.text
    r = http.get("/v1/feed", headers=_h(tokens["checkpoint"]))
    assert r.status_code == 403, r.text
    # An issuer cannot set risk areas, nor rotate another region's keys.
    r = http.put(
        "/v1/risk-areas/420100",
        json={"level": "low", "from": "2026-11-01T00:00:00+08:00"},
        headers=_h(tokens["330000"]),
    )
    assert r.status_code == 403, r.text
    r = http.post(
        "/v1/issuers/520000/keys",
        json={"public_key": "AAAA", "not_before": "2026-11-01T00:00:00+08:00", "possession": "x"},
        headers=_h(tokens["330000"]),
    )
    assert r.status_code == 403, r.text
    # Zhejiang's authority cannot set Hubei's areas; only the hub admin registers issuers.
    r = http.put(
        "/v1/risk-areas/420100",
        json={"level": "low", "from": "2026-11-01T00:00:00+08:00"},
        headers=_h(tokens["authority-zj"]),
    )
    assert r.status_code == 403, r.text
    r = http.post(
        "/v1/issuers", json={"region": "440000", "name": "x"}, headers=_h(tokens["authority-zj"])
    )
    assert r.status_code == 403, r.text


def test_the_trust_list_answers_304_to_a_current_etag(hub) -> None:  # type: ignore[no-untyped-def]
    _node, http, _tokens = hub
    first = http.get("/v1/trust-list")
    etag = first.headers["etag"]
    assert http.get("/v1/trust-list", headers={"If-None-Match": etag}).status_code == 304
    # Registering an issuer moves the version: the old ETag no longer matches.
    _node.service.registry.register_issuer(
        ADMIN, region="440000", name="广东", kind="native", endpoint="http://gd"
    )
    again = http.get("/v1/trust-list", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert again.headers["etag"] != etag


def test_an_issuer_that_ran_alone_keeps_its_earlier_codes_valid(hub, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from yimatong.adapters.crypto import Algorithm, generate_signing_key
    from yimatong.adapters.messages import prove_key

    node, http, _tokens = hub
    key = generate_signing_key(Algorithm.EDDSA)
    since = clock() - timedelta(days=20)
    entry = prove_key(key, "440000", since).to_json()
    body = {"region": "440000", "name": "广东", "endpoint": "http://gd", "keys": [entry]}
    r = http.post(
        "/v1/issuers",
        json=body,
        headers={"Authorization": f"Bearer {_admin_token(node, clock)}"},
    )
    assert r.status_code == 201, r.text
    trusted = node.service.registry.keyring().get(key.kid)
    assert trusted is not None
    assert trusted.not_before == since.replace(microsecond=0)


def _admin_token(node: Node, clock) -> str:  # type: ignore[no-untyped-def]
    with node.db.uow() as uow:
        token = add_credential(
            uow.conn, name="root", role="admin", now=clock(), rng=random.Random(4)
        )
        uow.commit()
    return token
