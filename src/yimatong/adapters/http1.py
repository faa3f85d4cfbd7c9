"""A small HTTP/1.1 client on asyncio for node-to-node calls on a hot path (Mode 2's status).

The hub asks a native issuer for a code's status on every Mode 2 verify. With ``httpx`` that
call costs more CPU than serving the request it belongs to: ~0.5 ms per call with the
synchronous client and ~1.5 ms with ``httpx.AsyncClient`` under concurrency (whose pool looks
for ``trio`` with a failing import on every request), against ~20 µs for a keep-alive request
written straight to an asyncio transport and parsed by ``httptools`` (the parser uvicorn
uses). So this is that, and no more: one request at a time per connection, keep-alive
connections pooled per origin, ``http`` and ``https``, Content-Length or chunked answers,
a deadline over the whole exchange, a cap on the answer's size. No redirects, no proxies, no
cookies, no HTTP/2: a node's API needs none of them.

Every failure to get a complete answer is :class:`HttpError` (the caller's "did not answer").
A request that fails on a connection taken from the pool before any byte of the answer came
back (the server closed it while idle) is sent once more on a new connection, as urllib3 and
httpx do.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

__all__ = ["MAX_ANSWER", "Answer", "Http1Pool", "HttpError"]

#: The largest answer body read (a node's JSON answers are a few KiB).
MAX_ANSWER = 1 << 20
#: Idle connections kept per origin; a connection idle longer than IDLE_SECONDS is dropped
#: (uvicorn closes its side after 5 s).
MAX_IDLE = 64
IDLE_SECONDS = 4.0
#: Prepared request heads kept (one per issuer and credential in practice).
MAX_HEADS = 1024


class HttpError(Exception):
    """No complete answer: connection refused or lost, timeout, an answer that is not HTTP."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._received = False  # any byte of the current answer

    # ----------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        self._received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpError(f"not an HTTP answer ({type(exc).__name__})"))
            self.close()

    def eof_received(self) -> bool:
        self._lost("the server closed the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost("the connection was lost")

    # ----------------------------------------------------------- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_ANSWER:
            self._fail(HttpError(f"an answer longer than {MAX_ANSWER} bytes"))
            self.close()
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        answer = Answer(self.parser.get_status_code(), self._headers, b"".join(self._body))
        if not self.parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # ----------------------------------------------------------- use
    def start(self, payload: bytes) -> asyncio.Future[Answer]:
        """Send one request; the future is its answer."""
        assert self.transport is not None and self._waiter is None
        waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._headers, self._body, self._size, self._received = {}, [], 0, False
        if self.closed or self.transport.is_closing():
            waiter.set_exception(HttpError("the connection was closed"))
            return waiter
        self._waiter = waiter
        self.transport.write(payload)
        return waiter

    @property
    def received(self) -> bool:
        return self._received

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _lost(self, why: str) -> None:
        self.closed = True
        self._fail(HttpError(why))

    def _fail(self, error: HttpError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Http1Pool:
    """Keep-alive connections per origin, for one event loop (the one that first uses it)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        # the request line and headers of each (method, URL, headers) seen, as bytes
        self._heads: dict[tuple[Any, ...], tuple[tuple[str, str, int], bytes]] = {}
        self._ssl = ssl_context
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        timeout: float,
    ) -> Answer:
        """``method url`` with ``headers`` and ``body``; the whole exchange within ``timeout``."""
        key = (method, url, tuple(headers.items()))
        prepared = self._heads.get(key)
        if prepared is None:
            prepared = self._heads[key] = _prepare(method, url, headers)
            if len(self._heads) > MAX_HEADS:  # a cache, not a record: start again
                self._heads = {key: prepared}
        origin, head = prepared
        if body or method not in ("GET", "HEAD"):
            payload = b"%scontent-length: %d\r\n\r\n%s" % (head, len(body), body)
        else:
            payload = head + b"\r\n"
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(origin, payload)
        except TimeoutError:
            raise HttpError(f"no answer within {timeout:g} s") from None
        except OSError as exc:
            raise HttpError(f"cannot connect ({type(exc).__name__})") from None

    async def _exchange(self, origin: tuple[str, str, int], payload: bytes) -> Answer:
        loop = asyncio.get_running_loop()
        while True:
            conn = self._take(origin, loop.time())
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin)
            try:
                answer = await conn.start(payload)
            except HttpError:
                conn.close()
                if reused and not conn.received:
                    continue  # closed by the server while idle: once more, on a new one
                raise
            except BaseException:  # cancelled (a deadline): the exchange is broken off
                conn.close()
                raise
            self._give(origin, conn, loop.time())
            return answer

    def _take(self, origin: tuple[str, str, int], now: float) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < IDLE_SECONDS:
                return conn
            conn.close()
        return None

    def _give(self, origin: tuple[str, str, int], conn: _Connection, now: float) -> None:
        idle = self._idle.setdefault(origin, [])
        if conn.closed or self._closed or len(idle) >= MAX_IDLE:
            conn.close()
            return
        conn.idle_since = now
        idle.append(conn)

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, hostname, port = origin
        context = None
        if scheme == "https":
            context = self._ssl or ssl.create_default_context()
            self._ssl = context
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            _Connection, hostname, port, ssl=context, server_hostname=hostname if context else None
        )
        return conn

    def close(self) -> None:
        """Close every idle connection; the pool takes no new ones."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _prepare(
    method: str, url: str, headers: Mapping[str, str]
) -> tuple[tuple[str, str, int], bytes]:
    """(origin, the request line and headers up to the body's length) for a request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if any("\r" in line or "\n" in line for line in lines):
        raise HttpError("a line break in the request line or a header")
    return (parts.scheme, parts.hostname, port), ("\r\n".join(lines) + "\r\n").encode("latin-1")
