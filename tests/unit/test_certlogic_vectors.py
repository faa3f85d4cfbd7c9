"""Every case under tests/vectors/certlogic/, through evaluate, compile and interpret.

``official/`` holds the CertLogic specification's own test suite (see the README there for where it
came from); ``own/`` holds our cases in the same format, extended with ``expectedError``,
``errorPath`` and ``expectedDateTime`` because the official format cannot say "this is an error"
or "this is that instant".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from yimatong.rules.certlogic import (
    CertLogicError,
    CertLogicEvaluationError,
    CertLogicSyntaxError,
    compile,
    evaluate,
    format_datetime,
    interpret,
    validate,
)

VECTORS = Path(__file__).parent.parent / "vectors" / "certlogic"
OFFICIAL_SUITE = VECTORS / "official" / "testSuite"
OFFICIAL_VALIDATION = VECTORS / "official" / "validation-testSuite"
OWN_SUITE = VECTORS / "own" / "testSuite"
OWN_VALIDATION = VECTORS / "own" / "validation-testSuite"

Evaluator = Callable[[Any, Any], Any]
EVALUATORS: dict[str, Evaluator] = {
    "evaluate": evaluate,
    "compile": lambda expression, data: compile(expression)(data),
    "interpret": interpret,
}


def same(actual: Any, expected: Any) -> bool:
    """JSON equality that keeps ``true``/``1`` and ``false``/``0`` apart (Python does not)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[k], expected[k]) for k in actual
        )
    return type(actual) is type(expected) and actual == expected


def _assertions(directory: Path) -> Iterator[Any]:
    for path in sorted(directory.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for case in suite["cases"]:
            for index, assertion in enumerate(case["assertions"]):
                expression = assertion.get("certLogicExpression", case.get("certLogicExpression"))
                name = f"{path.stem}: {case['name']} #{index + 1}"
                yield pytest.param(expression, assertion, id=name)


OFFICIAL = list(_assertions(OFFICIAL_SUITE))
OURS = list(_assertions(OWN_SUITE))


def test_the_official_suite_is_all_there() -> None:
    # 11 files, 206 assertions, 4 of them marked "skip" by the specification's authors.
    assert len(list(OFFICIAL_SUITE.glob("*.json"))) == 11
    assert len(OFFICIAL) == 206
    skipped = [p for p in OFFICIAL if p.values[1].get("directive") == "skip"]
    assert len(skipped) == 4


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize(("expression", "assertion"), OFFICIAL)
def test_official_suite(expression: Any, assertion: dict[str, Any], evaluator: str) -> None:
    run = EVALUATORS[evaluator]
    if assertion.get("directive") == "skip":
        # certlogic-js skips these: they put `null` where the spec requires an array for "in",
        # which the spec text makes an error ("operating on a non-array is considered an error").
        with pytest.raises(CertLogicEvaluationError) as raised:
            run(expression, assertion["data"])
        assert raised.value.path == "/in/1"
        return
    actual = run(expression, assertion["data"])
    assert same(actual, assertion["expected"]), assertion.get("message", assertion["data"])


@pytest.mark.parametrize("evaluator", EVALUATORS)
@pytest.mark.parametrize(("expression", "assertion"), OURS)
def test_own_vectors(expression: Any, assertion: dict[str, Any], evaluator: str) -> None:
    run = EVALUATORS[evaluator]
    data = assertion.get("data")
    if "expectedError" in assertion:
        kind: dict[str, type[CertLogicError]] = {
            "evaluation": CertLogicEvaluationError,
            "syntax": CertLogicSyntaxError,
        }
        with pytest.raises(kind[assertion["expectedError"]]) as raised:
            run(expression, data)
        if "errorPath" in assertion:
            assert raised.value.path == assertion["errorPath"]
        return
    actual = run(expression, data)
    if "expectedDateTime" in assertion:
        assert isinstance(actual, datetime)
        assert format_datetime(actual) == assertion["expectedDateTime"]
        assert actual.utcoffset() is not None
        assert actual.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        return
    assert same(actual, assertion["expected"]), assertion.get("message", data)


def _validation_cases(directory: Path) -> Iterator[Any]:
    for path in sorted(directory.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for index, case in enumerate(suite["cases"]):
            yield pytest.param(case, id=f"{path.stem} #{index + 1}")


@pytest.mark.parametrize("case", list(_validation_cases(OFFICIAL_VALIDATION)))
def test_official_validation_suite(case: dict[str, Any]) -> None:
    issues = validate(case["certLogicExpression"])
    assert [(i.expr, i.message) for i in issues] == [
        (expected["expr"], expected["message"]) for expected in case["issues"]
    ]
    _compile_agrees(case["certLogicExpression"], issues)


@pytest.mark.parametrize("case", list(_validation_cases(OWN_VALIDATION)))
def test_own_validation_cases(case: dict[str, Any]) -> None:
    issues = validate(case["certLogicExpression"])
    assert [(i.path, i.message) for i in issues] == [
        (expected["path"], expected["message"]) for expected in case["issues"]
    ]
    _compile_agrees(case["certLogicExpression"], issues)


def _compile_agrees(expression: Any, issues: list[Any]) -> None:
    """compile, evaluate and interpret refuse exactly the expressions validate faults."""
    if not issues:
        compile(expression)
        return
    for refuse in (compile, lambda e: evaluate(e, None), lambda e: interpret(e, None)):
        with pytest.raises(CertLogicSyntaxError) as raised:
            refuse(expression)
        assert raised.value.path == issues[0].path
        assert list(raised.value.issues) == issues
