"""The health code on the wire: ``YMT1:`` + base45(maybe-zlib(COSE_Sign1(CWT))) (DESIGN §5).

Payload: a CWT claims set (RFC 8392), deterministically encoded (RFC 8949 §4.2.1)::

    {
        1: iss,              ; text: the issuer's six-digit region code
        4: exp,              ; int: expiry, epoch seconds
        6: iat,              ; int: issued at, epoch seconds
        -65537: {            ; the yimatong claim; private-use key (RFC 8392 §9.1: < -65536)
            1: version,      ; uint, 1
            2: sid,          ; bstr .size 16: the subject pseudonym
            3: colour,       ; 0 green, 1 yellow, 2 red
            4: colour-since, ; int, epoch seconds
            5: [* reason],   ; machine reason codes (text)
            6: hours,        ; uint / null: hours since the last negative test
            7: masked-name,  ; text
            8: masked-id,    ; text
            9: kind,         ; 0 dynamic (refreshed every minute), 1 printed (long-lived card)
        },
    }

The COSE_Sign1 is zlib-compressed (level 9) only when that makes the code shorter; a decoder
tells the two apart by the first byte, 0x78 for zlib, 0xD2 (tagged) or 0x84 (untagged) for
COSE, as the EU digital COVID certificate does. Most of a code is signature and pseudonym,
which do not compress, so dynamic codes normally travel uncompressed.

Verification fails with one opaque ``InvalidCode`` whatever went wrong; its ``detail`` is a
short reason for the operator's log, never the code or anything in it (two causes that our
own code acts on are subclasses: ``UnknownKey`` for ``unknown kid``, ``ExpiredCode`` for
``expired``):

    ``too long``, ``unknown prefix``, ``malformed: base45``, ``malformed: zlib``,
    ``inflates too large``, ``malformed: COSE``, ``unknown kid``, ``algorithm mismatch``,
    ``bad signature``, ``malformed: claims``, ``unsupported version``, ``issuer mismatch``,
    ``key revoked``, ``key not valid at issue time``, ``issued in the future``, ``expired``.

Time. A code is valid at ``now`` when ``iat - leeway <= now < exp + leeway`` (leeway 30 s by
default: checkpoint clocks drift, and a code shown in its last second is scanned in the next).
The key must have been valid when the code was *issued* (``not_before <= iat <= not_after``),
so a printed card outlives the rotation of the key that signed it; but a key that has been
revoked (``revoked_at <= now``) invalidates every code it ever signed, at once.

Order of checks: the signature is verified before the payload is decoded, so nothing an
unauthenticated sender wrote reaches the claims parser.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import cbor2

from yimatong.adapters.crypto import BadSignature, SigningKey, VerifyingKey
from yimatong.adapters.wire.base45 import b45decode, b45encode, encoded_length
from yimatong.adapters.wire.cose import Sign1, parse_sign1, sign1
from yimatong.domain.errors import ExpiredCode, InvalidCode, UnknownKey
from yimatong.domain.facts import Colour, require_aware
from yimatong.domain.token import CodeKind, HealthClaims

__all__ = [
    "CLAIMS_KEY",
    "DEFAULT_LEEWAY",
    "MAX_CODE_LENGTH",
    "MAX_INFLATED_SIZE",
    "PREFIX",
    "CodePeek",
    "Keyring",
    "TrustedKey",
    "encode_code",
    "peek_code",
    "verify_code",
    "verify_code_at",
]

PREFIX = "YMT1:"
#: The private-use CWT claim key that holds the yimatong claims.
CLAIMS_KEY = -65537
#: Longest code accepted, in characters. A typical dynamic code is ~290 (a QR code of version 10
#: at level M); the largest claims ``HealthClaims`` allows stay under it even uncompressed (~2,400).
MAX_CODE_LENGTH = 2560
#: Most bytes a compressed code may inflate to (a zip bomb stops here).
MAX_INFLATED_SIZE = 4096
DEFAULT_LEEWAY = timedelta(seconds=30)

_CWT_ISS, _CWT_EXP, _CWT_IAT = 1, 4, 6
_CWT_KEYS = frozenset((_CWT_ISS, _CWT_EXP, _CWT_IAT, CLAIMS_KEY))
_CLAIM_KEYS = frozenset(range(1, 10))
_VERSION = 1
_SID_BYTES = 16
_ZLIB_FIRST_BYTE = 0x78
_ZLIB_HEADER = b"\x78\xda"  # deflate, 32 KiB window, level 9 (RFC 1950 §2.2; FCHECK ok)
_MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime can hold

_COLOURS = (Colour.GREEN, Colour.YELLOW, Colour.RED)
_COLOUR_CODE = {colour: i for i, colour in enumerate(_COLOURS)}
_KINDS = (CodeKind.DYNAMIC, CodeKind.PRINTED)
_KIND_CODE = {kind: i for i, kind in enumerate(_KINDS)}


def _is_region(value: object) -> TypeGuard[str]:
    # isascii: str.isdigit() also accepts full-width and other Unicode digits.
    return type(value) is str and len(value) == 6 and value.isascii() and value.isdigit()


# --------------------------------------------------------------------------------------------
# Trust


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One entry of the trust list: a key, whose codes it may sign, and when."""

    kid: bytes
    issuer: str
    key: VerifyingKey
    not_before: datetime
    not_after: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kid != self.key.kid:
            raise ValueError("kid does not match the key (kid = SHA-256(SPKI)[:8])")
        if not _is_region(self.issuer):
            raise ValueError("issuer must be a six-digit region code")
        require_aware(self.not_before, "not_before")
        if self.not_after is not None:
            require_aware(self.not_after, "not_after")
            if self.not_after < self.not_before:
                raise ValueError("not_after is before not_before")
        if self.revoked_at is not None:
            require_aware(self.revoked_at, "revoked_at")

    @classmethod
    def for_key(
        cls,
        key: VerifyingKey,
        *,
        issuer: str,
        not_before: datetime,
        not_after: datetime | None = None,
        revoked_at: datetime | None = None,
    ) -> TrustedKey:
        return cls(key.kid, issuer, key, not_before, not_after, revoked_at)


