"""Admission control: a slot, a short wait within the budget, or 503 at once; gates first."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from yimatong.admission import API, GATE, PAGE, Admission, AdmissionPolicy, request_class


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Held:
    """An app whose requests run until the test lets them go; it records the order they ran."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"]
        self.started.append(name)
        gate = self.release.setdefault(name, asyncio.Event())
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def let_go(self, name: str) -> None:
        self.release.setdefault(name, asyncio.Event()).set()


async def call(app: Any, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "root_path": ""}, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("method", "path", "cls"),
    [
        ("POST", "/v1/codes/verify", GATE),
        ("POST", "/regions/540000/v1/codes/verify", GATE),
        ("POST", "/v1/scans", GATE),
        ("GET", "/v1/trust-list", GATE),
        ("POST", "/v1/hub/scans", GATE),
        ("POST", "/v1/codes", API),
        ("GET", "/v1/subjects", API),
        ("GET", "/", PAGE),
        ("GET", "/code/0", PAGE),
        ("GET", "/static/css/app.css", PAGE),
    ],
)
def test_requests_are_classed_checkpoint_traffic_first(method: str, path: str, cls: int) -> None:
    assert request_class(method, path) == cls


def test_within_the_limit_every_request_runs_at_once() -> None:
    async def main() -> None:
        app = Held()
        gate = Admission(app, policy=AdmissionPolicy(limit=2, budget=0.05))
        first = asyncio.create_task(call(gate, "GET", "/a"))
        second = asyncio.create_task(call(gate, "GET", "/b"))
        await settle()
        assert app.started == ["/a", "/b"]
        assert gate.policy.in_flight == 2
        app.let_go("/a")
        app.let_go("/b")
        assert (await first)[0] == (await second)[0] == 200
        assert gate.policy.in_flight == 0

    asyncio.run(main())


def test_a_freed_slot_goes_to_a_waiting_checkpoint_before_a_waiting_page() -> None:
    async def main() -> None:
        app = Held()
        policy = AdmissionPolicy(limit=1, budget=5.0, service=0.001)
        gate = Admission(app, policy=policy)
        busy = asyncio.create_task(call(gate, "GET", "/busy"))
        await settle()
        page = asyncio.create_task(call(gate, "GET", "/code/0"))  # waits first
        await settle()
        scan = asyncio.create_task(call(gate, "POST", "/v1/codes/verify"))
        await settle()
        assert app.started == ["/busy"]
        assert [len(q) for q in policy.queues] == [1, 0, 1]
        app.let_go("/busy")
        await settle()
        assert app.started == ["/busy", "/v1/codes/verify"]
        app.let_go("/v1/codes/verify")
        await settle()
        assert app.started[-1] == "/code/0"
        app.let_go("/code/0")
        assert [(await t)[0] for t in (busy, scan, page)] == [200, 200, 200]
        assert policy.admitted == [1, 0, 2] and policy.refused == [0, 0, 0]

    asyncio.run(main())


def test_when_the_expected_wait_exceeds_the_budget_the_request_gets_503_at_once() -> None:
    async def main() -> None:
        app = Held()
        policy = AdmissionPolicy(limit=1, budget=0.02, service=0.05)  # one wait = 50 ms
        gate = Admission(app, policy=policy)
        busy = asyncio.create_task(call(gate, "GET", "/busy"))
        await settle()
        status, headers, body = await call(gate, "POST", "/v1/codes/verify")
        assert status == 503
        assert headers["retry-after"] == "1"
        assert headers["content-type"] == "application/problem+json"
        problem = orjson.loads(body)
        assert problem["type"] == "/problems/overloaded" and problem["status"] == 503
        assert app.started == ["/busy"]  # the refused request never reached the app
        assert policy.refused[GATE] == 1
        app.let_go("/busy")
        await busy

    asyncio.run(main())


def test_a_request_that_waits_past_the_budget_gets_503_and_gives_up_its_place() -> None:
    async def main() -> None:
        app = Held()
        policy = AdmissionPolicy(limit=1, budget=0.01, service=0.0001)
        gate = Admission(app, policy=policy)
        busy = asyncio.create_task(call(gate, "GET", "/busy"))
        await settle()
        status, _, _ = await call(gate, "GET", "/late")  # waits 10 ms, the slot stays busy
        assert status == 503
        assert policy.refused[PAGE] == 1
        assert [len(q) for q in policy.queues] == [0, 0, 0]  # its place is given up at once
        app.let_go("/busy")
        await busy
        assert policy.in_flight == 0
        app.let_go("/next")
        assert (await call(gate, "GET", "/next"))[0] == 200  # the stale waiter took nothing

    asyncio.run(main())


def test_health_readiness_and_metrics_are_never_queued() -> None:
    async def main() -> None:
        app = Held()
        policy = AdmissionPolicy(limit=1, budget=0.0, service=1.0)
        gate = Admission(app, policy=policy)
        busy = asyncio.create_task(call(gate, "GET", "/busy"))
        await settle()
        assert (await call(gate, "POST", "/v1/codes/verify"))[0] == 503
        app.let_go("/readyz")
        assert (await call(gate, "GET", "/readyz"))[0] == 200
        app.let_go("/busy")
        await busy

    asyncio.run(main())


def test_the_mean_service_time_follows_the_requests_served() -> None:
    policy = AdmissionPolicy(limit=4, service=0.002)
    policy.in_flight = 1
    policy.finished(0.012)
    assert policy.service == pytest.approx(0.0025)
    assert policy.expected_wait(API) == pytest.approx(0.0025 / 4)
