"""What every node's HTTP edge shares: problem details, authentication, limits, metrics.

- Errors are RFC 9457 problem details (``application/problem+json``); the ``type`` is a
  relative URI ``/problems/<slug>`` that every node serves as a short explanation.
- Authentication is deny-by-default: a global dependency resolves the bearer token and refuses
  anonymous callers on every route not listed in ``PUBLIC_PATHS``.
- Bodies larger than the configured limit are refused with 413 before they are read whole:
  by Content-Length, or while a chunked body streams in (also when FastAPI reads it).
- An error after the answer was sent (a 500 that Starlette re-raises) is contained here, so
  the keep-alive connection stays usable; 405 answers say which methods the path has (Allow).
- The OpenAPI document lists, per route, the problem responses it can answer.
- ``/metrics`` counts requests by route and status with a latency histogram, plus the gauges a
  node adds (e.g. quarantined feed rows).
- Refused bearer tokens are counted per client address in the node's database (the limit
  ``bad_token.address``); over it the address is in back-off (429 with ``Retry-After``), and
  only tokens this worker accepted lately are even looked at (``TokenBackoff``).
- ``client_address`` is the socket peer, or what ``X-Forwarded-For`` says when the peer is
  one of the node's trusted proxies (``YMT_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
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
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yimatong.adapters.db.limits import Limiter
from yimatong.admission import NAMES, Admission, AdmissionPolicy
from yimatong.credentials import Caller
from yimatong.domain import errors
from yimatong.domain.edge import MAX_ID
from yimatong.web import install_docs
from yimatong.web.security import SecurityHeaders
from yimatong.web.session import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, csrf_ok

__all__ = [
    "PROBLEM_SCHEMA",
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
    "problem_responses",
    "signed_list_response",
    "sync_gauges",
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
    errors.PayloadTooLarge: 413,
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
    "overloaded": "The node is at its capacity; try again in a moment",
    "not-ready": "The node is not ready to serve",
    "internal": "Internal error",
    "error": "Error",
}

log = logging.getLogger("yimatong")

#: The JSON Schema of every problem answer (RFC 9457), as the OpenAPI document shows it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "/problems/<slug>, served by every node"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string", "description": "the request field it is about"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_PROBLEM_DESCRIPTIONS = {
    304: "Not modified: the caller has this version (If-None-Match)",
    400: "The body is not valid JSON",
    401: "No token, or an unknown, revoked or expired one",
    403: "The caller's role or scope may not do this",
    404: "Not found, or not the caller's to see",
    409: "Conflicts with the current state",
    413: "The body is larger than this node takes",
    422: "Invalid input: the fields and what is wrong with them",
    429: "Too many requests; try again after Retry-After seconds",
    503: "A node this needs did not answer in time",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can also answer these problems (beyond the common ones
    every route gets: 401, and 403/404/413/422 where they apply)."""
    return {status: _problem_response(status) for status in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": _PROBLEM_DESCRIPTIONS.get(status, "Problem"),
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


#: Routes ("METHOD /path-template") an anonymous caller may use: sign-in, health, and
#: public documents (the lists every verifier downloads, and the transparency log, are public
#: by design).
PUBLIC_PATHS = frozenset(
    {
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
        "GET /docs",
        "GET /problems/{slug}",
        "POST /v1/auth/otp",
        "POST /v1/auth/session",
        "GET /v1/risk-areas",
        "GET /v1/keys",
        # Every node's transparency log (log_routes.py): public by design.
        "GET /v1/log/sth",
        "GET /v1/log/entries",
        "GET /v1/log/proof/inclusion",
        "GET /v1/log/proof/consistency",
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
    if status == 413:
        # The rest of the body may still be on its way: end the connection after the answer.
        headers = {"Connection": "close"}
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
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length or while streaming.

    Streaming, the limit raises ``PayloadTooLarge`` inside the app's read of the body: a raw
    route (``json_body``) maps it like any domain error; a FastAPI route wraps it in a 400
    HTTPException whose cause it stays, and ``http_error`` answers 413 for that.
    """

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
                    raise errors.PayloadTooLarge(f"the body is larger than {self.limit} bytes")
            return message

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except errors.PayloadTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "payload-too-large", f"the body is larger than {self.limit} bytes")
        await response(scope, receive, send)


class ContainErrors:
    """Keep an error raised after the answer was sent from reaching the server.

    Starlette's ServerErrorMiddleware sends the 500 and then raises the exception again; uvicorn
    then closes the connection (and logs the exception's text, which may hold request data).
    Here an error after a complete answer is logged by type and route and goes no further, so
    the client's keep-alive connection serves its next request; one before any answer gets a
    500 problem. Only an error in the middle of an answer still ends the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = complete = False

        async def watch(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if complete:
                return  # answered (500) and logged by the handler already
            if started:
                raise
            log.error(
                "internal error %s on %s %s", type(exc).__name__, scope["method"], scope["path"]
            )
            response = problem(500, "internal", "an internal error occurred")
            await response(scope, receive, send)


class _Gauges(Collector):
    """Gauges a node reads at scrape time (``install_common(gauges=...)``)."""

    def __init__(self, read: Callable[[], Mapping[str, tuple[str, Mapping[str, float]]]]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self.read()
        except Exception as exc:  # a scrape must not fail because one figure could not be read
            log.warning("gauges unavailable: %s", type(exc).__name__)
            return
        for name, (help_text, by_label) in values.items():
            family = GaugeMetricFamily(name, help_text, labels=["region"])
            for label, value in by_label.items():
                family.add_metric([label], value)
            yield family


class _AdmissionCounts(Collector):
    """Requests admitted and refused by this worker's admission control, by class."""

    def __init__(self, policy: AdmissionPolicy) -> None:
        self.policy = policy

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, counts, help_ in (
            ("ymt_admitted", self.policy.admitted, "Requests admitted, by class"),
            ("ymt_overload_refused", self.policy.refused, "Requests refused with 503 (overload)"),
        ):
            family = CounterMetricFamily(name, help_, labels=["class"])
            for label, value in zip(NAMES, counts, strict=True):
                family.add_metric([label], value)
            yield family


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


async def authenticate_off_loop(authenticate: Authenticator, token: str) -> Caller | None:
    """``authenticate(token)`` without blocking the event loop: a credential the
    authenticator's cache holds (its ``cached``, where it has one) is answered here; anything
    that needs the database (a session, a cache miss) runs in the thread pool."""
    cached = getattr(authenticate, "cached", None)
    if cached is not None:
        hit: Caller | None = cached(token)
        if hit is not None:
            return hit
    return await run_in_threadpool(authenticate, token)


def install_common(
    app: FastAPI,
    *,
    authenticate: Authenticator,
    body_limit: int,
    public_paths: Iterable[str] = PUBLIC_PATHS,
    health: Callable[[], dict[str, Any]] | None = None,
    gauges: Callable[[], Mapping[str, tuple[str, Mapping[str, float]]]] | None = None,
    limiter: Limiter | None = None,
    trusted_proxies: Iterable[str] = (),
    session_cookie: str | None = None,
    ready: Callable[[], None] | None = None,
    max_in_flight: int = 32,
    queue_budget: float = 0.02,
) -> Callable[[ASGIApp], ASGIApp]:
    """Install error handlers, authentication and the common routes on ``app``.

    ``gauges`` returns ``{name: (help, {region: value})}`` for ``/metrics`` at scrape time.
    With a ``limiter``, refused bearer tokens are counted per client address and lead to a
    back-off (``TokenBackoff``). With ``session_cookie`` (the pages), a request without an
    ``Authorization`` header is authenticated by the bearer token in that cookie, and one that
    changes anything must carry the session's CSRF token (``web/session.py``). Returns the
    wrapper (security headers, body limit, metrics, error containment) to put around the
    finished ASGI app, with admission control (``admission.py``: ``max_in_flight`` requests at a
    time, a wait of at most ``queue_budget`` seconds, 503 for the rest). ``ready`` raises when
    the node cannot serve (its database unreachable): ``/readyz`` says so, ``/healthz`` (alive)
    does not ask.
    """
    public = frozenset(public_paths)
    metrics = Metrics()
    admission = AdmissionPolicy(limit=max(1, max_in_flight), budget=queue_budget)
    metrics.registry.register(_AdmissionCounts(admission))
    if gauges is not None:
        metrics.registry.register(_Gauges(gauges))
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
            caller = await authenticate_off_loop(authenticate, token)
            if caller is None:
                await refuse(request, "the token is unknown, revoked or expired")
            elif backoff is not None:
                backoff.accepted(token)
        elif session_cookie is not None:
            caller = await _cookie_caller(request, session_cookie, authenticate)
        request.state.caller = caller
        route = request.scope.get("route")
        if caller is None and f"{request.method} {getattr(route, 'path', '')}" not in public:
            raise errors.Unauthorized("sign in first")

    app.router.dependencies.insert(0, Depends(resolve_caller))
    install_docs(app, title=app.title)

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
        if isinstance(exc.__cause__, errors.PayloadTooLarge):
            # FastAPI wraps whatever failed while it read the body in a 400.
            cause = exc.__cause__
            return problem(413, cause.slug, cause.message, instance=request.url.path)
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(
            exc.status_code, "error"
        )
        response = problem(exc.status_code, slug, str(exc.detail), instance=request.url.path)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request) or response.headers.get(
                "Allow", ""
            )
        return response

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> Response:
        # SQLite's write lock held past the busy timeout, or PostgreSQL unreachable: the
        # request was fine and may be sent again; nothing was written.
        log.warning(
            "database unavailable (%s) on %s %s",
            type(exc.orig).__name__,
            request.method,
            request.url.path,
        )
        response = problem(
            503,
            "unavailable",
            "the node's database is busy or unreachable; try again in a moment",
            instance=request.url.path,
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # The exception text may hold data from the request: log the type and route only.
        log.error(
            "internal error %s on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return problem(500, "internal", "an internal error occurred", instance=request.url.path)

    @app.get("/healthz", tags=["node"], summary="Liveness and basic facts about this node")
    async def healthz() -> dict[str, Any]:
        # On the event loop: ``health`` is constant facts, no I/O. It is also the hello-world
        # the HTTP benchmarks hold 验码 against, so it must not pay for a thread it does not need.
        return {"status": "ok", **(health() if health else {})}

    @app.get(
        "/readyz",
        tags=["node"],
        summary="Readiness: the database answers and the worker is not at its capacity",
        responses=problem_responses(503),
    )
    def readyz() -> Response:
        why = None
        if admission.saturated:
            why = "at capacity: every slot busy and requests waiting"
        elif ready is not None:
            try:
                ready()
            except Exception as exc:  # the database is down or will not answer in time
                why = f"database unavailable ({type(exc).__name__})"
        if why is not None:
            response = problem(503, "not-ready", why, instance="/readyz")
            response.headers["Retry-After"] = "1"
            return response
        return ORJSONResponse({"status": "ready", "in_flight": admission.in_flight})

    @app.get(
        "/metrics", tags=["node"], summary="Prometheus metrics", response_class=PlainTextResponse
    )
    def metrics_route() -> Response:
        registry = metrics.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Several workers (`serve --workers N`): add up what every worker wrote.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            if gauges is not None:  # read from the database: the same in every worker
                registry.register(_Gauges(gauges))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems/{slug}", tags=["node"], summary="What a problem type means")
    def problem_type(slug: str) -> dict[str, str]:
        if slug not in TITLES:
            raise errors.NotFound(f"no problem type {slug!r}")
        return {"type": f"/problems/{slug}", "title": TITLES[slug]}

    _document_problems(app, public)

    def wrap(asgi: ASGIApp) -> ASGIApp:
        # Admission is outermost: a refusal costs the least there (it carries the headers).
        inner = ContainErrors(BodyLimit(metrics.middleware(asgi), body_limit))
        return Admission(SecurityHeaders(inner), policy=admission)

    return wrap


def sync_gauges(figures: Mapping[str, tuple[int, int]]) -> dict[str, tuple[str, dict[str, float]]]:
    """The hub link's gauges for ``/metrics``, from ``{region: (quarantined, failing)}``."""
    return {
        "ymt_feed_quarantined_rows": (
            "Feed rows from the hub this node could not apply (kept in feed_quarantine)",
            {region: q for region, (q, _) in figures.items()},
        ),
        "ymt_hub_sync_failing_lists": (
            "Lists (feed, risk areas) whose last sync round with the hub had an error",
            {region: f for region, (_, f) in figures.items()},
        ),
    }


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route of this app takes at the request's path (for ``Allow``).

    Asked of the routes themselves, one method at a time: Starlette's own 405 names only the
    methods of the first route with that path, and included routers hide their routes.
    """
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _document_problems(app: FastAPI, public: frozenset[str]) -> None:
    """Make ``app.openapi()`` list the problem answers each route really gives.

    Every route: 401 (a bad token is refused even where none is needed). Routes that need a
    caller: 403. Routes with parameters or a body: 422 (as a problem, not FastAPI's own
    shape). Routes with a body: 400 (not JSON) and 413. Routes with path parameters: 404.
    A list served with an ETag: 304. Routes add their own (409, 429, 503) with
    ``responses=problem_responses(...)``.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        schemas = document["components"]["schemas"]
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if not isinstance(operation, dict):
                    continue
                _document_operation(operation, public=f"{method.upper()} {path}" in public)
        _integer_bounds(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation(operation: dict[str, Any], *, public: bool) -> None:
    responses = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    codes = {401}
    if not public:
        codes.add(403)
    if parameters or "requestBody" in operation:
        codes.add(422)
    if "requestBody" in operation:
        codes |= {400, 413}
    if any(p.get("in") == "path" for p in parameters):
        codes.add(404)
    for code in codes:
        responses[str(code)] = _problem_response(code)
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400 and "content" not in response:
            response.update(_problem_response(int(code)))
    if any(p.get("in") == "header" and p.get("name") == "if-none-match" for p in parameters):
        responses["304"] = {"description": _PROBLEM_DESCRIPTIONS[304]}


def _integer_bounds(node: Any) -> None:
    """Integer bounds as integers: FastAPI's OpenAPI model turns them into floats, and 2^63 - 1
    as a float is 2^63, which a generator then sends as a valid id."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
                value = node.get(key)
                if isinstance(value, float):
                    node[key] = min(int(value), MAX_ID) if value > 0 else int(value)
        for value in node.values():
            _integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _integer_bounds(value)


async def _cookie_caller(
    request: Request, cookie: str, authenticate: Authenticator
) -> Caller | None:
    """The caller of a page's session cookie (None: none, or one that lapsed: sign in again).

    A request that changes something must prove it comes from the node's own page: the CSRF
    token in ``X-CSRF-Token``, or in the ``csrf`` field of a form.
    """
    token = request.cookies.get(cookie)
    if not token or len(token) > 200:
        return None
    caller = await authenticate_off_loop(authenticate, token)
    if caller is None:
        return None
    request.state.session = token
    if request.method not in SAFE_METHODS:
        offered = request.headers.get(CSRF_HEADER)
        kind = request.headers.get("content-type", "")
        if offered is None and kind.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            value = (await request.form()).get(CSRF_FIELD)
            offered = value if isinstance(value, str) else None
        if not csrf_ok(token, offered):
            raise errors.Forbidden("the page's CSRF token is missing or wrong; reload the page")
    return caller


Handler = Callable[[Request], Awaitable[Response]]
