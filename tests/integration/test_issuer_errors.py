"""Bad input gets a clear problem response, never a 500; anonymous callers are refused."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import Issuer, issuer_settings, make_id
from yimatong.bootstrap import build_issuer
from yimatong.web_common import PUBLIC_PATHS

PHONE = "13800138000"


def _is_problem(r, status: int, slug: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    if slug:
        assert body["type"] == f"/problems/{slug}", body
    return body  # type: ignore[no-any-return]


def _code(issuer: Issuer) -> tuple[dict[str, str], str, str]:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    r = issuer.client.post("/v1/codes", json={"subject": sid}, headers=me)
    assert r.status_code == 201, r.text
    return me, sid, r.json()["code"]


def test_malformed_json_is_400(issuer: Issuer) -> None:
    me = issuer.sign_in(PHONE)
    r = issuer.client.post(
        "/v1/applications",
        content=b'{"name": "x",',
        headers={**me, "content-type": "application/json"},
    )
    _is_problem(r, 400, "malformed-json")
    r = issuer.client.post(
        "/v1/codes/verify",
        content=b"{not json",
        headers={**issuer.as_role("checkpoint"), "content-type": "application/json"},
    )
    _is_problem(r, 400 if r.status_code == 400 else 422)


def test_wrong_id_check_character_is_a_clear_422(issuer: Issuer) -> None:
    me = issuer.sign_in(PHONE)
    good = make_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = issuer.client.post(
        "/v1/applications", json={"name": "王五", "id_type": "111", "id_number": bad}, headers=me
    )
    body = _is_problem(r, 422, "invalid-document")
    assert bad not in r.text  # the number is not echoed back
    assert body["detail"]


def test_unknown_document_type_and_missing_fields(issuer: Issuer) -> None:
    me = issuer.sign_in(PHONE)
    r = issuer.client.post(
        "/v1/applications",
        json={"name": "王五", "id_type": "zz", "id_number": make_id()},
        headers=me,
    )
    assert _is_problem(r, 422)["field"] == "id_type"
    r = issuer.client.post("/v1/applications", json={"name": "王五"}, headers=me)
    body = _is_problem(r, 422, "invalid-input")
    assert body["errors"]


def test_unknown_region_is_a_clear_422(issuer: Issuer, clock) -> None:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    r = issuer.client.post(
        "/v1/itineraries",
        json={"subject": sid, "region": "339999", "from": clock().isoformat()},
        headers=me,
    )
    body = _is_problem(r, 422, "unknown-region")
    assert "339999" in body["detail"]


def test_tampered_code_is_invalid(issuer: Issuer) -> None:
    _, _, code = _code(issuer)
    body = code[5:]
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    i = len(body) // 2
    swapped = alphabet[(alphabet.index(body[i]) + 1) % 45]
    tampered = "YMT1:" + body[:i] + swapped + body[i + 1 :]
    r = issuer.client.post(
        "/v1/codes/verify", json={"code": tampered}, headers=issuer.as_role("checkpoint")
    )
    _is_problem(r, 422, "invalid-code")
    r = issuer.client.post(
        "/v1/codes/verify", json={"code": "HELLO"}, headers=issuer.as_role("checkpoint")
    )
    _is_problem(r, 422, "invalid-code")


def test_expired_code_is_invalid(issuer: Issuer, clock) -> None:
    _, _, code = _code(issuer)
    clock.advance(minutes=5)
    r = issuer.client.post(
        "/v1/codes/verify", json={"code": code}, headers=issuer.as_role("checkpoint")
    )
    _is_problem(r, 422, "invalid-code")


def test_code_signed_by_a_foreign_key_is_invalid(issuer: Issuer, clock, tmp_path: Path) -> None:
    other = build_issuer(
        issuer_settings(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other"),
        clock=clock,
        rng=random.Random(1),
        sms=issuer.inbox,
    )
    from starlette.testclient import TestClient

    with TestClient(other.app) as c:
        c.post("/v1/auth/otp", json={"phone": PHONE})
        token = c.post(
            "/v1/auth/session", json={"phone": PHONE, "otp": issuer.inbox.last_code(PHONE)}
        ).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        sid = c.post(
            "/v1/applications",
            json={"name": "赵六", "id_type": "111", "id_number": make_id()},
            headers=h,
        ).json()["sid"]
        foreign = c.post("/v1/codes", json={"subject": sid}, headers=h).json()["code"]
    other.close()
    r = issuer.client.post(
        "/v1/codes/verify", json={"code": foreign}, headers=issuer.as_role("checkpoint")
    )
    _is_problem(r, 422, "invalid-code")


def test_oversized_body_is_413(issuer: Issuer) -> None:
    me = issuer.sign_in(PHONE)
    r = issuer.client.post(
        "/v1/applications",
        content=b'{"name": "' + b"x" * 70_000 + b'"}',
        headers={**me, "content-type": "application/json"},
    )
    _is_problem(r, 413, "payload-too-large")


def test_wrong_otp_and_bad_tokens_are_401(issuer: Issuer) -> None:
    issuer.client.post("/v1/auth/otp", json={"phone": PHONE})
    r = issuer.client.post("/v1/auth/session", json={"phone": PHONE, "otp": "000000"})
    _is_problem(r, 401, "unauthorized")
    r = issuer.client.get("/v1/subjects", headers={"Authorization": "Bearer ymt_s_nope"})
    _is_problem(r, 401)
    r = issuer.client.get("/v1/subjects", headers={"Authorization": "Basic abc"})
    _is_problem(r, 401)
    r = issuer.client.post("/v1/auth/otp", json={"phone": "12345"})
    assert _is_problem(r, 422)["field"] == "phone"


def test_roles_are_checked(issuer: Issuer) -> None:
    me, sid, code = _code(issuer)
    # A citizen cannot verify codes, a checkpoint cannot read health, a citizen cannot set risk.
    _is_problem(issuer.client.post("/v1/codes/verify", json={"code": code}, headers=me), 403)
    _is_problem(
        issuer.client.get(f"/v1/subjects/{sid}/health", headers=issuer.as_role("checkpoint")), 403
    )
    _is_problem(
        issuer.client.put(
            "/v1/risk-areas/330106",
            json={"level": "high", "from": "2026-11-01T00:00:00+08:00"},
            headers=me,
        ),
        403,
    )


def test_an_issuer_sets_risk_areas_only_within_its_own_region(issuer: Issuer) -> None:
    body = {"level": "high", "from": "2026-11-01T00:00:00+08:00"}
    for role in ("authority", "admin"):
        headers = issuer.as_role(role)
        r = issuer.client.put("/v1/risk-areas/520102", json=body, headers=headers)  # 贵阳
        _is_problem(r, 403)
        assert "330000" in r.json()["detail"]
        r = issuer.client.put("/v1/risk-areas/330106", json=body, headers=headers)
        assert r.status_code == 200, r.text
    changes = issuer.client.get("/v1/risk-areas").json()
    assert "520102" not in str(changes)


def test_a_health_authority_does_not_read_corrections(issuer: Issuer) -> None:
    me, sid, _ = _code(issuer)
    r = issuer.client.post(
        "/v1/corrections",
        json={"subject": sid, "kind": "other", "statement": "那天我不在那里"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    path = f"/v1/corrections/{r.json()['id']}"
    _is_problem(issuer.client.get(path, headers=issuer.as_role("authority")), 403)
    for role in ("staff", "admin"):
        assert issuer.client.get(path, headers=issuer.as_role(role)).status_code == 200


def _fill(path: str) -> str:
    samples = {"sid": "0" * 32, "code": "330106", "correction_id": "1", "slug": "not-found"}
    return re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), path)


def test_every_route_refuses_anonymous_callers_except_the_public_ones(issuer: Issuer) -> None:
    seen = 0
    # Every API route is in the OpenAPI document (routes cannot opt out of it here).
    for path, operations in issuer.node.fastapi.openapi()["paths"].items():
        for method in operations:
            method = method.upper()
            seen += 1
            r = issuer.client.request(method, _fill(path), json={})
            key = f"{method} {path}"
            if key in PUBLIC_PATHS:
                assert r.status_code != 401, key
            else:
                _is_problem(r, 401, "unauthorized")
            assert r.status_code < 500, key
    assert seen >= 15
    # The public set is exactly sign-in, health and public documents (lists, the log).
    assert {p.split(" ", 1)[1] for p in PUBLIC_PATHS} <= {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/problems/{slug}",
        "/v1/auth/otp",
        "/v1/auth/session",
        "/v1/risk-areas",
        "/v1/keys",
        "/v1/log/sth",
        "/v1/log/entries",
        "/v1/log/proof/inclusion",
        "/v1/log/proof/consistency",
    }


def test_docs_and_health_are_served(issuer: Issuer) -> None:
    assert issuer.client.get("/healthz").json()["status"] == "ok"
    spec = issuer.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/v1/codes/verify" in spec["paths"]
    assert issuer.client.get("/docs").status_code == 200
    metrics = issuer.client.get("/metrics").text
    assert "ymt_http_requests_total" in metrics


@pytest.mark.parametrize("n", [6])
def test_otp_send_limit(issuer: Issuer, n: int) -> None:
    for _ in range(n - 1):
        assert issuer.client.post("/v1/auth/otp", json={"phone": PHONE}).status_code == 202
    r = issuer.client.post("/v1/auth/otp", json={"phone": PHONE})
    _is_problem(r, 429, "too-many-requests")
    assert int(r.headers["Retry-After"]) >= 1


def test_colour_since_survives_reassessment(issuer: Issuer, clock) -> None:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    first = issuer.client.get(f"/v1/subjects/{sid}/health", headers=me).json()
    clock.advance(hours=3)
    second = issuer.client.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert first["colour_since"] == second["colour_since"]
    assert clock() - timedelta(hours=3) <= clock()


@pytest.mark.slow
def test_a_database_held_by_another_writer_is_503_not_500(issuer: Issuer, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    import sqlite3

    holder = sqlite3.connect(db_url.split(":///", 1)[1], isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another writer keeps the lock past the busy timeout
        r = issuer.client.post("/v1/auth/otp", json={"phone": PHONE})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _is_problem(r, 503, "unavailable")
    assert r.headers["retry-after"] == "1"
    assert PHONE not in r.text
    # Nothing was written, and the node serves the same request once the lock is free.
    assert issuer.client.post("/v1/auth/otp", json={"phone": PHONE}).status_code == 202