class Keyring:
    """The trusted keys of one trust-list version, indexed by kid. Build once, share freely."""

    __slots__ = ("_by_kid",)

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        by_kid: dict[bytes, TrustedKey] = {}
        for entry in keys:
            if not isinstance(entry, TrustedKey):
                raise TypeError("a Keyring holds TrustedKey entries")
            if entry.kid in by_kid:
                raise ValueError(f"kid {entry.kid.hex()} appears twice")
            by_kid[entry.kid] = entry
        self._by_kid = by_kid

    def get(self, kid: bytes) -> TrustedKey | None:
        return self._by_kid.get(kid)

    def __contains__(self, kid: object) -> bool:
        return kid in self._by_kid

    def __len__(self) -> int:
        return len(self._by_kid)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._by_kid.values())

    def __repr__(self) -> str:
        return f"<Keyring of {len(self._by_kid)} keys>"


@dataclass(frozen=True, slots=True)
class CodePeek:
    """What a code claims about its origin, *unverified*: enough to route it."""

    kid: bytes
    issuer: str


# --------------------------------------------------------------------------------------------
# Encoding


def encode_code(claims: HealthClaims, key: SigningKey) -> str:
    """Sign ``claims`` with ``key`` and return the ``YMT1:`` code string."""
    cose = sign1(_encode_cwt(claims), key)
    packed = _deflate(cose)
    body = packed if encoded_length(len(packed)) < encoded_length(len(cose)) else cose
    code = PREFIX + b45encode(body)
    if len(code) > MAX_CODE_LENGTH:
        raise ValueError(f"the code would be {len(code)} characters, over {MAX_CODE_LENGTH}")
    return code


