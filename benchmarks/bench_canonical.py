"""The canonical bytes of a lab batch of 20,000 rows: before and after the switch to JCS.

``before``: orjson with sorted keys (the canonical form until the checkpoint page needed one a
browser can reproduce). ``after``: ``adapters.signed.canonical`` (the fast-path check, then
the same orjson call). ``rfc8785``: the pure-Python JCS package alone, what every document
would cost without the fast path. The lab batch path is the message plus one Ed25519
signature check over it, as the hub runs it for ``POST /v1/test-results``.

    .venv/bin/python benchmarks/bench_canonical.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
import rfc8785

from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.messages import batch_message
from yimatong.adapters.signed import canonical

ROWS = 20_000


def rows() -> list[dict[str, Any]]:
    return [
        {
            "subject": None,
            "id_type": "111",
            "id_number": f"3301061940{i % 10:02d}01{i % 1000:03d}4",
            "sampled_at": "2026-11-19T06:00:00+08:00",
            "reported_at": "2026-11-19T12:00:00+08:00",
            "result": "negative" if i % 97 else "positive",
        }
        for i in range(ROWS)
    ]


def best(fn: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    results = rows()
    body = {"lab_id": "lab-1", "batch_id": "b-1", "results": results}
    key = generate_signing_key(Algorithm.EDDSA)
    signature = key.sign(batch_message("lab-1", "b-1", results))
    assert canonical(body) == orjson.dumps(body, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(body)

    def verify_before() -> None:
        key.public.verify(signature, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))

    def verify_after() -> None:
        key.public.verify(signature, batch_message("lab-1", "b-1", results))

    figures = {
        "canonical bytes, before (orjson sorted)": best(
            lambda: orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        ),
        "canonical bytes, after (check + orjson)": best(lambda: canonical(body)),
        "canonical bytes, rfc8785 package alone": best(lambda: rfc8785.dumps(body), 3),
        "lab batch path (message + verify), before": best(verify_before),
        "lab batch path (message + verify), after": best(verify_after),
    }
    size = len(canonical(body))
    print(f"lab batch of {ROWS} rows, {size / 1e6:.1f} MB canonical; median ms")
    base = figures["lab batch path (message + verify), before"]
    for name, ms in figures.items():
        print(f"  {name:<45} {ms:8.1f} ms  {ms / base:5.2f} x before")


if __name__ == "__main__":
    main()
