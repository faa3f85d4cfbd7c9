"""The travel code on the wire (adapters/wire/travel_code.py): round trip, refusals, and that a
travel code and a health code are never read as each other."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import cbor2
import pytest

from yimatong.adapters.crypto import Algorithm, signing_key_from_seed
from yimatong.adapters.wire.base45 import b45encode
from yimatong.adapters.wire.code import Keyring, TrustedKey, encode_code, verify_code_at
from yimatong.adapters.wire.cose import sign1
from yimatong.adapters.wire.travel_code import (
    TRAVEL_CLAIMS_KEY,
    TRAVEL_PREFIX,
    encode_travel_code,
    verify_travel_code_at,
)
from yimatong.domain.errors import ExpiredCode, InvalidCode
from yimatong.domain.facts import Colour, RiskLevel, StaySource
from yimatong.domain.token import CodeKind, new_claims
from yimatong.domain.travel import MAX_CODE_CITIES, TravelClaims, TravelCodeCity

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
ED = signing_key_from_seed(Algorithm.EDDSA, bytes(range(32)))
OTHER = signing_key_from_seed(Algorithm.EDDSA, bytes(range(1, 33)))
RING = Keyring([TrustedKey.for_key(ED.public, issuer="520000", not_before=NOW - timedelta(days=9))])
SID = "ab" * 16


def claims(**changes: object) -> TravelClaims:
    base = TravelClaims(
        issuer="520000",
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
        sid=SID,
        masked_name="张*",
        masked_id="52**************12",
        window_days=14,
        min_stay_minutes=240,
        cities=(
            TravelCodeCity("330100", RiskLevel.HIGH, (StaySource.SCAN, StaySource.RAIL)),
            TravelCodeCity("520100", None, (StaySource.SELF,)),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_travel_code_round_trips_with_its_stars_and_sources() -> None:
    code = encode_travel_code(claims(), ED)
    assert code.startswith(TRAVEL_PREFIX)
    assert verify_travel_code_at(code, RING, NOW + timedelta(seconds=5)) == claims()


def test_the_health_verifier_refuses_a_travel_code() -> None:
    code = encode_travel_code(claims(), ED)
    with pytest.raises(InvalidCode) as refused:
        verify_code_at(code, RING, NOW)
    assert refused.value.detail == "unknown prefix"


def test_a_travel_payload_under_the_health_prefix_is_refused_at_its_claims() -> None:
    travel = encode_travel_code(claims(), ED)
    swapped = "YMT1:" + travel[len(TRAVEL_PREFIX) :]
    with pytest.raises(InvalidCode) as refused:
        verify_code_at(swapped, RING, NOW)
    assert refused.value.detail == "malformed: claims"


def test_the_travel_verifier_refuses_a_health_code_both_ways() -> None:
    health = new_claims(
        issuer="520000",
        sid=SID,
        colour=Colour.GREEN,
        colour_since=NOW,
        reasons=(),
        hours_since_negative_test=None,
        masked_name="张*",
        masked_id="52**12",
        kind=CodeKind.DYNAMIC,
        now=NOW,
    )
    code = encode_code(health, ED)
    with pytest.raises(InvalidCode) as refused:
        verify_travel_code_at(code, RING, NOW)
    assert refused.value.detail == "unknown prefix"
    with pytest.raises(InvalidCode) as refused:
        verify_travel_code_at(TRAVEL_PREFIX + code[len("YMT1:") :], RING, NOW)
    assert refused.value.detail == "malformed: claims"


def test_a_travel_code_is_refused_when_expired_forged_or_unknown() -> None:
    code = encode_travel_code(claims(), ED)
    with pytest.raises(ExpiredCode):
        verify_travel_code_at(code, RING, NOW + timedelta(minutes=5))
    other = Keyring([TrustedKey.for_key(OTHER.public, issuer="520000", not_before=NOW)])
    with pytest.raises(InvalidCode) as refused:
        verify_travel_code_at(code, other, NOW)
    assert refused.value.detail == "unknown kid"
    wrong_region = Keyring(
        [TrustedKey.for_key(ED.public, issuer="330000", not_before=NOW - timedelta(days=1))]
    )
    with pytest.raises(InvalidCode) as refused:
        verify_travel_code_at(code, wrong_region, NOW)
    assert refused.value.detail == "issuer mismatch"


def test_forged_claims_of_a_travel_code_are_malformed() -> None:
    def forge(private: dict[object, object]) -> str:
        cwt = {1: "520000", 4: int(NOW.timestamp()) + 60, 6: int(NOW.timestamp())}
        cwt[TRAVEL_CLAIMS_KEY] = private
        return TRAVEL_PREFIX + b45encode(sign1(cbor2.dumps(cwt), ED))

    good = {
        1: 1,
        2: bytes(16),
        3: "",
        4: "",
        5: 14,
        6: 240,
        7: [["330100", 2, 1]],
        8: False,
    }
    assert verify_travel_code_at(forge(good), RING, NOW).cities[0].star is RiskLevel.HIGH
    for bad in (
        {**good, 7: [["330100", 3, 1]]},  # no such star
        {**good, 7: [["3301", 0, 1]]},  # not a city code
        {**good, 7: [["330100", 0, 1 << 9]]},  # no such source
        {**good, 3: "张三"},  # an unmasked name
        {**good, 8: 0},
        {k: v for k, v in good.items() if k != 8},
    ):
        with pytest.raises(InvalidCode) as refused:
            verify_travel_code_at(forge(bad), RING, NOW)
        assert refused.value.detail == "malformed: claims"
    with pytest.raises(InvalidCode) as refused:
        verify_travel_code_at(forge({**good, 1: 2}), RING, NOW)
    assert refused.value.detail == "unsupported version"


def test_the_largest_travel_code_fits_the_code_length() -> None:
    many = tuple(
        TravelCodeCity(f"{110000 + i * 100}", RiskLevel.MEDIUM, tuple(StaySource))
        for i in range(MAX_CODE_CITIES)
    )
    code = encode_travel_code(claims(cities=many, truncated=True), ED)
    assert verify_travel_code_at(code, RING, NOW).truncated
    with pytest.raises(ValueError):
        claims(cities=(*many, many[0]))