def _deflate(data: bytes) -> bytes:
    """``zlib.compress(data, 9)``, byte for byte, for anything as short as a code.

    zlib sizes its state by the window: 32 KiB makes ~270 KiB per call, which the allocator
    maps from the kernel and hands back each time, so on a busy machine the page faults alone
    cost 50-80 µs a code (the Ed25519 signature is ~35 µs). A 4 KiB window finds every match
    there is in a code (at most ~1.7 KiB, under the window's 3.8 KiB reach), so the stream is
    the same bytes — the header still says 0x78 0xDA, and a test pins the equality — for a
    fifth of the state. The wrapper (RFC 1950: header, raw deflate, Adler-32) is written
    here because zlib would write a header for the smaller window.
    """
    deflater = zlib.compressobj(9, zlib.DEFLATED, -12, 8)  # raw deflate, level 9, memLevel 8
    body = deflater.compress(data) + deflater.flush()
    return _ZLIB_HEADER + body + zlib.adler32(data).to_bytes(4, "big")


def _encode_cwt(claims: HealthClaims) -> bytes:
    private = {
        1: claims.version,
        2: bytes.fromhex(claims.sid),
        3: _COLOUR_CODE[claims.colour],
        4: _epoch(claims.colour_since),
        5: list(claims.reasons),
        6: claims.hours_since_negative_test,
        7: claims.masked_name,
        8: claims.masked_id,
        9: _KIND_CODE[claims.kind],
    }
    cwt = {
        _CWT_ISS: claims.issuer,
        _CWT_EXP: _epoch(claims.expires_at),
        _CWT_IAT: _epoch(claims.issued_at),
        CLAIMS_KEY: private,
    }
    # Both maps are built in deterministic-encoding order (RFC 8949 §4.2.1: 1, 4, 6, then the
    # negative key; 1..9), so cbor2's plain encoder writes the canonical bytes, 3x faster than
    # canonical=True, which re-sorts (a test pins the two together).
    return cbor2.dumps(cwt)


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


# --------------------------------------------------------------------------------------------
# Decoding and verification


def verify_code(code: str, keyring: Keyring, *, leeway: timedelta = DEFAULT_LEEWAY) -> HealthClaims:
    """``verify_code_at`` at the current time."""
    return verify_code_at(code, keyring, datetime.now(UTC), leeway=leeway)


def verify_code_at(
    code: str, keyring: Keyring, now: datetime, *, leeway: timedelta = DEFAULT_LEEWAY
) -> HealthClaims:
    """Verify ``code`` against ``keyring`` as of ``now``; return its claims.

    Raises ``InvalidCode`` (and nothing else) for any code that fails any check.
    """
    require_aware(now, "now")
    if leeway < timedelta(0):
        raise ValueError("leeway must not be negative")
    msg = _unwrap(code)
    trusted = _signed_by(msg, keyring)
    claims = _decode_claims(msg.payload)
    _check_window(trusted, claims.issuer, claims.issued_at, claims.expires_at, now, leeway)
    return claims


def _signed_by(msg: Any, keyring: Keyring) -> TrustedKey:
    """The trusted key whose signature ``msg`` carries (kid, algorithm, signature checked,
    before anything of the payload is read); ``InvalidCode`` otherwise. Shared with the
    travel code (``travel_code.py``), which is checked exactly as a health code is."""
    trusted = keyring.get(msg.kid)
    if trusted is None:
        raise UnknownKey("unknown kid")
    key = trusted.key
    if msg.alg != key.alg.value:
        raise InvalidCode("algorithm mismatch")
    try:
        key.verify(msg.signature, msg.to_be_signed())
    except BadSignature:
        raise InvalidCode("bad signature") from None
    return trusted


def _check_window(
    trusted: TrustedKey,
    issuer: str,
    issued_at: datetime,
    expires_at: datetime,
    now: datetime,
    leeway: timedelta,
) -> None:
    """The signed claims against the key and the clock (the module docstring's rules)."""
    if issuer != trusted.issuer:
        raise InvalidCode("issuer mismatch")
    if trusted.revoked_at is not None and trusted.revoked_at <= now:
        raise InvalidCode("key revoked")
    if issued_at < trusted.not_before or (
        trusted.not_after is not None and issued_at > trusted.not_after
    ):
        raise InvalidCode("key not valid at issue time")
    # Written as now ± leeway: a signed exp near year 9999 must not overflow the arithmetic.
    if issued_at > now + leeway:
        raise InvalidCode("issued in the future")
    if now - leeway >= expires_at:
        raise ExpiredCode("expired")


