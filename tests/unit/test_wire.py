"""COSE_Sign1 and the YMT1 code: round trips, every refusal, and properties over random input.

Codes that must fail are forged with cbor2 and the reference `base45` package directly
(``forge`` below), not with our encoder, so a bug shared by encoder and decoder cannot hide.
"""

from __future__ import annotations

import contextlib
import random
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import base45 as reference_b45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yimatong.adapters.crypto import Algorithm, BadSignature, SigningKey, signing_key_from_seed
from yimatong.adapters.wire import code as wire_code
from yimatong.adapters.wire.base45 import ALPHABET, b45decode, b45encode, encoded_length
from yimatong.adapters.wire.code import (
    CLAIMS_KEY,
    MAX_CODE_LENGTH,
    PREFIX,
    CodePeek,
    Keyring,
    TrustedKey,
    encode_code,
    peek_code,
    verify_code,
    verify_code_at,
)
from yimatong.adapters.wire.cose import parse_sign1, sig_structure, sign1, verify_sign1
from yimatong.domain.errors import InvalidCode
from yimatong.domain.facts import Colour
from yimatong.domain.token import (
    MAX_MASKED_LENGTH,
    MAX_REASONS,
    CodeKind,
    HealthClaims,
    new_claims,
)

NOW = datetime(2022, 1, 10, 8, 0, tzinfo=UTC)
EPOCH = datetime(2021, 1, 1, tzinfo=UTC)  # every test key is valid from here
ED = signing_key_from_seed(Algorithm.EDDSA, bytes(range(32)))
ES = signing_key_from_seed(Algorithm.ES256, bytes(range(32)))
OTHER_ED = signing_key_from_seed(Algorithm.EDDSA, bytes(range(1, 33)))
RING = Keyring(
    [
        TrustedKey.for_key(ED.public, issuer="330000", not_before=EPOCH),
        TrustedKey.for_key(ES.public, issuer="330000", not_before=EPOCH),
    ]
)
ZLIB_FIRST_BYTE = 0x78

DETAILS = {
    "too long",
    "unknown prefix",
    "malformed: not text",
    "malformed: base45",
    "malformed: zlib",
    "inflates too large",
    "malformed: COSE",
    "unknown kid",
    "algorithm mismatch",
    "bad signature",
    "malformed: claims",
    "unsupported version",
    "issuer mismatch",
    "key revoked",
    "key not valid at issue time",
    "issued in the future",
    "expired",
}


def claims_at(now: datetime = NOW, **overrides: Any) -> HealthClaims:
    args: dict[str, Any] = {
        "issuer": "330000",
        "sid": "5f1d3a0c9b7e42d8a6c3e1f0b4d29a87",
        "colour": Colour.YELLOW,
        "colour_since": now - timedelta(days=3),
        "reasons": ("stay.medium-risk",),
        "hours_since_negative_test": 30,
        "masked_name": "张*",
        "masked_id": "3301**********1234",
        "kind": CodeKind.DYNAMIC,
        "now": now,
    }
    args.update(overrides)
    return new_claims(**args)


def cwt_of(claims: HealthClaims) -> dict[int, Any]:
    """The CWT claims set as the format document describes it, built by hand."""
    return {
        1: claims.issuer,
        4: int(claims.expires_at.timestamp()),
        6: int(claims.issued_at.timestamp()),
        CLAIMS_KEY: {
            1: claims.version,
            2: bytes.fromhex(claims.sid),
            3: {"green": 0, "yellow": 1, "red": 2}[claims.colour.value],
            4: int(claims.colour_since.timestamp()),
            5: list(claims.reasons),
            6: claims.hours_since_negative_test,
            7: claims.masked_name,
            8: claims.masked_id,
            9: {"dynamic": 0, "printed": 1}[claims.kind.value],
        },
    }


def forge(
    payload: Any,
    key: SigningKey = ED,
    *,
    alg: Any = None,
    kid: Any = None,
    protected: bytes | None = None,
    unprotected: Any = None,
    signature: bytes | None = None,
    tagged: bool = True,
    compress: bool = False,
    tail: bytes = b"",
) -> str:
    """A code built with cbor2 + the reference base45, bypassing our encoder."""
    if not isinstance(payload, bytes):
        payload = cbor2.dumps(payload, canonical=True)
    if protected is None:
        protected = cbor2.dumps(
            {1: key.alg.value if alg is None else alg, 4: key.kid if kid is None else kid},
            canonical=True,
        )
    if signature is None:
        signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    items = [protected, {} if unprotected is None else unprotected, payload, signature]
    cose = cbor2.dumps(cbor2.CBORTag(18, items) if tagged else items) + tail
    body = zlib.compress(cose, 9) if compress else cose
    encoded: bytes = reference_b45.b45encode(body)
    return PREFIX + encoded.decode("ascii")


