"""``hub``: Mode 2 验码 at the hub for a native (Zhejiang) code, loaded by ``wrk``.

The demo federation runs with every node pinned to the first core and wrk on the second. The
hub verifies the code's signature and asks Zhejiang for the current status over HTTP, so each
Mode 2 answer costs the hub's request, its call to the issuer and the issuer's 验码. The limit
it is held against is measured the same way as ``http``'s, on the hub: its hello-world route
(``GET /healthz``) and the bare verify, ``limit = 1 / (t_hello + t_verify)``.
"""

from __future__ import annotations

import statistics
from typing import Any

from yimatong.bench.core import Outcome, Table, benchmark
from yimatong.bench.http import CONNECTIONS, bare_verify_seconds
from yimatong.bench.live import Load, Wrk, federation

__all__: list[str] = []


@benchmark("hub", "Mode 2 验码 at the hub for a native code (wrk), against hello-world + verify")
def hub(*, repeats: int = 3, seconds: float = 5.0) -> Outcome:
    with federation() as fed:
        wrk = Wrk(fed.url("hub"))
        try:
            request: dict[str, Any] = {
                "path": "/v1/codes/verify",
                "body": {"code": fed.code},
                "token": fed.plan["credentials"]["checkpoints"]["520000"],
            }
            wrk.run("/healthz", seconds=1, connections=CONNECTIONS)
            wrk.run(seconds=1, connections=CONNECTIONS, **request)
            hello: list[Load] = []
            ours: list[Load] = []
            bare: list[float] = []
            for _ in range(repeats):
                hello.append(wrk.run("/healthz", seconds=seconds, connections=CONNECTIONS))
                ours.append(wrk.run(seconds=seconds, connections=CONNECTIONS, **request))
                bare.append(bare_verify_seconds(fed.code))
        finally:
            wrk.close()
    if any(o.non2xx or o.errors for o in ours):
        raise RuntimeError("Mode 2 answered errors under load: see the hub's log")
    middle = sorted(ours, key=lambda o: o.rps)[len(ours) // 2]
    hello_rps = statistics.median(h.rps for h in hello)
    t_bare = statistics.median(bare)
    limit = 1 / (1 / hello_rps + t_bare)
    table = Table(("what", "req/s", "p50 ms", "p99 ms"))
    table.add("hub GET /healthz (hello)", hello_rps, statistics.median(h.p50 for h in hello),
              statistics.median(h.p99 for h in hello))  # fmt: skip
    table.add("bare Ed25519 verify", 1 / t_bare, t_bare * 1e3, t_bare * 1e3)
    table.add("limit 1/(t_hello+t_verify)", limit, "", "")
    table.add("Mode 2 验码 (native code)", middle.rps, middle.p50, middle.p99)
    ratio = middle.rps / limit
    return Outcome(
        "hub", middle.rps, "req/s", limit, ratio, "≥ 0.5", ratio >= 0.5, table,
        [f"hub and issuers on one core, wrk ({CONNECTIONS} connections) on the other, SQLite, "
         f"median of {repeats} rounds of {seconds:.0f} s; the issuer's 验码 is inside each answer"],
    )  # fmt: skip
