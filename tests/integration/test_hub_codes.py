"""Mode 2 at the hub: any region's code verified in one vocabulary, on each database backend.

A Zhejiang code (native issuer, over HTTP with the hub's outbound credential), what happens when
that issuer is down (a Mode 1 summary newer than the code, else the signed claims), revoked
and bad codes (422, never 500), and Hubei legacy codes through the real HBJKM imitation.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import FakeClock
from tests.integration.modes_support import (
    GATE_APP,
    HB,
    ZJ,
    Databases,
    Federation,
    federation,
)
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import audit_log, hub_feed, subject_regions
from yimatong.adapters.db.tallies import read_tallies
from yimatong.adapters.wire.code import encode_code, peek_code
from yimatong.credentials import Caller
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, new_claims
from yimatong.hub.registry import KEYRING_TTL, Registry


@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    pool = Databases()
    yield pool
    pool.close()


@pytest.fixture
def fed(
    db_url: str, tmp_path: Path, clock: FakeClock, databases: Databases
) -> Iterator[Federation]:
    with federation(
        hub_db=db_url,
        zj_db=databases.url(db_url, tmp_path, "zj"),
        legacy_db=databases.url(db_url, tmp_path, "hb"),
        state=tmp_path,
        clock=clock,
    ) as f:
        yield f


def problem_of(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == f"/problems/{slug}", body
    return body


def at(text: str) -> datetime:
    """An RFC 3339 time from an answer (``Z`` or ``+00:00``: the same moment)."""
    return datetime.fromisoformat(text)


def feed_summaries(fed: Federation, sid: str) -> list[Any]:
    with fed.hub.db.read() as conn:
        return list(
            conn.execute(
                select(hub_feed).where(hub_feed.c.sid == sid, hub_feed.c.kind == "summary")
            ).all()
        )


def add_summary(fed: Federation, sid: str, colour: str, assessed_at: datetime) -> None:
    """A Mode 1 summary as the issuer would have shared it."""
    now = fed.clock()
    with fed.hub.db.uow() as uow:
        uow.conn.execute(
            insert(hub_feed).values(
                seq=next_value(uow.conn, "feed"),
                sid=sid,
                kind="summary",
                region="330000",
                body={
                    "colour": colour,
                    "reasons": ["temperature.high"] if colour != "green" else [],
                    "colour_since": assessed_at.isoformat(),
                    "assessed_at": assessed_at.isoformat(),
                },
                dedupe=None,
                created_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
        uow.commit()


# ------------------------------------------------------------------------- native issuers


def test_a_zhejiang_code_is_verified_at_the_hub_with_its_issuers_current_status(
    fed: Federation,
) -> None:
    me, sid = fed.zj_citizen()
    issued = fed.zj_code(me, sid)
    fed.clock.advance(seconds=10)

    r = fed.verify(issued["code"])
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["valid"] is True
    assert answer["issuer"] == "330000"
    assert answer["issuer_kind"] == "native"
    assert answer["kind"] == "dynamic"
    assert answer["sid"] == sid
    assert answer["colour"] == "green"
    assert answer["claimed_colour"] == "green"
    assert answer["status"] == "online"
    assert answer["status_checked_at"] == fed.clock().isoformat()
    assert answer["display"] == {
        "masked_name": "张**",
        "masked_id": issued["display"]["masked_id"],
        "colour_zh": "绿码",
        "colour_en": "green",
    }
    assert at(answer["issued_at"]) == at(issued["issued_at"])
    assert at(answer["expires_at"]) == at(issued["expires_at"])
    # The hub decides under the entry policy where the checkpoint stands (default: green)
    assert answer["decision"]["outcome"] == "PASS"


def test_the_hub_answers_the_colour_the_issuer_holds_now_not_the_one_in_the_code(
    fed: Federation,
) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    r = fed.zj_http.post("/v1/declarations", json={"subject": sid, "temperature": 38.6}, headers=me)
    assert r.status_code == 201, r.text

    answer = fed.verify(code).json()
    assert (answer["colour"], answer["claimed_colour"]) == ("yellow", "green")
    assert [reason["code"] for reason in answer["reasons"]] == ["temperature.high"]
    assert answer["display"]["colour_zh"] == "黄码"
    assert answer["turns_green"] is not None


@pytest.mark.parametrize("token", ["checkpoint", "staff", "admin"])
def test_checkpoints_staff_and_administrators_may_verify(fed: Federation, token: str) -> None:
    me, sid = fed.zj_citizen()
    assert fed.verify(fed.zj_code(me, sid)["code"], token=token).status_code == 200


def test_other_roles_and_anonymous_callers_may_not(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    problem_of(fed.verify(code, token="lab"), 403, "forbidden")
    problem_of(fed.http.post("/v1/codes/verify", json={"code": code}), 401, "unauthorized")


def test_when_the_issuer_is_down_the_signed_claims_answer_and_say_so(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    issued = fed.zj_code(me, sid)
    fed.down.add(ZJ)

    answer = fed.verify(issued["code"]).json()
    assert answer["status"] == "claims"
    assert answer["colour"] == "green"
    assert at(answer["status_checked_at"]) == at(issued["issued_at"])
    assert answer["sid"] == sid
    assert answer["display"]["masked_name"] == "张**"


def test_when_the_issuer_is_down_a_newer_summary_answers(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    add_summary(fed, sid, "red", fed.clock() - timedelta(hours=1))  # older than the code
    fed.clock.advance(seconds=20)
    add_summary(fed, sid, "yellow", fed.clock())  # newer: wins
    fed.down.add(ZJ)

    answer = fed.verify(code).json()
    assert answer["status"] == "summary"
    assert (answer["colour"], answer["claimed_colour"]) == ("yellow", "green")
    assert answer["reasons"] == [{"code": "temperature.high"}]
    assert answer["status_checked_at"] == fed.clock().isoformat()
    assert answer["display"]["colour_en"] == "yellow"


def test_a_summary_older_than_the_code_does_not_override_its_claims(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    add_summary(fed, sid, "red", fed.clock() - timedelta(minutes=5))
    code = fed.zj_code(me, sid)["code"]
    fed.down.add(ZJ)
    answer = fed.verify(code).json()
    assert (answer["status"], answer["colour"]) == ("claims", "green")


def test_a_dead_issuer_is_skipped_for_a_few_seconds_then_asked_again(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid, kind="printed")["code"]
    fed.down.add(ZJ)
    assert fed.verify(code).json()["status"] == "claims"
    fed.down.discard(ZJ)
    assert fed.verify(code).json()["status"] == "claims"  # not asked again at once
    fed.clock.advance(seconds=6)
    assert fed.verify(code).json()["status"] == "online"


def test_an_issuer_that_refuses_the_hubs_credential_is_a_fallback_not_an_error(
    fed: Federation,
) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    from yimatong.credentials import revoke_credential

    with fed.zj.db.uow() as uow:
        revoke_credential(uow.conn, name="the-hub", now=fed.clock())
        uow.commit()
    fed.clock.advance(seconds=10)  # past the credential cache
    r = fed.verify(code)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "claims"


def test_an_issuer_that_refuses_the_code_makes_it_invalid(fed: Federation) -> None:
    """The issuer revoked its key before the hub heard of it: its word is final."""
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    from yimatong.adapters import keystore

    with fed.zj.db.uow() as uow:
        keystore.revoke(uow.conn, peek_code(code).kid, now=fed.clock())
        uow.commit()
    fed.clock.advance(seconds=10)  # past the issuer's keyring cache
    problem_of(fed.verify(code), 422, "invalid-code")


def test_a_revoked_kid_fails_at_the_next_trust_version(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    assert fed.verify(code).status_code == 200
    kid = peek_code(code).kid.hex()
    r = fed.http.delete(f"/v1/issuers/330000/keys/{kid}", headers=fed.as_("admin"))
    assert r.status_code == 200, r.text

    body = problem_of(fed.verify(code), 422, "invalid-code")
    assert body["detail"] == "the code is not valid"


def test_a_key_revoked_by_another_hub_worker_stops_verifying_here_within_keyring_ttl(
    fed: Federation,
) -> None:
    """Two workers on one database: the trust version is read at most every KEYRING_TTL."""
    me, sid = fed.zj_citizen()
    kid = peek_code(fed.zj_code(me, sid)["code"]).kid
    ticks = [100.0]

    def worker() -> Registry:
        ctx = fed.ctx
        return Registry(
            db=ctx.db,
            cipher=ctx.cipher,
            clock=ctx.clock,
            rng=ctx.rng,
            signing_key=ctx.hub_key,
            monotonic=lambda: ticks[0],
        )

    here, there = worker(), worker()
    assert here.keyring().get(kid).revoked_at is None  # type: ignore[union-attr]
    assert here.cached_keyring() is not None  # no database work for a second

    there.revoke_key(Caller(role="admin", name="admin"), "330000", kid.hex())
    assert there.keyring().get(kid).revoked_at is not None  # type: ignore[union-attr]
    ticks[0] += KEYRING_TTL * 0.9
    assert here.keyring().get(kid).revoked_at is None  # type: ignore[union-attr]
    ticks[0] += KEYRING_TTL * 0.1
    assert here.cached_keyring() is None
    assert here.keyring().get(kid).revoked_at is not None  # type: ignore[union-attr]


def test_a_hub_that_stops_has_written_its_counts_and_answers_again_when_started(
    fed: Federation,
) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    assert fed.verify(code).status_code == 200
    fed.http.__exit__(None, None, None)  # the server stops: the lifespan's shutdown runs
    try:
        now = fed.clock()
        with fed.hub.db.read() as conn:
            counted = read_tallies(
                conn, "mode2", now - timedelta(hours=1), now + timedelta(hours=1)
            )
            audited = conn.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.sid == sid)
            ).scalar_one()
        assert [(t.label, t.n) for t in counted] == [("verify", 1)]
        assert audited == 1
    finally:
        fed.http.__enter__()
    r = fed.verify(code)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "online"


def _forged(issuer: str, now: datetime, *, sid: str = "ab" * 16) -> str:
    claims = new_claims(
        issuer=issuer,
        sid=sid,
        colour=Colour.GREEN,
        colour_since=now,
        reasons=(),
        hours_since_negative_test=None,
        masked_name="王*",
        masked_id="33**************11",
        kind=CodeKind.DYNAMIC,
        now=now,
    )
    return encode_code(claims, generate_signing_key(Algorithm.EDDSA))


def _tampered(code: str) -> str:
    last = code[-1]
    return code[:-1] + ("1" if last != "1" else "2")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda code, now: _tampered(code), id="tampered"),
        pytest.param(lambda code, now: _forged("330000", now), id="unknown-key"),
        pytest.param(lambda code, now: _forged("520000", now), id="unknown-issuer"),
        pytest.param(lambda code, now: "YMT1:" + "A" * 40, id="garbage"),
        pytest.param(lambda code, now: "YMT1:", id="empty-body"),
        pytest.param(lambda code, now: "EUDCC:" + code[5:], id="unknown-prefix"),
        pytest.param(lambda code, now: "HBJKM:" + "0" * 32, id="unknown-legacy-code"),
        pytest.param(lambda code, now: "HBJKM:nothex", id="malformed-legacy-code"),
        pytest.param(lambda code, now: "https://example.org/?c=1", id="url"),
        pytest.param(lambda code, now: "\u0000\ufffd" * 10, id="binary"),
    ],
)
def test_bad_codes_are_one_opaque_422(fed: Federation, make: Any) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    body = problem_of(fed.verify(make(code, fed.clock())), 422, "invalid-code")
    assert body["detail"] == "the code is not valid"


def test_an_expired_code_is_invalid(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    fed.clock.advance(seconds=120)
    problem_of(fed.verify(code), 422, "invalid-code")


@pytest.mark.parametrize(
    "body",
    [
        {"code": ""},
        {"code": 7},
        {"code": "YMT1:" + "A" * 3000},
        {"code": "x", "at_region": "52"},
        {"code": "x", "temperature": 80},
        {"code": "x", "temperature": True},
        {"code": "x", "place_kind": "DROP TABLE"},
        {"code": "x", "surprise": 1},
        ["not", "an", "object"],
    ],
)
def test_malformed_requests_are_invalid_input(fed: Federation, body: Any) -> None:
    r = fed.http.post("/v1/codes/verify", json=body, headers=fed.as_("checkpoint"))
    problem_of(r, 422, "invalid-input")


def test_a_body_that_is_not_json_is_a_problem(fed: Federation) -> None:
    r = fed.http.post(
        "/v1/codes/verify",
        content=b"{not json",
        headers={**fed.as_("checkpoint"), "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")


# ------------------------------------------------------------------------- the decision seam


def test_a_decider_adds_the_decision_under_the_region_asked_for(fed: Federation) -> None:
    seen: list[dict[str, Any]] = []

    def decider(verification: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append({"colour": verification["colour"], **kwargs})
        return {"outcome": "PASS", "policy": kwargs["at_region"]}

    fed.ctx.decider = decider
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]

    answer = fed.verify(code, at_region="330000", temperature=36.6, place_kind="transport").json()
    assert answer["decision"] == {"outcome": "PASS", "policy": "330000"}
    assert seen[-1] == {
        "colour": "green",
        "at_region": "330000",
        "place_kind": "transport",
        "temperature": 36.6,
        "now": fed.clock(),
    }
    # A checkpoint's credential is scoped to where it stands (520000): its default region.
    assert fed.verify(code).json()["decision"]["policy"] == "520000"
    # Without a region there is no policy to apply.
    assert "decision" not in fed.verify(code, token="unscoped-checkpoint").json()


def test_a_broken_decider_asks_for_a_check_instead_of_failing(fed: Federation) -> None:
    def decider(verification: Any, **kwargs: Any) -> dict[str, Any]:
        raise ZeroDivisionError

    fed.ctx.decider = decider
    me, sid = fed.zj_citizen()
    r = fed.verify(fed.zj_code(me, sid)["code"], at_region="330000")
    assert r.status_code == 200, r.text
    assert r.json()["decision"]["outcome"] == "CHECK"


# ------------------------------------------------------------------------- legacy codes


@pytest.mark.parametrize(
    ("status", "colour"), [("00", "green"), ("01", "yellow"), ("10", "red"), ("11", "red")]
)
def test_hubei_legacy_codes_map_to_the_shared_colours(
    fed: Federation, status: str, colour: str
) -> None:
    _, code, id_number = fed.hb_person(status=status)
    r = fed.verify(code)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["valid"] is True
    assert (answer["issuer"], answer["issuer_kind"], answer["kind"]) == (
        "420000",
        "legacy",
        "legacy",
    )
    assert answer["colour"] == colour
    assert answer["reasons"] == [{"code": f"legacy.status-{status}", "legacy_status": status}]
    assert answer["status"] == "online"
    assert answer["display"]["masked_name"] == "李*"
    assert answer["display"]["masked_id"] == id_number[:2] + "*" * 14 + id_number[-2:]
    assert answer["sid"] is not None
    assert "issued_at" not in answer and "claimed_colour" not in answer


def test_a_legacy_verification_is_shared_as_a_summary_for_other_regions(fed: Federation) -> None:
    user_id, code, _ = fed.hb_person(status="01")
    sid = fed.verify(code).json()["sid"]

    rows = feed_summaries(fed, sid)
    assert len(rows) == 1
    assert rows[0].region == "420000"
    assert rows[0].body["colour"] == "yellow"
    assert rows[0].body["reasons"] == ["legacy.status-01"]
    assert rows[0].body["assessed_at"] == fed.clock().isoformat()
    assert rows[0].expires_at > fed.clock()
    with fed.hub.db.read() as conn:
        regions = conn.execute(
            select(subject_regions.c.region).where(subject_regions.c.sid == sid)
        ).all()
    assert [r.region for r in regions] == ["420000"]

    # The same verdict again is not news; a changed colour is.
    fed.clock.advance(minutes=5)
    fed.verify(code)
    assert len(feed_summaries(fed, sid)) == 1
    fed.legacy.service.store.set_status(user_id, "10", now=fed.clock())
    assert fed.verify(code).json()["colour"] == "red"
    rows = feed_summaries(fed, sid)
    assert [r.body["colour"] for r in rows] == ["yellow", "red"]


def test_a_legacy_test_result_becomes_hours_since_a_negative_test(fed: Federation) -> None:
    tested = fed.clock() - timedelta(hours=30)
    _, code, _ = fed.hb_person(test_result="阴性", test_time=tested)
    assert fed.verify(code).json()["hours_since_negative_test"] == 30


def test_legacy_system_down_is_unavailable_never_invalid(fed: Federation) -> None:
    _, code, _ = fed.hb_person()
    fed.down.add(HB)
    body = problem_of(fed.verify(code), 503, "unavailable")
    assert "420000" in body["detail"]


def test_legacy_system_on_a_closed_port_is_unavailable(fed: Federation) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = fed.http.post(
        "/v1/issuers",
        json={
            "region": "420000",
            "name": "湖北省",
            "kind": "legacy",
            "endpoint": f"http://127.0.0.1:{port}",
            "legacy_prefix": "HBJKM:",
            "outbound_token": "k:s" * 8,
        },
        headers=fed.as_("admin"),
    )
    assert r.status_code == 201, r.text
    _, code, _ = fed.hb_person()
    problem_of(fed.verify(code), 503, "unavailable")


def test_a_legacy_issuer_without_partner_credentials_is_unavailable(fed: Federation) -> None:
    r = fed.http.post(
        "/v1/issuers",
        json={
            "region": "420000",
            "name": "湖北省",
            "kind": "legacy",
            "endpoint": HB,
            "legacy_prefix": "HBJKM:",
        },
        headers=fed.as_("admin"),
    )
    assert r.status_code == 201, r.text
    # Registered again without outbound_token: the stored one is kept (registry semantics)...
    _, code, _ = fed.hb_person()
    assert fed.verify(code).status_code == 200
    # ...while wrong credentials are the hub's misconfiguration, told as "cannot check now".
    r = fed.http.post(
        "/v1/issuers",
        json={
            "region": "420000",
            "name": "湖北省",
            "kind": "legacy",
            "endpoint": HB,
            "legacy_prefix": "HBJKM:",
            "outbound_token": f"{GATE_APP.app_key}:wrong-secret-000000",
        },
        headers=fed.as_("admin"),
    )
    assert r.status_code == 201, r.text
    body = problem_of(fed.verify(code), 503, "unavailable")
    assert "appSecret" in body["detail"]


def test_nothing_is_500_for_a_stream_of_odd_codes(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    _, legacy, _ = fed.hb_person()
    odd = [code[: n * 7] for n in range(1, 20)] + [legacy[:-1], legacy + "0", legacy.upper()]
    odd += [base64.b64encode(code.encode()).decode()[:2000], "YMT1:" + code]
    for candidate in odd:
        r = fed.verify(candidate)
        assert r.status_code in (200, 422), (candidate[:20], r.status_code, r.text)


def test_summaries_written_by_the_hub_carry_no_identity(fed: Federation) -> None:
    _, code, id_number = fed.hb_person()
    fed.verify(code)
    with fed.hub.db.read() as conn:
        count = conn.execute(select(func.count()).select_from(hub_feed)).scalar_one()
        bodies = [str(r.body) for r in conn.execute(select(hub_feed.c.body)).all()]
    assert count == 1
    assert all(id_number not in b and "李" not in b for b in bodies)


def test_a_checkpoint_needs_no_clock_sync_with_the_hub(fed: Federation) -> None:
    """Times in answers are the hub's, with an offset (RFC 3339)."""
    me, sid = fed.zj_citizen()
    answer = fed.verify(fed.zj_code(me, sid)["code"]).json()
    parsed = datetime.fromisoformat(answer["status_checked_at"])
    assert parsed.tzinfo is not None and parsed == fed.clock().astimezone(UTC)