def body_of(code: str) -> bytes:
    """The COSE bytes of a code, inflated if need be (independent decoding)."""
    raw = reference_b45.b45decode(code[len(PREFIX) :])
    return zlib.decompress(raw) if raw[0] == ZLIB_FIRST_BYTE else raw


def detail_of(code: Any, ring: Keyring = RING, now: datetime = NOW, **kwargs: Any) -> str:
    with pytest.raises(InvalidCode) as excinfo:
        verify_code_at(code, ring, now, **kwargs)
    detail: str = excinfo.value.detail
    assert detail in DETAILS
    assert str(excinfo.value) == "the code is not valid"
    return detail


# --------------------------------------------------------------------------------------------
# COSE_Sign1


def test_sign1_is_a_tagged_cose_sign1_that_cbor2_reads() -> None:
    msg = sign1(b"payload", ED)
    tag = cbor2.loads(msg)
    assert isinstance(tag, cbor2.CBORTag)
    assert tag.tag == 18
    protected, unprotected, payload, signature = tag.value
    assert cbor2.loads(protected) == {1: -8, 4: ED.kid}
    assert dict(unprotected) == {}
    assert payload == b"payload"
    ED.public.verify(signature, cbor2.dumps(["Signature1", protected, b"", b"payload"]))


@pytest.mark.parametrize("aad", [b"", b"x", bytes(300)])
@pytest.mark.parametrize("size", [0, 23, 24, 255, 256, 70000])
def test_sig_structure_matches_cbor2(aad: bytes, size: int) -> None:
    protected, payload = b"\xa1\x01\x27", bytes(size)
    assert sig_structure(protected, payload, aad) == cbor2.dumps(
        ["Signature1", protected, aad, payload]
    )


@pytest.mark.parametrize("tagged", [True, False])
def test_parse_sign1_reads_tagged_and_untagged(tagged: bool) -> None:
    data = body_of(forge(b"hello", ES, tagged=tagged))
    msg = parse_sign1(data)
    assert (msg.alg, msg.kid, msg.payload) == (-7, ES.kid, b"hello")
    verify_sign1(msg, ES.public)


def test_verify_sign1_refuses_other_keys_and_algorithms() -> None:
    msg = parse_sign1(sign1(b"p", ED))
    with pytest.raises(BadSignature):
        verify_sign1(msg, OTHER_ED.public)
    with pytest.raises(BadSignature, match="algorithm"):
        verify_sign1(replace(msg, alg=-7), ED.public)
    with pytest.raises(BadSignature):
        verify_sign1(replace(msg, payload=b"q"), ED.public)


def _good_items() -> list[Any]:
    return list(cbor2.loads(sign1(b"p", ED)).value)


