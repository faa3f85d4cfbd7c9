"""The exception tree of yimatong. Callers catch one base class.

    YimatongError
     ├── InvalidInput        bad data from a caller; carries the field it is about
     │    ├── InvalidDocument    an identity document number that fails its checks
     │    └── UnknownRegion      a region or township code that does not exist
     ├── InvalidCode         a health code that fails *any* check; deliberately opaque
     │    ├── UnknownKey         (internal) signed by a kid the keyring does not hold
     │    └── ExpiredCode        (internal) past its expiry: the holder should refresh it
     ├── NotFound            the thing asked for does not exist (or is not yours to see)
     ├── Unauthorized        no credential, or one that is unknown or expired
     ├── Forbidden           a valid credential whose role may not do this
     ├── Conflict            the request contradicts the current state
     ├── PayloadTooLarge     the request body is larger than the node takes
     ├── Unavailable         an upstream node could not be reached in time
     ├── TooManyRequests     a caller went over a limit; carries when to try again
     └── CertLogicError      (yimatong.rules.certlogic) a policy expression is malformed
          ├── CertLogicSyntaxError       ... at validation, with the JSON-pointer path
          └── CertLogicEvaluationError   ... or an operand was unusable at evaluation

Programmer mistakes (wrong types, impossible arguments) raise TypeError/ValueError as usual.
The HTTP edge maps each class to an RFC 9457 problem type; see yimatong.api_common. The
subclasses of ``InvalidCode`` let our own code tell two causes apart without reading the
operator's text; on the wire they are the same opaque ``invalid-code`` problem.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "ExpiredCode",
    "Forbidden",
    "InvalidCode",
    "InvalidDocument",
    "InvalidInput",
    "NotANode",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "UnknownKey",
    "UnknownRegion",
    "YimatongError",
]


class YimatongError(Exception):
    """Base of every error yimatong raises on purpose."""

    #: short machine-readable slug, used as the last part of the problem type URI
    slug = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(YimatongError):
    slug = "invalid-input"


class InvalidDocument(InvalidInput):
    slug = "invalid-document"


class UnknownRegion(InvalidInput):
    slug = "unknown-region"


class InvalidCode(YimatongError):
    """A health code failed verification.

    One opaque error whatever was wrong (prefix, base45, zlib, CBOR, signature, key, expiry),
    so that whoever presents a forged code learns nothing from the answer. The optional
    ``detail`` is for the operator's log only, never for the holder.
    """

    slug = "invalid-code"

    def __init__(self, detail: str = "") -> None:
        super().__init__("the code is not valid")
        self.detail = detail


class UnknownKey(InvalidCode):
    """Signed by a key the keyring does not hold: perhaps a key newer than the keyring."""

    def __init__(self, detail: str = "unknown kid") -> None:
        super().__init__(detail)


class ExpiredCode(InvalidCode):
    """Genuine but past its expiry: a checkpoint tells the holder to refresh it."""

    def __init__(self, detail: str = "expired") -> None:
        super().__init__(detail)


class NotFound(YimatongError):
    slug = "not-found"


class Unauthorized(YimatongError):
    slug = "unauthorized"


class Forbidden(YimatongError):
    slug = "forbidden"


class Conflict(YimatongError):
    slug = "conflict"


class PayloadTooLarge(YimatongError):
    slug = "payload-too-large"


class Unavailable(YimatongError):
    slug = "unavailable"


class NotANode(Unavailable):
    """The URL answered, but not as a yimatong node does (no problem details, not JSON):
    a wrong URL, or another server on that port. Nothing there can be asked."""


class TooManyRequests(YimatongError):
    """A caller went over one of the node's limits (``adapters/db/limits.py``).

    ``retry_after`` is the whole number of seconds until the limit lets the caller in again;
    the HTTP edge answers 429 with a ``Retry-After`` header.
    """

    slug = "too-many-requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
