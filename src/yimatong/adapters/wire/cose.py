"""COSE_Sign1 (RFC 9052 §4.2) on cbor2, for the one profile yimatong uses.

Why not ``pycose`` or ``cose``: both are ~30x slower on the verification path and neither
decodes under cbor2 6 (DESIGN §8); the structure is four CBOR items.

The profile::

    COSE_Sign1 = #6.18([            ; tag 18 on output; untagged input is accepted too,
        protected:   bstr .cbor {1: alg, 4: kid},   ; exactly these two labels
        unprotected: {},                            ; always empty
        payload:     bstr,
        signature:   bstr,                          ; raw, 64 bytes for our algorithms
    ])

    Sig_structure = ["Signature1", protected, external_aad: h'', payload]

``parse_sign1`` is strict: anything that is not byte-for-byte the canonical encoding of that
shape (other header labels, a non-empty unprotected map, longer-than-needed lengths, trailing
bytes) raises ``ValueError``. A message therefore has one encoding, which keeps parsers that
disagree about leniency from disagreeing about a code. Untagged input is accepted because the
EU certificate ecosystem emits both; it is unambiguous (0x84 versus 0xD2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from yimatong.adapters.crypto import BadSignature, SigningKey, VerifyingKey

__all__ = [
    "COSE_SIGN1_TAG",
    "HEADER_ALG",
    "HEADER_KID",
    "MAX_KID_LENGTH",
    "Sign1",
    "parse_sign1",
    "sig_structure",
    "sign1",
    "verify_sign1",
]

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
MAX_KID_LENGTH = 32

_TAG18 = b"\xd2"  # major type 6, value 18
_ARRAY4 = b"\x84"
_EMPTY_MAP = b"\xa0"
_SIGNATURE1 = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"
_EMPTY_BSTR = b"\x40"

# cbor2 6 decodes the content of a tag immutably (tuple, frozendict), untagged items mutably.
_ARRAYS = (list, tuple)
_MAPS = (dict, type(cbor2.loads(b"\xa0", immutable=True)))


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, *unverified* COSE_Sign1. ``protected`` is the raw header bstr content."""

    alg: int
    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)


def _head(major: int, n: int) -> bytes:
    """The CBOR initial byte(s) for major type ``major`` and argument ``n``, shortest form."""
    mt = major << 5
    if n < 24:
        return bytes((mt | n,))
    if n < 0x100:
        return bytes((mt | 24, n))
    if n < 0x10000:
        return bytes((mt | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((mt | 26,)) + n.to_bytes(4, "big")
    return bytes((mt | 27,)) + n.to_bytes(8, "big")


def _bstr(data: bytes) -> bytes:
    return _head(2, len(data)) + data


def _int(value: int) -> bytes:
    return _head(0, value) if value >= 0 else _head(1, -1 - value)


def _protected(alg: int, kid: bytes) -> bytes:
    return b"\xa2\x01" + _int(alg) + b"\x04" + _bstr(kid)


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The bytes that are signed: ``["Signature1", protected, external_aad, payload]``."""
    aad = _bstr(external_aad) if external_aad else _EMPTY_BSTR
    return _SIGNATURE1 + _bstr(protected) + aad + _bstr(payload)


def sign1(payload: bytes, key: SigningKey) -> bytes:
    """A tagged COSE_Sign1 over ``payload``, with ``alg`` and ``kid`` from ``key``."""
    protected = _protected(key.alg.value, key.kid)
    signature = key.sign(sig_structure(protected, payload))
    return _TAG18 + _ARRAY4 + _bstr(protected) + _EMPTY_MAP + _bstr(payload) + _bstr(signature)


def parse_sign1(data: bytes) -> Sign1:
    """Parse (not verify) a COSE_Sign1 of our profile; ``ValueError`` on anything else."""
    try:
        obj: Any = cbor2.loads(data, max_depth=4, allow_indefinite=False)
    except Exception as exc:  # cbor2 raises several types on hostile input; all mean "not CBOR"
        raise ValueError("not CBOR") from exc
    tagged = type(obj) is cbor2.CBORTag
    if tagged:
        if obj.tag != COSE_SIGN1_TAG:
            raise ValueError("not a COSE_Sign1 tag")
        obj = obj.value
    if type(obj) not in _ARRAYS or len(obj) != 4:
        raise ValueError("COSE_Sign1 is an array of four items")
    protected, unprotected, payload, signature = obj
    if (
        type(protected) is not bytes
        or type(unprotected) not in _MAPS
        or type(payload) is not bytes
        or type(signature) is not bytes
    ):
        raise ValueError("COSE_Sign1 items have the wrong types")
    if unprotected:
        raise ValueError("the unprotected header must be empty")
    canonical = _ARRAY4 + _bstr(protected) + _EMPTY_MAP + _bstr(payload) + _bstr(signature)
    if (_TAG18 + canonical if tagged else canonical) != data:
        raise ValueError("COSE_Sign1 is not canonically encoded or has trailing bytes")
    alg, kid = _parse_protected(protected)
    return Sign1(alg=alg, kid=kid, protected=protected, payload=payload, signature=signature)


def _parse_protected(protected: bytes) -> tuple[int, bytes]:
    try:
        header: Any = cbor2.loads(protected, max_depth=2, allow_indefinite=False)
    except Exception as exc:
        raise ValueError("protected header is not CBOR") from exc
    if type(header) is not dict or len(header) != 2:
        raise ValueError("protected header must hold exactly alg and kid")
    alg = header.get(HEADER_ALG)
    kid = header.get(HEADER_KID)
    if type(alg) is not int or type(kid) is not bytes or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise ValueError("protected header must hold an int alg and a short bstr kid")
    if _protected(alg, kid) != protected:
        raise ValueError("protected header is not canonically encoded")
    return alg, kid


def verify_sign1(msg: Sign1, key: VerifyingKey) -> None:
    """Raise ``BadSignature`` unless ``key`` (of the header's algorithm) signed ``msg``."""
    if msg.alg != key.alg.value:
        raise BadSignature("the message's algorithm is not the key's")
    key.verify(msg.signature, msg.to_be_signed())