def _encode(items: Any, tag: int | None = 18) -> bytes:
    return cbor2.dumps(items if tag is None else cbor2.CBORTag(tag, items))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff", id="not-cbor"),
        pytest.param(_encode(_good_items(), tag=98), id="cose-sign-tag"),
        pytest.param(_encode(_good_items()[:3]), id="three-items"),
        pytest.param(_encode([*_good_items(), b""]), id="five-items"),
        pytest.param(_encode({"a": 1}), id="map"),
        pytest.param(_encode(_good_items()) + b"\x00", id="trailing-byte"),
        pytest.param(_encode([_good_items()[0], {4: b"k"}, *_good_items()[2:]]), id="unprotected"),
        pytest.param(_encode([b"", {}, b"p", b"s"]), id="empty-protected"),
        pytest.param(_encode([cbor2.dumps({1: -8}), {}, b"p", b"s"]), id="no-kid"),
        pytest.param(_encode([cbor2.dumps({4: b"k"}), {}, b"p", b"s"]), id="no-alg"),
        pytest.param(_encode([cbor2.dumps({1: "EdDSA", 4: b"k"}), {}, b"p", b"s"]), id="text-alg"),
        pytest.param(_encode([cbor2.dumps({1: True, 4: b"k"}), {}, b"p", b"s"]), id="bool-alg"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: "k"}), {}, b"p", b"s"]), id="text-kid"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: b""}), {}, b"p", b"s"]), id="empty-kid"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: bytes(33)}), {}, b"p", b"s"]), id="long-kid"),
        pytest.param(
            _encode([cbor2.dumps({1: -8, 4: b"k", 3: 0}), {}, b"p", b"s"]), id="extra-label"
        ),
        pytest.param(
            _encode([cbor2.dumps({4: b"k", 1: -8}), {}, b"p", b"s"]), id="unsorted-header"
        ),
        pytest.param(_encode([b"\xa2\x01\x38\x07\x04\x41k", {}, b"p", b"s"]), id="long-form-alg"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: b"k"}) + b"\x00", {}, b"p", b"s"]), id="hdr+"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: b"k"}), {}, "p", b"s"]), id="text-payload"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: b"k"}), {}, None, b"s"]), id="detached"),
        pytest.param(_encode([cbor2.dumps({1: -8, 4: b"k"}), [], b"p", b"s"]), id="array-unprot"),
        pytest.param(b"\xd2\x84\x58\x0d" + cbor2.dumps(_good_items())[2:], id="long-length"),
        pytest.param(b"\xd2\x9f" + cbor2.dumps(_good_items())[1:] + b"\xff", id="indefinite"),
        pytest.param(b"\x81" * 50 + b"\x00", id="deep"),
    ],
)
def test_parse_sign1_is_strict(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_sign1(data)


# --------------------------------------------------------------------------------------------
# Round trips


@pytest.fixture(params=["EdDSA", "ES256", "SM2-SM3"])
def any_key(request: pytest.FixtureRequest) -> SigningKey:
    alg = Algorithm.from_label(request.param)
    if alg is Algorithm.SM2_SM3:
        pytest.importorskip("tongsuopy")
    return signing_key_from_seed(alg, bytes(range(32)))


@pytest.mark.parametrize("kind", list(CodeKind))
def test_round_trip_every_algorithm(any_key: SigningKey, kind: CodeKind) -> None:
    claims = claims_at(kind=kind)
    code = encode_code(claims, any_key)
    assert code.startswith(PREFIX)
    assert set(code[len(PREFIX) :]) <= set(ALPHABET)
    ring = Keyring([TrustedKey.for_key(any_key.public, issuer="330000", not_before=EPOCH)])
    assert verify_code_at(code, ring, NOW) == claims
    assert peek_code(code) == CodePeek(kid=any_key.kid, issuer="330000")


def test_the_payload_is_the_documented_cwt() -> None:
    claims = claims_at(hours_since_negative_test=None, reasons=())
    tag = cbor2.loads(body_of(encode_code(claims, ED)))
    assert tag.tag == 18
    payload = tag.value[2]
    assert cbor2.loads(payload) == cwt_of(claims)
    assert payload == cbor2.dumps(cwt_of(claims), canonical=True)  # deterministic encoding


def test_ed25519_codes_are_deterministic() -> None:
    claims = claims_at()
    assert encode_code(claims, ED) == encode_code(claims, ED)


def test_typical_code_lengths() -> None:
    # ~290 characters: a version-10 QR code at level M in alphanumeric mode (311 max).
    for key in (ED, ES):
        assert 250 < len(encode_code(claims_at(), key)) < 340


def test_untagged_codes_verify() -> None:
    claims = claims_at()
    assert verify_code_at(forge(cwt_of(claims), tagged=False), RING, NOW) == claims


def test_forged_but_correctly_signed_codes_verify() -> None:
    # Our verifier accepts what an independent encoder (cbor2 + base45 package) writes.
    claims = claims_at()
    for compress in (False, True):
        assert verify_code_at(forge(cwt_of(claims), compress=compress), RING, NOW) == claims


def test_verify_code_uses_the_clock() -> None:
    claims = claims_at(now=datetime.now(UTC))
    assert verify_code(encode_code(claims, ED), RING) == claims
    old = claims_at(now=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(InvalidCode):
        verify_code(encode_code(old, ED), RING)


# --------------------------------------------------------------------------------------------
# Compression


def test_compression_is_used_when_it_is_shorter() -> None:
    claims = claims_at(reasons=("stay.medium-risk.14d",) * 12, kind=CodeKind.PRINTED)
    code = encode_code(claims, ED)
    raw = reference_b45.b45decode(code[len(PREFIX) :])
    assert raw[0] == ZLIB_FIRST_BYTE
    assert len(raw) < len(zlib.decompress(raw))
    assert verify_code_at(code, RING, NOW) == claims


def test_compression_is_skipped_when_it_does_not_help() -> None:
    # Random-looking text does not compress: the code goes out as plain COSE.
    claims = claims_at(masked_name="*QX7", masked_id="*K9ZP2", reasons=("a1", "b2"))
    raw = reference_b45.b45decode(encode_code(claims, ES)[len(PREFIX) :])
    assert raw[0] == 0xD2
    assert len(b45encode(zlib.compress(raw, 9))) >= len(b45encode(raw))


# --------------------------------------------------------------------------------------------
# Time: expiry, leeway, issue time


def test_expiry_edges_with_leeway() -> None:
    claims = claims_at()
    code = encode_code(claims, ED)
    exp = claims.expires_at
    leeway = timedelta(seconds=30)
    assert verify_code_at(code, RING, exp + leeway - timedelta(microseconds=1)) == claims
    assert detail_of(code, now=exp + leeway) == "expired"
    assert detail_of(code, now=exp, leeway=timedelta(0)) == "expired"
    assert verify_code_at(code, RING, exp - timedelta(microseconds=1), leeway=timedelta(0))


def test_issue_time_edges_with_leeway() -> None:
    claims = claims_at()
    code = encode_code(claims, ED)
    iat = claims.issued_at
    assert verify_code_at(code, RING, iat - timedelta(seconds=30)) == claims
    assert detail_of(code, now=iat - timedelta(seconds=31)) == "issued in the future"
    assert detail_of(code, now=iat - timedelta(seconds=1), leeway=timedelta(0)) == (
        "issued in the future"
    )


def test_printed_codes_live_thirty_days() -> None:
    claims = claims_at(kind=CodeKind.PRINTED)
    code = encode_code(claims, ED)
    assert verify_code_at(code, RING, NOW + timedelta(days=29, hours=23)) == claims
    assert detail_of(code, now=NOW + timedelta(days=30, seconds=30)) == "expired"


def test_leeway_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="leeway"):
        verify_code_at(encode_code(claims_at(), ED), RING, NOW, leeway=timedelta(seconds=-1))


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_code_at(encode_code(claims_at(), ED), RING, datetime(2022, 1, 10))


def test_year_9999_expiry_does_not_overflow() -> None:
    cwt = cwt_of(claims_at())
    cwt[4] = 253_402_300_799
    assert verify_code_at(forge(cwt), RING, NOW).expires_at.year == 9999


# --------------------------------------------------------------------------------------------
# Keys: unknown, revoked, window, issuer, algorithm


def ring_of(**kwargs: Any) -> Keyring:
    args: dict[str, Any] = {"issuer": "330000", "not_before": EPOCH} | kwargs
    return Keyring([TrustedKey.for_key(ED.public, **args)])


def test_unknown_kid() -> None:
    code = encode_code(claims_at(), OTHER_ED)
    assert detail_of(code) == "unknown kid"
    assert detail_of(encode_code(claims_at(), ED), ring=Keyring()) == "unknown kid"


def test_revoked_key_fails_from_the_moment_of_revocation() -> None:
    code = encode_code(claims_at(), ED)
    assert detail_of(code, ring=ring_of(revoked_at=NOW)) == "key revoked"
    assert detail_of(code, ring=ring_of(revoked_at=NOW - timedelta(days=9))) == "key revoked"
    assert verify_code_at(code, ring_of(revoked_at=NOW + timedelta(seconds=1)), NOW)


def test_revocation_kills_long_lived_printed_codes_too() -> None:
    code = encode_code(claims_at(kind=CodeKind.PRINTED), ED)
    ring = ring_of(revoked_at=NOW + timedelta(days=2))
    assert verify_code_at(code, ring, NOW + timedelta(days=1))
    assert detail_of(code, ring=ring, now=NOW + timedelta(days=3)) == "key revoked"


def test_key_must_be_valid_at_issue_time() -> None:
    claims = claims_at()
    code = encode_code(claims, ED)
    iat = claims.issued_at
    assert verify_code_at(code, ring_of(not_before=iat, not_after=iat), NOW) == claims
    late = ring_of(not_before=iat + timedelta(seconds=1))
    assert detail_of(code, ring=late) == "key not valid at issue time"
    retired = ring_of(not_after=iat - timedelta(seconds=1))
    assert detail_of(code, ring=retired) == "key not valid at issue time"


def test_a_retired_key_still_vouches_for_codes_it_signed_in_time() -> None:
    claims = claims_at(kind=CodeKind.PRINTED)
    ring = ring_of(not_after=NOW + timedelta(hours=1))
    assert verify_code_at(encode_code(claims, ED), ring, NOW + timedelta(days=10)) == claims


def test_a_key_only_vouches_for_its_own_region() -> None:
    code = encode_code(claims_at(issuer="520000"), ED)
    assert detail_of(code) == "issuer mismatch"


def test_algorithm_in_the_header_must_be_the_keys() -> None:
    cwt = cwt_of(claims_at())
    assert detail_of(forge(cwt, ED, alg=-7)) == "algorithm mismatch"
    assert detail_of(forge(cwt, ES, alg=-8)) == "algorithm mismatch"
    assert detail_of(forge(cwt, ED, alg=-65538)) == "algorithm mismatch"


def test_bad_signatures() -> None:
    cwt = cwt_of(claims_at())
    good = ED.sign(b"something else")
    assert detail_of(forge(cwt, signature=good)) == "bad signature"
    assert detail_of(forge(cwt, signature=b"")) == "bad signature"
    assert detail_of(forge(cwt, signature=bytes(64))) == "bad signature"
    # Signed by another key that claims ED's kid.
    assert detail_of(forge(cwt, OTHER_ED, kid=ED.kid)) == "bad signature"


def test_trusted_key_checks_its_own_consistency() -> None:
    with pytest.raises(ValueError, match="kid does not match"):
        TrustedKey(ES.kid, "330000", ED.public, EPOCH)
    for region in ("33", "３３００００"):
        with pytest.raises(ValueError, match="six-digit"):
            TrustedKey.for_key(ED.public, issuer=region, not_before=EPOCH)
    with pytest.raises(ValueError, match="not_after"):
        TrustedKey.for_key(
            ED.public, issuer="330000", not_before=EPOCH, not_after=EPOCH - timedelta(1)
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        TrustedKey.for_key(ED.public, issuer="330000", not_before=datetime(2021, 1, 1))


def test_keyring() -> None:
    entry = TrustedKey.for_key(ED.public, issuer="330000", not_before=EPOCH)
    ring = Keyring([entry])
    assert len(ring) == 1
    assert list(ring) == [entry]
    assert ring.get(ED.kid) is entry
    assert ring.get(ES.kid) is None
    assert ED.kid in ring
    assert "1 keys" in repr(ring)
    with pytest.raises(ValueError, match="twice"):
        Keyring([entry, entry])
    with pytest.raises(TypeError):
        Keyring([ED.public])  # type: ignore[list-item]


# --------------------------------------------------------------------------------------------
# Envelope: prefix, size, base45, zlib


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        (None, "malformed: not text"),
        (b"YMT1:", "malformed: not text"),
        ("", "unknown prefix"),
        ("HC1:NCFOXN", "unknown prefix"),
        ("ymt1:NCFOXN", "unknown prefix"),
        (" YMT1:NCFOXN", "unknown prefix"),
        ("YMT1:", "malformed: COSE"),
        ("YMT1:A", "malformed: base45"),
        ("YMT1:GGW", "malformed: base45"),
        ("YMT1:ab", "malformed: base45"),
        ("YMT1:" + "0" * (MAX_CODE_LENGTH - 4), "too long"),
    ],
)
def test_envelope_failures(code: Any, detail: str) -> None:
    assert detail_of(code) == detail


