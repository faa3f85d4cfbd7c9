"""CertLogic, the JSON rule language of the EU digital COVID certificate, in pure Python.

Entry policies (DESIGN §6) are CertLogic expressions over the facts a checkpoint has. This module
implements the whole CertLogic specification 1.3.2 (ehn-dcc-development/eu-dcc-business-rules,
``certlogic/specification/README.md``); docs/certlogic.md says what that means in practice and
where we chose among readings the spec leaves open.

Four entry points:

* :func:`validate` lists every way an expression is malformed, each with a JSON pointer to it.
* :func:`compile` validates once and builds the expression into nested closures: a
  :class:`Compiled` is called with a data context and never walks the JSON again.
* :func:`evaluate` is ``compile(expression)(data)`` with a small cache keyed by canonical JSON.
* :func:`interpret` walks the JSON on every call. It is the plain reading of the spec that the
  property tests hold the compiler to, and the baseline the compiler's speed is measured against.

Values are the plain Python forms of JSON (``dict``, ``list``, ``str``, ``int``, ``float``,
``bool``, ``None``) plus date-times, which only ``plusTime`` and ``dccDateOfBirth`` make: a
timezone-aware :class:`~datetime.datetime` in UTC with millisecond precision. A date-time can be
returned as a result; :func:`format_datetime` writes it as JavaScript's ``toISOString`` does.

Every error is a :class:`CertLogicError`::

    YimatongError                    (yimatong.domain.errors)
     └── CertLogicError              anything this module raises on purpose
          ├── CertLogicSyntaxError       the expression is malformed; .path, .issues
          └── CertLogicEvaluationError   a valid expression met an operand it cannot work on; .path

``.path`` is a JSON pointer (RFC 6901; ``""`` is the whole expression) into the expression. Error
messages name JSON types, never the values from the data context, which are personal data.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import operator
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from yimatong.domain.errors import YimatongError
from yimatong.rules.certlogic_dates import (
    TIME_UNITS,
    dcc_date_of_birth,
    format_datetime,
    plus_time,
)

__all__ = [
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

#: The version of the CertLogic specification this module implements.
SPEC_VERSION: Final = "1.3.2"

#: Every operation CertLogic 1.3.2 defines.
OPERATORS: Final = frozenset(
    {
        "var",
        "if",
        "===",
        "and",
        "<",
        ">",
        "<=",
        ">=",
        "in",
        "+",
        "after",
        "before",
        "not-after",
        "not-before",
        "!",
        "plusTime",
        "reduce",
        "extractFromUVCI",
        "dccDateOfBirth",
    }
)

#: Deepest nesting of arrays and operations accepted; deeper expressions are rejected by
#: :func:`validate` rather than left to exhaust Python's recursion limit at run time.
MAX_DEPTH: Final = 100

#: The value of a CertLogic expression or data context: JSON in Python clothes, plus date-times.
Value = Any
Run = Callable[[Value], Value]

_INT_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_DATE_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "before": operator.lt,
    "after": operator.gt,
    "not-after": operator.le,
    "not-before": operator.ge,
}


# --------------------------------------------------------------------------------------------
# Errors


class CertLogicError(YimatongError):
    """Base of every error raised by the CertLogic evaluator and validator."""

    slug = "certlogic-error"

    def __init__(self, message: str, path: str, *, more: int = 0) -> None:
        place = f"at {path or '/'}" + (f"; {more} more issue(s)" if more else "")
        super().__init__(f"{message} ({place})", field=path)
        #: JSON pointer into the expression: where the problem is.
        self.path = path
        #: the message without the place
        self.detail = message


@dataclass(frozen=True)
class ValidationIssue:
    """One way an expression breaks the specification.

    ``path`` is a JSON pointer to the offending part, ``expr`` the expression (or operation)
    the message is about — as in the specification's validation test suite — and ``message``
    says what is wrong.
    """

    path: str
    message: str
    expr: Any

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class CertLogicSyntaxError(CertLogicError):
    """The expression is not valid CertLogic; ``issues`` lists every problem, first at ``path``."""

    slug = "invalid-expression"

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        if not issues:
            raise ValueError("a syntax error needs at least one issue")
        first = issues[0]
        super().__init__(first.message, first.path, more=len(issues) - 1)
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)


class CertLogicEvaluationError(CertLogicError):
    """A valid expression met an operand of the wrong kind while being evaluated.

    ``path`` points at the operand whose value was unusable (for example ``/and/1/+/0``).
    The specification advises treating such an error as a failed rule.
    """

    slug = "expression-evaluation-failed"


# --------------------------------------------------------------------------------------------
# Values: truthiness, integers, equality


def _boolsiness(value: Value) -> bool | None:
    """``True`` if truthy, ``False`` if falsy, ``None`` if neither (spec: "Truthy and falsy")."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    if isinstance(value, int):  # bool is handled above
        return value != 0
    if isinstance(value, float) and math.isfinite(value):  # a JSON number from the data
        return value != 0
    return None  # date-times, and anything that is not JSON


