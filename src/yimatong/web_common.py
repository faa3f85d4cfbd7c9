"""What every node's HTTP edge shares: problem details, authentication, limits, metrics.

- Errors are RFC 9457 problem details (``application/problem+json``); the ``type`` is a
  relative URI ``/problems/<slug>`` that every node serves as a short explanation.
- Authentication is deny-by-default: a global dependency resolves the bearer token and refuses
  anonymous callers on every route not listed in ``PUBLIC_PATHS``.
- Bodies larger than the configured limit are refused with 413 before they are read whole.
- ``/metrics`` counts requests by route and status with a latency histogram.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yimatong.credentials import Caller
from yimatong.domain import errors
from yimatong.web import install_docs
from yimatong.web.security import SecurityHeaders

__all__ = [
    "PUBLIC_PATHS",
    "BodyLimit",
    "ORJSONResponse",
    "install_common",
    "json_body",
    "json_default",
    "problem",
    "signed_list_response",
]

STATUS = {
    errors.InvalidDocument: 422,
    errors.UnknownRegion: 422,
    errors.InvalidInput: 422,
    errors.InvalidCode: 422,
    errors.NotFound: 404,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.Unavailable: 503,
}

TITLES = {
    "invalid-input": "The request has invalid data",
    "invalid-document": "The identity document number is not valid",
    "unknown-region": "Unknown region code",
    "invalid-code": "The health code is not valid",
    "not-found": "Not found",
    "unauthorized": "Sign-in required",
    "forbidden": "Not allowed for this role",
    "conflict": "Conflicts with the current state",
    "unavailable": "A service this needs is unavailable",
    "malformed-json": "The request body is not valid JSON",
    "payload-too-large": "The request body is too large",
    "method-not-allowed": "Method not allowed",
    "too-many-requests": "Too many requests; slow down",
    "internal": "Internal error",
    "error": "Error",
}

#: Routes ("METHOD /path-template") an anonymous caller may use: sign-in, health, and
#: public documents (the lists every verifier downloads are public by design).
PUBLIC_PATHS = frozenset(
    {
        "GET /healthz",
        "GET /metrics",
        "GET /openapi.json",
        "GET /docs",
        "GET /problems/{slug}",
        "POST /v1/auth/otp",
        "POST /v1/auth/session",
        "GET /v1/risk-areas",
        "GET /v1/keys",
    }
)


def json_default(value: Any) -> Any:
    """orjson's fallback: datetimes as RFC 3339, bytes as hex."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=json_default, option=orjson.OPT_NON_STR_KEYS)


def problem(
    status: int, slug: str, detail: str, *, instance: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": TITLES.get(slug, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def signed_list_response(
    *,
    if_none_match: str | None,
    version: int,
    etag: Callable[[int], str],
    build: Callable[[], tuple[int, Any]],
) -> Response:
    """A signed list with its ETag, or 304 when the caller has this version already.

    ``version`` is the list's cheap current version; ``build`` signs the document only when it
    is needed and returns the version it actually holds (a writer may have moved on).
    """
    headers = {"Cache-Control": "no-cache"}
    if if_none_match is not None and if_none_match == etag(version):
        return Response(status_code=304, headers={**headers, "ETag": etag(version)})
    version, document = build()
    return ORJSONResponse(document, headers={**headers, "ETag": etag(version)})


async def json_body(request: Request) -> Any:
    """The request body as JSON, or InvalidInput: for raw hot-path routes."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _MalformedJson() from None


class _MalformedJson(errors.InvalidInput):
    slug = "malformed-json"

    def __init__(self) -> None:
        super().__init__("the request body is not valid JSON")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await self._refuse(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "payload-too-large", f"the body is larger than {self.limit} bytes")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ymt_http_requests_total",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ymt_http_request_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, capture)
            finally:
                route = scope.get("route")
                name = getattr(route, "path", None) or "unmatched"
                self.requests.labels(name, scope["method"], str(status)).inc()
                self.latency.labels(name).observe(time.perf_counter() - start)

        return wrapped


Authenticator = Callable[[str], Caller | None]


def install_common(
    app: FastAPI,
    *,
    authenticate: Authenticator,
    body_limit: int,
    public_paths: Iterable[str] = PUBLIC_PATHS,
    health: Callable[[], dict[str, Any]] | None = None,
) -> Callable[[ASGIApp], ASGIApp]:
    """Install error handlers, authentication and the common routes on ``app``.

    Returns the wrapper (body limit + metrics) to apply around the finished ASGI app.
    """
    public = frozenset(public_paths)
    metrics = Metrics()

    async def resolve_caller(request: Request) -> None:
        header = request.headers.get("authorization", "")
        caller = None
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise errors.Unauthorized("use an Authorization: Bearer token")
            caller = authenticate(token.strip())
            if caller is None:
                raise errors.Unauthorized("the token is unknown, revoked or expired")
        request.state.caller = caller
        route = request.scope.get("route")
        if caller is None and f"{request.method} {getattr(route, 'path', '')}" not in public:
            raise errors.Unauthorized("sign in first")

    app.router.dependencies.insert(0, Depends(resolve_caller))
    install_docs(app, title=app.title)

    @app.exception_handler(errors.YimatongError)
    async def domain_error(request: Request, exc: errors.YimatongError) -> Response:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        return problem(status, exc.slug, exc.message, instance=request.url.path, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                return problem(
                    400,
                    "malformed-json",
                    "the request body is not valid JSON",
                    instance=request.url.path,
                )
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            problems.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return problem(
            422,
            "invalid-input",
            f"{first['field'] or 'body'}: {first['message']}",
            instance=request.url.path,
            errors=problems,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(
            exc.status_code, "error"
        )
        return problem(exc.status_code, slug, str(exc.detail), instance=request.url.path)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # The exception text may hold data from the request: log the type and route only.
        import logging

        logging.getLogger("yimatong").error(
            "internal error %s on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return problem(500, "internal", "an internal error occurred", instance=request.url.path)

    @app.get("/healthz", tags=["node"], summary="Liveness and basic facts about this node")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", **(health() if health else {})}

    @app.get(
        "/metrics", tags=["node"], summary="Prometheus metrics", response_class=PlainTextResponse
    )
    def metrics_route() -> Response:
        registry = metrics.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Several workers (`serve --workers N`): add up what every worker wrote.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems/{slug}", tags=["node"], summary="What a problem type means")
    def problem_type(slug: str) -> dict[str, str]:
        if slug not in TITLES:
            raise errors.NotFound(f"no problem type {slug!r}")
        return {"type": f"/problems/{slug}", "title": TITLES[slug]}

    def wrap(asgi: ASGIApp) -> ASGIApp:
        return SecurityHeaders(BodyLimit(metrics.middleware(asgi), body_limit))

    return wrap


Handler = Callable[[Request], Awaitable[Response]]