def test_length_limit_is_inclusive() -> None:
    code = "YMT1:" + "0" * (MAX_CODE_LENGTH - 5)
    assert len(code) == MAX_CODE_LENGTH
    assert detail_of(code) != "too long"


def test_zip_bomb_stops_at_the_cap() -> None:
    bomb = zlib.compress(b"\x00" * 1_000_000, 9)
    code = PREFIX + b45encode(bomb)
    assert len(code) <= MAX_CODE_LENGTH
    assert detail_of(code) == "inflates too large"


def test_inflated_size_cap_is_exact() -> None:
    cap = wire_code.MAX_INFLATED_SIZE
    assert detail_of(PREFIX + b45encode(zlib.compress(bytes(cap)))) == "malformed: COSE"
    assert detail_of(PREFIX + b45encode(zlib.compress(bytes(cap + 1)))) == "inflates too large"


@pytest.mark.parametrize(
    "packed",
    [
        b"\x78",
        b"\x78\xda",
        zlib.compress(b"x" * 50)[:-1],  # truncated
        zlib.compress(b"x" * 50) + b"\x00",  # trailing bytes
        b"\x78\xda" + bytes(10),
    ],
)
def test_broken_zlib(packed: bytes) -> None:
    assert detail_of(PREFIX + b45encode(packed)) == "malformed: zlib"


