"""The CertLogic evaluator's API, errors, caching and the places the spec leaves to us.

The specification's own suite and our data vectors run in test_certlogic_vectors.py; the
property tests (compiler == interpreter, ...) in test_certlogic_properties.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from yimatong.domain.errors import YimatongError
from yimatong.rules import certlogic
from yimatong.rules.certlogic import (
    MAX_DEPTH,
    OPERATORS,
    SPEC_VERSION,
    CertLogicError,
    CertLogicEvaluationError,
    CertLogicSyntaxError,
    Compiled,
    ValidationIssue,
    compile,
    evaluate,
    format_datetime,
    interpret,
    is_falsy,
    is_truthy,
    validate,
)
from yimatong.rules.certlogic_dates import (
    dcc_date_of_birth,
    offset_datetime,
    parse_datetime,
    plus_time,
)

EVALUATORS = [
    pytest.param(evaluate, id="evaluate"),
    pytest.param(lambda e, d: compile(e)(d), id="compile"),
    pytest.param(interpret, id="interpret"),
]


def nested(depth: int) -> Any:
    expression: Any = True
    for _ in range(depth):
        expression = {"!": [expression]}
    return expression


# --- the public API -------------------------------------------------------------------------


def test_exported_members() -> None:
    assert sorted(certlogic.__all__) == sorted(
        [
            "MAX_DEPTH",
            "OPERATORS",
            "SPEC_VERSION",
            "TIME_UNITS",
            "CertLogicError",
            "CertLogicEvaluationError",
            "CertLogicSyntaxError",
            "Compiled",
            "ValidationIssue",
            "compile",
            "evaluate",
            "format_datetime",
            "interpret",
            "is_falsy",
            "is_truthy",
            "validate",
        ]
    )
    for name in certlogic.__all__:
        assert getattr(certlogic, name) is not None


def test_the_spec_version_and_operators() -> None:
    assert SPEC_VERSION == "1.3.2"
    assert len(OPERATORS) == 19
    assert {"plusTime", "dccDateOfBirth", "extractFromUVCI", "reduce", "var"} <= OPERATORS
    assert "or" not in OPERATORS  # not in CertLogic, though JsonLogic has it


def test_compile_builds_a_callable_once() -> None:
    expression = {"and": [{"var": "a"}, {"+": [{"var": "b"}, 1]}]}
    compiled = compile(expression)
    assert isinstance(compiled, Compiled)
    assert compiled({"a": True, "b": 1}) == 2
    # The closures do not look at the JSON again: changing it afterwards changes nothing.
    expression["and"][1] = {"+": [{"var": "b"}, 100]}
    assert compiled({"a": True, "b": 1}) == 2
    assert compiled.expression == {"and": [{"var": "a"}, {"+": [{"var": "b"}, 1]}]}
    assert "Compiled CertLogic" in repr(compiled)


def test_results_are_fresh_values() -> None:
    compiled = compile(["a", ["b"]])
    first = compiled(None)
    first.append("mutated")
    assert compiled(None) == ["a", ["b"]]


# --- errors -----------------------------------------------------------------------------------


def test_exception_tree() -> None:
    assert issubclass(CertLogicError, YimatongError)
    assert issubclass(CertLogicSyntaxError, CertLogicError)
    assert issubclass(CertLogicEvaluationError, CertLogicError)
    assert not issubclass(CertLogicSyntaxError, CertLogicEvaluationError)
    assert {CertLogicSyntaxError.slug, CertLogicEvaluationError.slug} == {
        "invalid-expression",
        "expression-evaluation-failed",
    }


def test_syntax_error_names_the_place_and_keeps_every_issue() -> None:
    expression = {"and": [True, {"if": [{"foo": []}, 1]}]}
    with pytest.raises(CertLogicSyntaxError) as raised:
        compile(expression)
    error = raised.value
    assert error.path == "/and/1/if"
    assert error.field == "/and/1/if"
    assert [issue.path for issue in error.issues] == ["/and/1/if", "/and/1/if/0"]
    assert "/and/1/if" in str(error)
    assert "1 more issue" in str(error)
    assert str(error.issues[1]) == '/and/1/if/0: unrecognised operator: "foo"'


def test_syntax_error_needs_an_issue() -> None:
    with pytest.raises(ValueError, match="at least one issue"):
        CertLogicSyntaxError([])


@pytest.mark.parametrize("run", EVALUATORS)
def test_evaluation_error_points_at_the_operand(run: Any) -> None:
    expression = {"and": [True, {"if": [{"plusTime": ["2021-06-23", 0, "day"]}, 1, 2]}]}
    with pytest.raises(CertLogicEvaluationError) as raised:
        run(expression, None)
    assert raised.value.path == "/and/1/if/0"
    assert "neither truthy nor falsy" in raised.value.detail


@pytest.mark.parametrize("run", EVALUATORS)
def test_errors_never_quote_the_data(run: Any) -> None:
    data = {"name": "张三", "dob": "1990-13-45", "id": "330106199001011234"}
    for expression in (
        {"+": [{"var": "name"}, 1]},
        {"dccDateOfBirth": [{"var": "dob"}]},
        {"plusTime": [{"var": "dob"}, 0, "day"]},
        {"<": [{"var": "id"}, 1]},
        {"in": [1, {"var": "id"}]},
        {"!": [{"plusTime": [{"var": "id"}, 0, "day"]}]},
    ):
        with pytest.raises(CertLogicEvaluationError) as raised:
            run(expression, data)
        for value in data.values():
            assert value not in str(raised.value)


def test_validation_is_complete_before_anything_runs() -> None:
    # The spec: the evaluator checks validity first. The bad part is in a branch never taken.
    expression = {"if": [True, 1, {"plusTime": [{"var": "x"}, 1, "fortnight"]}]}
    for run in (evaluate, interpret, lambda e, d: compile(e)(d)):
        with pytest.raises(CertLogicSyntaxError) as raised:
            run(expression, {})
        assert raised.value.path == "/if/2/plusTime/2"


def test_a_wrong_type_in_a_branch_not_taken_is_no_error() -> None:
    # ... whereas type mismatches are found only when the operand is evaluated.
    assert evaluate({"if": [True, 1, {"+": ["a", 1]}]}, None) == 1


# --- what is and is not a CertLogic expression -------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param(datetime(2021, 1, 1, tzinfo=UTC), id="datetime literal"),
        pytest.param({"a", "b"}, id="set"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="infinity"),
        pytest.param({1: []}, id="non-string operator"),
        pytest.param({"var": "a", "if": [1, 2, 3]}, id="two keys"),
        pytest.param(None, id="null"),
        pytest.param(b"bytes", id="bytes"),
    ],
)
def test_non_cert_logic_is_refused_by_every_entry_point(expression: Any) -> None:
    assert validate(expression)
    for run in (lambda e: evaluate(e, {}), lambda e: interpret(e, {}), compile):
        with pytest.raises(CertLogicSyntaxError):
            run(expression)


def test_tuples_are_arrays() -> None:
    assert validate(("a", 1)) == []
    assert evaluate({"in": ["a", ("a", "b")]}, None) is True
    assert evaluate(("a", {"var": "x"}), {"x": 2}) == ["a", 2]


def test_nesting_is_bounded() -> None:
    assert evaluate(nested(MAX_DEPTH), None) is True  # an even number of "!"
    assert interpret(nested(MAX_DEPTH), None) is True
    for depth in (MAX_DEPTH + 1, 5000):
        issues = validate(nested(depth))
        assert [i.message for i in issues] == [f"expression nested deeper than {MAX_DEPTH} levels"]
        assert issues[0].path == "/!/0" * (MAX_DEPTH + 1)
        with pytest.raises(CertLogicSyntaxError):
            evaluate(nested(depth), None)  # canonical JSON of 5000 levels recurses too far


def test_validation_issue_is_a_value() -> None:
    issue = ValidationIssue("/var", "bad", {"var": 1})
    assert issue == ValidationIssue("/var", "bad", {"var": 1})
    with pytest.raises(AttributeError):
        issue.path = "/"  # type: ignore[misc]


# --- evaluate's cache ---------------------------------------------------------------------------


def test_evaluate_compiles_each_distinct_expression_once(monkeypatch: pytest.MonkeyPatch) -> None:
    certlogic._cache.clear()
    compiled: list[Any] = []
    real_compile = certlogic.compile

    def counting_compile(expression: Any) -> Compiled:
        compiled.append(expression)
        return real_compile(expression)

    monkeypatch.setattr(certlogic, "compile", counting_compile)
    for i in range(10):
        assert evaluate({"+": [{"var": "x"}, 1]}, {"x": i}) == i + 1
    # Same canonical JSON (key order, spacing) is the same entry.
    assert evaluate({"if": [{"var": "g"}, {"var": "a"}, {"var": "b"}]}, {"g": 1, "a": 2}) == 2
    assert len(compiled) == 2
    with pytest.raises(CertLogicSyntaxError):
        evaluate({"nope": []}, None)
    with pytest.raises(CertLogicSyntaxError):
        evaluate({"nope": []}, None)
    assert len(compiled) == 4  # invalid expressions are never cached
    assert len(certlogic._cache) == 2


def test_evaluate_cache_is_bounded_and_thread_safe() -> None:
    certlogic._cache.clear()
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(certlogic.CACHE_SIZE):
                assert evaluate({"+": [{"var": "x"}, offset * 10_000 + i]}, {"x": 1}) == (
                    offset * 10_000 + i + 1
                )
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(certlogic._cache) <= certlogic.CACHE_SIZE


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "truthy", "falsy"),
    [
        (True, True, False),
        (False, False, True),
        (None, False, True),
        ("", False, True),
        ("0", True, False),
        (0, False, True),
        (-3, True, False),
        (0.0, False, True),
        (0.5, True, False),
        ([], False, True),
        ([0], True, False),
        ({}, False, True),
        ({"k": None}, True, False),
        (datetime(2021, 1, 1, tzinfo=UTC), False, False),
        (float("nan"), False, False),
        ((1,), False, False),  # not JSON
    ],
)
def test_truthy_and_falsy(value: Any, truthy: bool, falsy: bool) -> None:
    assert is_truthy(value) is truthy
    assert is_falsy(value) is falsy


@pytest.mark.parametrize("run", EVALUATORS)
def test_date_times_are_utc_milliseconds(run: Any) -> None:
    moment = run({"plusTime": ["2021-06-23T12:34:56.987654+08:00", 1, "hour"]}, None)
    assert moment == datetime(2021, 6, 23, 5, 34, 56, 987000, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
    assert format_datetime(moment) == "2021-06-23T05:34:56.987Z"
    assert run({"dccDateOfBirth": ["2004-02"]}, None) == datetime(2004, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize("run", EVALUATORS)
def test_aware_datetimes_in_the_data_act_as_date_times(run: Any) -> None:
    # Not JSON, so outside the spec; a caller passing one gets the obvious meaning.
    now = datetime(2022, 5, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    expression = {"before": [{"var": "now"}, {"plusTime": ["2022-05-03T02:00:00Z", 0, "hour"]}]}
    assert run(expression, {"now": now}) is True
    with pytest.raises(CertLogicEvaluationError):
        run(expression, {"now": now.replace(tzinfo=None)})


def test_format_datetime_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_datetime(datetime(2021, 1, 1))  # naive: the point of the test


# --- the date helpers on their own ----------------------------------------------------------------


def test_parse_datetime_is_cached_and_immutable() -> None:
    first = parse_datetime("2021-06-23T12:34:56+08:00")
    assert parse_datetime("2021-06-23T12:34:56+08:00") is first
    assert first == datetime(2021, 6, 23, 4, 34, 56, tzinfo=UTC)


def test_offset_datetime_knows_its_units() -> None:
    moment = datetime(2021, 1, 31, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown time unit"):
        offset_datetime(moment, 1, "week")
    assert offset_datetime(moment, 0, "year") is moment
    assert offset_datetime(moment, 1, "month") == datetime(2021, 3, 3, tzinfo=UTC)
    assert offset_datetime(moment, 13, "month") == datetime(2022, 3, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="out of the supported range"):
        offset_datetime(moment, 10**12, "hour")
    with pytest.raises(ValueError, match="out of the supported range"):
        offset_datetime(moment, -2021, "year")


def test_plus_time_and_date_of_birth_agree_on_partial_dates() -> None:
    for text in ("2004", "2004-02", "2003-02", "2004-02-29", "1999-12"):
        assert plus_time(text, 0, "day") == dcc_date_of_birth(text)


def test_offsets_before_year_one() -> None:
    with pytest.raises(ValueError, match="supported range"):
        parse_datetime("0001-01-01T00:00:00+01:00")
    assert parse_datetime("0001-01-01T00:00:00-01:00") == datetime(1, 1, 1, 1, tzinfo=UTC)
