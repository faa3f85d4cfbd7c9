"""verify_dcc / verify_shc on arbitrary input: refused with a reason, never an exception."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.adapters.wire.base45 import b45encode
from yimatong.adapters.wire.shc import numeric_encode
from yimatong.verifier.international import verify_dcc, verify_shc

NOW = datetime(2026, 6, 1, tzinfo=UTC)
_DCC_REASONS = {
    "too long", "unknown prefix", "malformed: base45", "malformed: zlib", "inflates too large",
    "malformed: COSE", "malformed: COSE header", "unprotected header", "unsupported algorithm",
    "missing kid", "unknown kid",
}  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_refused_as_a_dcc_with_a_reason(text: str) -> None:
    result = verify_dcc(text, certificates={}, now=NOW)
    assert not result.valid and result.reason in _DCC_REASONS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_compressed_bytes_are_refused_as_a_dcc_with_a_reason(data: bytes) -> None:
    result = verify_dcc("HC1:" + b45encode(zlib.compress(data)), certificates={}, now=NOW)
    assert not result.valid and result.reason in _DCC_REASONS


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.integers() | st.binary(max_size=16) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.integers(-300, 300), inner, max_size=4),
                    max_leaves=20))  # fmt: skip
def test_any_cbor_item_is_refused_as_a_cose_sign1_with_a_reason(item: object) -> None:
    for wrapped in (item, cbor2.CBORTag(18, item), [b"\xa1\x01\x26", item, b"", b""]):
        text = "HC1:" + b45encode(zlib.compress(cbor2.dumps(wrapped)))
        result = verify_dcc(text, certificates={}, now=NOW)
        assert not result.valid and result.reason in _DCC_REASONS


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=4))
def test_any_texts_are_refused_as_a_health_card_with_a_reason(texts: list[str]) -> None:
    result = verify_shc(texts, jwks={}, now=NOW)
    assert not result.valid and result.reason


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=45, max_codepoint=122), max_size=300))
def test_any_jws_alphabet_text_is_refused_as_a_health_card_with_a_reason(jws: str) -> None:
    result = verify_shc("shc:/" + numeric_encode(jws), jwks={}, now=NOW)
    assert not result.valid and result.reason


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 63))
def test_base64url_reads_only_the_canonical_form(data: bytes, other: int) -> None:
    from yimatong.adapters.wire import shc

    text = shc.b64url_encode(data)
    assert shc.b64url_decode(text) == data
    if len(text) % 4 in (2, 3):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        variant = text[:-1] + alphabet[other]
        if variant != text:
            try:
                decoded = shc.b64url_decode(variant)
            except ValueError:
                return
            assert decoded != data
