"""The hub's client for the calls on its Mode 2 hot path (a code's status at its issuer).

An :class:`AsyncSend` over ``aiohttp``'s client: keep-alive connections pooled per origin, a
deadline over the whole exchange, a cap on the answer's size, no redirects and no cookies.
Why aiohttp and not httpx (the client everywhere else): on this path the client's CPU per
call counts against every answer, and ``benchmarks/bench_node_client.py`` measures ~75 µs per
call for aiohttp against ~380 µs for ``httpx.Client`` in a thread and ~1.5 ms for
``httpx.AsyncClient`` (whose pool retries a failing ``import trio`` on every request).

Every failure to get a complete answer is :class:`HttpError` (the caller's "did not answer").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

__all__ = ["IDLE_SECONDS", "MAX_ANSWER", "Answer", "HttpError", "PooledSend"]

#: The largest answer body read (a node's JSON answers are a few KiB).
MAX_ANSWER = 1 << 20
#: Idle connections are kept this long (uvicorn closes its side after 5 s).
IDLE_SECONDS = 4.0
#: Connections at once to one issuer (more requests wait for one of them).
PER_ORIGIN = 64


class HttpError(Exception):
    """No complete answer: connection refused or lost, timeout, an answer that is not HTTP."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


class PooledSend:
    """Send requests on keep-alive connections; made on the event loop that uses it, and
    closed there (``aclose``). A connection the server closed while idle is replaced and the
    request sent again once, by aiohttp itself."""

    def __init__(self, *, max_answer: int = MAX_ANSWER) -> None:
        self.max_answer = max_answer
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=PER_ORIGIN, keepalive_timeout=IDLE_SECONDS
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return session

    async def __call__(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> Answer:
        if not url.startswith(("http://", "https://")):
            raise HttpError(f"not an http(s) URL: {url[:40]!r}")
        if any("\r" in v or "\n" in v for v in headers.values()):
            raise HttpError("a header value with a line break")
        session = self._open()
        deadline = self._timeouts.get(timeout)
        if deadline is None:
            deadline = self._timeouts[timeout] = aiohttp.ClientTimeout(total=timeout)
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=deadline,
            ) as response:
                declared = response.content_length
                if declared is not None:  # the usual answer: its length said up front
                    if declared > self.max_answer:
                        raise HttpError(f"an answer longer than {self.max_answer} bytes")
                    content = await response.read()
                else:
                    content = await self._read_capped(response)
                return Answer(response.status, _lower(response.headers), content)
        except TimeoutError:
            raise HttpError(f"no answer within {timeout} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise HttpError(f"cannot connect ({type(exc).__name__})") from None
        except aiohttp.ServerDisconnectedError:
            raise HttpError("the server closed the connection") from None
        except aiohttp.ClientPayloadError:
            raise HttpError("the server closed the connection mid-answer") from None
        except aiohttp.ClientResponseError as exc:
            raise HttpError(f"not an HTTP answer ({type(exc).__name__})") from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise HttpError(f"no complete answer ({type(exc).__name__})") from None

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > self.max_answer:
                raise HttpError(f"an answer longer than {self.max_answer} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close every connection; a later call opens a new session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
