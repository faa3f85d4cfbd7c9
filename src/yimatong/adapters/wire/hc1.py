"""The EU Digital COVID Certificate on the wire: ``HC1:`` + base45(zlib(COSE_Sign1(CWT))).

The layers, as the eHealth Network's hcert specification (v1.0.5) lays them down::

    HC1:                       ; context identifier, exactly this
    base45                     ; RFC 9285, our strict decoder (adapters/wire/base45.py)
    zlib                       ; RFC 1950; required (an uncompressed COSE is refused)
    [#6.61] #6.18 / untagged   ; an optional CWT tag around the COSE_Sign1 tag
    COSE_Sign1 [protected: bstr .cbor {1: alg, ? 4: kid, * label => any},
                unprotected: {? 4: kid},
                payload: bstr .cbor CWT, signature: bstr]
    CWT {1: iss, 4: exp, 6: iat, -260: {1: hcert}}

This is not our own profile, so ``adapters/wire/cose.parse_sign1`` (which accepts exactly one
encoding of the YMT1 profile) is not used to parse it; the bytes that are signed are built by
the same ``sig_structure``. What the DCC allows and we refuse is narrow on purpose:

* ``alg`` must be in the protected header (an algorithm in the unprotected one is a trick:
  nothing binds it to the signature), and must be ES256 (-7), PS256 (-37) or EdDSA (-8).
* the unprotected header may hold ``kid`` and nothing else; it is read only when the protected
  header has none (the specification: the protected one takes precedence, and the test data
  of the EU's gateway has cards with either).
* trailing bytes after the COSE_Sign1, after the zlib stream, or inside the CWT are refused.

Every failure raises ``Hc1Error`` whose ``reason`` is a short machine-readable string.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cbor2

from yimatong.adapters.wire.base45 import b45decode, b45encode
from yimatong.adapters.wire.cose import sig_structure

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "ALG_PS256",
    "MAX_HC1_LENGTH",
    "MAX_INFLATED_SIZE",
    "PREFIX",
    "Hc1Error",
    "Hc1Message",
    "decode_hc1",
    "encode_hc1",
    "loads_claims",
    "parse_cose",
]

PREFIX = "HC1:"
#: Longest ``HC1:`` text accepted. A QR code of version 40 at level Q holds ~3,000 alphanumeric
#: characters; real certificates are 500-700.
MAX_HC1_LENGTH = 8192
#: Most bytes the zlib stream may inflate to (a decompression bomb stops here).
MAX_INFLATED_SIZE = 16384

ALG_ES256 = -7
ALG_EDDSA = -8
ALG_PS256 = -37
_ALGS = frozenset((ALG_ES256, ALG_EDDSA, ALG_PS256))
_TAG_CWT = 61
_TAG_SIGN1 = 18
_LABEL_ALG = 1
_LABEL_KID = 4
_MAX_KID = 64


class Hc1Error(ValueError):
    """An ``HC1:`` text that is not a well-formed DCC; ``reason`` says at which layer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Hc1Message:
    """A parsed, *unverified* COSE_Sign1 of a DCC."""

    alg: int
    kid: bytes | None
    protected: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)


def _inflate(data: bytes) -> bytes:
    if not data or data[0] != 0x78:
        raise Hc1Error("malformed: zlib")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED_SIZE)
    except zlib.error:
        raise Hc1Error("malformed: zlib") from None
    if inflater.unconsumed_tail:
        raise Hc1Error("inflates too large")
    if not inflater.eof or inflater.unused_data:
        raise Hc1Error("malformed: zlib")
    return out


def decode_hc1(text: str) -> bytes:
    """The COSE bytes inside an ``HC1:`` text; ``Hc1Error`` for a bad prefix, base45 or zlib."""
    if len(text) > MAX_HC1_LENGTH:
        raise Hc1Error("too long")
    if not text.startswith(PREFIX):
        raise Hc1Error("unknown prefix")
    try:
        compressed = b45decode(text[len(PREFIX) :])
    except ValueError:
        raise Hc1Error("malformed: base45") from None
    return _inflate(compressed)