def test_compressed_non_cose_is_malformed() -> None:
    assert detail_of(PREFIX + b45encode(zlib.compress(b"hello"))) == "malformed: COSE"


def test_trailing_bytes_after_cose() -> None:
    assert detail_of(forge(cwt_of(claims_at()), tail=b"\x00")) == "malformed: COSE"


def test_non_empty_unprotected_header() -> None:
    assert detail_of(forge(cwt_of(claims_at()), unprotected={4: ED.kid})) == "malformed: COSE"


# --------------------------------------------------------------------------------------------
# Claims


def _mutated(path: tuple[int, ...], value: Any = ..., *, delete: bool = False) -> dict[int, Any]:
    cwt = cwt_of(claims_at())
    target: dict[int, Any] = cwt
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return cwt


@pytest.mark.parametrize(
    "cwt",
    [
        pytest.param(_mutated((1,), delete=True), id="no-iss"),
        pytest.param(_mutated((4,), delete=True), id="no-exp"),
        pytest.param(_mutated((CLAIMS_KEY,), delete=True), id="no-private"),
        pytest.param(_mutated((7,), "extra"), id="extra-claim"),
        pytest.param(_mutated((1,), 330000), id="int-iss"),
        pytest.param(_mutated((1,), "33000"), id="short-iss"),
        pytest.param(_mutated((4,), 1.5e9), id="float-exp"),
        pytest.param(_mutated((4,), -1), id="negative-exp"),
        pytest.param(_mutated((4,), 2**70), id="huge-exp"),
        pytest.param(_mutated((6,), True), id="bool-iat"),
        pytest.param(_mutated((4,), int(NOW.timestamp())), id="exp-equals-iat"),
        pytest.param(_mutated((CLAIMS_KEY,), [1, 2]), id="private-array"),
        pytest.param(_mutated((CLAIMS_KEY, 10), 0), id="extra-private"),
        pytest.param(_mutated((CLAIMS_KEY, 9), delete=True), id="no-kind"),
        pytest.param(_mutated((CLAIMS_KEY, 2), bytes(15)), id="short-sid"),
        pytest.param(_mutated((CLAIMS_KEY, 2), "0" * 32), id="text-sid"),
        pytest.param(_mutated((CLAIMS_KEY, 3), 3), id="colour-3"),
        pytest.param(_mutated((CLAIMS_KEY, 3), -1), id="colour-neg"),
        pytest.param(_mutated((CLAIMS_KEY, 3), "green"), id="colour-text"),
        pytest.param(_mutated((CLAIMS_KEY, 4), "2022-01-01"), id="since-text"),
        pytest.param(_mutated((CLAIMS_KEY, 5), "stay.medium-risk"), id="reasons-text"),
        pytest.param(_mutated((CLAIMS_KEY, 5), [1]), id="reasons-int"),
        pytest.param(_mutated((CLAIMS_KEY, 5), ["Not A Code"]), id="reasons-prose"),
        pytest.param(_mutated((CLAIMS_KEY, 6), -3), id="hours-neg"),
        pytest.param(_mutated((CLAIMS_KEY, 6), False), id="hours-bool"),
        pytest.param(_mutated((CLAIMS_KEY, 7), "张三"), id="name-unmasked"),
        pytest.param(_mutated((CLAIMS_KEY, 8), b"3301**"), id="id-bytes"),
        pytest.param(_mutated((CLAIMS_KEY, 9), 2), id="kind-2"),
        pytest.param([1, 2, 3], id="array-payload"),
        pytest.param(b"\xa0\x00", id="trailing-payload"),
        pytest.param(b"\xff", id="non-cbor-payload"),
        pytest.param(cbor2.dumps(cwt_of(claims_at())) + b"\x00", id="claims+trailing"),
    ],
)
def test_malformed_claims(cwt: Any) -> None:
    assert detail_of(forge(cwt)) == "malformed: claims"