def peek_code(code: str) -> CodePeek:
    """The kid and issuer a code claims, WITHOUT verifying anything (for routing only)."""
    msg = _unwrap(code)
    cwt = _loads_exact(msg.payload)
    issuer = cwt.get(_CWT_ISS) if type(cwt) is dict else None
    if not _is_region(issuer):
        raise InvalidCode("malformed: claims")
    return CodePeek(kid=msg.kid, issuer=issuer)


def _unwrap(code: str, prefix: str = PREFIX) -> Sign1:
    if type(code) is not str:
        raise InvalidCode("malformed: not text")
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidCode("too long")
    if not code.startswith(prefix):
        raise InvalidCode("unknown prefix")
    try:
        raw = b45decode(code[len(prefix) :])
    except ValueError:
        raise InvalidCode("malformed: base45") from None
    if raw and raw[0] == _ZLIB_FIRST_BYTE:
        raw = _inflate(raw)
    try:
        return parse_sign1(raw)
    except ValueError:
        raise InvalidCode("malformed: COSE") from None


def _inflate(packed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, MAX_INFLATED_SIZE)
    except zlib.error:
        raise InvalidCode("malformed: zlib") from None
    if not inflater.eof:
        if inflater.unconsumed_tail or len(raw) >= MAX_INFLATED_SIZE:
            raise InvalidCode("inflates too large")
        raise InvalidCode("malformed: zlib")
    if inflater.unused_data:
        raise InvalidCode("malformed: zlib")
    return raw


def _loads_exact(data: bytes) -> Any:
    """Decode one CBOR item that must span all of ``data``; ``InvalidCode`` otherwise."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream, max_depth=4, allow_indefinite=False).decode()
    except Exception:  # any decoder complaint about hostile bytes means the same thing
        raise InvalidCode("malformed: claims") from None
    if stream.tell() != len(data):
        raise InvalidCode("malformed: claims")
    return value


def _decode_claims(payload: bytes) -> HealthClaims:
    cwt = _loads_exact(payload)
    if type(cwt) is not dict or cwt.keys() != _CWT_KEYS:
        raise InvalidCode("malformed: claims")
    private = cwt[CLAIMS_KEY]
    if type(private) is not dict:
        raise InvalidCode("malformed: claims")
    version = private.get(1)
    if version != _VERSION or type(version) is not int:
        raise InvalidCode("unsupported version")
    if private.keys() != _CLAIM_KEYS:
        raise InvalidCode("malformed: claims")
    sid = private[2]
    colour = private[3]
    reasons = private[5]
    kind = private[9]
    if (
        type(sid) is not bytes
        or len(sid) != _SID_BYTES
        or type(colour) is not int
        or not 0 <= colour < len(_COLOURS)
        or type(kind) is not int
        or not 0 <= kind < len(_KINDS)
        or type(reasons) is not list
    ):
        raise InvalidCode("malformed: claims")
    try:
        return HealthClaims(
            issuer=cwt[_CWT_ISS],
            issued_at=_from_epoch(cwt[_CWT_IAT]),
            expires_at=_from_epoch(cwt[_CWT_EXP]),
            sid=sid.hex(),
            colour=_COLOURS[colour],
            colour_since=_from_epoch(private[4]),
            reasons=tuple(reasons),
            hours_since_negative_test=private[6],
            masked_name=private[7],
            masked_id=private[8],
            kind=_KINDS[kind],
            version=version,
        )
    except (TypeError, ValueError):
        # HealthClaims validates every field; whatever it refuses, the code is malformed.
        raise InvalidCode("malformed: claims") from None


def _from_epoch(value: Any) -> datetime:
    if type(value) is not int or not 0 <= value <= _MAX_EPOCH:
        raise ValueError("not an epoch time")
    return datetime.fromtimestamp(value, UTC)
