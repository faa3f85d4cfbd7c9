"""What every node's HTTP edge shares: problem details, authentication, limits, metrics.

- Errors are RFC 9457 problem details (``application/problem+json``); the ``type`` is a
  relative URI ``/problems/<slug>`` that every node serves as a short explanation.
- Authentication is deny-by-default: a global dependency resolves the bearer token and refuses
  anonymous callers on every route not listed in ``PUBLIC_PATHS``.
- Bodies larger than the configured limit are refused with 413 before they are read whole.
- ``/metrics`` counts requests by route and status with a latency histogram.
- Refused bearer tokens are counted per client address in the node's database (the limit
  ``bad_token.address``); over it the address is in back-off (429 with ``Retry-After``), and
  only tokens this worker accepted lately are even looked at (``TokenBackoff``).
- ``client_address`` is the socket peer, or what ``X-Forwarded-For`` says when the peer is
  one of the node's trusted proxies (``YMT_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
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
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yimatong.adapters.db.limits import Limiter
from yimatong.credentials import Caller
from yimatong.domain import errors

__all__ = [
    "PUBLIC_PATHS",
    "BodyLimit",
    "ORJSONResponse",
    "TokenBackoff",
    "client_address",
    "forwarded_client",
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
    errors.TooManyRequests: 429,
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
        "GET /docs/oauth2-redirect",
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def forwarded_client(peer: str, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: ``peer``, unless it is a trusted proxy; then ``X-Forwarded-For``.

    The header is read from the right (the entry the nearest proxy appended) and trusted
    proxies are skipped; the first address that is not one is the client. An entry that is no
    address ends the walk at the last hop believed, so a client cannot pick its own key.
    """
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [h.strip() for value in forwarded for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        if not _within(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return client
        client = hop
    return client


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request) -> str:
    """Who is asking, for per-client limits: the socket peer or, behind a trusted proxy, XFF."""
    peer = request.client.host if request.client else "unknown"
    trusted: Sequence[Network] = getattr(request.app.state, "trusted_proxies", ())
    if not trusted:
        return peer
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), trusted)


class TokenBackoff:
    """Back-off after refused bearer tokens, per client address, shared by every worker.

    Each refused token is one event of the limit ``bad_token.address`` in the node's database
    (``Limiter``), so the count is the same whichever worker saw it. Over the limit, the worker
    that counted answers 429 and remembers the address until the window ends; from then on it
    refuses that address's tokens *without looking them up* — unless the token is one this
    worker accepted in the last ``GOOD_FOR`` (a node, a checkpoint or a citizen that was already
    signed in keeps working when someone behind the same address floods bad tokens). Another
    worker learns of the back-off from the count on the first bad token it sees, so across N
    workers at most N tokens more are looked up per window than the limit allows.

    Nothing here is on the path of a valid token but a dict lookup (and a write every few
    minutes). Known-good tokens are kept by Python's own (per-process keyed) hash of the token:
    a collision would only mean one token more looked up during a back-off, never one let in,
    since a known-good token is still checked like any other.
    """

    GOOD_FOR = 15 * 60.0  # seconds, on the monotonic clock
    MAX_ENTRIES = 10_000

    def __init__(self, limiter: Limiter, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limiter = limiter
        self._monotonic = monotonic
        self._until: dict[str, datetime] = {}
        self._good: dict[int, float] = {}
        self._lock = threading.Lock()

    def blocked(self, address: str, token: str) -> bool:
        """Whether ``address`` is in back-off (as far as this worker knows) for ``token``.

        Memory only: the caller then counts the attempt (``refused``), which raises while the
        shared count is over the limit.
        """
        if not self._until:
            return False
        until = self._until.get(address)
        if until is None:
            return False
        now = self.limiter.clock()
        if until <= now:
            with self._lock:
                self._until.pop(address, None)
            return False
        good = self._good.get(hash(token))
        return good is None or good <= self._monotonic()

    def accepted(self, token: str) -> None:
        key = hash(token)
        now = self._monotonic()
        known = self._good.get(key)
        if known is not None and known - now > self.GOOD_FOR / 2:
            return
        with self._lock:
            if len(self._good) >= self.MAX_ENTRIES:
                self._good.clear()  # errs towards refusing in a back-off, never towards letting in
            self._good[key] = now + self.GOOD_FOR

    def refused(self, address: str) -> None:
        """Count a refused token; TooManyRequests (and remember the back-off) if over."""
        try:
            self.limiter.hit("bad_token.address", address, what="refused tokens from this address")
        except errors.TooManyRequests as exc:
            until = self.limiter.clock() + timedelta(seconds=exc.retry_after)
            with self._lock:
                if len(self._until) >= self.MAX_ENTRIES:
                    self._until.clear()  # the count stays in the database; it is learnt again
                self._until[address] = until
            raise


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
    limiter: Limiter | None = None,
    trusted_proxies: Iterable[str] = (),
) -> Callable[[ASGIApp], ASGIApp]:
    """Install error handlers, authentication and the common routes on ``app``.

    With a ``limiter``, refused bearer tokens are counted per client address and lead to a
    back-off (``TokenBackoff``). Returns the wrapper (body limit + metrics) to apply around the
    finished ASGI app.
    """
    public = frozenset(public_paths)
    metrics = Metrics()
    app.state.trusted_proxies = tuple(ipaddress.ip_network(n) for n in trusted_proxies)
    backoff = TokenBackoff(limiter) if limiter is not None else None

    async def refuse(request: Request, message: str) -> None:
        if backoff is not None:
            await run_in_threadpool(backoff.refused, client_address(request))
        raise errors.Unauthorized(message)

    async def resolve_caller(request: Request) -> None:
        header = request.headers.get("authorization", "")
        caller = None
        if header:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                await refuse(request, "use an Authorization: Bearer token")
            if backoff is not None and backoff.blocked(client_address(request), token):
                # Counted, not looked up: raises while the address's count is over the limit.
                await run_in_threadpool(backoff.refused, client_address(request))
            caller = authenticate(token)
            if caller is None:
                await refuse(request, "the token is unknown, revoked or expired")
            elif backoff is not None:
                backoff.accepted(token)
        request.state.caller = caller
        route = request.scope.get("route")
        if caller is None and f"{request.method} {getattr(route, 'path', '')}" not in public:
            raise errors.Unauthorized("sign in first")

    app.router.dependencies.insert(0, Depends(resolve_caller))

    @app.exception_handler(errors.YimatongError)
    async def domain_error(request: Request, exc: errors.YimatongError) -> Response:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        response = problem(
            status, exc.slug, exc.message, instance=request.url.path, field=exc.field
        )
        if isinstance(exc, errors.TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

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
        return BodyLimit(metrics.middleware(asgi), body_limit)

    return wrap


Handler = Callable[[Request], Awaitable[Response]]
