"""COSE_Sign1 (RFC 9052 §4.2), for the one profile yimatong uses.

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

# Additional information 24..27: the argument follows in 1, 2, 4 or 8 bytes, and is only
# then the shortest form when it does not fit in the width below.
_WIDTHS = {24: 1, 25: 2, 26: 4, 27: 8}
_SHORTEST = {1: 24, 2: 0x100, 4: 0x10000, 8: 0x100000000}


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
    protected = _bstr(_protected(key.alg.value, key.kid))
    payload = _bstr(payload)
    # The Sig_structure and the message share their encoded protected header and payload.
    signature = key.sign(_SIGNATURE1 + protected + _EMPTY_BSTR + payload)
    return _TAG18 + _ARRAY4 + protected + _EMPTY_MAP + payload + _bstr(signature)


def _argument(data: bytes, i: int, major: int) -> tuple[int, int]:
    """The argument of the CBOR head at ``data[i]`` of type ``major``, and where its content
    starts. Only the shortest form is accepted (RFC 8949 §4.2.1); ``IndexError`` past the end."""
    initial = data[i]
    if initial >> 5 != major:
        raise ValueError("unexpected CBOR type")
    n = initial & 0x1F
    if n < 24:
        return n, i + 1
    width = _WIDTHS.get(n)
    if width is None:
        raise ValueError("indefinite or reserved CBOR length")
    end = i + 1 + width
    if end > len(data):
        raise IndexError("truncated CBOR head")
    value = int.from_bytes(data[i + 1 : end], "big")
    if value < _SHORTEST[width]:
        raise ValueError("CBOR argument not in its shortest form")
    return value, end


def _bytes_at(data: bytes, i: int) -> tuple[bytes, int]:
    length, start = _argument(data, i, 2)
    end = start + length
    if end > len(data):
        raise ValueError("bstr runs past the end")
    return data[start:end], end


def parse_sign1(data: bytes) -> Sign1:
    """Parse (not verify) a COSE_Sign1 of our profile; ``ValueError`` on anything else.

    The profile has one encoding, so it is read byte by byte — tag, array(4), bstr, empty
    map, bstr, bstr, end — rather than decoded generically and re-encoded to compare: any
    other shape, type, length form or trailing byte stops at the first byte that differs.
    """
    try:
        i = 1 if data[:1] == _TAG18 else 0
        if data[i : i + 1] != _ARRAY4:
            raise ValueError("COSE_Sign1 is a tag-18 array of four items")
        protected, i = _bytes_at(data, i + 1)
        if data[i : i + 1] != _EMPTY_MAP:
            raise ValueError("the unprotected header must be an empty map")
        payload, i = _bytes_at(data, i + 1)
        signature, i = _bytes_at(data, i)
        if i != len(data):
            raise ValueError("trailing bytes after the COSE_Sign1")
        alg, kid = _parse_protected(protected)
    except IndexError:
        raise ValueError("truncated COSE_Sign1") from None
    return Sign1(alg=alg, kid=kid, protected=protected, payload=payload, signature=signature)


def _parse_protected(protected: bytes) -> tuple[int, bytes]:
    """``{1: alg, 4: kid}`` exactly, in that order and shortest form (IndexError if short)."""
    if protected[:2] != b"\xa2\x01":
        raise ValueError("protected header must hold exactly alg and kid")
    major = protected[2] >> 5
    if major > 1:
        raise ValueError("protected header must hold an int alg")
    n, i = _argument(protected, 2, major)
    alg = n if major == 0 else -1 - n
    if protected[i : i + 1] != b"\x04":
        raise ValueError("protected header must hold exactly alg and kid")
    kid, i = _bytes_at(protected, i + 1)
    if i != len(protected):
        raise ValueError("trailing bytes in the protected header")
    if not 0 < len(kid) <= MAX_KID_LENGTH:
        raise ValueError("protected header must hold a short bstr kid")
    return alg, kid


def verify_sign1(msg: Sign1, key: VerifyingKey) -> None:
    """Raise ``BadSignature`` unless ``key`` (of the header's algorithm) signed ``msg``."""
    if msg.alg != key.alg.value:
        raise BadSignature("the message's algorithm is not the key's")
    key.verify(msg.signature, msg.to_be_signed())
