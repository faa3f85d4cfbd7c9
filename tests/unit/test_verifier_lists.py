"""Signed lists at the checkpoint: chains of deltas, hub-key rollover and revocation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.adapters.signed import BadDocument, sign_document
from yimatong.verifier.lists import build_policies, build_risk, build_trust

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
K1 = signing_key_from_seed(Algorithm.EDDSA, b"\x01" * 32)
K2 = signing_key_from_seed(Algorithm.EDDSA, b"\x02" * 32)
ISSUER = signing_key_from_seed(Algorithm.EDDSA, b"\x03" * 32)


def key_row(
    key: SigningKey, region: str, version: int, revoked: datetime | None = None
) -> dict[str, Any]:
    return {
        "kid": key.kid.hex(),
        "region": region,
        "alg": key.alg.value,
        "public_key": base64.b64encode(key.public.spki_der()).decode(),
        "not_before": (NOW - timedelta(days=1)).isoformat(),
        "not_after": None,
        "revoked_at": revoked.isoformat() if revoked else None,
        "version": version,
    }


def issuer_row(
    region: str, version: int, status: str = "active", kind: str = "native"
) -> dict[str, Any]:
    return {
        "region": region,
        "name": region,
        "kind": kind,
        "endpoint": None,
        "legacy_prefix": "HBJKM:" if kind == "legacy" else None,
        "status": status,
        "version": version,
    }


def trust(
    signer: SigningKey, version: int, since: int, issuers: list[Any], keys: list[Any]
) -> dict[str, Any]:
    payload = {
        "type": "trust-list",
        "version": version,
        "since": since,
        "issued_at": NOW.isoformat(),
        "issuers": issuers,
        "keys": keys,
    }
    return sign_document(payload, signer)


FULL = trust(
    K1,
    3,
    0,
    [
        issuer_row("000000", 1, kind="national"),
        issuer_row("330000", 2),
        issuer_row("420000", 3, kind="legacy"),
    ],
    [key_row(K1, "000000", 1), key_row(ISSUER, "330000", 2)],
)


def test_a_full_list_gives_the_keyring_and_the_legacy_prefixes() -> None:
    state = build_trust([FULL], {K1.kid: K1.public})
    assert state.version == 3 and ISSUER.kid in state.keyring and K1.kid in state.keyring
    assert state.legacy == (("HBJKM:", "420000"),)
    assert state.issuer_kind("330000") == "native"


def test_deltas_must_follow_each_other() -> None:
    delta = trust(K1, 5, 3, [issuer_row("330000", 5, status="suspended")], [])
    state = build_trust([FULL, delta], {K1.kid: K1.public})
    assert state.version == 5 and ISSUER.kid not in state.keyring  # suspended: its codes fail
    gap = trust(K1, 9, 7, [], [])
    with pytest.raises(BadDocument, match="does not follow"):
        build_trust([FULL, gap], {K1.kid: K1.public})
    with pytest.raises(BadDocument, match="full list"):
        build_trust([delta], {K1.kid: K1.public})


def test_a_hub_key_rolls_over_when_a_trusted_key_introduces_it() -> None:
    introduce = trust(K1, 4, 3, [], [key_row(K2, "000000", 4)])
    signed_by_new = trust(K2, 5, 4, [issuer_row("520000", 5)], [])
    state = build_trust([FULL, introduce, signed_by_new], {K1.kid: K1.public})
    assert K2.kid in state.hub_keys and "520000" in state.issuers
    # The new key on its own, never introduced: refused.
    with pytest.raises(BadDocument, match="unknown key"):
        build_trust([FULL, signed_by_new], {K1.kid: K1.public})
    with pytest.raises(BadDocument):
        build_trust([trust(K2, 3, 0, [], [key_row(K2, "000000", 1)])], {K1.kid: K1.public})


def test_a_revoked_hub_key_signs_nothing_after_its_revocation() -> None:
    introduce = trust(K1, 4, 3, [], [key_row(K2, "000000", 4)])
    revoke = trust(K2, 5, 4, [], [key_row(K1, "000000", 5, revoked=NOW)])
    state = build_trust([FULL, introduce, revoke], {K1.kid: K1.public})
    assert K1.kid not in state.hub_keys and state.hub_key_revoked
    after = trust(K1, 6, 5, [], [])
    with pytest.raises(BadDocument):
        build_trust([FULL, introduce, revoke, after], {K1.kid: K1.public})


def test_a_tampered_document_fails() -> None:
    doc = trust(K1, 3, 0, [], [key_row(K1, "000000", 1)])
    doc["payload"]["keys"].append(key_row(K2, "000000", 2))
    with pytest.raises(BadDocument, match="bad signature"):
        build_trust([doc], {K1.kid: K1.public})


def test_risk_areas_merge_by_period_id() -> None:
    def risk(version: int, since: int, periods: list[Any]) -> dict[str, Any]:
        return sign_document(
            {
                "type": "risk-areas",
                "version": version,
                "since": since,
                "issued_at": NOW.isoformat(),
                "periods": periods,
            },
            K1,
        )

    start = (NOW - timedelta(days=2)).isoformat()
    full = risk(
        2,
        0,
        [{"id": 1, "area": "330106002", "level": "high", "from": start, "to": None, "version": 2}],
    )
    lowered = risk(
        3,
        2,
        [
            {
                "id": 1,
                "area": "330106002",
                "level": "high",
                "from": start,
                "to": (NOW - timedelta(days=1)).isoformat(),
                "version": 3,
            }
        ],
    )
    keys = {K1.kid: K1.public}
    assert build_risk([full], keys).level("330106002", NOW) == "high"
    assert build_risk([full, lowered], keys).level("330106002", NOW) == "low"


def test_policies_must_be_the_regions_own() -> None:
    doc = sign_document(
        {
            "type": "policies",
            "region": "330000",
            "version": 1,
            "issued_at": NOW.isoformat(),
            "governed_by": [],
            "national_default": True,
            "policies": [],
        },
        K1,
    )
    assert build_policies([doc], {K1.kid: K1.public}, "330000").version == 1
    with pytest.raises(BadDocument):
        build_policies([doc], {K1.kid: K1.public}, "520000")
