"""Fuzz of every decoder a scanned string reaches before any node trusts it (issue 10, part 6).

Decoders and what each one documents for bad input:

* ``b45decode`` (``adapters/wire/base45.py``) — ``ValueError``; what it returns re-encodes to
  the very same text (base45 has one encoding of any bytes);
* ``parse_sign1`` (``adapters/wire/cose.py``) — ``ValueError``; what it returns is the one
  canonical encoding of its parts (re-encoded, the same bytes, tagged or not);
* ``verify_code_at`` and ``peek_code`` (``adapters/wire/code.py``) — ``InvalidCode`` with one
  of the documented operator details, and nothing else; ``verify_code_at`` accepts only what a
  trusted key signed (a mutation that still verifies must leave the signed protected header
  and payload as they were, so it says the same); zlib inflation stops at
  ``MAX_INFLATED_SIZE``, and the input at ``MAX_CODE_LENGTH`` characters;
* ``HbjkmAdapter.recognises``/``verify`` (``adapters/legacy_hbjkm.py``) — a bool, and
  ``InvalidCode`` for anything not shaped like a legacy code, without calling the legacy
  system; the legacy system's answer, however hostile, is ``Unavailable``/``InvalidCode`` or a
  verdict whose identity is masked again.

The inputs are structured: mutations of genuine codes (bit flips, byte changes, insertions,
deletions, truncations, repeated slices) at each layer (the text, the base45 bytes, the COSE
bytes, the CWT claims re-signed with a trusted key so the claims parser sees them), CBOR of the
wrong types, huge declared lengths, deep nesting, zlib streams (bombs among them), base45
alphabet edges and non-ASCII text; and raw random text and bytes. The number of inputs is
``YMT_FUZZ_EXAMPLES`` per test (``tests/fuzz_support.py``); the verifier and the hub reading
the same inputs are fuzzed in ``tests/integration/test_fuzz_scans.py``.
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import base45 as reference_b45
import cbor2
import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz_support import fuzz_settings, tried
from tests.unit.test_wire import DETAILS as WIRE_DETAILS
from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.adapters.legacy_hbjkm import CODE_PREFIX, HbjkmAdapter, LegacyVerdict
from yimatong.adapters.wire.base45 import ALPHABET, b45decode, b45encode
from yimatong.adapters.wire.code import (
    CLAIMS_KEY,
    MAX_CODE_LENGTH,
    MAX_INFLATED_SIZE,
    PREFIX,
    CodePeek,
    Keyring,
    TrustedKey,
    encode_code,
    peek_code,
    verify_code_at,
)
from yimatong.adapters.wire.cose import Sign1, parse_sign1, sig_structure
from yimatong.domain.errors import InvalidCode, Unavailable
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, HealthClaims, new_claims

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
ED = signing_key_from_seed(Algorithm.EDDSA, b"fuzz-ed25519".ljust(32, b"\0"))
ES = signing_key_from_seed(Algorithm.ES256, b"fuzz-es256".ljust(32, b"\0"))
ATTACKER = signing_key_from_seed(Algorithm.EDDSA, b"fuzz-attacker".ljust(32, b"\0"))
RING = Keyring(
    [
        TrustedKey.for_key(ED.public, issuer="330000", not_before=EPOCH),
        TrustedKey.for_key(ES.public, issuer="330000", not_before=EPOCH),
    ]
)
KEYS = {ED.kid: ED, ES.kid: ES}

#: Every operator detail ``adapters/wire/code.py`` documents, and nothing else (one list,
#: the one ``test_wire.py`` checks the codes against).
DETAILS = frozenset(WIRE_DETAILS)
ZLIB_FIRST_BYTE = 0x78


def _claims(**overrides: Any) -> HealthClaims:
    args: dict[str, Any] = {
        "issuer": "330000",
        "sid": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "colour": Colour.RED,
        "colour_since": NOW - timedelta(days=2),
        "reasons": ("contact.close",),
        "hours_since_negative_test": 12,
        "masked_name": "李*",
        "masked_id": "42**************12",
        "kind": CodeKind.DYNAMIC,
        "now": NOW,
    }
    args.update(overrides)
    return new_claims(**args)


#: Genuine codes, one of each shape the encoder makes.
GENUINE = [
    encode_code(_claims(), ED),  # plain (a dynamic code is normally not compressed)
    encode_code(_claims(), ES),
    encode_code(_claims(kind=CodeKind.PRINTED, hours_since_negative_test=None), ED),
    encode_code(_claims(reasons=("stay.medium-risk.14d",) * 14), ED),  # zlib-compressed
]
assert any(b45decode(c[len(PREFIX) :])[0] == ZLIB_FIRST_BYTE for c in GENUINE)
assert any(b45decode(c[len(PREFIX) :])[0] != ZLIB_FIRST_BYTE for c in GENUINE)


def _cose_of(code: str) -> bytes:
    raw = reference_b45.b45decode(code[len(PREFIX) :])
    return zlib.decompress(raw) if raw[0] == ZLIB_FIRST_BYTE else raw


GENUINE_COSE = [_cose_of(c) for c in GENUINE]
GENUINE_SIGN1 = [parse_sign1(c) for c in GENUINE_COSE]


# ------------------------------------------------------------------------- checking helpers


def refused_or_genuine(code: Any, test: str) -> HealthClaims | None:
    """``verify_code_at`` and ``peek_code`` on ``code``: the claims, or None if refused.

    Refusals must be ``InvalidCode`` with a documented detail (anything else propagates and
    fails the test); ``peek_code`` must answer a region or refuse the same way.
    """
    tried(test)
    result: HealthClaims | None = None
    refusals: list[InvalidCode] = []
    try:
        result = verify_code_at(code, RING, NOW)
    except InvalidCode as exc:
        refusals.append(exc)
    peek: CodePeek | None = None
    try:
        peek = peek_code(code)
    except InvalidCode as exc:
        refusals.append(exc)
        assert result is None  # what verifies can be peeked at
    for refusal in refusals:
        assert refusal.detail in DETAILS, refusal.detail
        assert str(refusal) == "the code is not valid"
    if peek is not None:
        assert isinstance(peek, CodePeek) and len(peek.issuer) == 6 and peek.issuer.isdigit()
    return result


def assert_says_what_was_signed(code: str, claims: HealthClaims) -> None:
    """An accepted code carries a protected header and payload a trusted key signed."""
    msg = parse_sign1(_cose_of(code))
    assert any((msg.protected, msg.payload) == (g.protected, g.payload) for g in GENUINE_SIGN1), (
        "a mutated code verified with content nobody signed"
    )
    KEYS[msg.kid].public.verify(msg.signature, msg.to_be_signed())
    assert claims == verify_code_at(GENUINE[_index_of(msg)], RING, NOW)


def _index_of(msg: Sign1) -> int:
    return next(i for i, g in enumerate(GENUINE_SIGN1) if g.payload == msg.payload)


# ------------------------------------------------------------------------- strategies


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` after one to four random edits (never the same bytes back)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "repeat"]))
        n = len(out)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and n:
            out[draw(st.integers(0, n - 1))] = draw(st.sampled_from([0, 0x17, 0x18, 0x1B, 0x7F]))
        elif op == "insert":
            i = draw(st.integers(0, n))
            out[i:i] = draw(st.binary(min_size=1, max_size=9))
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del out[i : i + draw(st.integers(1, 8))]
        elif op == "truncate" and n:
            del out[draw(st.integers(0, n - 1)) :]
        elif op == "repeat" and n:
            i = draw(st.integers(0, n - 1))
            j = draw(st.integers(i, min(n, i + 40)))
            out[j:j] = out[i:j] * draw(st.integers(1, 3))
    result = bytes(out)
    if result == data:
        result += b"\x00"
    return result


def _text_mutations(draw: st.DrawFn, text: str) -> str:
    body = draw(mutated(text.encode("ascii")))
    return body.decode("latin-1")


edge_alphabet = st.sampled_from([*ALPHABET, ":", " ", "$", "%", "G", "W", "U", "V"])
odd_text = st.sampled_from(
    ["ymt1:", "YMT1", "YMT1:\n", "\ufeffYMT1:", "ＹＭＴ１:", "YMT1:：", "\x00", "\u200b", "é"]
)

#: Everything a camera might hand over that is not a genuine code.
raw_text = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.characters(codec="ascii"), max_size=400),
    st.text(alphabet=ALPHABET, max_size=600).map(lambda s: PREFIX + s),
    st.lists(edge_alphabet, max_size=300).map(lambda cs: PREFIX + "".join(cs)),
    st.tuples(odd_text, st.text(alphabet=ALPHABET, max_size=300)).map("".join),
    st.text(alphabet=ALPHABET + "abcdefé€中码\x00", max_size=300).map(lambda s: PREFIX + s),
    st.binary(max_size=1700).map(lambda b: PREFIX + b45encode(b)),
    st.integers(MAX_CODE_LENGTH - 8, MAX_CODE_LENGTH + 8).map(lambda n: PREFIX + "0" * n),
)

cbor_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.binary(max_size=40)
    | st.text(max_size=20)
)
cbor_values = st.recursive(
    cbor_leaf,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-70000, 70000) | st.text(max_size=3), inner, max_size=6)
        | st.builds(cbor2.CBORTag, st.sampled_from([0, 1, 2, 3, 4, 5, 18, 24, 30, 258]), inner)
    ),
    max_leaves=24,
)

#: CBOR heads that declare huge or reserved lengths, indefinite items and deep nesting.
hostile_cbor = st.one_of(
    st.tuples(st.sampled_from([0x40, 0x60, 0x80, 0xA0, 0xC0]), st.sampled_from([0x1A, 0x1B])).map(
        lambda t: bytes([t[0] | t[1] & 0x1F]) + b"\xff" * (4 if t[1] == 0x1A else 8)
    ),
    st.sampled_from([b"\x5f", b"\x7f", b"\x9f", b"\xbf", b"\x1c", b"\x3d", b"\xfc", b"\xff"]),
    st.integers(1, 600).map(lambda n: b"\x81" * n + b"\x00"),
    st.integers(1, 600).map(lambda n: b"\xa1\x01" * n + b"\x00"),
    st.integers(1, 300).map(lambda n: b"\xd8\x1c\x81" * n + b"\xd8\x1d\x00"),
)


@st.composite
def cwt_with_wrong_types(draw: st.DrawFn) -> bytes:
    """A genuine CWT claims set with some values replaced, removed or added."""
    cwt: dict[Any, Any] = cbor2.loads(GENUINE_SIGN1[draw(st.integers(0, 3))].payload)
    private = dict(cwt[CLAIMS_KEY])
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["cwt", "private"]))
        target = cwt if where == "cwt" else private
        key = draw(st.sampled_from([*target.keys(), 0, 2, 10, -1, "1"]))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            target.pop(key, None)
        else:
            target[key] = draw(cbor_values)
    if CLAIMS_KEY in cwt:
        cwt[CLAIMS_KEY] = private
    return cbor2.dumps(cwt, canonical=draw(st.booleans()))


def sign_payload(payload: bytes, key: SigningKey, *, alg: int | None = None) -> str:
    """A correctly signed code around ``payload`` (which the verifier decodes afterwards)."""
    protected = b"\xa2\x01" + cbor2.dumps(key.alg.value if alg is None else alg)[:]
    protected += b"\x04" + cbor2.dumps(key.kid)
    signature = key.sign(sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return PREFIX + b45encode(cose)


# ------------------------------------------------------------------------- base45


@fuzz_settings(quick=400)
@given(
    st.one_of(
        st.text(alphabet=ALPHABET, max_size=60),
        st.lists(edge_alphabet, max_size=60).map("".join),
        st.text(max_size=60),
        st.binary(max_size=40).map(lambda b: b45encode(b)),
    )
)
def test_base45_decodes_only_canonical_text_and_refuses_the_rest_with_value_error(
    text: str,
) -> None:
    tried("base45")
    try:
        raw = b45decode(text)
    except ValueError:
        # The reference package is more lenient (it reads "\n" as nothing, for one); what we
        # refuse must at least not be the base45 encoding of anything.
        try:
            lenient = reference_b45.b45decode(text)
        except ValueError:
            return
        assert reference_b45.b45encode(lenient).decode("ascii") != text
        return
    assert b45encode(raw) == text
    assert reference_b45.b45decode(text) == raw


# ------------------------------------------------------------------------- COSE_Sign1


def _reencode(msg: Sign1, tagged: bool) -> bytes:
    protected = cbor2.dumps(msg.protected)
    body = b"\x84" + protected + b"\xa0" + cbor2.dumps(msg.payload) + cbor2.dumps(msg.signature)
    return (b"\xd2" if tagged else b"") + body


@fuzz_settings(quick=600)
@given(
    st.one_of(
        st.sampled_from(GENUINE_COSE).flatmap(mutated),
        hostile_cbor,
        cbor_values.map(cbor2.dumps),
        st.lists(cbor_values, min_size=3, max_size=5).map(
            lambda items: cbor2.dumps(cbor2.CBORTag(18, items))
        ),
        st.binary(max_size=300),
    )
)
def test_cose_parser_returns_only_the_canonical_profile_and_refuses_the_rest_with_value_error(
    data: bytes,
) -> None:
    tried("cose")
    try:
        msg = parse_sign1(data)
    except ValueError:
        return
    assert _reencode(msg, tagged=data[:1] == b"\xd2") == data
    assert 0 < len(msg.kid) <= 32


# ------------------------------------------------------------------------- the YMT1 code


@fuzz_settings(quick=600)
@given(raw_text)
def test_random_text_is_never_accepted_and_fails_only_with_invalid_code(text: str) -> None:
    assert refused_or_genuine(text, "code-raw") is None


@fuzz_settings(quick=300)
@given(st.one_of(st.integers(), st.binary(max_size=50), st.none(), st.lists(st.text())))
def test_a_scan_that_is_not_text_fails_with_invalid_code(value: Any) -> None:
    assert refused_or_genuine(value, "code-not-text") is None


@fuzz_settings(quick=600)
@given(st.data())
def test_a_mutated_code_is_refused_or_says_exactly_what_was_signed(data: st.DataObject) -> None:
    code = data.draw(st.sampled_from(GENUINE))
    layer = data.draw(st.sampled_from(["text", "base45-bytes", "cose", "cose-repacked"]))
    if layer == "text":
        candidate = PREFIX + _text_mutations(data.draw, code[len(PREFIX) :])
    elif layer == "base45-bytes":
        raw = reference_b45.b45decode(code[len(PREFIX) :])
        candidate = PREFIX + b45encode(data.draw(mutated(raw)))
    else:
        cose = data.draw(mutated(_cose_of(code)))
        body = zlib.compress(cose, data.draw(st.integers(0, 9))) if layer != "cose" else cose
        candidate = PREFIX + b45encode(body)
    claims = refused_or_genuine(candidate, "code-mutated")
    if claims is not None:
        assert_says_what_was_signed(candidate, claims)


@fuzz_settings(quick=500)
@given(
    st.one_of(
        cwt_with_wrong_types(),
        hostile_cbor,
        cbor_values.map(cbor2.dumps),
        st.sampled_from(GENUINE_SIGN1).flatmap(lambda m: mutated(m.payload)),
    ),
    st.sampled_from([ED, ES]),
)
def test_hostile_claims_signed_by_a_trusted_key_fail_only_with_invalid_code(
    payload: bytes, key: SigningKey
) -> None:
    """What the claims parser sees only after a good signature: a compromised issuer's bytes."""
    claims = refused_or_genuine(sign_payload(payload, key), "claims-signed")
    if claims is not None:
        assert isinstance(claims, HealthClaims) and claims.issuer == "330000"
        assert claims == verify_code_at(encode_code(claims, key), RING, NOW)


