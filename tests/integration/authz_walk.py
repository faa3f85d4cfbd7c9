"""The routes of every node, walked from the apps themselves, and one cell sent and classed.

``routes(az)`` lists ``(kind, method, path template)`` for every route of the hub, the
Zhejiang issuer, the region the hub hosts (its own app, mounted under ``/regions/540000``) and
the legacy system, from their routers (FastAPI's included routers and Starlette mounts
walked through), so a route added to any of them appears here without anyone listing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import fastapi.routing
import httpx
from starlette.routing import BaseRoute, Mount

from tests.integration.authz_support import HOSTED, AuthzFederation, Prepared, prepare

__all__ = ["outcome", "routes", "send", "walk"]

#: FastAPI 0.16x keeps an included router as one entry of ``app.routes`` (its routes inside);
#: older versions copied the routes themselves into the list (then nothing is nested).
_INCLUDED: Any = getattr(fastapi.routing, "_IncludedRouter", ())

#: Mounts that are another node's app (walked as their own kind), not routes of this one.
_NODE_MOUNTS = {f"/regions/{HOSTED}"}


def walk(items: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in items:
        if isinstance(route, _INCLUDED):
            inner = prefix + route.include_context.prefix
            yield from walk(route.original_router.routes, inner)
        elif isinstance(route, Mount):
            if prefix + route.path in _NODE_MOUNTS:
                continue
            yield "GET", prefix + route.path + "/{path}"
        else:
            path = prefix + getattr(route, "path", "")
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield method, path


def routes(az: AuthzFederation) -> list[tuple[str, str, str]]:
    apps: dict[str, Any] = {
        "hub": az.fed.hub.fastapi,
        "issuer": az.fed.zj.fastapi,
        "hosted": az.hosted.fastapi,
        "legacy": az.fed.legacy.fastapi,
    }
    if az.road is not None:
        apps["road"] = az.road.fastapi
    found = []
    for kind, app in apps.items():
        for method, path in walk(app.router.routes):
            found.append((kind, method, path))
    return found


def send(
    az: AuthzFederation, kind: str, method: str, path: str, role: str, *, other: bool = False
) -> httpx.Response:
    prepared: Prepared = prepare(az, kind, method, path, role, other=other)
    # Only the role's own credential: no page session cookie left by an earlier answer.
    az.client(kind).cookies.clear()
    headers = az.headers(kind, role)
    if role == "citizen" and prepared.citizen is not None:
        headers = prepared.citizen
    kwargs: dict[str, Any] = {"headers": headers}
    if prepared.json is not None:
        kwargs["json"] = prepared.json
    elif prepared.form is not None:
        kwargs["data"] = prepared.form
    elif method in ("POST", "PUT"):
        kwargs["data"] = {}
    return az.client(kind).request(method, prepared.path, follow_redirects=False, **kwargs)


def outcome(kind: str, response: httpx.Response) -> str:
    """The class of an answer: ``ok``, ``signin`` (a page sending the reader to sign in), or
    the status code of a refusal (``401``, ``403``, ``404``, ...). The legacy system answers
    HTTP 200 with its own ``errcode``: 0 is ``ok``, 401xx ``401``, 40300 ``403``."""
    if kind == "legacy":
        errcode = response.json().get("errcode", 0)
        if errcode == 0:
            return "ok"
        if isinstance(errcode, int) and 40100 <= errcode < 40200:
            return "401"
        return "403" if errcode == 40300 else f"errcode {errcode}"
    status = response.status_code
    if 300 <= status < 400:
        location = httpx.URL(response.headers.get("location", ""))
        root = f"/regions/{HOSTED}" if kind == "hosted" else ""
        where = location.path[len(root) :] if location.path.startswith(root) else location.path
        if where.startswith("/signin/staff"):
            return "signin"
        return "home" if where in ("", "/") and not location.query else "ok"
    return "ok" if status < 300 else str(status)
