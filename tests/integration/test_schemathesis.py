"""Schemathesis against every kind of node: no 5xx, and answers as the OpenAPI document says.

Bounded so the whole file runs in well under two minutes: ``MAX_EXAMPLES`` generated cases per
operation and generation mode (valid and invalid data), each sent in-process (ASGI) with a real
credential of the role the route wants, so cases get past authentication to the use cases.
Checks: no server error; the status code, content type and body are documented for the route.

The legacy HBJKM imitation serves no OpenAPI of its own (it imitates a system that predates
ours); ``LEGACY_OPENAPI`` below writes its API down as docs/legacy.md describes it, and its
partner headers are signed per case like a real partner would.

Uses schemathesis' documented Python API: ``schemathesis.openapi.from_asgi`` /
``from_dict``, ``schema[path][method].as_strategy()``, ``case.call()`` and
``case.validate_response()``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import FakeClock
from tests.integration.conftest import DATA_KEY, SECRET, Inbox, issuer_settings, make_id
from tests.integration.hub_data_helpers import hub_settings
from yimatong.bootstrap import build_issuer
from yimatong.config import Settings
from yimatong.credentials import add_credential
from yimatong.hub.app import build_hub
from yimatong.legacy import LegacyApp, build_legacy, sign

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
Headers = Callable[[str, str], dict[str, str]]


def _no_lifespan(app: ASGIApp) -> ASGIApp:
    """The node without its background threads (sync rounds, purge): requests only."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await app(scope, receive, send)

    return wrapped


def _run(schema: Any, headers: Headers, app: ASGIApp | None = None) -> list[str]:
    """Every operation, both modes, ``MAX_EXAMPLES`` each; the failures found, one per line."""
    failures: list[str] = []
    for path, methods in schema.raw_schema["paths"].items():
        for method in methods:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _exercise(schema, method.upper(), path, mode, headers, app, failures)()
                except Unsatisfiable:  # no invalid request exists (a route without inputs)
                    assert mode is GenerationMode.NEGATIVE
    return failures


def _exercise(
    schema: Any,
    method: str,
    path: str,
    mode: GenerationMode,
    headers: Headers,
    app: ASGIApp | None,
    failures: list[str],
) -> Callable[[], None]:
    @given(case=schema[path][method].as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any) -> None:
        extra = {"app": app} if app is not None else {}
        response = case.call(headers=headers(method, path), **extra)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:  # note them, go on with the rest
            for failure in group.exceptions:
                failures.append(
                    f"{method} {path} [{mode.value}] {response.status_code}: {failure.title}"
                )

    return exercise  # type: ignore[no-any-return]


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


# ------------------------------------------------------------------------------ the issuer
def test_schemathesis_finds_no_5xx_on_an_issuer(tmp_path: Path, clock: FakeClock) -> None:
    inbox = Inbox()
    node = build_issuer(
        issuer_settings(f"sqlite:///{tmp_path / 'issuer.db'}", tmp_path),
        clock=clock,
        rng=random.Random(7),
        sms=inbox,
        start_sync=False,
    )
    try:
        tokens: dict[str, str] = {}
        with node.db.uow() as uow:
            for role in ("staff", "checkpoint", "authority", "admin", "node"):
                tokens[role] = add_credential(
                    uow.conn, name=f"st-{role}", role=role, now=clock(), rng=random.Random(role)
                )
            uow.commit()
        with TestClient(node.app) as client:
            client.post("/v1/auth/otp", json={"phone": "13800138000"})
            r = client.post(
                "/v1/auth/session",
                json={"phone": "13800138000", "otp": inbox.last_code("13800138000")},
            )
            tokens["citizen"] = r.json()["token"]
            me = _bearer(tokens["citizen"])
            client.post(
                "/v1/applications",
                json={"name": "林小红", "id_type": "111", "id_number": make_id()},
                headers=me,
            )

        def headers(method: str, path: str) -> dict[str, str]:
            if (path.startswith("/v1/corrections") and method != "POST") or "decision" in path:
                return _bearer(tokens["staff"])
            if path == "/v1/codes/verify":
                return _bearer(tokens["checkpoint"])
            if path.startswith("/v1/risk-areas/"):
                return _bearer(tokens["authority"])
            if path.endswith("/lookup"):
                return _bearer(tokens["node"])
            return me

        schema = schemathesis.openapi.from_asgi("/openapi.json", _no_lifespan(node.app))
        failures = _run(schema, headers)
    finally:
        node.close()
    assert failures == [], "\n".join(failures)


