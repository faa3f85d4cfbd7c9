"""SMART Health Cards on the wire: ``shc:/`` numeric QR text, JWS compact, raw DEFLATE.

As the SMART Health Cards framework (spec.smarthealth.cards, "Encoding health cards as QR
codes" and "Health Cards are small") lays them down::

    shc:/<digits>                   ; one QR code
    shc:/<i>/<n>/<digits>           ; chunk i of n (deprecated by the framework, still read)
    digits: pairs "dd", each a character chr(dd + 45), dd <= 77 (the JWS alphabet "-" .. "z")
    JWS compact: b64url(header) "." b64url(payload) "." b64url(signature)
    header:  {"alg": "ES256", "zip": "DEF", "kid": <JWK thumbprint>} (other members refused)
    payload: raw DEFLATE (RFC 1951, no zlib header) of the JSON claims {iss, nbf, ?exp, vc}
    signature: 64 bytes, r || s (JWS ES256, RFC 7518 §3.4), not DER

Every failure raises ``ShcError`` whose ``reason`` is a short machine-readable string.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "MAX_CHUNK_JWS",
    "MAX_INFLATED_SIZE",
    "MAX_JWS_LENGTH",
    "PREFIX",
    "ShcError",
    "ShcJws",
    "b64url_decode",
    "b64url_encode",
    "deflate_raw",
    "inflate_raw",
    "join_chunks",
    "loads_payload",
    "numeric_decode",
    "numeric_encode",
    "parse_jws",
]

PREFIX = "shc:/"
#: Longest JWS accepted, in characters (the framework keeps a card under 1,195 per QR code;
#: chunked cards were allowed up to three codes).
MAX_JWS_LENGTH = 8192
#: Most bytes a payload may inflate to (a decompression bomb stops here).
MAX_INFLATED_SIZE = 65536
#: Most JWS characters one chunk of a chunked card may carry (a version 22 QR code, level L).
MAX_CHUNK_JWS = 1191
_MAX_CHUNKS = 32
#: A chunk's header; the digits after it are checked by ``_digits`` (a regex over the ~2,400
#: digits of a card cost more than the rest of the decoding).
_CHUNK_HEAD = re.compile(r"shc:/([1-9][0-9]?)/([1-9][0-9]?)/", re.ASCII)
_B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_BYTES = _B64URL_ALPHABET.encode("ascii")
_B64URL_VALUE = [_B64URL_ALPHABET.find(chr(i)) for i in range(128)]
_HEADER_KEYS = frozenset(("alg", "zip", "kid"))


class ShcError(ValueError):
    """A ``shc:/`` text or JWS that is not a well-formed health card; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# bytes.translate tables: a digit's value times ten, and its value plus 45; 0xFF otherwise.
_TENS = bytes(10 * (i - 48) if 48 <= i <= 57 else 0xFF for i in range(256))
_ONES = bytes(i - 48 + 45 if 48 <= i <= 57 else 0xFF for i in range(256))


def numeric_decode(digits: str) -> str:
    """The JWS characters of the numeric mode digits (pairs ``dd`` -> ``chr(dd + 45)``).

    All pairs at once: the tens and the ones of every pair are looked up into two byte strings,
    read as two big integers and added; no byte overflows into the next (at most 90 + 54), so
    the sum's bytes are the characters. A card is ~1,200 pairs: ~5 µs, where a loop over the
    pairs takes ~200 µs, more than the signature.
    """
    if len(digits) % 2 or not digits.isascii():
        raise ShcError("malformed: numeric")
    raw = digits.encode("ascii")
    tens, ones = raw[0::2].translate(_TENS), raw[1::2].translate(_ONES)
    if 0xFF in tens or 0xFF in ones:
        raise ShcError("malformed: numeric")
    n = len(tens)
    text = (int.from_bytes(tens, "big") + int.from_bytes(ones, "big")).to_bytes(n, "big")
    if n and max(text) > 122:  # a pair above 77
        raise ShcError("malformed: numeric")
    return text.decode("ascii")


def numeric_encode(jws: str) -> str:
    return "".join(f"{ord(c) - 45:02d}" for c in jws)


