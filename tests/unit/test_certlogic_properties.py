"""Properties of the CertLogic evaluator, checked on generated expressions and data.

* the compiler, the interpreter and ``evaluate`` agree on every expression and data context:
  the same value, or the same kind of error at the same place;
* ``and`` and ``!`` on literals behave as Python's ``and`` and ``not`` do (their truthiness
  coincides on booleans, integers, strings and arrays);
* ``plusTime`` is monotonic and offset-invariant, so ``not-before``/``not-after`` comparisons
  of offsets from one date agree with the sign of the amount;
* anything at all either validates and then evaluates or fails with a CertLogic error.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yimatong.rules.certlogic import (
    TIME_UNITS,
    CertLogicError,
    CertLogicSyntaxError,
    compile,
    evaluate,
    format_datetime,
    interpret,
    validate,
)

# --- generated data contexts ---------------------------------------------------------------------

DATE_STRINGS = st.sampled_from(
    [
        "2004",
        "2004-02",
        "2020-02-29",
        "2021-01-31",
        "2021-06-23T12:34:56",
        "2021-06-23T12:34:56.5+08:00",
        "2021-06-23T23:00:00-0530",
        "2021-13-01",
        "not a date",
        "",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from(["", "a", "b", "URN:UVCI:01:NL:187/37512422923"]),
    DATE_STRINGS,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "k"]), inner, max_size=3)
    ),
    max_leaves=8,
)
DATA = (
    st.fixed_dictionaries(
        {
            "a": JSON,
            "b": JSON,
            "n": st.integers(min_value=-5, max_value=5),
            "s": st.sampled_from(["a", "b", ""]),
            "d": DATE_STRINGS,
            "xs": st.lists(JSON, max_size=4),
            "ns": st.lists(st.integers(min_value=-5, max_value=5), max_size=4),
            "o": st.dictionaries(st.sampled_from(["k", "j"]), JSON, max_size=2),
        }
    )
    | JSON
)

# --- generated expressions -------------------------------------------------------------------

PATHS = st.sampled_from(
    [
        *("", "a", "b", "n", "s", "d", "xs", "xs.0", "xs.1.k", "ns", "ns.0", "o.k", "a.b"),
        *("missing", "0", "1", "accumulator", "current", "current.k"),
    ]
)
LITERALS = st.one_of(
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from(["", "a", "b", "2021-06-23", "2004-02"]),
)
VAR = st.builds(lambda p: {"var": p}, PATHS)
LEAVES = LITERALS | VAR


def _operations(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def op(name: str, *operands: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.tuples(*operands).map(lambda values: {name: list(values)})

    unit = st.sampled_from(TIME_UNITS)
    amount = st.integers(min_value=-40, max_value=40)
    date_time = op("plusTime", inner, amount, unit) | op("dccDateOfBirth", inner)
    comparison = st.sampled_from(["<", ">", "<=", ">="])
    date_comparison = st.sampled_from(["before", "after", "not-before", "not-after"])
    return st.one_of(
        st.lists(inner, max_size=3),
        op("if", inner, inner, inner),
        st.lists(inner, min_size=2, max_size=4).map(lambda values: {"and": values}),
        op("!", inner),
        op("===", inner, inner),
        op("in", inner, inner | st.lists(LITERALS, max_size=4)),
        op("+", inner, inner),
        st.tuples(comparison, st.lists(inner, min_size=2, max_size=3)).map(lambda t: {t[0]: t[1]}),
        st.tuples(date_comparison, st.lists(date_time | inner, min_size=2, max_size=3)).map(
            lambda t: {t[0]: t[1]}
        ),
        date_time,
        op("reduce", inner, inner, inner),
        op("extractFromUVCI", inner, st.integers(min_value=-1, max_value=5)),
    )


EXPRESSIONS = st.recursive(LEAVES, _operations, max_leaves=12)


def outcome(run: Any, expression: Any, data: Any) -> tuple[Any, ...]:
    try:
        return ("value", run(expression, data))
    except CertLogicError as error:
        return ("error", type(error).__name__, error.path)


def strictly_equal(left: tuple[Any, ...], right: tuple[Any, ...]) -> bool:
    """Tuple equality that keeps ``True`` and ``1`` apart, as CertLogic does."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return len(a) == len(b) and all(map(same, a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return type(a) is type(b) and a == b

    return same(left, right)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, DATA)
