"""Mode 2 conversion: any region's valid code → a national code signed by the hub (iss 000000).

Public (the code is the proof), rate-limited per address, on each database backend.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock
from tests.integration.modes_support import (
    FEDERATION_SECRET,
    GATE_APP,
    HB,
    ZJ,
    Databases,
    Federation,
    federation,
)
from yimatong.adapters.crypto import load_verifying_key
from yimatong.adapters.wire.code import Keyring, TrustedKey, verify_code_at
from yimatong.domain.facts import Colour
from yimatong.domain.identity import DocumentType, subject_id
from yimatong.domain.token import CodeKind
from yimatong.hub.codes_answer import Verification, national_claims
from yimatong.hub.registry import NATIONAL


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


def convert(fed: Federation, code: str, **headers: str) -> Any:
    return fed.http.post("/v1/codes/convert", json={"code": code}, headers=headers)


def hub_keyring(fed: Federation) -> Keyring:
    """Only the hub's own key, from the public trust list: what a verifier pins."""
    document = fed.http.get("/v1/trust-list").json()
    keys = [k for k in document["payload"]["keys"] if k["region"] == NATIONAL]
    return Keyring(
        TrustedKey.for_key(
            load_verifying_key(base64.b64decode(k["public_key"])),
            issuer=NATIONAL,
            not_before=datetime.fromisoformat(k["not_before"]),
        )
        for k in keys
    )


def test_a_zhejiang_code_converts_to_a_national_code_signed_by_the_hub(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    issued = fed.zj_code(me, sid)

    r = convert(fed, issued["code"])  # anonymous: the code is the proof
    assert r.status_code == 200, r.text
    national = r.json()
    assert national["issuer"] == NATIONAL
    assert national["source_issuer"] == "330000"
    assert national["source_issuer_kind"] == "native"
    assert national["source_status"] == "online"
    assert national["colour"] == "green"
    assert national["kind"] == "dynamic"
    assert national["display"] == issued["display"]

    claims = verify_code_at(national["code"], hub_keyring(fed), fed.clock())
    assert claims.issuer == NATIONAL
    assert claims.sid == sid
    assert claims.kind is CodeKind.DYNAMIC
    assert claims.expires_at - claims.issued_at == timedelta(seconds=60)
    assert datetime.fromisoformat(national["expires_at"]) == claims.expires_at
    assert (claims.masked_name, claims.masked_id) == (
        issued["display"]["masked_name"],
        issued["display"]["masked_id"],
    )

    # ...and the hub's own verify recognises it: the claims are the status.
    answer = fed.verify(national["code"]).json()
    assert (answer["issuer"], answer["issuer_kind"], answer["status"]) == (
        NATIONAL,
        "national",
        "claims",
    )
    assert answer["sid"] == sid
    assert answer["colour"] == "green"


def test_a_national_code_carries_the_current_colour(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    fed.zj_http.post("/v1/declarations", json={"subject": sid, "temperature": 38.9}, headers=me)
    national = convert(fed, code).json()
    assert national["colour"] == "yellow"
    claims = verify_code_at(national["code"], hub_keyring(fed), fed.clock())
    assert claims.reasons == ("temperature.high",)


def test_a_national_code_expires_in_a_minute(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    national = convert(fed, fed.zj_code(me, sid)["code"]).json()["code"]
    fed.clock.advance(seconds=95)
    r = fed.verify(national)
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/invalid-code"


def test_a_national_code_is_not_converted_again(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    national = convert(fed, fed.zj_code(me, sid)["code"]).json()["code"]
    r = convert(fed, national)
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/invalid-input"


def test_a_hubei_legacy_code_converts_with_its_pseudonym(fed: Federation) -> None:
    _, code, id_number = fed.hb_person(status="01")
    r = convert(fed, code)
    assert r.status_code == 200, r.text
    national = r.json()
    assert (national["source_issuer"], national["source_issuer_kind"]) == ("420000", "legacy")
    assert national["colour"] == "yellow"
    claims = verify_code_at(national["code"], hub_keyring(fed), fed.clock())
    assert claims.sid == subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, id_number)
    assert claims.reasons == ("legacy.status-01",)
    assert claims.masked_name == "李*"


def test_a_legacy_code_without_a_pseudonym_cannot_be_converted(fed: Federation) -> None:
    """The hub's partner app lacks fullIdentity: the verdict has no sid, so no national code."""
    r = fed.http.post(
        "/v1/issuers",
        json={
            "region": "420000",
            "name": "湖北省",
            "kind": "legacy",
            "endpoint": HB,
            "legacy_prefix": "HBJKM:",
            "outbound_token": f"{GATE_APP.app_key}:{GATE_APP.app_secret}",
        },
        headers=fed.as_("admin"),
    )
    assert r.status_code == 201, r.text
    _, code, _ = fed.hb_person()
    answer = fed.verify(code).json()
    assert answer["sid"] is None and answer["colour"] == "green"
    r = convert(fed, code)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["type"] == "/problems/invalid-input"
    assert "did not disclose who holds this code" in body["detail"]


def test_a_printed_card_is_converted_only_with_a_fresh_status(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    card = fed.zj_code(me, sid, kind="printed")["code"]
    fed.down.add(ZJ)
    r = convert(fed, card)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "/problems/unavailable"
    # A dynamic code is a minute old at most: its signed colour will do, and says so.
    national = convert(fed, fed.zj_code(me, sid)["code"]).json()
    assert national["source_status"] == "claims"


def test_invalid_codes_do_not_convert(fed: Federation) -> None:
    for bad in ("YMT1:AAAA", "HBJKM:" + "f" * 32, "nothing"):
        r = convert(fed, bad)
        assert r.status_code == 422, r.text
        assert r.json()["type"] == "/problems/invalid-code"


def test_conversion_is_rate_limited_per_address(fed: Federation) -> None:
    me, sid = fed.zj_citizen()
    code = fed.zj_code(me, sid)["code"]
    answers = [convert(fed, code).status_code for _ in range(10)]
    assert answers == [200] * 10
    r = convert(fed, code)
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/too-many-requests"
    assert int(r.headers["Retry-After"]) >= 1
    # Bad codes count too: the limit protects the signature checks and the issuers.
    assert convert(fed, "YMT1:AAAA").status_code == 429
    fed.clock.advance(seconds=1)
    assert convert(fed, code).status_code == 200


# ------------------------------------------------------------------------- the pure parts


def verification(**changes: Any) -> Verification:
    values: dict[str, Any] = {
        "issuer": "420000",
        "issuer_kind": "legacy",
        "kind": "legacy",
        "sid": "cd" * 16,
        "colour": "red",
        "reasons": ({"code": "legacy.status-10"},),
        "masked_name": "李*",
        "masked_id": "42**************17",
        "status": "online",
        "status_checked_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    }
    values.update(changes)
    return Verification(**values)


def test_national_claims_keep_only_what_a_code_may_carry(clock: FakeClock) -> None:
    many = [{"code": f"rule.r{n}"} for n in range(40)]
    odd = ({"code": "Not A Code!"}, {"code": "x" * 65}, *many)
    claims = national_claims(verification(reasons=odd), clock())
    assert claims.issuer == NATIONAL
    assert claims.colour is Colour.RED
    assert claims.reasons == tuple(f"rule.r{n}" for n in range(16))
    assert claims.colour_since == clock()  # unknown: from now


def test_national_claims_never_carry_an_unmasked_identity(clock: FakeClock) -> None:
    claims = national_claims(
        verification(masked_name="李四", masked_id="420102198001011234"), clock()
    )
    assert (claims.masked_name, claims.masked_id) == ("", "")