@pytest.mark.parametrize("version", [0, 2, "1", None, True])
def test_unknown_versions(version: Any) -> None:
    assert detail_of(forge(_mutated((CLAIMS_KEY, 1), version))) == "unsupported version"


def test_details_never_carry_the_code_or_personal_data() -> None:
    claims = claims_at()
    code = encode_code(claims, ED)
    for ring, now in [(Keyring(), NOW), (RING, NOW + timedelta(days=1))]:
        with pytest.raises(InvalidCode) as excinfo:
            verify_code_at(code, ring, now)
        text = f"{excinfo.value} {excinfo.value.detail} {excinfo.value!r}"
        for secret in (code[5:20], claims.sid, claims.masked_name, claims.masked_id):
            assert secret not in text


# --------------------------------------------------------------------------------------------
# peek_code


def test_peek_does_not_verify() -> None:
    code = encode_code(claims_at(issuer="520000"), OTHER_ED)
    assert peek_code(code) == CodePeek(kid=OTHER_ED.kid, issuer="520000")


@pytest.mark.parametrize(
    "code",
    [
        "nope",
        "YMT1:A",
        PREFIX + b45encode(zlib.compress(bytes(10_000))),
        forge({1: 520000}),
        forge({1: "５２００００"}),
        forge([1]),
        forge(b"\xff"),
    ],
)
def test_peek_refuses_malformed_codes(code: str) -> None:
    with pytest.raises(InvalidCode):
        peek_code(code)