@fuzz_settings(quick=300)
@given(
    st.one_of(
        cwt_with_wrong_types(),
        st.sampled_from(GENUINE_SIGN1).map(lambda m: m.payload),
        st.sampled_from(GENUINE_SIGN1).flatmap(lambda m: mutated(m.payload)),
    ),
    st.sampled_from([None, -7, -8, 0, 1, -257, -65535, 2**31]),
    st.sampled_from(["attacker", "attacker-with-trusted-kid"]),
)
def test_codes_signed_by_anyone_else_are_never_accepted(
    payload: bytes, alg: int | None, who: str
) -> None:
    if who == "attacker":
        code = sign_payload(payload, ATTACKER, alg=alg)
    else:  # the attacker's signature under a trusted key's kid, any algorithm in the header
        protected = b"\xa2\x01" + cbor2.dumps(-8 if alg is None else alg)
        protected += b"\x04" + cbor2.dumps(ED.kid)
        signature = ATTACKER.sign(sig_structure(protected, payload))
        cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
        code = PREFIX + b45encode(cose)
    assert refused_or_genuine(code, "code-other-signer") is None


@fuzz_settings(quick=300)
@given(
    st.one_of(
        st.integers(1, 2_000_000).map(lambda n: b"\x00" * n),
        st.tuples(st.binary(min_size=1, max_size=8), st.integers(1, 200_000)).map(
            lambda t: t[0] * t[1]
        ),
        st.sampled_from(GENUINE_COSE).map(lambda c: zlib.compress(c, 9)),  # zlib in zlib
        st.binary(max_size=3000),
    ),
    st.integers(0, 9),
    st.binary(max_size=8),
)
def test_zlib_input_inflates_at_most_to_the_cap_and_fails_only_with_invalid_code(
    inflated: bytes, level: int, tail: bytes
) -> None:
    packed = (zlib.compress(inflated, level) + tail)[: MAX_CODE_LENGTH * 2 // 3]
    code = PREFIX + b45encode(packed)
    assert refused_or_genuine(code, "zlib") is None


def test_zlib_bombs_are_refused_with_bounded_memory() -> None:
    """The densest bombs that fit in a code (~1,000x) inflate no further than the cap."""
    bombs = [zlib.compress(b"\x00" * n, 9) for n in (10**5, 10**6, 15 * 10**5)]
    bombs += [zlib.compress(zlib.compress(b"\x00" * 10**7, 9), 9)]  # nested: inflated once
    codes = [PREFIX + b45encode(b) for b in bombs]
    assert all(len(c) <= MAX_CODE_LENGTH for c in codes)
    tracemalloc.start()
    try:
        for code in codes:
            with pytest.raises(InvalidCode) as excinfo:
                verify_code_at(code, RING, NOW)
            assert excinfo.value.detail in {"inflates too large", "malformed: COSE"}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MAX_INFLATED_SIZE + 64 * 1024  # a few copies of the cap, not megabytes
    tried("zlib-bombs", len(codes))


@fuzz_settings(quick=200)
@given(st.sampled_from(GENUINE), st.sampled_from(["", " ", "\n", "\x00", "A", "YMT1:"]))
def test_a_genuine_code_with_anything_around_it_is_refused(code: str, extra: str) -> None:
    for candidate in (code + extra, extra + code):
        if candidate != code:
            assert refused_or_genuine(candidate, "code-framed") is None


# ------------------------------------------------------------------------- legacy HBJKM codes

LEGACY_SECRET = b"fuzz-federation-secret-0123456789abcdef"


def _never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError("the adapter called the legacy system for a code it cannot hold")


legacy_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789abcdefABCDEF", min_size=0, max_size=40).map(
        lambda s: CODE_PREFIX + s
    ),
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda s: "hbjkm:" + s),
    st.text(min_size=32, max_size=32).map(lambda s: CODE_PREFIX + s),
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(
        lambda s: CODE_PREFIX + s + "\n"
    ),
)


