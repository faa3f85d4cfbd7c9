"""Signed JSON is RFC 8785 (JCS): the shared vectors, and the fast path agreeing with rfc8785.

``canonical`` writes orjson's sorted output when that is provably JCS (ASCII keys, no floats,
safe integers) and asks the ``rfc8785`` package otherwise; hypothesis checks that the two agree
wherever the fast path is taken, and that ``canonical`` is JCS for every JSON value.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.signed import (
    MAX_SAFE_INTEGER,
    _orjson_is_jcs,
    canonical,
    sign_document,
    verify_document,
)

VECTORS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "jcs" / "vectors.json").read_text("utf-8")
)["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_shared_vectors(vector: dict[str, Any]) -> None:
    out = canonical(json.loads(vector["input"]))
    assert out.decode("utf-8") == vector["canonical"]
    assert hashlib.sha256(out).hexdigest() == vector["sha256"]


def test_orjson_writes_37_0_where_jcs_writes_37() -> None:
    # Why the switch: a browser cannot reproduce orjson's float form.
    assert orjson.dumps(37.0) == b"37.0"
    assert canonical({"t": 37.0}) == b'{"t":37}'


def test_what_jcs_cannot_say_is_refused() -> None:
    with pytest.raises(ValueError, match="not canonical JSON"):
        canonical({"n": MAX_SAFE_INTEGER + 1})
    with pytest.raises(ValueError, match="not canonical JSON"):
        canonical([float("nan")])


def test_a_signed_document_with_floats_verifies() -> None:
    key = generate_signing_key(Algorithm.EDDSA)
    doc = sign_document({"type": "x", "limit": 37.0, "体温": 36.6}, key)
    reread = json.loads(json.dumps(doc))  # what any JSON reader gives back
    assert verify_document(reread, {key.kid: key.public}) == doc["payload"]


_SAFE_INT = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
_SCALARS = (
    st.none()
    | st.booleans()
    | _SAFE_INT
    | st.integers(min_value=-(2**63), max_value=2**63)  # beyond 2^53: refused by both paths
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_KEYS = st.text(max_size=8) | st.sampled_from(
    ["a", "B", "_", "1", "é", "ｚ", "\U0001f600", "\uffff"]
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=30,
)


def _jcs(value: Any) -> bytes | None:
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        return None


@settings(max_examples=600, deadline=None)
@given(JSON_VALUES)
def test_the_fast_path_is_jcs_wherever_it_is_taken(value: Any) -> None:
    if _orjson_is_jcs(value):
        # surrogates are not text JSON can carry (orjson and rfc8785 both refuse them)
        try:
            fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            assert _jcs_refuses(value)
            return
        assert fast == rfc8785.dumps(value)


def _jcs_refuses(value: Any) -> bool:
    try:
        rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return True
    return False


@settings(max_examples=600, deadline=None)
@given(JSON_VALUES)
def test_canonical_is_jcs_for_every_json_value(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises((ValueError, UnicodeEncodeError, orjson.JSONEncodeError)):
            canonical(value)
        return
    assert canonical(value) == expected


@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127)), st.text() | _SAFE_INT))
def test_ascii_keys_strings_and_safe_integers_take_the_fast_path(value: dict[str, Any]) -> None:
    assert _orjson_is_jcs(value)


def test_a_rule_with_a_number_jcs_cannot_write_is_refused_not_signed() -> None:
    from yimatong.domain.errors import InvalidInput
    from yimatong.hub.policies import check_rule

    with pytest.raises(InvalidInput, match="2\\^53"):
        check_rule({"<": [{"var": "tests.hours_since_negative"}, 2**60]})
