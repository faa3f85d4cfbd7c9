"""Signed JSON documents: the lists every verifier downloads (trust list, risk areas, policies).

A document is ``{"payload": {...}, "signature": {"kid", "alg", "value"}}``; the signature is
over the payload's canonical bytes (orjson, keys sorted, no whitespace), so a verifier can keep
the document on disk exactly as received and check it again at any time. Payloads hold only
JSON values (times as RFC 3339 strings).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from yimatong.adapters.crypto import BadSignature, SigningKey, VerifyingKey

__all__ = ["BadDocument", "UntrustedDocument", "canonical", "sign_document", "verify_document"]


class BadDocument(Exception):
    """A signed document is malformed, signed by an unknown key, or its signature fails."""


class UntrustedDocument(BadDocument):
    """A well-formed signed document that none of the keys given signed (an unknown key, a
    signature that fails): from a signer not trusted, rather than from something that does
    not sign documents at all."""


def canonical(payload: Any) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


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
