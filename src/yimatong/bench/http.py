"""``http``: 验码 over real HTTP on one issuer worker pinned to one core, loaded by ``wrk``.

The limit this figure is held against is measured in the same run: a hello-world route on the
same server (``GET /healthz``: the same process, middleware and loopback) and the bare
``cryptography`` verify of the code's signed bytes, so ``limit = 1 / (t_hello + t_verify)``:
what the node could do if 验码 cost nothing but the HTTP of a trivial route and one signature.
The rounds alternate hello and 验码 so that a neighbour's load hits both. Then 验码 is offered
at half the maximum (wrk's per-connection ``delay``) and its p50/p99 are read there: the
latency a checkpoint sees on a node that has headroom.
"""

from __future__ import annotations

import statistics
from typing import Any

from yimatong.adapters.crypto import Algorithm
from yimatong.bench.core import Outcome, Table, benchmark, measure
from yimatong.bench.live import Load, Wrk, scratch_database, serving
from yimatong.bench.quick import _bare, _signed_bytes

__all__ = ["at_rate", "bare_verify_seconds"]

CONNECTIONS = 16


def bare_verify_seconds(code: str) -> float:
    """Seconds of one bare Ed25519 verify of ``code``'s signed bytes, on this core, now."""
    _sign, verify = _bare(Algorithm.EDDSA, _signed_bytes(code))
    return measure(verify, repeats=3, seconds=0.2)[0]


def at_rate(wrk: Wrk, rate: float, seconds: float, **request: Any) -> Load:
    """Offer about ``rate`` requests/s: connections that each pause between requests.

    wrk's ``delay`` is the pause before each request, so a connection's rate is
    ``1 / (pause + latency)``; one short calibration run sets the number of connections.
    """
    delay_ms = 10
    connections = max(2, round(rate * delay_ms / 1000))
    probe = wrk.run(connections=connections, delay_ms=delay_ms, seconds=1, **request)
    connections = max(2, round(connections * rate / max(probe.rps, 1.0)))
    return wrk.run(connections=connections, delay_ms=delay_ms, seconds=seconds, **request)


@benchmark("http", "验码 requests/s on one issuer worker (wrk), against hello-world + bare verify")
def http(*, repeats: int = 3, seconds: float = 5.0, db: str | None = None) -> Outcome:
    backend = "PostgreSQL" if db else "SQLite"
    with scratch_database(db) as url, serving(url) as node:
        wrk = Wrk(node.url)
        try:
            verify: dict[str, Any] = {
                "path": "/v1/codes/verify",
                "body": {"code": node.code},
                "token": node.checkpoint,
            }
            wrk.run("/healthz", seconds=1, connections=CONNECTIONS)  # warm up both routes
            wrk.run(seconds=1, connections=CONNECTIONS, **verify)
            hello: list[Load] = []
            ours: list[Load] = []
            bare: list[float] = []
            for _ in range(repeats):
                hello.append(wrk.run("/healthz", seconds=seconds, connections=CONNECTIONS))
                ours.append(wrk.run(seconds=seconds, connections=CONNECTIONS, **verify))
                bare.append(bare_verify_seconds(node.code))
            if any(load.non2xx or load.errors for load in ours):
                raise RuntimeError("验码 answered errors under load: see the node's log")
            hello_rps = statistics.median(h.rps for h in hello)
            middle = sorted(ours, key=lambda o: o.rps)[len(ours) // 2]  # the median round
            verify_rps = middle.rps
            t_bare = statistics.median(bare)
            limit = 1 / (1 / hello_rps + t_bare)
            half = at_rate(wrk, verify_rps / 2, seconds, **verify)
        finally:
            wrk.close()
    table = Table(("what", "req/s", "p50 ms", "p99 ms", "note"))
    table.add("GET /healthz (hello)", hello_rps, statistics.median(h.p50 for h in hello),
              statistics.median(h.p99 for h in hello), f"{CONNECTIONS} connections")  # fmt: skip
    table.add("bare Ed25519 verify", 1 / t_bare, t_bare * 1e3, t_bare * 1e3, "in process")
    table.add("limit 1/(t_hello+t_verify)", limit, "", "", "")
    table.add(
        "验码 at the maximum", verify_rps, middle.p50, middle.p99, f"{CONNECTIONS} connections"
    )
    table.add("验码 at half of it", half.rps, half.p50, half.p99, "wrk delay per connection")
    ratio = verify_rps / limit
    return Outcome(
        "http", verify_rps, "req/s", limit, ratio, "≥ 0.6; p99 ≤ 10 ms at half",
        ratio >= 0.6 and half.p99 <= 10 and not half.non2xx, table,
        [f"one worker pinned to one core, wrk on the other, {backend}, a printed code, "
         f"median of {repeats} rounds of {seconds:.0f} s; p99 at half = {half.p99:.1f} ms"],
    )  # fmt: skip