def encode_hc1(cose: bytes) -> str:
    """``HC1:`` + base45(zlib level 9(cose)): for our own vectors and tests."""
    return PREFIX + b45encode(zlib.compress(cose, 9))


def _loads(data: bytes, what: str) -> Any:
    """One CBOR item that is all of ``data`` (``cbor2.loads`` ignores trailing bytes), as
    cbor2 decodes it (maps, lists; tagged dates as ``datetime``/``date``)."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception:  # cbor2 raises several error types (and ValueError/EOFError) on garbage
        raise Hc1Error(f"malformed: {what}") from None
    if stream.tell() != len(data):
        raise Hc1Error(f"malformed: {what}")
    return item


def _loads_exact(data: bytes, what: str) -> Any:
    """One CBOR item that is all of ``data``, for the outer COSE structure: decoded in C and
    checked by re-encoding, which must give ``data`` back (the structure is four byte strings
    and a small map, so the check costs ~1 µs, against ~10 µs for a stream decoder). A COSE
    whose heads are not in their shortest form, or with bytes after it, is refused."""
    try:
        item = cbor2.loads(data)
        same = cbor2.dumps(item) == data
    except Exception:  # cbor2 raises several error types (and ValueError/EOFError) on garbage
        raise Hc1Error(f"malformed: {what}") from None
    if not same:
        raise Hc1Error(f"malformed: {what}")
    return _plain(item)


def _plain(item: Any) -> Any:
    """Lists and dicts for the tuples and frozendicts cbor2 6 makes in some contexts (a tag
    keeps its tag), and RFC 3339 text for a date/time tag, as the DCC schema has it. Exact type
    tests, scalars first: this walks every claim of every scan."""
    kind = type(item)
    if kind in _SCALARS:
        return item
    if kind is dict or kind is _FROZENDICT:
        return {k: _plain(v) for k, v in item.items()}
    if kind is list or kind is tuple:
        return [_plain(x) for x in item]
    if kind is cbor2.CBORTag:
        return cbor2.CBORTag(item.tag, _plain(item.value))
    if isinstance(item, datetime):  # tag 0 or 1 (some issuers tag a test's sampling time)
        return item.isoformat().replace("+00:00", "Z")
    return item


_SCALARS = frozenset((str, int, bytes, bool, float, type(None)))
_FROZENDICT = cbor2.frozendict


def _header_kid(value: object) -> bytes:
    if type(value) is not bytes or not 0 < len(value) <= _MAX_KID:
        raise Hc1Error("malformed: COSE header")
    return value


def _bstr(data: bytes, i: int) -> tuple[bytes, int] | None:
    """The byte string whose head is at ``data[i]`` in its shortest form, and the index after
    it; None for anything else (the general path then decides)."""
    if i >= len(data):
        return None
    head = data[i]
    if 0x40 <= head <= 0x57:
        n, i = head - 0x40, i + 1
    elif head == 0x58 and i + 1 < len(data) and data[i + 1] >= 24:
        n, i = data[i + 1], i + 2
    elif head == 0x59 and i + 2 < len(data):
        n, i = int.from_bytes(data[i + 1 : i + 3], "big"), i + 3
        if n < 0x100:
            return None
    else:
        return None
    end = i + n
    return (data[i:end], end) if end <= len(data) else None


#: The protected headers issuers write, {1: alg, 4: kid} in either order, read without cbor2.
_ALG_BYTES = {b"\x26": ALG_ES256, b"\x27": ALG_EDDSA, b"\x38\x24": ALG_PS256}


def _fast_header(protected: bytes) -> tuple[int, bytes | None] | None:
    """(alg, kid) of a protected header that is exactly ``{1: alg}`` or ``{1: alg, 4: kid}``
    (either order) in shortest form with a supported alg, else None."""
    if not protected or protected[0] not in (0xA1, 0xA2):
        return None
    pairs, i = protected[0] - 0xA0, 1
    alg = kid = None
    for _ in range(pairs):
        label = protected[i : i + 1]
        if label == b"\x01" and alg is None:
            for code, value in _ALG_BYTES.items():
                if protected.startswith(code, i + 1):
                    alg, i = value, i + 1 + len(code)
                    break
            else:
                return None
        elif label == b"\x04" and kid is None:
            found = _bstr(protected, i + 1)
            if found is None or not 0 < len(found[0]) <= _MAX_KID:
                return None
            kid, i = found
        else:
            return None
    if alg is None or i != len(protected):
        return None
    return alg, kid


def _fast_cose(data: bytes) -> Hc1Message | None:
    """The common COSE_Sign1 of a DCC read straight from its bytes: [tag 61] tag 18, an array
    of four, shortest-form heads, an empty unprotected header or ``{4: kid}`` only when the
    protected one has no kid, nothing after it. None for anything else: ``parse_cose`` then
    takes the general path (which refuses or reads what this does not). It only accepts what
    the general path accepts, as the same message."""
    i = 2 if data.startswith(b"\xd8\x3d") else 0
    if data[i : i + 2] != b"\xd2\x84":
        return None
    found = _bstr(data, i + 2)
    if found is None:
        return None
    protected, i = found
    if i >= len(data):
        return None
    header = _fast_header(protected)
    if header is None:
        return None
    alg, kid = header
    if data[i] == 0xA0:
        i += 1
    elif data[i] == 0xA1 and data[i + 1 : i + 2] == b"\x04" and kid is None:
        found = _bstr(data, i + 2)
        if found is None or not 0 < len(found[0]) <= _MAX_KID:
            return None
        kid, i = found
    else:
        return None
    found = _bstr(data, i)
    if found is None:
        return None
    payload, i = found
    found = _bstr(data, i)
    if found is None or found[1] != len(data):
        return None
    return Hc1Message(alg, kid, protected, payload, found[0])


def parse_cose(data: bytes) -> Hc1Message:
    """Parse (not verify) the COSE_Sign1 of a DCC; ``Hc1Error`` on anything outside the profile
    described in the module docstring."""
    fast = _fast_cose(data)
    if fast is not None:
        return fast
    item = _loads_exact(data, "COSE")
    if isinstance(item, cbor2.CBORTag) and item.tag == _TAG_CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag):
        if item.tag != _TAG_SIGN1:
            raise Hc1Error("malformed: COSE")
        item = item.value
    if not isinstance(item, list) or len(item) != 4:
        raise Hc1Error("malformed: COSE")
    protected, unprotected, payload, signature = item
    if not (type(protected) is bytes and type(payload) is bytes and type(signature) is bytes):
        raise Hc1Error("malformed: COSE")
    if not isinstance(unprotected, dict):
        raise Hc1Error("malformed: COSE")
    header = _loads_exact(protected, "COSE header") if protected else {}
    if not isinstance(header, dict):
        raise Hc1Error("malformed: COSE header")
    if set(unprotected) - {_LABEL_KID}:
        raise Hc1Error("unprotected header")
    alg = header.get(_LABEL_ALG)
    if type(alg) is not int:
        raise Hc1Error("malformed: COSE header")
    if alg not in _ALGS:
        raise Hc1Error("unsupported algorithm")
    if _LABEL_KID in header:
        kid: bytes | None = _header_kid(header[_LABEL_KID])
    elif _LABEL_KID in unprotected:
        kid = _header_kid(unprotected[_LABEL_KID])
    else:
        kid = None
    return Hc1Message(alg, kid, protected, payload, signature)


def loads_claims(payload: bytes) -> Any:
    """The CWT claims set of a *verified* payload (``Hc1Error("malformed: claims")``), as cbor2
    decodes it: a tagged date or time is a ``datetime`` (``verifier/international`` reads the
    fields it uses as text either way)."""
    return _loads(payload, "claims")