# --------------------------------------------------------------------------------------------
# Properties

region = st.from_regex(r"[0-9]{6}", fullmatch=True)
reason = st.from_regex(r"[a-z0-9]{1,12}([.-][a-z0-9]{1,12}){0,2}", fullmatch=True)
masked = st.just("") | st.text(max_size=MAX_MASKED_LENGTH - 1).map(lambda s: "*" + s)
moment = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
claims_strategy = st.builds(
    new_claims,
    issuer=region,
    sid=st.binary(min_size=16, max_size=16).map(bytes.hex),
    colour=st.sampled_from(Colour),
    colour_since=moment,
    reasons=st.lists(reason, max_size=MAX_REASONS),
    hours_since_negative_test=st.none() | st.integers(0, 100_000),
    masked_name=masked,
    masked_id=masked,
    kind=st.sampled_from(CodeKind),
    now=moment,
    lifetime=st.none() | st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(60)),
)


@given(claims_strategy, st.sampled_from([ED, ES]))
def test_any_claims_round_trip(claims: HealthClaims, key: SigningKey) -> None:
    code = encode_code(claims, key)
    assert len(code) <= MAX_CODE_LENGTH
    ring = Keyring(
        [TrustedKey.for_key(key.public, issuer=claims.issuer, not_before=claims.issued_at)]
    )
    assert verify_code_at(code, ring, claims.issued_at) == claims
    # The payload is the deterministic encoding of the documented CWT.
    cose = body_of(code)
    assert cbor2.loads(cose).value[2] == cbor2.dumps(cwt_of(claims), canonical=True)
    # The compressed form is chosen exactly when it is the shorter one.
    raw = b45decode(code[len(PREFIX) :])
    cose = zlib.decompress(raw) if raw[0] == ZLIB_FIRST_BYTE else raw
    compressed_len = len(b45encode(zlib.compress(cose, 9)))
    assert (raw[0] == ZLIB_FIRST_BYTE) == (compressed_len < len(b45encode(cose)))


def test_the_largest_claims_still_fit() -> None:
    rng = random.Random(7)  # random text barely compresses: the worst case
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

    def cjk_ext_b(n: int) -> str:  # 4 bytes each in UTF-8
        return "".join(chr(rng.randrange(0x20000, 0x2A6D0)) for _ in range(n))

    claims = claims_at(
        reasons=tuple("".join(rng.choices(alnum, k=64)) for _ in range(MAX_REASONS)),
        masked_name="*" + cjk_ext_b(MAX_MASKED_LENGTH - 1),
        masked_id="*" + cjk_ext_b(MAX_MASKED_LENGTH - 1),
        hours_since_negative_test=100_000,
    )
    for key in (ED, ES):
        code = encode_code(claims, key)
        assert len(code) < MAX_CODE_LENGTH
        assert verify_code_at(code, RING, NOW) == claims


def test_the_largest_claims_fit_even_uncompressed() -> None:
    claims = claims_at(
        reasons=tuple("x" * 64 for _ in range(MAX_REASONS)),
        masked_name="*" + "\U0002a6a5" * (MAX_MASKED_LENGTH - 1),
        masked_id="*" + "\U0002a6a5" * (MAX_MASKED_LENGTH - 1),
        hours_since_negative_test=100_000,
    )
    cose = sign1(wire_code._encode_cwt(claims), ES)
    assert len(PREFIX) + encoded_length(len(cose)) <= MAX_CODE_LENGTH


