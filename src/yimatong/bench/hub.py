"""``hub``: Mode 2 验码 at the hub for a native (Zhejiang) code, loaded by ``wrk``.

The demo federation runs with every node pinned to the first core and wrk on the second. The
hub verifies the code's signature and asks Zhejiang for the current status over HTTP, so on this
machine each answer also pays for Zhejiang's 验码 and two loopback hops on the same core; a real
hub does not share its core with the issuers. The figure that counts is therefore the hub's own:
answers per second of the hub's CPU time (``/proc/<pid>/stat`` before and after each run), held
against the same for its hello-world route (``GET /healthz``) plus the bare verify:
``limit = 1 / (cpu_hello + t_verify)`` per answer. The observed throughput is shown beside it.
"""

from __future__ import annotations

import statistics
from typing import Any

from yimatong.bench.core import Outcome, Table, benchmark
from yimatong.bench.http import CONNECTIONS, bare_verify_seconds
from yimatong.bench.live import Load, Wrk, cpu_seconds, federation

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
            pid = fed.pid("hub")
            hello: list[Load] = []
            ours: list[Load] = []
            bare: list[float] = []
            cpu_hello: list[float] = []  # hub CPU seconds per answer
            cpu_ours: list[float] = []
            for _ in range(repeats):
                before = cpu_seconds(pid)
                hello.append(wrk.run("/healthz", seconds=seconds, connections=CONNECTIONS))
                middle_cpu = cpu_seconds(pid)
                ours.append(wrk.run(seconds=seconds, connections=CONNECTIONS, **request))
                after = cpu_seconds(pid)
                cpu_hello.append((middle_cpu - before) / hello[-1].requests)
                cpu_ours.append((after - middle_cpu) / ours[-1].requests)
                bare.append(bare_verify_seconds(fed.code))
        finally:
            wrk.close()
    if any(o.non2xx or o.errors for o in ours):
        raise RuntimeError("Mode 2 answered errors under load: see the hub's log")
    middle = sorted(ours, key=lambda o: o.rps)[len(ours) // 2]
    hello_cpu = statistics.median(cpu_hello)
    ours_cpu = statistics.median(cpu_ours)
    t_bare = statistics.median(bare)
    limit = 1 / (hello_cpu + t_bare)
    value = 1 / ours_cpu
    table = Table(("what", "req/s seen", "per hub core", "p50 ms", "p99 ms"))
    table.add(
        "hub GET /healthz (hello)",
        statistics.median(h.rps for h in hello),
        1 / hello_cpu,
        statistics.median(h.p50 for h in hello),
        statistics.median(h.p99 for h in hello),
    )
    table.add("bare Ed25519 verify", 1 / t_bare, 1 / t_bare, t_bare * 1e3, t_bare * 1e3)
    table.add("limit 1/(cpu_hello+t_verify)", "", limit, "", "")
    table.add("Mode 2 验码 (native code)", middle.rps, value, middle.p50, middle.p99)
    ratio = value / limit
    return Outcome(
        "hub", value, "req/s per hub core", limit, ratio, "≥ 0.5", ratio >= 0.5, table,
        [f"hub and issuers on one core, wrk ({CONNECTIONS} connections) on the other, SQLite, "
         f"median of {repeats} rounds of {seconds:.0f} s; 'per hub core' = answers per second of "
         "the hub process's own CPU time (the issuer's 验码 it waits for is not in it)"],
    )  # fmt: skip