def is_truthy(value: Value) -> bool:
    """CertLogic truthiness: ``true``, a non-empty string, array or object, a non-zero number."""
    return _boolsiness(value) is True


def is_falsy(value: Value) -> bool:
    """CertLogic falsiness: ``false``, ``null``, ``""``, ``0``, ``[]`` and ``{}``."""
    return _boolsiness(value) is False


def _as_int(value: Value) -> int | None:
    """The integer a value stands for, or ``None``. JSON has one number type: ``2.0`` is 2."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strict_equal(left: Value, right: Value) -> bool:
    """``===``: equal without type coercion; arrays and objects compare element by element."""
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_strict_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            _strict_equal(v, right[k]) for k, v in left.items()
        )
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left == right
    return False


def _is_datetime(value: Value) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _describe(value: Value) -> str:
    """A value's JSON type, for error messages (never the value: it may be personal data)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a non-integer number" if _as_int(value) is None else "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if _is_datetime(value):
        return "a date-time"
    return f"a non-JSON value of type {type(value).__name__}"


def _neither(what: str, value: Value, path: str) -> CertLogicEvaluationError:
    return CertLogicEvaluationError(
        f"{what} evaluated to {_describe(value)} that is neither truthy nor falsy", path
    )


_UVCI_PREFIX: Final = "URN:UVCI:"
_UVCI_SEPARATORS: Final = re.compile(r"[/#:]")


def _extract_from_uvci(uvci: str, index: int) -> str | None:
    if index < 0:
        return None
    if uvci.startswith(_UVCI_PREFIX):
        uvci = uvci[len(_UVCI_PREFIX) :]
    fragments = _UVCI_SEPARATORS.split(uvci)
    return fragments[index] if index < len(fragments) else None


def _array_index(fragment: str) -> int | None:
    """An integer path fragment (ASCII digits only) indexes arrays; anything else does not."""
    return int(fragment) if fragment.isascii() and fragment.isdigit() else None


