"""Fuzz of the international decoders (issue 10 part 6, "and the international ones"):
``verify_dcc`` (``HC1:`` — base45, zlib, COSE_Sign1, CWT) and ``verify_shc`` (``shc:/`` —
numeric, JWS, raw DEFLATE).

Both document that bad input never raises: every refusal is ``valid=False`` with a short
reason. The inputs are mutations of genuine certificates at each layer (the text, the
compressed bytes, the COSE bytes, the JWS characters) and raw random text; and a decompression
bomb. Asserted: no exception; a refusal has a reason; anything accepted says exactly what the
genuine certificate said (a mutation that still verifies left the signed content as it was);
a certificate the attacker signed — under the trusted kid or another — is never accepted.
``YMT_FUZZ_EXAMPLES`` sets the number of inputs per test (``tests/fuzz_support.py``).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz_support import fuzz_settings, tried
from yimatong.adapters.wire import shc
from yimatong.adapters.wire.base45 import ALPHABET, b45decode, b45encode
from yimatong.demo.international import DemoDsc, DemoShcIssuer, cwt, qr, shc_payload
from yimatong.verifier.international import InternationalResult, verify_dcc, verify_shc

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
DSC = DemoDsc.new(NOW)
ATTACKER = DemoDsc.new(NOW)
CERTS = {DSC.kid: DSC.der}
CLAIMS = cwt("t", NOW)
GENUINE_HC1 = DSC.hc1(CLAIMS)
ISSUER = DemoShcIssuer.new()
JWKS = {ISSUER.iss: {"keys": [ISSUER.jwk]}}
JWS = ISSUER.jws(shc_payload("full", NOW, ISSUER.iss))
GENUINE_SHC = qr(JWS)


def _refused_or_same(result: InternationalResult, genuine: InternationalResult) -> None:
    if result.valid:
        assert result.claims == genuine.claims
    else:
        assert isinstance(result.reason, str) and result.reason


def test_the_genuine_certificates_verify() -> None:
    assert verify_dcc(GENUINE_HC1, certificates=CERTS, now=NOW).valid
    assert verify_shc(GENUINE_SHC, jwks=JWKS, now=NOW).valid


_DCC = verify_dcc(GENUINE_HC1, certificates=CERTS, now=NOW)
_SHC = verify_shc(GENUINE_SHC, jwks=JWKS, now=NOW)


@fuzz_settings(quick=400)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(ALPHABET + "é\x00 :")),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=0, max_value=len(GENUINE_HC1)),
)
def test_a_mutated_hc1_text_is_refused_with_a_reason_or_says_the_same(
    changes: list[tuple[int, str]], cut: int
) -> None:
    text = list(GENUINE_HC1)
    for position, char in changes:
        text[4 + position % (len(text) - 4)] = char
    mutated = "".join(text)[: max(cut, 4)] if cut % 3 == 0 else "".join(text)
    tried("hc1 text")
    _refused_or_same(verify_dcc(mutated, certificates=CERTS, now=NOW), _DCC)


@fuzz_settings(quick=400)
@given(st.data())
def test_a_mutated_cose_inside_hc1_is_refused_with_a_reason_or_says_the_same(
    data: st.DataObject,
) -> None:
    cose = bytearray(zlib.decompress(b45decode(GENUINE_HC1[4:])))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        position = data.draw(st.integers(min_value=0, max_value=len(cose) - 1))
        action = data.draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if action == "flip":
            cose[position] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
        elif action == "set":
            cose[position] = data.draw(st.integers(min_value=0, max_value=255))
        elif action == "insert":
            cose.insert(position, data.draw(st.integers(min_value=0, max_value=255)))
        elif len(cose) > 1:
            del cose[position]
    text = "HC1:" + b45encode(zlib.compress(bytes(cose)))
    tried("hc1 cose")
    _refused_or_same(verify_dcc(text, certificates=CERTS, now=NOW), _DCC)


@fuzz_settings(quick=300)
@given(st.text(max_size=300), st.binary(max_size=300))
def test_random_hc1_text_and_compressed_bytes_are_refused_with_a_reason(
    text: str, raw: bytes
) -> None:
    for candidate in ("HC1:" + text, "HC1:" + b45encode(zlib.compress(raw)), text):
        tried("hc1 random")
        result = verify_dcc(candidate, certificates=CERTS, now=NOW)
        assert not result.valid and result.reason


def test_an_hc1_decompression_bomb_is_refused_without_inflating_it() -> None:
    bomb = "HC1:" + b45encode(zlib.compress(b"\0" * 4_000_000, 9))
    result = verify_dcc(bomb, certificates=CERTS, now=NOW)
    assert not result.valid and result.reason


@fuzz_settings(quick=100)
@given(st.booleans())
def test_a_certificate_the_attacker_signed_is_never_accepted(same_kid: bool) -> None:
    kid = DSC.kid if same_kid else None
    forged = ATTACKER.hc1(CLAIMS, kid=kid)
    tried("hc1 forged")
    result = verify_dcc(forged, certificates=CERTS, now=NOW)
    assert not result.valid and result.reason


@fuzz_settings(quick=400)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from("0123456789/a ")),
        min_size=1,
        max_size=4,
    ),
)
def test_a_mutated_shc_is_refused_with_a_reason_or_says_the_same(
    changes: list[tuple[int, str]],
) -> None:
    text = list(GENUINE_SHC)
    for position, char in changes:
        text[5 + position % (len(text) - 5)] = char
    tried("shc text")
    _refused_or_same(verify_shc("".join(text), jwks=JWKS, now=NOW), _SHC)


@fuzz_settings(quick=300)
@given(st.data())
def test_a_mutated_jws_inside_shc_is_refused_with_a_reason_or_says_the_same(
    data: st.DataObject,
) -> None:
    jws = list(JWS)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        position = data.draw(st.integers(min_value=0, max_value=len(jws) - 1))
        jws[position] = data.draw(st.sampled_from("-_.Aa0z="))
    tried("shc jws")
    _refused_or_same(verify_shc(qr("".join(jws)), jwks=JWKS, now=NOW), _SHC)


@fuzz_settings(quick=300)
@given(st.text(max_size=300), st.from_regex(r"\Ashc:/([0-9]{1,3}/[0-9]{1,3}/)?[0-9]{0,400}\Z"))
def test_random_shc_text_is_refused_with_a_reason(text: str, digits: str) -> None:
    for candidate in (text, "shc:/" + text, digits, f"{digits} {digits}"):
        tried("shc random")
        result = verify_shc(candidate, jwks=JWKS, now=NOW)
        assert not result.valid and result.reason


def test_an_shc_decompression_bomb_is_refused_without_inflating_it() -> None:
    body = shc.deflate_raw(b"[" * 5_000_000)
    bomb = qr(ISSUER.jws(None, body=body))
    result = verify_shc(bomb, jwks=JWKS, now=NOW)
    assert not result.valid and result.reason
