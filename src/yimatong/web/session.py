"""Browser sessions: a node's bearer token kept in an HttpOnly cookie, with CSRF protection.

Pages never hand a token to JavaScript. Signing in on a page (a citizen's phone and one-time
code, or staff pasting their credential once) puts the bearer token that the API would have
returned into a cookie that scripts cannot read: ``HttpOnly``, ``SameSite=Strict``, ``Secure``
when the page came over TLS, scoped to the node's path (a region the hub hosts has its own).
Hosts share cookies across ports, so the cookie is named after the node's region: Zhejiang's
and Guizhou's demo nodes on 127.0.0.1 do not overwrite each other's.

A request authenticated by the cookie that changes anything must carry the CSRF token: in the
``X-CSRF-Token`` header (scripts read it from the page's ``<meta name="csrf-token">``) or in
the ``csrf`` field of a form. The token is a hash of the session token, so it needs no state
and no key, and a page of another origin can neither read nor compute it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "clear_session",
    "cookie_name",
    "csrf_ok",
    "csrf_token",
    "session_token",
    "set_session",
]

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_name(region: str) -> str:
    return f"ymt_{region}"


def csrf_token(session: str) -> str:
    digest = hashlib.sha256(b"yimatong csrf\x00" + session.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_ok(session: str, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(offered, csrf_token(session))


def _path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") or "/"


def session_token(request: Request, region: str) -> str | None:
    value = request.cookies.get(cookie_name(region))
    return value if value and len(value) < 200 else None


def set_session(
    response: Response, request: Request, region: str, token: str, *, max_age: int
) -> None:
    response.set_cookie(
        cookie_name(region),
        token,
        max_age=max_age,
        path=_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_session(response: Response, request: Request, region: str) -> None:
    response.delete_cookie(
        cookie_name(region),
        path=_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
