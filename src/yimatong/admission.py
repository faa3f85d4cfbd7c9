"""Admission control: a worker under more load than it can serve refuses the excess at once.

Health-code systems fell over at their peaks because every request was kept: queues grew, every
answer became late, every checkpoint timed out at once (Xi'an, 2021-12-20). Here each worker
admits at most ``limit`` requests at a time; a request that finds them all busy waits in a queue
of its class, but only while its expected wait fits the queue-time budget. Otherwise it gets
``503`` with ``Retry-After`` straight away — a few dozen microseconds, before its body is read
or anything is looked up — so the requests admitted keep their latency and a client knows at
once to come back (a checkpoint decides offline meanwhile).

Classes, first served first: ``GATE`` — checkpoint 验码, Mode 2, scans, the hub relay, the
signed lists a checkpoint needs; ``API`` — every other API call; ``PAGE`` — pages and their
assets (a citizen refreshing "my code"). A freed slot goes to the oldest waiter of the first
class that has one. ``/healthz``, ``/readyz`` and ``/metrics`` are never queued.

The expected wait is ``(waiting ahead + 1) × mean service time ÷ limit``, the mean an
exponentially weighted one of the requests this worker finished. Time is a parameter
(``monotonic``) so that the policy can be tested exactly; the limits are per worker, so a node
with ``--workers N`` admits ``N × limit``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from yimatong.web.security import HEADERS

__all__ = ["API", "GATE", "PAGE", "Admission", "AdmissionPolicy", "request_class"]

GATE, API, PAGE = 0, 1, 2
NAMES = ("gate", "api", "page")
ADMITTED = "yimatong.admitted"
EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
#: Paths of the checkpoint's traffic (method, path prefix): 验码, Mode 2, scans, relay, lists.
_GATE = (
    ("POST", "/v1/codes/verify"),
    ("POST", "/v1/codes/convert"),
    ("POST", "/v1/scans"),
    ("POST", "/v1/lookups"),
    ("GET", "/v1/trust-list"),
    ("GET", "/v1/revocations"),
    ("GET", "/v1/risk-areas"),
    ("GET", "/v1/policies"),
    ("GET", "/v1/hub/"),
    ("POST", "/v1/hub/"),
)


def request_class(method: str, path: str) -> int:
    """The admission class of a request (``path`` without the node's prefix)."""
    if path.startswith("/regions/") and path.count("/") >= 3:
        path = "/" + path.split("/", 3)[3]  # a region the hub hosts: its own paths
    for m, prefix in _GATE:
        if method == m and path.startswith(prefix):
            return GATE
    if path.startswith("/v1/") or path.startswith("/problems/"):
        return API
    return PAGE


@dataclass
class AdmissionPolicy:
    """The bookkeeping of one worker's admission, without the ASGI parts (tested alone)."""

    limit: int = 32
    budget: float = 0.02  # seconds a request may wait for a slot
    service: float = 0.002  # running mean of the service time, seconds
    in_flight: int = 0
    #: per class, the futures of the requests waiting for a slot, oldest first
    queues: tuple[deque[asyncio.Future[None]], ...] = field(
        default_factory=lambda: (deque(), deque(), deque())
    )
    admitted: list[int] = field(default_factory=lambda: [0, 0, 0])
    refused: list[int] = field(default_factory=lambda: [0, 0, 0])

    def waiting_ahead(self, cls: int) -> int:
        return sum(len(q) for q in self.queues[: cls + 1])

    def expected_wait(self, cls: int) -> float:
        return (self.waiting_ahead(cls) + 1) * self.service / self.limit

    def may_start(self, cls: int) -> bool:
        """A free slot and nobody of this class or a first one waiting for it."""
        return self.in_flight < self.limit and self.waiting_ahead(cls) == 0

    def finished(self, took: float | None) -> None:
        """A slot is free; ``took`` (seconds) feeds the mean, None if nothing was served."""
        self.in_flight -= 1
        if took is not None:
            self.service += (max(took, 1e-6) - self.service) * 0.05

    def next_waiter(self) -> asyncio.Future[None] | None:
        """Whom a free slot goes to: the oldest waiter of the first class with one."""
        for queue in self.queues:
            if queue:
                return queue.popleft()
        return None

    @property
    def saturated(self) -> bool:
        return self.in_flight >= self.limit and any(self.queues)


class Admission:
    """ASGI middleware: admit, queue within the budget, or refuse with 503 at once."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        policy: AdmissionPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.policy = policy or AdmissionPolicy()
        self.monotonic = monotonic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(ADMITTED):
            await self.app(scope, receive, send)  # a hosted region's app inside the hub's
            return
        scope[ADMITTED] = True
        root = str(scope.get("root_path", ""))
        path = str(scope["path"])
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if path in EXEMPT:
            await self.app(scope, receive, send)
            return
        cls = request_class(str(scope["method"]), path)
        policy = self.policy
        if not policy.may_start(cls):
            if policy.expected_wait(cls) > policy.budget:
                await self._refuse(cls, send)
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue = policy.queues[cls]
            queue.append(waiter)
            try:
                await asyncio.wait_for(asyncio.shield(waiter), policy.budget)
            except TimeoutError:
                if not waiter.done():  # still queued: it gives up its place, exactly
                    queue.remove(waiter)
                    waiter.cancel()
                    await self._refuse(cls, send)
                    return
                # handed a slot just as the budget ran out: take it
            except asyncio.CancelledError:  # the client went away
                if waiter.done():
                    self._release(None)  # the slot handed to us goes on to the next
                else:
                    queue.remove(waiter)
                    waiter.cancel()
                raise
            # the slot was handed over by _release: in_flight already counts it
        else:
            policy.in_flight += 1
        policy.admitted[cls] += 1
        started = self.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self._release(self.monotonic() - started)

    def _release(self, took: float | None) -> None:
        policy = self.policy
        policy.finished(took)
        waiter = policy.next_waiter()
        if waiter is not None:
            policy.in_flight += 1
            waiter.set_result(None)

    async def _refuse(self, cls: int, send: Send) -> None:
        self.policy.refused[cls] += 1
        await send(_REFUSAL_START)
        await send(_REFUSAL_BODY)


_OVERLOADED = (
    b'{"type":"/problems/overloaded","title":"Overloaded","status":503,'
    b'"detail":"this node is at its capacity; try again in a moment"}'
)
_REFUSAL_START = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/problem+json"),
        (b"retry-after", b"1"),
        (b"cache-control", b"no-store"),
        (b"content-length", str(len(_OVERLOADED)).encode()),
        *HEADERS,
    ],
}
_REFUSAL_BODY = {"type": "http.response.body", "body": _OVERLOADED}