@fuzz_settings(quick=400)
@given(legacy_text)
def test_legacy_code_reader_refuses_what_is_not_a_legacy_code_without_asking_anyone(
    text: str,
) -> None:
    tried("legacy-code")
    shaped = HbjkmAdapter.recognises(text)
    assert shaped is (len(text) == 38 and text.startswith(CODE_PREFIX) and _hex32(text[6:]))
    if shaped:
        return
    with (
        HbjkmAdapter(
            "http://hb.test",
            app_key="k",
            app_secret="s",
            federation_secret=LEGACY_SECRET,
            transport=httpx.MockTransport(_never_called),
        ) as adapter,
        pytest.raises(InvalidCode),
    ):
        adapter.verify(text, now=NOW)


def _hex32(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
)
#: JSON values nested up to three levels (deeper does not reach other code in the adapter).
json_values = st.one_of(
    json_leaf,
    st.lists(json_leaf, max_size=5),
    st.dictionaries(
        st.text(max_size=20),
        json_leaf
        | st.lists(json_leaf, max_size=3)
        | st.dictionaries(st.text(max_size=8), json_leaf),
        max_size=6,
    ),
)


@st.composite
def legacy_answers(draw: st.DrawFn) -> bytes:
    """What a broken or hostile legacy system might answer ``validateInfo`` with."""
    shape = draw(st.sampled_from(["near", "json", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=400))
    if shape == "json":
        return orjson.dumps(draw(json_values))
    answer: dict[str, Any] = {
        "errcode": draw(st.sampled_from([0, "0", 40001, 40002, -1, 45009, 40100, 7, True, None])),
        "person": {
            "desensitizeName": draw(st.sampled_from(["张*", "张三丰", "", "x" * 70, 5])),
            "desensitizeCardId": draw(st.sampled_from(["42**1234", "420102198001011234", None])),
            "cardType": draw(st.sampled_from(["1", "2", "9", 1, None])),
            "cardId": draw(st.sampled_from(["420102198001011234", "420102198001011235", "x"])),
        },
        "healthyReport": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "healthyStaus": st.sampled_from(["00", "01", "02", "ZZ", "", "0" * 20, 0]),
                        "reportTime": st.sampled_from(
                            ["2026-03-02 07:00:00", "2026-02-30 07:00:00", "now", None]
                        ),
                    }
                ),
                max_size=40,
            )
        ),
        "hsjc": draw(
            st.fixed_dictionaries(
                {
                    "hsjcjg": st.sampled_from(["阴性", "阳性", "?", None]),
                    "cysj": st.sampled_from(["2026-03-01 09:00:00", "9999-99-99 99:99:99"]),
                    "hsjcsj": st.sampled_from(["2026-03-01 19:00:00", ""]),
                }
            )
            | json_values
        ),
    }
    for key in draw(st.lists(st.sampled_from([*answer, "person.cardId"]), max_size=2)):
        if key == "person.cardId":
            answer["person"] = draw(json_values)
        else:
            answer[key] = draw(json_values)
    return orjson.dumps(answer)