def _digits(text: str) -> bool:
    """``text`` is ASCII digits only (or empty)."""
    return not text or (text.isascii() and text.isdigit())


def join_chunks(texts: Sequence[str]) -> str:
    """The JWS of one card from its ``shc:/`` text(s): one unchunked text, or every chunk
    ``shc:/i/n/...`` of one card exactly once, in any order (``shc:/1/1/`` is read as one)."""
    if not texts:
        raise ShcError("unknown prefix")
    if len(texts) > _MAX_CHUNKS:
        raise ShcError("chunk count")
    parts: dict[int, str] = {}
    count: int | None = None
    for text in texts:
        if not text.startswith(PREFIX):
            raise ShcError("unknown prefix")
        m = _CHUNK_HEAD.match(text)
        digits = text[len(PREFIX) :] if m is None else text[m.end() :]
        if not _digits(digits):
            raise ShcError("malformed: numeric")
        if m is None:
            if len(texts) != 1:
                raise ShcError("chunk header")
            return numeric_decode(digits)
        index, n = int(m.group(1)), int(m.group(2))
        if count is None:
            count = n
        if n != count:
            raise ShcError("chunk count")
        if index > n:
            raise ShcError("chunk index")
        if index in parts:
            raise ShcError("chunk duplicate")
        parts[index] = numeric_decode(digits)
    assert count is not None
    if len(parts) != count:
        raise ShcError("chunk missing")
    if count > 1 and any(len(p) > MAX_CHUNK_JWS for p in parts.values()):
        raise ShcError("chunk too long")
    return "".join(parts[i] for i in range(1, count + 1))


def b64url_decode(text: str) -> bytes:
    """base64url without padding (RFC 7515 §2), canonical: no padding, no stray bits."""
    rest = len(text) % 4
    if rest == 1 or not text.isascii() or text.encode("ascii").translate(None, _B64URL_BYTES):
        raise ShcError("malformed: JWS")
    # Canonical: the bits the last character carries past the data are zero (RFC 4648 §3.5).
    if rest and _B64URL_VALUE[ord(text[-1])] & (0x0F if rest == 2 else 0x03):
        raise ShcError("malformed: JWS")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-rest % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits none
        raise ShcError("malformed: JWS") from None


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def inflate_raw(data: bytes) -> bytes:
    """Raw DEFLATE (RFC 1951), bounded, the whole input one complete stream."""
    inflater = zlib.decompressobj(wbits=-15)
    try:
        out = inflater.decompress(data, MAX_INFLATED_SIZE)
    except zlib.error:
        raise ShcError("malformed: deflate") from None
    if inflater.unconsumed_tail:
        raise ShcError("inflates too large")
    if not inflater.eof or inflater.unused_data:
        raise ShcError("malformed: deflate")
    return out


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@dataclass(frozen=True, slots=True)
class ShcJws:
    """A parsed, *unverified* JWS of a health card."""

    kid: str
    signing_input: bytes
    payload: bytes  # still compressed: inflated only after the signature holds
    signature: bytes


def parse_jws(jws: str) -> ShcJws:
    """Parse (not verify) a health card's compact JWS; ``ShcError`` for anything else."""
    if len(jws) > MAX_JWS_LENGTH:
        raise ShcError("too long")
    parts = jws.split(".")
    if len(parts) != 3:
        raise ShcError("malformed: JWS")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = orjson.loads(b64url_decode(header_b64))
    except orjson.JSONDecodeError:
        raise ShcError("malformed: JWS") from None
    if not isinstance(header, dict) or set(header) - _HEADER_KEYS:
        raise ShcError("malformed: JWS header")
    if header.get("alg") != "ES256":
        raise ShcError("unsupported algorithm")
    if header.get("zip") != "DEF":
        raise ShcError("malformed: JWS header")
    kid = header.get("kid")
    if type(kid) is not str or not 0 < len(kid) <= 128:
        raise ShcError("malformed: JWS header")
    return ShcJws(
        kid=kid,
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        payload=b64url_decode(payload_b64),
        signature=b64url_decode(signature_b64),
    )


def loads_payload(data: bytes) -> Any:
    """The claims of a verified, inflated payload (``ShcError("malformed: payload")``)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ShcError("malformed: payload") from None
