"""A node says when it is alive and when it is ready; with its database gone, 验码 still answers
from the signed claims, marked as such, while what must be audited waits (503)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from tests.integration.conftest import Issuer

PHONE = "13800138111"


@contextmanager
def database_gone(issuer: Issuer, tmp_path: Path) -> Iterator[None]:
    """The node's database stops answering: its engines now point where nothing is."""
    db = issuer.node.db
    kept, kept_statements = db.engine, db._statements
    if kept.dialect.name == "sqlite":
        nowhere = f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}"
    else:
        nowhere = "postgresql+psycopg://127.0.0.1:1/gone?connect_timeout=1"
    db.engine = create_engine(nowhere)
    db.statement_engine = create_engine(nowhere) if kept_statements is not None else None
    try:
        yield
    finally:
        db.engine.dispose()
        db.statement_engine.dispose()
        db.engine, db.statement_engine = kept, kept_statements


def _code(issuer: Issuer) -> str:
    me = issuer.sign_in(PHONE)
    sid = issuer.apply(me)["sid"]
    r = issuer.client.post("/v1/codes", json={"subject": sid}, headers=me)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def test_readyz_is_ready_while_the_database_answers_and_not_ready_when_it_is_gone(
    issuer: Issuer, tmp_path: Path
) -> None:
    r = issuer.client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    with database_gone(issuer, tmp_path):
        r = issuer.client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["type"] == "/problems/not-ready"
        assert "database unavailable" in r.json()["detail"]
        assert r.headers["retry-after"] == "1"
        assert issuer.client.get("/healthz").status_code == 200  # alive all the same
    assert issuer.client.get("/readyz").status_code == 200


def test_with_the_database_gone_a_checkpoint_gets_the_signed_colour_marked_as_of_its_issue(
    issuer: Issuer, tmp_path: Path
) -> None:
    code = _code(issuer)
    gate = issuer.as_role("checkpoint")
    online = issuer.client.post("/v1/codes/verify", json={"code": code}, headers=gate).json()
    assert online["status"] == "online"
    with database_gone(issuer, tmp_path):
        r = issuer.client.post("/v1/codes/verify", json={"code": code}, headers=gate)
        staff = issuer.client.post(
            "/v1/codes/verify", json={"code": code}, headers=issuer.as_role("staff")
        )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["status"] == "claims"
    assert answer["as_of"] == answer["issued_at"] == online["issued_at"]
    assert answer["colour"] == online["claimed_colour"]
    assert answer["display"] == online["display"]
    # Staff's read must be audited: without the database it is refused, not answered unaudited.
    assert staff.status_code == 503, staff.text
    assert staff.json()["type"] == "/problems/unavailable"


def test_overloaded_is_a_documented_problem_type(issuer: Issuer) -> None:
    r = issuer.client.get("/problems/overloaded")
    assert r.status_code == 200
    assert "capacity" in r.json()["title"]


def test_the_hub_keeps_an_issuers_answer_from_the_claims_marked_as_claims() -> None:
    from datetime import UTC, datetime

    from yimatong.domain.facts import Colour
    from yimatong.domain.token import CodeKind, new_claims
    from yimatong.hub.codes_answer import from_answer

    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    claims = new_claims(
        issuer="330000", sid="a" * 32, colour=Colour.GREEN, colour_since=now,
        reasons=(), hours_since_negative_test=20, masked_name="林**", masked_id="33**28",
        kind=CodeKind.DYNAMIC, now=now,
    )  # fmt: skip
    answer = {"status": "claims", "colour": "green", "display": {}}
    seen = from_answer(claims, "native", answer, now)
    assert seen.status == "claims"
    assert seen.status_checked_at == claims.issued_at
    assert seen.hours_since_negative_test == 20


def test_status_reads_of_yanma_go_to_the_read_replica_and_to_the_primary_when_it_is_gone(
    db_url: str, tmp_path: Path, clock: object
) -> None:
    import random
    from dataclasses import replace

    from sqlalchemy import event
    from starlette.testclient import TestClient

    from tests.integration.conftest import Inbox, issuer_settings
    from yimatong.bootstrap import build_issuer
    from yimatong.credentials import add_credential

    # The replica is the same database here (a streaming replica has the same rows).
    settings = replace(issuer_settings(db_url, tmp_path), db_read_url=db_url)
    inbox = Inbox()
    node = build_issuer(settings, clock=clock, rng=random.Random(3), sms=inbox)  # type: ignore[arg-type]
    try:
        with node.db.uow() as uow:
            gate = add_credential(uow.conn, name="g", role="checkpoint", now=clock(),  # type: ignore[operator]
                                  rng=random.Random(1))  # fmt: skip
            uow.commit()
        on_replica: list[str] = []
        assert node.db.replica_engine is not None
        event.listen(node.db.replica_engine, "checkout",
                     lambda *a: on_replica.append("checkout"))  # fmt: skip
        with TestClient(node.app) as client:
            issuer = Issuer(node=node, client=client, inbox=inbox, tokens={})
            code = _code(issuer)
            headers = {"Authorization": f"Bearer {gate}"}
            r = client.post("/v1/codes/verify", json={"code": code}, headers=headers)
            assert r.status_code == 200 and r.json()["status"] == "online", r.text
            assert on_replica, "the status read did not use the replica's pool"
            # The replica goes away: the primary answers, and says so in the log only.
            node.db.replica_engine.dispose()
            node.db.replica_engine = create_engine(
                f"sqlite:///{tmp_path / 'no-such-dir' / 'r.db'}"
                if db_url.startswith("sqlite")
                else "postgresql+psycopg://127.0.0.1:1/gone?connect_timeout=1"
            )
            r = client.post("/v1/codes/verify", json={"code": code}, headers=headers)
            assert r.status_code == 200 and r.json()["status"] == "online", r.text
    finally:
        node.close()


def test_a_dropped_status_connection_costs_one_answer_from_the_claims_then_reads_are_online(
    issuer: Issuer,
) -> None:
    # PostgreSQL's status reads use an autocommit pool with no ping before use: a connection
    # the server dropped costs one answer from the signed claims, then the pool is replaced.
    import pytest
    from sqlalchemy import text

    db = issuer.node.db
    if db.dialect != "postgresql":
        pytest.skip("the status pool is PostgreSQL's; SQLite has no server to drop it")
    code = _code(issuer)
    gate = issuer.as_role("checkpoint")
    r = issuer.client.post("/v1/codes/verify", json={"code": code}, headers=gate)
    assert r.json()["status"] == "online"
    with db.statement_engine.connect() as conn:
        mine = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": mine})
        admin.commit()
    dropped = issuer.client.post("/v1/codes/verify", json={"code": code}, headers=gate)
    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["status"] == "claims"
    again = issuer.client.post("/v1/codes/verify", json={"code": code}, headers=gate)
    assert again.status_code == 200 and again.json()["status"] == "online", again.text