# ---------------------------------------------------------------------------------- the hub
def test_schemathesis_finds_no_5xx_on_the_hub(tmp_path: Path, clock: FakeClock) -> None:
    node = build_hub(hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path), clock=clock)
    try:
        tokens: dict[str, str] = {}
        with node.db.uow() as uow:
            for role, scope in (
                ("admin", None),
                ("authority", None),
                ("checkpoint", "330000"),
                ("node", "330000"),
                ("lab", "zj-lab-1"),
            ):
                tokens[role] = add_credential(
                    uow.conn,
                    name=f"st-{role}",
                    role=role,
                    now=clock(),
                    rng=random.Random(role),
                    scope=scope,
                )
            uow.commit()

        def headers(method: str, path: str) -> dict[str, str]:
            if path in ("/v1/issuers", "/v1/labs"):
                return _bearer(tokens["admin"])
            if path == "/v1/test-results":
                return _bearer(tokens["lab"])
            if path.startswith(("/v1/issuers/", "/v1/subjects", "/v1/summaries", "/v1/feed")):
                return _bearer(tokens["node"])
            if path in ("/v1/scans", "/v1/lookups", "/v1/codes/verify"):
                return _bearer(tokens["checkpoint"])
            return _bearer(tokens["authority"])  # risk areas, facts, policies

        schema = schemathesis.openapi.from_asgi("/openapi.json", _no_lifespan(node.app))
        failures = _run(schema, headers)
    finally:
        node.close()
    assert failures == [], "\n".join(failures)


# ------------------------------------------------------------------------------- the legacy
ADMIN = LegacyApp(
    app_key="hbjkm-admin-st",
    app_secret="admin-secret-schemathesis",
    name="admin",
    scopes=frozenset({"user", "admin", "validateInfo"}),
)

_ANSWER = {
    "type": "object",
    "required": ["errcode", "errmsg"],
    "properties": {"errcode": {"type": "integer"}, "errmsg": {"type": "string"}},
}


def _legacy_route(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "post": {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": properties,
                            "required": required,
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "every answer, errors included: errcode and errmsg",
                    "content": {"application/json": {"schema": _ANSWER}},
                }
            },
        }
    }


_TEXT = {"type": "string"}
LEGACY_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "HBJKM partner API (imitation), as docs/legacy.md describes it",
        "version": "1",
    },
    "paths": {
        "/hbjkm/userHealth/validateInfo": _legacy_route({"bizExtData": _TEXT}, ["bizExtData"]),
        "/hbjkm/user/register": _legacy_route(
            {"xm": _TEXT, "zjlx": _TEXT, "zjhm": _TEXT, "sjhm": _TEXT},
            ["xm", "zjlx", "zjhm", "sjhm"],
        ),
        "/hbjkm/code/generate": _legacy_route({"userId": _TEXT}, ["userId"]),
        "/hbjkm/admin/setStatus": _legacy_route(
            {"userId": _TEXT, "healthyStaus": _TEXT}, ["userId", "healthyStaus"]
        ),
        "/hbjkm/admin/hsjc": _legacy_route(
            {"userId": _TEXT, "hsjcjg": _TEXT, "hsjcsj": _TEXT, "cysj": _TEXT},
            ["userId", "hsjcjg", "hsjcsj"],
        ),
        "/healthz": {
            "get": {
                "responses": {
                    "200": {
                        "description": "alive",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                }
            }
        },
    },
}


@pytest.fixture
def legacy_app(tmp_path: Path, clock: FakeClock) -> Iterator[ASGIApp]:
    settings = Settings.from_environ(
        {
            "YMT_ROLE": "legacy",
            "YMT_REGION": "420000",
            "YMT_STATE_DIR": str(tmp_path),
            "YMT_DB_URL": f"sqlite:///{tmp_path / 'legacy.db'}",
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
        }
    )
    node = build_legacy(
        settings, clock=clock, rng=random.Random(3), app_keys={ADMIN.app_key: ADMIN}
    )
    yield _no_lifespan(node.app)
    node.close()


def test_schemathesis_finds_no_5xx_on_the_legacy_system(
    legacy_app: ASGIApp, clock: FakeClock
) -> None:
    def headers(method: str, path: str) -> dict[str, str]:
        timestamp = str(int(clock().timestamp() * 1000))
        return {
            "appKey": ADMIN.app_key,
            "timestamp": timestamp,
            "sign": sign(ADMIN.app_key, timestamp, ADMIN.app_secret),
        }

    schema = schemathesis.openapi.from_dict(LEGACY_OPENAPI)
    failures = _run(schema, headers, app=legacy_app)
    assert failures == [], "\n".join(failures)
