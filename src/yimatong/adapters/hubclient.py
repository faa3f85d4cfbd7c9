"""The client every node uses to talk to the hub (and the hub to talk to issuers).

It takes an ``httpx.Client`` (or builds one), so tests can hand in a Starlette ``TestClient``
(an httpx client over an in-process ASGI app) or talk to a real process over loopback.
Network failures, timeouts and 5xx answers become :class:`Unavailable`; problem-details
answers become the matching domain error, so callers handle one exception tree. An answer that
no yimatong node would give — a 4xx without problem details, a body that is not JSON — is
:class:`NotANode` (an ``Unavailable``): the URL is wrong, and nothing there can be asked. It
is never read as the caller's own mistake (``InvalidInput``), which would, for instance, make
a checkpoint set its scans aside as refused.
"""

from __future__ import annotations

from typing import Any

import httpx

from yimatong.domain import errors

__all__ = ["NodeClient"]

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
        try:
            return response.json()
        except ValueError:
            raise errors.NotANode(
                f"{self.name} at {self.base_url} answered {response.status_code} with a body "
                "that is not JSON"
            ) from None

    def _error(self, response: httpx.Response) -> errors.YimatongError:
        if response.status_code >= 500:
            return errors.Unavailable(f"{self.name} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and str(body.get("type", "")).startswith("/problems/")):
            return errors.NotANode(
                f"{self.name} at {self.base_url} answered {response.status_code} "
                f"to {response.request.method} {response.request.url.path}, "
                "not as a yimatong node"
            )
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        detail = str(body.get("detail") or f"{self.name} answered {response.status_code}")
        if slug == "invalid-code":
            return errors.InvalidCode(detail)
        cls = _BY_SLUG.get(slug, errors.InvalidInput)
        return cls(detail, field=body.get("field"))