def test_compiled_equals_interpreted(expression: Any, data: Any) -> None:
    expected = outcome(interpret, expression, data)
    compiled = outcome(lambda e, d: compile(e)(d), expression, data)
    cached = outcome(evaluate, expression, data)
    assert strictly_equal(compiled, expected), (compiled, expected)
    assert strictly_equal(cached, expected), (cached, expected)
    assert expected[0] == "value" or expected[1] == "CertLogicEvaluationError"


@given(st.lists(LITERALS | st.lists(st.integers(0, 2), max_size=2), min_size=2, max_size=6))
def test_and_of_literals_is_pythons_and(operands: list[Any]) -> None:
    python = functools.reduce(lambda a, b: a and b, operands)
    assert strictly_equal(("v", evaluate({"and": operands}, None)), ("v", python))


@given(LITERALS | st.lists(st.integers(0, 2), max_size=2))
def test_not_of_literals_is_pythons_not(operand: Any) -> None:
    assert evaluate({"!": [operand]}, None) is (not operand)


INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 1),  # hypothesis takes naive bounds
    max_value=datetime(2100, 12, 31),
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def written(moment: datetime, zone: timezone) -> str:
    """The instant as the spec's ``YYYY-MM-DDThh:mm:ss.S[+-]hh:mm`` in the given zone."""
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


@given(INSTANTS, st.integers(min_value=0, max_value=500), st.sampled_from(TIME_UNITS))
def test_plus_time_then_not_before(moment: datetime, amount: int, unit: str) -> None:
    text = format_datetime(moment)
    later = {"plusTime": [{"var": "t"}, amount, unit]}
    earlier = {"plusTime": [{"var": "t"}, -amount, unit]}
    now = {"plusTime": [{"var": "t"}, 0, unit]}
    data = {"t": text}
    assert evaluate({"not-before": [later, now]}, data) is True
    assert evaluate({"not-after": [earlier, now, later]}, data) is True
    if amount and unit in ("hour", "day"):  # exact durations: strictly ordered
        assert evaluate({"before": [earlier, now, later]}, data) is True


@given(INSTANTS, st.integers(min_value=-400, max_value=400))
def test_days_are_24_hours(moment: datetime, days: int) -> None:
    data = {"t": format_datetime(moment)}
    by_day = evaluate({"plusTime": [{"var": "t"}, days, "day"]}, data)
    by_hour = evaluate({"plusTime": [{"var": "t"}, days * 24, "hour"]}, data)
    assert by_day == by_hour == moment + timedelta(days=days)


@given(INSTANTS, OFFSETS, st.integers(min_value=-30, max_value=30), st.sampled_from(TIME_UNITS))
def test_the_written_offset_does_not_matter(
    moment: datetime, zone: timezone, amount: int, unit: str
) -> None:
    expression = {"plusTime": [{"var": "t"}, amount, unit]}
    assert evaluate(expression, {"t": written(moment, zone)}) == evaluate(
        expression, {"t": format_datetime(moment)}
    )


@given(INSTANTS, st.integers(min_value=-50, max_value=50))
def test_months_keep_the_day_or_overflow_like_javascript(moment: datetime, months: int) -> None:
    result = evaluate({"plusTime": [format_datetime(moment), months, "month"]}, None)
    index = moment.year * 12 + moment.month - 1 + months
    first = moment.replace(year=index // 12, month=index % 12 + 1, day=1)
    assert result - first == timedelta(days=moment.day - 1)
    assert result.time() == moment.time()


@given(INSTANTS)
def test_format_and_parse_round_trip(moment: datetime) -> None:
    assert evaluate({"plusTime": [format_datetime(moment), 0, "hour"]}, None) == moment


ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from([*sorted(["var", "if", "and", "in", "+"]), "x"]), inner)
    ),
    max_leaves=10,
)


@settings(max_examples=300)
@given(ANYTHING | EXPRESSIONS, DATA)
def test_anything_either_validates_or_fails_cleanly(expression: Any, data: Any) -> None:
    issues = validate(expression)
    if issues:
        with pytest.raises(CertLogicSyntaxError) as raised:
            compile(expression)
        assert raised.value.issues == tuple(issues)
        return
    compiled = compile(expression)
    outcome_ = outcome(lambda _e, d: compiled(d), expression, data)
    assert outcome_[0] == "value" or outcome_[1] == "CertLogicEvaluationError"
