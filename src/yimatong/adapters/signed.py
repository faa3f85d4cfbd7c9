"""Signed JSON documents: the lists every verifier downloads (trust list, risk areas, policies).

A document is ``{"payload": {...}, "signature": {"kid", "alg", "value"}}``; the signature is
over the payload's canonical bytes, so a verifier can keep the document on disk exactly as
received and check it again at any time. Payloads hold only JSON values (times as RFC 3339
strings).

The canonical bytes are RFC 8785 (JSON Canonicalization Scheme, JCS): keys sorted by UTF-16
code units, no whitespace, numbers as ECMAScript writes them (``37.0`` is ``37``), strings
escaped only where JSON must be — what a browser makes with ``JSON.stringify`` and a key sort,
so the checkpoint page verifies the hub's lists itself (docs/pages.md). ``canonical`` takes the
fast path, orjson with sorted keys, for values where that output *is* JCS: every key ASCII (so
UTF-8 and UTF-16 orders agree), no float, every integer within ±(2^53 − 1) (JCS numbers are
IEEE doubles); anything else goes through the ``rfc8785`` package, which also refuses what JCS
cannot say (an integer beyond 2^53, NaN). ``tests/unit/test_signed_jcs.py`` checks with
hypothesis that the two agree wherever the fast path is taken, and ``tests/vectors/jcs`` pins
the bytes for the Python and the browser tests alike.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from itertools import chain
from typing import Any

import orjson
import rfc8785

from yimatong.adapters.crypto import BadSignature, SigningKey, VerifyingKey

__all__ = [
    "MAX_SAFE_INTEGER",
    "BadDocument",
    "UntrustedDocument",
    "canonical",
    "sign_document",
    "verify_document",
]

#: The largest integer a JCS number (an IEEE double) holds exactly: 2^53 - 1.
MAX_SAFE_INTEGER = 2**53 - 1


class BadDocument(Exception):
    """A signed document is malformed, signed by an unknown key, or its signature fails."""


class UntrustedDocument(BadDocument):
    """A well-formed signed document that none of the keys given signed (an unknown key, a
    signature that fails): from a signer not trusted, rather than from something that does
    not sign documents at all."""


def canonical(payload: Any) -> bytes:
    """The RFC 8785 (JCS) bytes of a JSON value (ValueError for what JSON cannot hold)."""
    if _orjson_is_jcs(payload):
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    try:
        return rfc8785.dumps(payload)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not canonical JSON: {exc}") from None


def _orjson_is_jcs(value: Any) -> bool:
    """True when orjson's sorted output of ``value`` is its JCS form (see the module)."""
    return _level_is_jcs([value])


def _level_is_jcs(items: list[Any]) -> bool:
    """The check, one nesting level at a time: the items of every container at this level
    are gathered into one list for the next, so a lab's 20,000 rows cost a few passes in C
    (``set(map(type, ...))``, ``str.join``, ``itertools.chain``), not 20,000 calls."""
    kinds = set(map(type, items))
    if kinds <= _LEAVES:
        return True
    if not kinds <= _WALKED:
        return False  # a float, or not JSON at all: the rfc8785 package decides
    if int in kinds:
        ints = [v for v in items if type(v) is int]
        if min(ints) < -MAX_SAFE_INTEGER or max(ints) > MAX_SAFE_INTEGER:
            return False
    below: list[Any] = []
    if dict in kinds:
        dicts = [v for v in items if type(v) is dict]
        try:
            if not "".join(chain.from_iterable(dicts)).isascii():
                return False
        except TypeError:  # a key that is not text
            return False
        below.extend(chain.from_iterable(map(dict.values, dicts)))
    if list in kinds or tuple in kinds:
        below.extend(chain.from_iterable(v for v in items if type(v) is list or type(v) is tuple))
    return _level_is_jcs(below)


#: Values whose orjson form is their JCS form whatever they hold (text is escaped alike).
_LEAVES = frozenset({str, bool, type(None)})
#: Values to look into.
_WALKED = _LEAVES | {int, dict, list, tuple}


def sign_document(payload: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    value = key.sign(canonical(payload))
    return {
        "payload": payload,
        "signature": {
            "kid": key.kid.hex(),
            "alg": key.alg.value,
            "value": base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii"),
        },
    }


def verify_document(document: Any, keys: Mapping[bytes, VerifyingKey]) -> dict[str, Any]:
    """The payload of ``document`` if one of ``keys`` signed it; BadDocument otherwise."""
    try:
        payload = document["payload"]
        sig = document["signature"]
        kid = bytes.fromhex(sig["kid"])
        raw = sig["value"]
        value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadDocument("malformed signed document") from exc
    if not isinstance(payload, dict):
        raise BadDocument("malformed signed document")
    key = keys.get(kid)
    if key is None:
        raise UntrustedDocument(f"signed by an unknown key {kid.hex()}")
    if sig.get("alg") != key.alg.value:
        raise UntrustedDocument("algorithm does not match the key")
    try:
        key.verify(value, canonical(payload))
    except BadSignature as exc:
        raise UntrustedDocument("bad signature") from exc
    return payload
