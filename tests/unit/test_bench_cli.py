"""``yimatong bench``: every benchmark prints a table and, with --json, one JSON line last.

Nothing here is timed or compared with a figure: the benchmarks run as briefly as they can
and the test checks what they print.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from yimatong.bench import BENCHMARKS
from yimatong.cli import main

QUICK = ("verify", "issue", "certlogic")


def test_without_a_name_it_lists_the_benchmarks() -> None:
    result = CliRunner().invoke(main, ["bench"])
    assert result.exit_code == 0
    for name in QUICK:
        assert name in result.output


@pytest.mark.parametrize("name", QUICK)
def test_each_quick_benchmark_ends_with_its_headline_as_json(name: str) -> None:
    result = CliRunner().invoke(
        main, ["bench", name, "--json", "--repeats", "1", "--seconds", "0.05"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    headline = json.loads(lines[-1])
    assert set(headline) == {"name", "value", "unit", "baseline", "ratio", "target", "met"}
    assert headline["name"] == name and headline["value"] > 0 and headline["baseline"] > 0
    assert headline["ratio"] == pytest.approx(headline["value"] / headline["baseline"], rel=1e-2)
    assert "ratio" in lines[0] or "ratio" in result.output  # the table came first


def test_an_unknown_benchmark_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["bench", "nope"])
    assert result.exit_code == 2
    assert "no benchmark 'nope'" in result.output
    assert set(BENCHMARKS) >= set(QUICK)
