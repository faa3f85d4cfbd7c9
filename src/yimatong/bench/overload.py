"""``overload``: offer ten times what one issuer worker can serve, and watch it hold.

First the worker's 验码 capacity is measured (as ``http`` does, wrk from the other core). Then
wrk offers ten times that for the run's length: many connections, each pausing a little between
requests, so the offer does not shrink when the node answers fast. Meanwhile a probe in this
process sends one 验码 every 20 ms on its own connection, ahead of wrk in the scheduler (raised
priority where allowed), and records each answer's status and time: wrk's percentiles mix the
admitted and the refused, the probe's do not. After the load stops the probe goes on, and the
recovery time is from the end of the load to the first of an unbroken run of admitted answers.
The node must not crash.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx

from yimatong.bench.core import Outcome, Table, benchmark
from yimatong.bench.http import CONNECTIONS, at_rate
from yimatong.bench.live import Load, Node, Wrk, scratch_database, serving

__all__: list[str] = []

PROBE_EVERY = 0.02


@dataclass
class Probe:
    """One 验码 every ``PROBE_EVERY`` seconds on its own connection, answers recorded."""

    node: Node
    answers: list[tuple[float, int, float, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        # The probe is the instrument: ahead of wrk on the load generator's core (on Linux
        # both calls apply to this thread only; without the right to raise it, as it is).
        with suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, 0, -10)
        body = {"code": self.node.code}
        headers = {"Authorization": f"Bearer {self.node.checkpoint}"}
        with httpx.Client(base_url=self.node.url, timeout=5) as http:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    r = http.post("/v1/codes/verify", json=body, headers=headers)
                    status, retry = r.status_code, r.headers.get("retry-after")
                except httpx.HTTPError:
                    status, retry = 0, None
                took = time.monotonic() - sent
                self.answers.append((sent, status, took, retry))
                time.sleep(max(0.0, PROBE_EVERY - took))

    def between(self, start: float, end: float) -> list[tuple[float, int, float, str | None]]:
        return [a for a in self.answers if start <= a[0] < end]


def _p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@benchmark("overload", "offer 10× one worker's 验码 capacity for 30 s: refuse fast, recover")
def overload(
    *, repeats: int = 1, seconds: float = 30.0, db: str | None = None, factor: float = 10.0
) -> Outcome:
    del repeats  # one long run
    with scratch_database(db) as url, serving(url) as node:
        wrk = Wrk(node.url)
        try:
            request: dict[str, Any] = {
                "path": "/v1/codes/verify",
                "body": {"code": node.code},
                "token": node.checkpoint,
            }
            wrk.run(seconds=1, connections=CONNECTIONS, **request)
            capacity = wrk.run(seconds=3, connections=CONNECTIONS, **request).rps
            probe = Probe(node)
            thread = threading.Thread(target=probe.run, daemon=True)
            thread.start()
            time.sleep(1.0)
            load_start = time.monotonic()
            flood: Load = at_rate(wrk, capacity * factor, seconds, **request)
            load_end = time.monotonic()
            time.sleep(3.0)
            probe.stop.set()
            thread.join(timeout=10)
            alive = node.proc.poll() is None and httpx.get(node.url + "/healthz").status_code == 200
        finally:
            wrk.close()
    during = probe.between(load_start + 1.0, load_end - 0.5)  # the steady part of the flood
    admitted = [took for _, status, took, _ in during if status == 200]
    refused = [took for _, status, took, _ in during if status == 503]
    retry_after = all(r == "1" for _, status, _, r in during if status == 503)
    other = [status for _, status, _, _ in during if status not in (200, 503)]
    after = probe.between(load_end, load_end + 3.0)
    recovered_at = next(
        (
            sent
            for i, (sent, _status, _took, _r) in enumerate(after)
            if all(s == 200 for _, s, _, _ in after[i:])
        ),
        None,
    )
    recovery = (recovered_at - load_end) if recovered_at is not None else float("inf")
    admitted_p99 = _p99(admitted) * 1e3
    refused_p99 = _p99(refused) * 1e3
    offered = flood.rps
    table = Table(("what", "value", "unit"))
    table.add("capacity (验码, 16 connections)", capacity, "req/s")
    table.add(f"offered for {seconds:.0f} s (wrk)", offered, "req/s")
    table.add("offered / capacity", offered / capacity, "×")
    table.add("admitted (2xx)", flood.ok_rps, "req/s")
    table.add("refused (503)", flood.rps - flood.ok_rps, "req/s")
    table.add("probe: admitted p50", statistics.median(admitted) * 1e3 if admitted else 0.0, "ms")
    table.add("probe: admitted p99", admitted_p99, "ms")
    table.add("probe: refused p99", refused_p99, "ms")
    table.add("probe: answers (200/503/other)", f"{len(admitted)}/{len(refused)}/{len(other)}", "")
    table.add("full service after the load", recovery, "s")
    table.add("node alive afterwards", "yes" if alive else "NO", "")
    met = (
        alive
        and not other
        and retry_after
        and admitted_p99 <= 50
        and (not refused or refused_p99 <= 5)
        and recovery <= 1.0
    )
    return Outcome(
        "overload", admitted_p99, "ms p99 admitted", capacity, offered / capacity,
        "no crash; admitted p99 ≤ 50 ms; 503 within 5 ms; recovered ≤ 1 s", met, table,
        ["value = the probe's p99 of admitted 验码 during the flood; ratio = offered / capacity",
         "the probe shares the load generator's core: its times include its own client"],
    )  # fmt: skip
