"""Our base45 (RFC 9285) against the RFC's examples and the `base45` package as a reference."""

from __future__ import annotations

import base45 as reference
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yimatong.adapters.wire.base45 import ALPHABET, b45decode, b45encode, encoded_length


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (b"AB", "BB8"),  # RFC 9285 §4.3
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),  # RFC 9285 §4.4
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff\xff", "FGW"),
        (b"\xff", "U5"),
    ],
)
def test_rfc_examples(raw: bytes, encoded: str) -> None:
    assert b45encode(raw) == encoded
    assert b45decode(encoded) == raw


@pytest.mark.parametrize(
    "text",
    [
        "GGW",  # 65536: one more than two bytes hold (RFC 9285 §6)
        ":::",
        "V5",  # 256 in a final pair
        "::",
        "A",  # a dangling character
        "BB8A",
        "bb8",  # lower case is outside the alphabet
        "BB\n",
        "BB8\n",
        "BB8=",
        "张三A",
    ],
)
def test_invalid_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid base45"):
        b45decode(text)


@given(st.binary(max_size=600))
def test_round_trip_and_agreement_with_the_reference(data: bytes) -> None:
    encoded = b45encode(data)
    assert encoded == reference.b45encode(data).decode("ascii")
    assert len(encoded) == encoded_length(len(data))
    assert b45decode(encoded) == data


@given(st.text(alphabet=ALPHABET + "abc=~\x00é", max_size=60))
def test_decode_agrees_with_the_reference_on_any_text(text: str) -> None:
    try:
        expected: bytes | None = reference.b45decode(text)
    except ValueError:
        expected = None
    try:
        actual: bytes | None = b45decode(text)
    except ValueError:
        actual = None
    assert actual == expected
