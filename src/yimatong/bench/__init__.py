"""``yimatong bench NAME``: each hot path against the physical limit measured in the same run.

This machine class is shared and noisy, so no figure is meaningful alone: every benchmark
times its baseline in the same run, the loops alternating, and the ratio is the figure that
counts (DESIGN §8 lists what the baselines stand for). Each prints a table and, with
``--json``, one JSON object as its last line: ``name``, ``value``, ``unit``, ``baseline``,
``ratio``, ``target``. None of them is a test; the tests never time anything.
"""

from __future__ import annotations

from yimatong.bench import feeds as _feeds  # noqa: F401  (registers feeds)
from yimatong.bench import http as _http  # noqa: F401  (registers http)
from yimatong.bench import hub as _hub  # noqa: F401  (registers hub)
from yimatong.bench import ingest as _ingest  # noqa: F401  (registers ingest)
from yimatong.bench import overload as _overload  # noqa: F401  (registers overload)
from yimatong.bench import quick as _quick  # noqa: F401  (registers verify, issue, certlogic)
from yimatong.bench import reassess as _reassess  # noqa: F401  (registers reassess)
from yimatong.bench import road as _road  # noqa: F401  (registers road-ingest, road-map)
from yimatong.bench import trace as _trace  # noqa: F401  (registers trace)
from yimatong.bench.core import BENCHMARKS, Outcome, Table, run

__all__ = ["BENCHMARKS", "Outcome", "Table", "run"]
