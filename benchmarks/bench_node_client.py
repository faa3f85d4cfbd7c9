"""CPU per node-to-node call: the hub's keep-alive client against httpx, on one server.

The hub's Mode 2 asks the code's issuer for its status on every verify, so the client's own
CPU per call counts against every answer. This starts a small ASGI server (uvicorn, a fixed
JSON answer of the size of an issuer's 验码 answer) in another process, pinned to the second
core where there is one, and measures the CPU time of this process per call (user + system,
``time.process_time``) for:

* ``httpx.Client``, calls in turn on one keep-alive connection (the hub before);
* ``httpx.AsyncClient``, 16 calls at a time on uvloop;
* ``adapters.nodehttp.PooledSend`` (aiohttp), 16 calls at a time on uvloop (the hub now).

Rounds alternate the three; medians, and each as a ratio to ``PooledSend`` in the same run.

    .venv/bin/python benchmarks/bench_node_client.py [--calls 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import orjson
import uvloop

from yimatong.adapters.nodehttp import PooledSend

SERVER = """
import orjson
BODY = orjson.dumps({"valid": True, "issuer": "330000", "colour": "green", "reasons": [],
                     "display": {"masked_name": "张*", "masked_id": "33" + "*" * 14 + "11"},
                     "pad": "x" * 300})
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
"""
CONCURRENCY = 16
BODY = {"code": "YMT1:" + "A" * 300}
HEADERS = {"authorization": "Bearer ymt_c_" + "x" * 40, "content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sync_httpx(url: str, calls: int) -> float:
    with httpx.Client() as client:
        client.post(url, json=BODY, headers=HEADERS)
        start = time.process_time()
        for _ in range(calls):
            client.post(url, json=BODY, headers=HEADERS).json()
        return (time.process_time() - start) / calls


async def _concurrent(calls: int, one: Callable[[], Awaitable[object]]) -> float:
    await one()

    async def worker(n: int) -> None:
        for _ in range(n):
            await one()

    start = time.process_time()
    await asyncio.gather(*(worker(calls // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (time.process_time() - start) / (calls // CONCURRENCY * CONCURRENCY)


def async_httpx(url: str, calls: int) -> float:
    async def main() -> float:
        async with httpx.AsyncClient() as client:

            async def one() -> object:
                return (await client.post(url, json=BODY, headers=HEADERS)).json()

            return await _concurrent(calls, one)

    return uvloop.run(main())


def pooled_send(url: str, calls: int) -> float:
    async def main() -> float:
        send = PooledSend()

        async def one() -> object:
            answer = await send("POST", url, headers=HEADERS, body=orjson.dumps(BODY), timeout=5)
            return orjson.loads(answer.body)

        try:
            return await _concurrent(calls, one)
        finally:
            await send.aclose()

    return uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bench_server.py").write_text(SERVER)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bench_server:app",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
        )  # fmt: skip
        try:
            if len(cores) > 1:
                os.sched_setaffinity(server.pid, {cores[1]})
                os.sched_setaffinity(0, {cores[0]})
            url = f"http://127.0.0.1:{port}/v1/codes/verify"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(url, timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            figures: dict[str, list[float]] = {
                "httpx.Client": [],
                "httpx.AsyncClient": [],
                "PooledSend": [],
            }
            for _ in range(args.rounds):
                figures["httpx.Client"].append(sync_httpx(url, args.calls))
                figures["httpx.AsyncClient"].append(async_httpx(url, args.calls))
                figures["PooledSend"].append(pooled_send(url, args.calls))
        finally:
            server.terminate()
            server.wait()
    ours = statistics.median(figures["PooledSend"])
    print(f"{'client':<20}{'CPU µs per call':>18}{'× PooledSend':>14}")
    for name, values in figures.items():
        cpu = statistics.median(values)
        print(f"{name:<20}{cpu * 1e6:>18.0f}{cpu / ours:>14.1f}")
    print(
        f"median of {args.rounds} rounds of {args.calls} calls; async ones {CONCURRENCY} at a time"
    )


if __name__ == "__main__":
    main()