PLAIN_CODE = encode_code(claims_at(masked_name="*QX7", masked_id="*K9ZP2", reasons=("a1",)), ED)
PACKED_CODE = encode_code(claims_at(reasons=("stay.medium-risk.14d",) * 12), ED)
assert b45decode(PLAIN_CODE[5:])[0] != ZLIB_FIRST_BYTE
assert b45decode(PACKED_CODE[5:])[0] == ZLIB_FIRST_BYTE


@given(st.data())
def test_any_single_character_change_invalidates_a_plain_code(data: st.DataObject) -> None:
    body = PLAIN_CODE[len(PREFIX) :]
    i = data.draw(st.integers(0, len(body) - 1))
    new = data.draw(st.sampled_from(ALPHABET).filter(lambda ch: ch != body[i]))
    with pytest.raises(InvalidCode):
        verify_code_at(PREFIX + body[:i] + new + body[i + 1 :], RING, NOW)


@given(st.data())
def test_no_single_character_change_alters_what_a_packed_code_says(data: st.DataObject) -> None:
    # zlib ignores a few bits (its header's level hint, padding after the last block), so a
    # change there can still inflate to the very same signed COSE; it can never say more.
    body = PACKED_CODE[len(PREFIX) :]
    i = data.draw(st.integers(0, len(body) - 1))
    new = data.draw(st.sampled_from(ALPHABET).filter(lambda ch: ch != body[i]))
    changed = PREFIX + body[:i] + new + body[i + 1 :]
    try:
        result = verify_code_at(changed, RING, NOW)
    except InvalidCode:
        return
    assert result == verify_code_at(PACKED_CODE, RING, NOW)
    assert body_of(changed) == body_of(PACKED_CODE)


@given(st.data())
def test_any_byte_change_in_the_cose_invalidates(data: st.DataObject) -> None:
    cose = body_of(PLAIN_CODE)
    i = data.draw(st.integers(0, len(cose) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != cose[i]))
    changed = cose[:i] + bytes([value]) + cose[i + 1 :]
    with pytest.raises(InvalidCode):
        verify_code_at(PREFIX + b45encode(changed), RING, NOW)


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=40) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.integers(), inner, max_size=5),
    max_leaves=20,
)
garbage = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=ALPHABET, max_size=400).map(lambda s: PREFIX + s),
    st.binary(max_size=400).map(lambda b: PREFIX + b45encode(b)),
    st.binary(max_size=400).map(lambda b: PREFIX + b45encode(zlib.compress(b))),
    st.binary(max_size=400).map(lambda b: PREFIX + b45encode(b"\x78" + b)),
    cbor_values.map(lambda v: PREFIX + b45encode(cbor2.dumps(v))),
    cbor_values.map(lambda v: PREFIX + b45encode(cbor2.dumps(cbor2.CBORTag(18, v)))),
    st.tuples(cbor_values, cbor_values).map(
        lambda t: PREFIX + b45encode(cbor2.dumps(cbor2.CBORTag(18, [b"\xa0", {}, *t])))
    ),
    st.tuples(cbor_values, st.binary(max_size=70)).map(
        lambda t: forge(cbor2.dumps(t[0]), signature=t[1])
    ),
    cbor_values.map(lambda v: forge(cbor2.dumps(v))),  # correctly signed nonsense
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(garbage)
def test_garbage_raises_invalid_code_and_nothing_else(code: str) -> None:
    with pytest.raises(InvalidCode):
        verify_code_at(code, RING, NOW)
    with contextlib.suppress(InvalidCode):
        peek_code(code)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1800), st.binary(min_size=1, max_size=40), st.integers(0, 60))
def test_the_encoders_deflate_is_zlib_level_9_byte_for_byte(
    noise: bytes, phrase: bytes, repeats: int
) -> None:
    # _deflate writes the zlib wrapper around a 4 KiB-window raw deflate (a fifth of zlib's
    # state per code); for anything as short as a code it must be zlib's own stream.
    from yimatong.adapters.wire.code import MAX_CODE_LENGTH, _deflate

    data = (noise + phrase * repeats)[: MAX_CODE_LENGTH * 2 // 3]
    assert _deflate(data) == zlib.compress(data, 9)
