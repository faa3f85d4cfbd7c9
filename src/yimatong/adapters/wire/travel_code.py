"""The travel code (行程码) on the wire: ``YMTT1:`` + base45(maybe-zlib(COSE_Sign1(CWT))).

Signed by the same issuer keys as the health code, and found in the same trust list, but a
*different* code: its own prefix and its own private claim key, so that no verifier can read
one as the other. ``verify_code_at`` (the health code) refuses a travel code at its prefix
(``unknown prefix``) and, were the prefix swapped, at its claims (it wants exactly the keys
1, 4, 6 and -65537); this module refuses a health code the same two ways. Payload::

    {
        1: iss, 4: exp, 6: iat,     ; as in a health code
        -65538: {                   ; the travel claim (a private-use key, RFC 8392 §9.1)
            1: version,             ; uint, 1
            2: sid,                 ; bstr .size 16
            3: masked-name,         ; text
            4: masked-id,           ; text
            5: window-days,         ; uint: how far back it looks (14)
            6: min-stay-minutes,    ; uint: the least time in a city (240)
            7: [* [city, star, sources]],  ; city text (6 digits); star 0 none, 1 medium,
                                           ; 2 high (at iat); sources: bit i = StaySource i
            8: truncated,           ; bool: more cities than a code carries
        },
    }

Errors are the health code's: one opaque ``InvalidCode`` with a short ``detail``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cbor2

from yimatong.adapters.crypto import SigningKey
from yimatong.adapters.wire.base45 import b45encode, encoded_length
from yimatong.adapters.wire.code import (
    DEFAULT_LEEWAY,
    MAX_CODE_LENGTH,
    Keyring,
    _check_window,
    _deflate,
    _loads_exact,
    _signed_by,
    _unwrap,
)
from yimatong.adapters.wire.cose import sign1
from yimatong.domain.errors import InvalidCode
from yimatong.domain.facts import RiskLevel, StaySource, require_aware
from yimatong.domain.travel import TravelClaims, TravelCodeCity

__all__ = ["TRAVEL_CLAIMS_KEY", "TRAVEL_PREFIX", "encode_travel_code", "verify_travel_code_at"]

TRAVEL_PREFIX = "YMTT1:"
TRAVEL_CLAIMS_KEY = -65538

_CWT_KEYS = frozenset((1, 4, 6, TRAVEL_CLAIMS_KEY))
_CLAIM_KEYS = frozenset(range(1, 9))
_STARS = (None, RiskLevel.MEDIUM, RiskLevel.HIGH)
_STAR_CODE = {star: i for i, star in enumerate(_STARS)}
_SOURCES = tuple(StaySource)
_MAX_EPOCH = 253_402_300_799


def _mask(sources: tuple[StaySource, ...]) -> int:
    return sum(1 << _SOURCES.index(s) for s in sources)


def encode_travel_code(claims: TravelClaims, key: SigningKey) -> str:
    """Sign ``claims`` with ``key``: the ``YMTT1:`` code string."""
    private = {
        1: claims.version,
        2: bytes.fromhex(claims.sid),
        3: claims.masked_name,
        4: claims.masked_id,
        5: claims.window_days,
        6: claims.min_stay_minutes,
        7: [[c.city, _STAR_CODE[c.star], _mask(c.sources)] for c in claims.cities],
        8: claims.truncated,
    }
    cwt = {
        1: claims.issuer,
        4: int(claims.expires_at.timestamp()),
        6: int(claims.issued_at.timestamp()),
        TRAVEL_CLAIMS_KEY: private,
    }
    cose = sign1(cbor2.dumps(cwt, canonical=True), key)
    packed = _deflate(cose)
    body = packed if encoded_length(len(packed)) < encoded_length(len(cose)) else cose
    code = TRAVEL_PREFIX + b45encode(body)
    if len(code) > MAX_CODE_LENGTH:
        raise ValueError(f"the code would be {len(code)} characters, over {MAX_CODE_LENGTH}")
    return code


def verify_travel_code_at(
    code: str, keyring: Keyring, now: datetime, *, leeway: Any = DEFAULT_LEEWAY
) -> TravelClaims:
    """Verify a travel code against ``keyring`` as of ``now`` (the checks of a health code)."""
    require_aware(now, "now")
    msg = _unwrap(code, TRAVEL_PREFIX)
    trusted = _signed_by(msg, keyring)
    claims = _decode(msg.payload)
    _check_window(trusted, claims.issuer, claims.issued_at, claims.expires_at, now, leeway)
    return claims


def _decode(payload: bytes) -> TravelClaims:
    cwt = _loads_exact(payload)
    if type(cwt) is not dict or cwt.keys() != _CWT_KEYS:
        raise InvalidCode("malformed: claims")
    private = cwt[TRAVEL_CLAIMS_KEY]
    if type(private) is not dict:
        raise InvalidCode("malformed: claims")
    if private.get(1) != 1 or type(private.get(1)) is not int:
        raise InvalidCode("unsupported version")
    if private.keys() != _CLAIM_KEYS:
        raise InvalidCode("malformed: claims")
    try:
        sid, cities = private[2], private[7]
        if type(sid) is not bytes or len(sid) != 16 or type(cities) is not list:
            raise ValueError("shape")
        found = []
        for entry in cities:
            if type(entry) is not list or len(entry) != 3:
                raise ValueError("shape")
            city, star, mask = entry
            if type(city) is not str or type(star) is not int or type(mask) is not int:
                raise ValueError("shape")
            if not 0 <= star < len(_STARS) or not 0 <= mask < 1 << len(_SOURCES):
                raise ValueError("range")
            sources = tuple(s for i, s in enumerate(_SOURCES) if mask >> i & 1)
            found.append(TravelCodeCity(city, _STARS[star], sources))
        for name in (3, 4):
            if type(private[name]) is not str:
                raise ValueError("shape")
        if type(private[5]) is not int or type(private[6]) is not int:
            raise ValueError("shape")
        if type(private[8]) is not bool:
            raise ValueError("shape")
        return TravelClaims(
            issuer=_text(cwt[1]),
            issued_at=_epoch(cwt[6]),
            expires_at=_epoch(cwt[4]),
            sid=sid.hex(),
            masked_name=private[3],
            masked_id=private[4],
            window_days=private[5],
            min_stay_minutes=private[6],
            cities=tuple(found),
            truncated=private[8],
        )
    except (TypeError, ValueError):
        raise InvalidCode("malformed: claims") from None


def _text(value: Any) -> str:
    if type(value) is not str:
        raise ValueError("not text")
    return value


def _epoch(value: Any) -> datetime:
    if type(value) is not int or not 0 <= value <= _MAX_EPOCH:
        raise ValueError("not an epoch time")
    return datetime.fromtimestamp(value, UTC)
