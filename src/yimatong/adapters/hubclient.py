"""The client every node uses to talk to the hub (and the hub to talk to issuers).

It takes an ``httpx.Client`` (or builds one), so tests can hand in a Starlette ``TestClient``
(an httpx client over an in-process ASGI app) or talk to a real process over loopback.
:class:`AsyncNodeClient` is the same for a caller on the event loop (the hub's Mode 2 status
call), sending through ``adapters.nodehttp.PooledSend`` (aiohttp's keep-alive connections, a
fraction of httpx's CPU per call), or through a synchronous client in a worker thread
(:class:`ThreadedSend`: a test's in-process node).
Network failures, timeouts and 5xx answers become :class:`Unavailable`; problem-details
answers become the matching domain error, so callers handle one exception tree. An answer that
no yimatong node would give — a 4xx without problem details, a body that is not JSON — is
:class:`NotANode` (an ``Unavailable``): the URL is wrong, and nothing there can be asked. It
is never read as the caller's own mistake (``InvalidInput``), which would, for instance, make
a checkpoint set its scans aside as refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import orjson
from starlette.concurrency import run_in_threadpool

from yimatong.adapters.nodehttp import Answer, HttpError
from yimatong.domain import errors

__all__ = ["AsyncNodeClient", "AsyncSend", "NodeClient", "ThreadedSend"]

_BY_SLUG: dict[str, type[errors.YimatongError]] = {
    "invalid-input": errors.InvalidInput,
    "malformed-json": errors.InvalidInput,
    "invalid-document": errors.InvalidDocument,
    "unknown-region": errors.UnknownRegion,
    "not-found": errors.NotFound,
    "unauthorized": errors.Unauthorized,
    "forbidden": errors.Forbidden,
    "conflict": errors.Conflict,
    "unavailable": errors.Unavailable,
    "too-many-requests": errors.Unavailable,  # busy: the caller may try again shortly
}


class NodeClient:
    """JSON over HTTP to one node, with a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 3.0,
        name: str = "node",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout)
        self._owns = client is None
        self.timeout = timeout

    def close(self) -> None:
        if self._owns:
            self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        anonymous: bool = False,
    ) -> httpx.Response:
        """Send, and raise the domain error for any answer that is not 2xx or 304.

        ``anonymous``: without the bearer token (a public document: a refused credential
        must not cost the caller what anyone may read).
        """
        extra: dict[str, Any] = {}
        if content is not None:
            extra["content"] = content
            headers = {"Content-Type": "application/json", **(headers or {})}
        if self._owns:  # a client handed in (a test's in-process client) keeps its own timeout
            extra["timeout"] = timeout or self.timeout
        try:
            response = self._client.request(
                method,
                self.base_url + path,
                json=json,
                params=params,
                headers={**({} if anonymous else self._headers), **(headers or {})},
                **extra,
            )
        except httpx.HTTPError as exc:
            raise errors.Unavailable(f"{self.name} did not answer ({type(exc).__name__})") from None
        if response.status_code < 300 or response.status_code == 304:
            return response
        raise self._error(response)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.decode(self.request("GET", path, **kwargs))

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.decode(self.request("POST", path, json=body, **kwargs))

    def post_encoded(self, path: str, body: bytes, **kwargs: Any) -> Any:
        """``post_json`` of a body already encoded as JSON (a large one, by orjson)."""
        return self.decode(self.request("POST", path, content=body, **kwargs))

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body of a 2xx answer; NotANode if it is not JSON."""
        return _decode(self.name, self.base_url, response)

    def _error(self, response: httpx.Response) -> errors.YimatongError:
        if response.status_code >= 500:
            body = None
        else:
            try:
                body = response.json()
            except ValueError:
                body = None
        return _error(
            self.name,
            self.base_url,
            response.status_code,
            body,
            response.request.method,
            response.request.url.path,
        )


class AsyncSend(Protocol):
    """How :class:`AsyncNodeClient` sends: a ``PooledSend`` or a :class:`ThreadedSend`."""

    async def __call__(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> Answer: ...


class AsyncNodeClient:
    """:class:`NodeClient`'s ``post_json`` for the event loop: the same answers and errors.

    ``send`` is shared (a pool of keep-alive connections belongs to the caller, who closes it).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        send: AsyncSend,
        timeout: float = 3.0,
        name: str = "node",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._send = send
        self.timeout = timeout

    async def post_json(self, path: str, body: Any, *, timeout: float | None = None) -> Any:
        try:
            answer = await self._send(
                "POST",
                self.base_url + path,
                headers=self._headers,
                body=orjson.dumps(body),
                timeout=timeout or self.timeout,
            )
        except HttpError as exc:
            raise errors.Unavailable(f"{self.name} did not answer ({exc})") from None
        if answer.status < 300:
            try:
                return orjson.loads(answer.body)
            except orjson.JSONDecodeError:
                raise _not_json(self.name, self.base_url, answer.status) from None
        raise _error(
            self.name, self.base_url, answer.status, _json_or_none(answer.body), "POST", path
        )


class ThreadedSend:
    """An :class:`AsyncSend` through a synchronous ``httpx.Client`` in a worker thread.

    For a node reached in-process (a test's ``TestClient``); a transport error of the client
    is an ``HttpError``, as the network's would be.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    async def __call__(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> Answer:
        def send() -> Answer:
            try:
                response = self._client.request(method, url, headers=headers, content=body)
            except httpx.HTTPError as exc:
                raise HttpError(type(exc).__name__) from None
            return Answer(response.status_code, dict(response.headers), response.content)

        return await run_in_threadpool(send)


def _decode(name: str, base_url: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise _not_json(name, base_url, response.status_code) from None


def _not_json(name: str, base_url: str, status: int) -> errors.NotANode:
    return errors.NotANode(f"{name} at {base_url} answered {status} with a body that is not JSON")


def _json_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _error(
    name: str, base_url: str, status: int, body: Any, method: str, path: str
) -> errors.YimatongError:
    """The domain error for an answer that is not 2xx (``body``: its JSON, or None)."""
    if status >= 500:
        return errors.Unavailable(f"{name} answered {status}")
    if not (isinstance(body, dict) and str(body.get("type", "")).startswith("/problems/")):
        return errors.NotANode(
            f"{name} at {base_url} answered {status} to {method} {path}, not as a yimatong node"
        )
    slug = str(body.get("type", "")).rsplit("/", 1)[-1]
    detail = str(body.get("detail") or f"{name} answered {status}")
    if slug == "invalid-code":
        return errors.InvalidCode(detail)
    cls = _BY_SLUG.get(slug, errors.InvalidInput)
    return cls(detail, field=body.get("field"))