def _step(value: Value, key: str, index: int | None) -> Value:
    """One fragment of a ``var`` path: objects by key, arrays by index, anything else is null."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and index is not None and index < len(value):
        return value[index]
    return None


# --------------------------------------------------------------------------------------------
# Validation


_VAR_PATH: Final = re.compile(r"[^.]+(?:\.[^.]+)*")
_FORM: Final = 'operation not of the form { "<operator>": [ <values...> ] }'


def _pointer(path: str, token: str | int) -> str:
    text = str(token)
    return f"{path}/{text.replace('~', '~0').replace('/', '~1')}"


def _json_text(value: Value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _is_int_literal(value: Value) -> bool:
    return _as_int(value) is not None


def validate(expression: Value) -> list[ValidationIssue]:
    """Every way ``expression`` breaks the CertLogic specification; empty if it is valid.

    Follows the specification's validator: unknown operators, objects with other than one key,
    operands that are not an array, wrong operand counts, ``var`` paths that are not strings of
    non-empty fragments, non-integer numbers, ``null`` literals, and the operands that must be
    literals (``plusTime``'s amount and unit, ``extractFromUVCI``'s index).
    """
    issues: list[ValidationIssue] = []
    _validate(expression, "", 0, issues)
    return issues


def _validate(expr: Value, path: str, depth: int, issues: list[ValidationIssue]) -> None:
    def issue(message: str, at: str = path) -> None:
        issues.append(ValidationIssue(at, message, expr))

    if depth > MAX_DEPTH:
        issue(f"expression nested deeper than {MAX_DEPTH} levels")
        return
    if isinstance(expr, str | bool):
        return
    if isinstance(expr, int | float):
        if not _is_int_literal(expr):
            issue(f"{_json_text(expr)} is a non-integer number")
        return
    if expr is None:
        issue("invalid CertLogic expression")
        return
    if isinstance(expr, list | tuple):
        for i, item in enumerate(expr):
            _validate(item, _pointer(path, i), depth + 1, issues)
        return
    if not isinstance(expr, dict):
        issue(f"invalid CertLogic expression: {type(expr).__name__} is not a JSON value")
        return
    if len(expr) != 1:
        issue(f"expression object must have exactly one key, but it has {len(expr)}")
        return
    ((op, values),) = expr.items()
    if not isinstance(op, str):
        issue("invalid CertLogic expression: an operator must be a string")
        return
    at = _pointer(path, op)
    if op == "var":
        if not isinstance(values, str):
            issue('not of the form { "var": "<path>" }', at)
        elif values and not _VAR_PATH.fullmatch(values):
            issue(f"data access path doesn't have a valid format: {values}", at)
        return
    if not isinstance(values, list | tuple):
        issue(_FORM, at)
        return
    if op not in OPERATORS:
        issue(f'unrecognised operator: "{op}"')
        return
    n = len(values)

    def operands(count: int) -> None:
        for i, operand in enumerate(values[:count]):
            _validate(operand, _pointer(at, i), depth + 1, issues)

    if op in ("if", "reduce"):
        if n != 3:
            article = "an" if op == "if" else "a"
            issue(
                f'{article} "{op}"-operation must have exactly 3 values/operands, but it has {n}',
                at,
            )
        operands(3)
    elif op == "and":
        if n < 2:
            issue(f'an "and" operation must have at least 2 operands, but it has {n}', at)
        operands(n)
    elif op in _INT_COMPARISONS or op in _DATE_COMPARISONS:
        if not 2 <= n <= 3:
            issue(
                f'an operation with operator "{op}" must have 2 or 3 operands, but it has {n}', at
            )
        operands(3)
    elif op in ("===", "in", "+"):
        if n != 2:
            issue(f'an operation with operator "{op}" must have 2 operands, but it has {n}', at)
        operands(2)
    elif op in ("!", "dccDateOfBirth"):
        if n != 1:
            issue(f'a "{op}"-operation must have exactly 1 operand, but it has {n}', at)
        operands(1)
    elif op == "plusTime":
        if n != 3:
            issue(f'a "plusTime"-operation must have exactly 3 values/operands, but it has {n}', at)
        operands(1)
        if n > 1 and not _is_int_literal(values[1]):
            issue(
                '"amount" argument (#2) of "plusTime" must be an integer literal, '
                f"but it is: {_json_text(values[1])}",
                _pointer(at, 1),
            )
        if n > 2 and values[2] not in TIME_UNITS:
            issue(
                f'"unit" argument (#3) of "plusTime" must be a string equal to one of '
                f"{', '.join(TIME_UNITS)}, but it is: {_json_text(values[2])}",
                _pointer(at, 2),
            )
    else:  # extractFromUVCI
        if n != 2:
            issue(f'an "{op}"-operation must have exactly 2 values/operands, but it has {n}', at)
        operands(1)
        if n > 1 and not _is_int_literal(values[1]):
            issue(
                f'"index" argument (#2) of "{op}" must be an integer literal, '
                f"but it is: {_json_text(values[1])}",
                _pointer(at, 1),
            )


def _check(expression: Value) -> None:
    issues = validate(expression)
    if issues:
        raise CertLogicSyntaxError(issues)


# --------------------------------------------------------------------------------------------
# The compiler: one closure per node, built once


class Compiled:
    """A validated expression built into closures; call it with a data context for its value."""

    __slots__ = ("_run", "expression")

    def __init__(self, expression: Value, run: Run) -> None:
        #: a deep copy of the expression, taken when it was compiled
        self.expression = expression
        self._run = run

    def __call__(self, data: Value) -> Value:
        return self._run(data)

    def __repr__(self) -> str:
        text = _json_text(self.expression)
        return f"<Compiled CertLogic {text if len(text) <= 60 else text[:57] + '...'}>"


def compile(expression: Value) -> Compiled:
    """Validate ``expression`` and build it into closures, once.

    Raises :class:`CertLogicSyntaxError` (with every issue) if the expression is malformed,
    before anything is evaluated, as the specification requires.
    """
    _check(expression)
    expression = copy.deepcopy(expression)
    return Compiled(expression, _compile(expression, ""))


def _compile(expr: Value, path: str) -> Run:
    if isinstance(expr, str | bool):
        return lambda _data: expr
    if isinstance(expr, int | float):
        number = int(expr)
        return lambda _data: number
    if isinstance(expr, list | tuple):
        return _compile_array(expr, path)
    ((op, values),) = expr.items()
    at = _pointer(path, op)
    if op == "var":
        return _compile_var(values)
    compiled: Run = _COMPILERS[op](op, list(values), at)
    return compiled


def _scalar_literal(expr: Value) -> bool:
    return isinstance(expr, str | bool | int | float)


def _compile_array(items: Sequence[Value], path: str) -> Run:
    if all(_scalar_literal(item) for item in items):
        constant = tuple(int(i) if isinstance(i, float) else i for i in items)
        return lambda _data: list(constant)
    runs = tuple(_compile(item, _pointer(path, i)) for i, item in enumerate(items))
    return lambda data: [run(data) for run in runs]


def _compile_var(path_text: str) -> Run:
    if path_text == "":
        return lambda data: data
    steps = tuple((fragment, _array_index(fragment)) for fragment in path_text.split("."))
    if len(steps) == 1:
        ((key, index),) = steps

        def one(data: Value) -> Value:
            if type(data) is dict:
                return data.get(key)
            return _step(data, key, index)

        return one

    def access(data: Value) -> Value:
        for key, index in steps:
            if type(data) is dict:
                data = data.get(key)
            else:
                data = _step(data, key, index)
                if data is None:
                    return None
        return data

    return access


def _compile_if(_op: str, values: list[Value], at: str) -> Run:
    guard, then, else_ = (_compile(v, _pointer(at, i)) for i, v in enumerate(values))
    guard_path = _pointer(at, 0)

    def run(data: Value) -> Value:
        value = guard(data)
        if value is True:
            return then(data)
        if value is False or value is None:
            return else_(data)
        truth = _boolsiness(value)
        if truth is None:
            raise _neither('the guard of an "if"', value, guard_path)
        return then(data) if truth else else_(data)

    return run


def _compile_and(_op: str, values: list[Value], at: str) -> Run:
    steps = tuple((_compile(v, _pointer(at, i)), _pointer(at, i)) for i, v in enumerate(values))

    def run(data: Value) -> Value:
        value: Value = None
        for operand, operand_path in steps:  # lazily, in order
            value = operand(data)
            if value is True:
                continue
            if value is False or value is None:
                return value
            truth = _boolsiness(value)
            if truth is None:
                raise _neither('an operand of "and"', value, operand_path)
            if not truth:
                return value
        return value

    return run


def _compile_not(_op: str, values: list[Value], at: str) -> Run:
    operand, operand_path = _compile(values[0], _pointer(at, 0)), _pointer(at, 0)

    def run(data: Value) -> Value:
        value = operand(data)
        if value is True:
            return False
        if value is False or value is None:
            return True
        truth = _boolsiness(value)
        if truth is None:
            raise _neither('the operand of "!"', value, operand_path)
        return not truth

    return run


def _compile_equal(_op: str, values: list[Value], at: str) -> Run:
    left, right = (_compile(v, _pointer(at, i)) for i, v in enumerate(values))

    def run(data: Value) -> Value:
        a, b = left(data), right(data)
        if type(a) is str and type(b) is str:
            return a == b
        return _strict_equal(a, b)

    return run


def _member_key(value: Value) -> tuple[type, Value] | None:
    """A hashable key that keeps ``true``, ``1`` and ``"1"`` apart (Python's ``True == 1``)."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, str):
        return (str, value)
    number = _as_int(value)
    return (int, number) if number is not None else None


def _compile_in(op: str, values: list[Value], at: str) -> Run:
    left = _compile(values[0], _pointer(at, 0))
    haystack = values[1]
    if isinstance(haystack, list | tuple) and all(_scalar_literal(v) for v in haystack):
        # The usual case, {"in": [{"var": ...}, ["a", "b"]]}: a set lookup, built once.
        members = frozenset(_member_key(v) for v in haystack)

        def literal(data: Value) -> Value:
            return _member_key(left(data)) in members

        return literal
    right, right_path = _compile(haystack, _pointer(at, 1)), _pointer(at, 1)

    def run(data: Value) -> Value:
        needle, array = left(data), right(data)
        if not isinstance(array, list):
            raise CertLogicEvaluationError(
                f'the right operand of "in" must be an array, not {_describe(array)}', right_path
            )
        if type(needle) is str:
            return needle in array  # str == non-str is False, so no coercion here
        return any(_strict_equal(needle, item) for item in array)

    return run


def _int_operand(value: Value, op: str, path: str) -> int:
    number = _as_int(value)
    if number is None:
        raise CertLogicEvaluationError(
            f'operands of "{op}" must be integers, not {_describe(value)}', path
        )
    return number


def _compile_plus(op: str, values: list[Value], at: str) -> Run:
    (left, left_path), (right, right_path) = (
        (_compile(v, _pointer(at, i)), _pointer(at, i)) for i, v in enumerate(values)
    )

    def run(data: Value) -> Value:
        a, b = left(data), right(data)
        if type(a) is not int:
            a = _int_operand(a, op, left_path)
        if type(b) is not int:
            b = _int_operand(b, op, right_path)
        return a + b

    return run


def _compile_int_comparison(op: str, values: list[Value], at: str) -> Run:
    compare = _INT_COMPARISONS[op]
    runs = [_compile(v, _pointer(at, i)) for i, v in enumerate(values)]
    paths = [_pointer(at, i) for i in range(len(values))]
    if len(runs) == 2:
        left, right = runs

        def binary(data: Value) -> Value:
            a, b = left(data), right(data)  # both first, then their types, as the spec orders it
            if type(a) is not int:
                a = _int_operand(a, op, paths[0])
            if type(b) is not int:
                b = _int_operand(b, op, paths[1])
            return compare(a, b)

        return binary
    first, second, third = runs

    def ternary(data: Value) -> Value:
        evaluated = (first(data), second(data), third(data))
        a, b, c = (_int_operand(v, op, p) for v, p in zip(evaluated, paths, strict=True))
        return compare(a, b) and compare(b, c)

    return ternary


def _datetime_operand(value: Value, op: str, path: str) -> datetime:
    if not _is_datetime(value):
        raise CertLogicEvaluationError(
            f'operands of "{op}" must be date-times (from plusTime or dccDateOfBirth), '
            f"not {_describe(value)}",
            path,
        )
    moment: datetime = value
    return moment


def _compile_date_comparison(op: str, values: list[Value], at: str) -> Run:
    compare = _DATE_COMPARISONS[op]
    runs = tuple(_compile(v, _pointer(at, i)) for i, v in enumerate(values))
    paths = tuple(_pointer(at, i) for i in range(len(values)))

    def run(data: Value) -> Value:
        evaluated = [r(data) for r in runs]
        moments = [_datetime_operand(v, op, p) for v, p in zip(evaluated, paths, strict=True)]
        if len(moments) == 2:
            return compare(moments[0], moments[1])
        return compare(moments[0], moments[1]) and compare(moments[1], moments[2])

    return run


def _compile_plus_time(op: str, values: list[Value], at: str) -> Run:
    operand, operand_path = _compile(values[0], _pointer(at, 0)), _pointer(at, 0)
    amount, unit = int(values[1]), values[2]

    def run(data: Value) -> Value:
        text = operand(data)
        if not isinstance(text, str):
            raise CertLogicEvaluationError(
                f'the date operand of "plusTime" must be a string, not {_describe(text)}',
                operand_path,
            )
        return _plus_time(text, amount, unit, operand_path)

    return run


def _plus_time(text: str, amount: int, unit: str, path: str) -> datetime:
    try:
        return plus_time(text, amount, unit)
    except ValueError as error:
        raise CertLogicEvaluationError(f'"plusTime": {error}', path) from None


def _date_of_birth(value: Value, path: str) -> datetime:
    if not isinstance(value, str):
        raise CertLogicEvaluationError(
            f'the operand of "dccDateOfBirth" must be a string, not {_describe(value)}', path
        )
    try:
        return dcc_date_of_birth(value)
    except ValueError as error:
        raise CertLogicEvaluationError(f'"dccDateOfBirth": {error}', path) from None


def _compile_dcc_date_of_birth(op: str, values: list[Value], at: str) -> Run:
    operand, operand_path = _compile(values[0], _pointer(at, 0)), _pointer(at, 0)
    return lambda data: _date_of_birth(operand(data), operand_path)


def _uvci_operand(value: Value, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise CertLogicEvaluationError(
        f'the operand of "extractFromUVCI" must be a string or null, not {_describe(value)}', path
    )


def _compile_extract_from_uvci(op: str, values: list[Value], at: str) -> Run:
    operand, operand_path = _compile(values[0], _pointer(at, 0)), _pointer(at, 0)
    index = int(values[1])

    def run(data: Value) -> Value:
        uvci = _uvci_operand(operand(data), operand_path)
        return None if uvci is None else _extract_from_uvci(uvci, index)

    return run


def _reduce_operand(value: Value, path: str) -> list[Value] | None:
    if value is None or isinstance(value, list):
        return value
    raise CertLogicEvaluationError(
        f'the operand of "reduce" must be an array or null, not {_describe(value)}', path
    )


def _compile_reduce(op: str, values: list[Value], at: str) -> Run:
    operand, lambda_, initial = (_compile(v, _pointer(at, i)) for i, v in enumerate(values))
    operand_path = _pointer(at, 0)

    def run(data: Value) -> Value:
        array = _reduce_operand(operand(data), operand_path)
        accumulator = initial(data)
        if array is None:  # reduce over null is the initial value (JsonLogic test suite)
            return accumulator
        for current in array:
            accumulator = lambda_({"accumulator": accumulator, "current": current})
        return accumulator

    return run


_COMPILERS: Final[dict[str, Callable[[str, list[Value], str], Run]]] = {
    "if": _compile_if,
    "and": _compile_and,
    "!": _compile_not,
    "===": _compile_equal,
    "in": _compile_in,
    "+": _compile_plus,
    **dict.fromkeys(_INT_COMPARISONS, _compile_int_comparison),
    **dict.fromkeys(_DATE_COMPARISONS, _compile_date_comparison),
    "plusTime": _compile_plus_time,
    "dccDateOfBirth": _compile_dcc_date_of_birth,
    "extractFromUVCI": _compile_extract_from_uvci,
    "reduce": _compile_reduce,
}


# --------------------------------------------------------------------------------------------
# evaluate: compile once per distinct expression

#: How many compiled expressions :func:`evaluate` keeps (a region's policy set is far smaller).
CACHE_SIZE: Final = 256
_cache: dict[str, Compiled] = {}
_cache_lock = threading.Lock()


def evaluate(expression: Value, data: Value) -> Value:
    """The value of ``expression`` on the data context ``data``.

    Compiles the expression the first time it is seen (keyed by its canonical JSON) and reuses
    the closures afterwards. Raises :class:`CertLogicSyntaxError` for a malformed expression and
    :class:`CertLogicEvaluationError` for an operand of the wrong kind.
    """
    try:
        key = json.dumps(expression, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (
        TypeError,
        ValueError,
        RecursionError,
    ):  # not JSON, or absurdly deep: compile() says why
        return compile(expression)(data)
    compiled = _cache.get(key)
    if compiled is None:
        compiled = compile(expression)  # only valid expressions are cached
        with _cache_lock:
            if len(_cache) >= CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = compiled
    return compiled(data)


# --------------------------------------------------------------------------------------------
# The interpreter: the same semantics, walking the JSON on every call


def interpret(expression: Value, data: Value) -> Value:
    """Validate, then evaluate ``expression`` by walking it: the reference the compiler matches."""
    _check(expression)
    return _walk(expression, data, "")


def _walk(expr: Value, data: Value, path: str) -> Value:
    if isinstance(expr, str | bool):
        return expr
    if isinstance(expr, int | float):
        return int(expr)
    if isinstance(expr, list | tuple):
        return [_walk(item, data, _pointer(path, i)) for i, item in enumerate(expr)]
    ((op, values),) = expr.items()
    if op == "var":
        if values == "":
            return data
        for fragment in values.split("."):
            data = _step(data, fragment, _array_index(fragment))
        return data
    result: Value = _WALKERS[op](op, values, data, _pointer(path, op))
    return result


def _walk_operands(values: Sequence[Value], data: Value, at: str) -> list[Value]:
    return [_walk(v, data, _pointer(at, i)) for i, v in enumerate(values)]


def _truth(what: str, value: Value, path: str) -> bool:
    truth = _boolsiness(value)
    if truth is None:
        raise _neither(what, value, path)
    return truth


def _walk_if(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    guard = _walk(values[0], data, _pointer(at, 0))
    branch = 1 if _truth('the guard of an "if"', guard, _pointer(at, 0)) else 2
    return _walk(values[branch], data, _pointer(at, branch))


def _walk_and(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    value: Value = None
    for i, operand in enumerate(values):
        value = _walk(operand, data, _pointer(at, i))
        if not _truth('an operand of "and"', value, _pointer(at, i)):
            return value
    return value


def _walk_not(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    return not _truth(
        'the operand of "!"', _walk(values[0], data, _pointer(at, 0)), _pointer(at, 0)
    )


def _walk_equal(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    return _strict_equal(*_walk_operands(values, data, at))


def _walk_in(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    needle, array = _walk_operands(values, data, at)
    if not isinstance(array, list):
        raise CertLogicEvaluationError(
            f'the right operand of "in" must be an array, not {_describe(array)}', _pointer(at, 1)
        )
    return any(_strict_equal(needle, item) for item in array)


def _walk_plus(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    a, b = (
        _int_operand(v, op, _pointer(at, i)) for i, v in enumerate(_walk_operands(values, data, at))
    )
    return a + b


def _walk_int_comparison(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    evaluated = _walk_operands(values, data, at)
    numbers = [_int_operand(v, op, _pointer(at, i)) for i, v in enumerate(evaluated)]
    compare = _INT_COMPARISONS[op]
    return all(compare(a, b) for a, b in itertools.pairwise(numbers))


def _walk_date_comparison(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    evaluated = _walk_operands(values, data, at)
    moments = [_datetime_operand(v, op, _pointer(at, i)) for i, v in enumerate(evaluated)]
    compare = _DATE_COMPARISONS[op]
    return all(compare(a, b) for a, b in itertools.pairwise(moments))


def _walk_plus_time(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    text = _walk(values[0], data, _pointer(at, 0))
    if not isinstance(text, str):
        raise CertLogicEvaluationError(
            f'the date operand of "plusTime" must be a string, not {_describe(text)}',
            _pointer(at, 0),
        )
    return _plus_time(text, int(values[1]), values[2], _pointer(at, 0))


def _walk_dcc_date_of_birth(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    return _date_of_birth(_walk(values[0], data, _pointer(at, 0)), _pointer(at, 0))


def _walk_extract_from_uvci(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    uvci = _uvci_operand(_walk(values[0], data, _pointer(at, 0)), _pointer(at, 0))
    return None if uvci is None else _extract_from_uvci(uvci, int(values[1]))


def _walk_reduce(op: str, values: Sequence[Value], data: Value, at: str) -> Value:
    array = _reduce_operand(_walk(values[0], data, _pointer(at, 0)), _pointer(at, 0))
    accumulator = _walk(values[2], data, _pointer(at, 2))
    for current in array or ():
        accumulator = _walk(
            values[1], {"accumulator": accumulator, "current": current}, _pointer(at, 1)
        )
    return accumulator


_WALKERS: Final[dict[str, Callable[[str, Sequence[Value], Value, str], Value]]] = {
    "if": _walk_if,
    "and": _walk_and,
    "!": _walk_not,
    "===": _walk_equal,
    "in": _walk_in,
    "+": _walk_plus,
    **dict.fromkeys(_INT_COMPARISONS, _walk_int_comparison),
    **dict.fromkeys(_DATE_COMPARISONS, _walk_date_comparison),
    "plusTime": _walk_plus_time,
    "dccDateOfBirth": _walk_dcc_date_of_birth,
    "extractFromUVCI": _walk_extract_from_uvci,
    "reduce": _walk_reduce,
}
