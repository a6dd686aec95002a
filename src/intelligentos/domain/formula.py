"""A derived KPI's expression: arithmetic over other KPIs' ids, parsed safely and evaluated
exactly.

``compute = "100 * sql_count / mql_count"`` reads: the KPI's value for a period is that
expression over its inputs' values for the same period. The language is small on purpose:

* numbers (``12``, ``0.5``, ``1e6``) and KPI ids (``mrr``, ``new_arr``);
* ``+``, ``-``, ``*``, ``/`` (``×``, ``÷`` and ``−`` are read as the same), unary minus, and
  parentheses;
* the functions ``min(a, b, ...)``, ``max(a, b, ...)`` and ``abs(a)``.

The text is parsed with the standard library's :mod:`ast` and every node is checked against
that list; it is walked by :meth:`Formula.evaluate`, never compiled or passed to ``eval``.
A division by zero, or a result that is not a finite number, has no value: the period gets
none, and :class:`Undefined` says why.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

KPI_ID = re.compile(r"^[a-z][a-z0-9_]*$")
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    # name: (function, fewest arguments, most arguments or None for any number)
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
}
_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
# What people type from a formula written for people (the catalog's ``formula`` text).
_TYPOGRAPHY = str.maketrans({"×": "*", "÷": "/", "−": "-"})


class FormulaError(ValueError):
    """An expression that is not one this language reads; the message says where and why."""


class Undefined(ArithmeticError):
    """An expression with no value for these inputs (a division by zero, an input missing,
    or a result that is not a finite number); the message says which."""


@dataclass(frozen=True)
class Formula:
    """A parsed expression. ``inputs``: the KPI ids it reads, in the order they first
    appear; ``divisors``: those that appear in a denominator (a zero there leaves the
    period without a value)."""

    text: str
    inputs: tuple[str, ...]
    divisors: tuple[str, ...]
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, float | None]) -> float:
        """The expression's value for these input values; :class:`Undefined` when it has
        none."""
        result = _evaluate(self._tree, values)
        if not math.isfinite(result):
            raise Undefined(f"{self.text} is not a finite number for these values")
        return result

    @property
    def tree(self) -> ast.expr:
        """The checked syntax tree, for rules that read the expression's shape (the unit
        check of ``validate``); only the nodes :func:`parse_formula` allows are in it."""
        return self._tree

    def evaluate_many(
        self, columns: Mapping[str, Sequence[float | None]], size: int
    ) -> list[float | str]:
        """:meth:`evaluate` at each of ``size`` positions at once (``columns``: each input's
        values, position by position, None where it has none): the value, or why there is
        none (the text :class:`Undefined` would carry). One pass per node of the expression
        over the whole batch, for computing a derived KPI's history."""
        results = _evaluate_many(self._tree, columns, size)
        undefined = f"{self.text} is not a finite number for these values"
        return [
            r if r.__class__ is str or math.isfinite(cast(float, r)) else undefined for r in results
        ]

    def value_or_none(self, values: Mapping[str, float | None]) -> float | None:
        try:
            return self.evaluate(values)
        except Undefined:
            return None

    def linear_in(self, name: str) -> bool:
        """Whether the expression is a straight line in ``name`` with every other input held:
        ``name`` is never multiplied by something that depends on it, never divides, and is
        never inside ``min``, ``max`` or ``abs`` (which bend the line)."""
        return _degree(self._tree, name) <= 1


def parse_formula(text: str) -> Formula:
    """Parse and check ``text``; :class:`FormulaError` names the first thing not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the expression is empty")
    source = text.translate(_TYPOGRAPHY).strip()
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise FormulaError(f"{text!r} is not an expression{where}") from None
    inputs: list[str] = []
    divisors: list[str] = []
    _check(tree, text, inputs, divisors, in_denominator=False)
    return Formula(text, tuple(inputs), tuple(divisors), tree)


@functools.lru_cache(maxsize=4096)
def cached_formula(text: str) -> Formula:
    """:func:`parse_formula`, once per text (a catalog's expressions are read many times)."""
    return parse_formula(text)


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def _check(
    node: ast.expr, text: str, inputs: list[str], divisors: list[str], *, in_denominator: bool
) -> None:
    match node:
        case ast.Constant(value=bool()):
            raise FormulaError(f"{text!r}: {node.value!r} is not a number")
        case ast.Constant(value=int() | float()):
            return
        case ast.Name(id=name):
            if not KPI_ID.match(name):
                raise FormulaError(f"{text!r}: {name!r} is not a KPI id (lower case, digits, _)")
            if name in FUNCTIONS:
                raise FormulaError(f"{text!r}: {name} is a function; call it as {name}(...)")
            _add(inputs, name)
            if in_denominator:
                _add(divisors, name)
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _OPERATORS:
            _check(left, text, inputs, divisors, in_denominator=in_denominator)
            _check(
                right,
                text,
                inputs,
                divisors,
                in_denominator=in_denominator or isinstance(op, ast.Div),
            )
        case ast.BinOp(op=op):
            raise FormulaError(
                f"{text!r}: the operator {_symbol(op)} is not allowed (only + - * /)"
            )
        case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=operand):
            _check(operand, text, inputs, divisors, in_denominator=in_denominator)
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in FUNCTIONS:
            _, fewest, most = FUNCTIONS[name]
            if len(args) < fewest or (most is not None and len(args) > most):
                wanted = str(fewest) if most == fewest else f"at least {fewest}"
                raise FormulaError(f"{text!r}: {name}() takes {wanted} argument(s)")
            for arg in args:
                if isinstance(arg, ast.Starred):
                    raise FormulaError(f"{text!r}: {name}() takes plain arguments")
                _check(arg, text, inputs, divisors, in_denominator=in_denominator)
        case ast.Call(func=ast.Name(id=name)):
            allowed = ", ".join(f"{f}()" for f in FUNCTIONS)
            raise FormulaError(f"{text!r}: {name}() is not a known function (only {allowed})")
        case _:
            raise FormulaError(
                f"{text!r}: {ast.unparse(node)!r} is not allowed (numbers, KPI ids, + - * /, "
                "parentheses and min, max, abs only)"
            )


