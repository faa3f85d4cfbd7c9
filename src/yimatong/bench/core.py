"""What every benchmark shares: alternating timed loops, the outcome, the printed table."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["BENCHMARKS", "Outcome", "Table", "benchmark", "measure", "run"]


def bare_insert(
    cur: Any, dialect: str, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Rows into ``table`` by the bare driver, the baseline of the ingest benchmarks: ``COPY``
    on PostgreSQL, ``executemany`` on SQLite (values already in the driver's types)."""
    names = ", ".join(f'"{c}"' for c in columns)
    if dialect == "postgresql":
        with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cur.executemany(  # our own table and column names, never input
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
            rows,
        )


def _calibrate(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` fill about ``seconds``."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4:
            return max(1, int(n * seconds / elapsed))
        n *= 2


def measure(*fns: Callable[[], object], repeats: int = 5, seconds: float = 0.3) -> list[float]:
    """Median seconds per call of each of ``fns``.

    The loops of the functions alternate within each repeat, so that a neighbour's load on a
    shared machine slows ours and the baseline alike and the ratio stays honest.
    """
    counts = [_calibrate(fn, seconds) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, n, out in zip(fns, counts, samples, strict=True):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - start) / n)
    return [statistics.median(s) for s in samples]


@dataclass
class Table:
    """Rows for the printed table: a header and lines of cells."""

    header: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(cells)

    def render(self) -> str:
        cells = [tuple(_cell(c) for c in row) for row in self.rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(self.header)]
        line = "  ".join(h.ljust(w) for h, w in zip(self.header, widths, strict=True))
        out = [line, "-" * len(line)]
        for raw, row in zip(self.rows, cells, strict=True):
            out.append(
                "  ".join(
                    c.ljust(w) if isinstance(v, str) else c.rjust(w)
                    for v, c, w in zip(raw, row, widths, strict=True)
                )
            )
        return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


@dataclass
class Outcome:
    """A benchmark's headline: ours, the baseline, their ratio, and the target it aims at."""

    name: str
    value: float
    unit: str
    baseline: float
    ratio: float
    target: str
    met: bool
    table: Table
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "baseline": round(self.baseline, 3),
            # significant figures: a ratio of 0.0194 is not 0.019
            "ratio": float(f"{self.ratio:.4g}"),
            "target": self.target,
            "met": self.met,
        }


Runner = Callable[..., Outcome]
#: name → (one line saying what it measures, the function)
BENCHMARKS: dict[str, tuple[str, Runner]] = {}


def benchmark(name: str, about: str) -> Callable[[Runner], Runner]:
    def register(fn: Runner) -> Runner:
        BENCHMARKS[name] = (about, fn)
        return fn

    return register


def run(name: str, *, as_json: bool, out: TextIO | None = None, **options: Any) -> Outcome:
    """Run one benchmark, print its table (and the JSON line), return its outcome."""
    out = out or sys.stdout
    _about, fn = BENCHMARKS[name]
    outcome = fn(**options)
    print(outcome.table.render(), file=out)
    for note in outcome.notes:
        print(note, file=out)
    verdict = "meets" if outcome.met else "MISSES"
    print(
        f"\n{name}: {outcome.value:,.1f} {outcome.unit}, ratio {outcome.ratio:.2f} to the "
        f"baseline ({outcome.baseline:,.1f}); target {outcome.target}: {verdict}",
        file=out,
    )
    if as_json:
        print(json.dumps(outcome.summary(), ensure_ascii=False), file=out)
    return outcome