@fuzz_settings(quick=300)
@given(legacy_answers(), st.sampled_from([200, 200, 200, 201, 404, 500, 503]))
def test_any_legacy_answer_is_a_masked_verdict_or_unavailable_or_invalid_code(
    body: bytes, status: int
) -> None:
    tried("legacy-answer")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    with HbjkmAdapter(
        "http://hb.test",
        app_key="k",
        app_secret="s",
        federation_secret=LEGACY_SECRET,
        transport=httpx.MockTransport(answer),
    ) as adapter:
        try:
            verdict = adapter.verify(CODE_PREFIX + "0" * 32, now=NOW)
        except (Unavailable, InvalidCode):
            return
    assert isinstance(verdict, LegacyVerdict)
    assert verdict.colour in set(Colour)
    for shown in (verdict.masked_name, verdict.masked_id):
        assert shown == "" or "*" in shown or len(shown) <= 1
    assert "420102198001011234" not in repr(verdict)


def test_an_endless_legacy_answer_is_dropped_at_the_cap_not_read_whole() -> None:
    """A broken or hostile legacy system streams without end: the hub stops after 64 KiB."""
    chunk = 64 * 1024
    pulled = [0]

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # 640 MiB, were it all read
            pulled[0] += 1
            yield b" " * chunk

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    with (
        HbjkmAdapter(
            "http://hb.test",
            app_key="k",
            app_secret="s",
            federation_secret=LEGACY_SECRET,
            transport=httpx.MockTransport(answer),
        ) as adapter,
        pytest.raises(Unavailable),
    ):
        adapter.verify(CODE_PREFIX + "0" * 32, now=NOW)
    assert pulled[0] <= 2
    tried("legacy-answer", 1)