def _symbol(op: ast.operator) -> str:
    return {
        ast.Pow: "**",
        ast.Mod: "%",
        ast.FloorDiv: "//",
        ast.MatMult: "@",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
    }.get(type(op), type(op).__name__)


def _degree(node: ast.expr, name: str) -> int:
    """0: does not depend on ``name``; 1: linear in it; 2: anything else (a product of two
    terms that both depend on it, a division by it, or a bend)."""
    match node:
        case ast.Name(id=found):
            return 1 if found == name else 0
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _degree(left, name), _degree(right, name)
            if isinstance(op, ast.Add | ast.Sub):
                return max(a, b)
            if isinstance(op, ast.Mult):
                return min(a + b, 2)
            return a if b == 0 else 2
        case ast.UnaryOp(operand=operand):
            return _degree(operand, name)
        case ast.Call(args=args):
            return 0 if all(_degree(arg, name) == 0 for arg in args) else 2
    return 0


def _evaluate(node: ast.expr, values: Mapping[str, float | None]) -> float:
    match node:
        case ast.Constant(value=int() | float() as number):
            return float(number)
        case ast.Name(id=name):
            value = values.get(name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise Undefined(f"{name} has no value")
            return float(value)
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _evaluate(left, values), _evaluate(right, values)
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            if b == 0:
                raise Undefined(f"{ast.unparse(right)} is zero (a division by it)")
            return a / b
        case ast.UnaryOp(op=op, operand=operand):
            value = _evaluate(operand, values)
            return -value if isinstance(op, ast.USub) else value
        case ast.Call(func=ast.Name(id=name), args=args):
            function = FUNCTIONS[name][0]
            return float(function(*(_evaluate(arg, values) for arg in args)))
    raise AssertionError(f"unchecked node {ast.dump(node)}")  # parse_formula checked every node


# A value, or why there is none (see Formula.evaluate_many).
_Cell = float | str


def _evaluate_many(
    node: ast.expr, columns: Mapping[str, Sequence[float | None]], size: int
) -> list[_Cell]:
    """:func:`_evaluate` over a batch, position by position; the first reason met (left
    before right, as :func:`_evaluate` raises it) stands for the whole expression."""
    match node:
        case ast.Constant(value=int() | float() as number):
            return [float(number)] * size
        case ast.Name(id=name):
            missing = f"{name} has no value"
            column = columns.get(name) or [None] * size
            return [
                float(v) if v is not None and v == v else missing  # v != v: NaN
                for v in column
            ]
        case ast.BinOp(left=left, op=op, right=right):
            a = _evaluate_many(left, columns, size)
            b = _evaluate_many(right, columns, size)
            if isinstance(op, ast.Div):
                zero = f"{ast.unparse(right)} is zero (a division by it)"
                return [
                    x
                    if x.__class__ is str
                    else y
                    if y.__class__ is str
                    else zero
                    if y == 0
                    else cast(float, x) / cast(float, y)
                    for x, y in zip(a, b, strict=True)
                ]
            pairs = zip(a, b, strict=True)
            # One comprehension per operator: no call per position.
            if isinstance(op, ast.Mult):
                return [
                    x if x.__class__ is str else y if y.__class__ is str else x * y  # type: ignore[operator]
                    for x, y in pairs
                ]
            if isinstance(op, ast.Add):
                return [
                    x if x.__class__ is str else y if y.__class__ is str else x + y  # type: ignore[operator]
                    for x, y in pairs
                ]
            return [
                x if x.__class__ is str else y if y.__class__ is str else x - y  # type: ignore[operator]
                for x, y in pairs
            ]
        case ast.UnaryOp(op=op, operand=operand):
            values = _evaluate_many(operand, columns, size)
            if isinstance(op, ast.UAdd):
                return values
            return [v if v.__class__ is str else -cast(float, v) for v in values]
        case ast.Call(func=ast.Name(id=name), args=args):
            function = FUNCTIONS[name][0]
            rows = zip(*(_evaluate_many(arg, columns, size) for arg in args), strict=True)
            return [
                next((v for v in row if v.__class__ is str), None) or float(function(*row))
                for row in rows
            ]
    raise AssertionError(f"unchecked node {ast.dump(node)}")  # parse_formula checked every node
