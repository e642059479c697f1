"""What a custom activation must be before symbackprop derives, verifies and generates code from it.

Contract
--------
:func:`admit` takes f(x), a SymPy expression built by :mod:`symbackprop.exprparse` (or handed over
from Python), and returns it in the form the rest of the pipeline uses, or raises
:class:`~symbackprop.errors.SpecError` naming what is wrong:

* **Bounded work.** f has at most :data:`MAX_NODES` nodes, nests at most :data:`MAX_NESTING`
  levels deep and raises x to integer powers whose exponents add up to at most
  :data:`MAX_TOTAL_EXPONENT`; f′ has at most :data:`MAX_DERIVATIVE_NODES` nodes. Within these
  bounds a network of custom layers derives and verifies in about a second; beyond them the cost
  of differentiating, simplifying and evaluating grows without a useful limit, so the expression
  is refused at once, before any of that work starts.
* **Real and finite where a layer lives.** f and f′ are evaluated at :data:`PROBE_POINTS`
  (every multiple of 1/20 with |x| ≤ 4, where initialised pre-activations sit) at 30 digits; a
  value that is not real (log or sqrt of a negative number, x**x for x < 0), undefined, or beyond
  :data:`MAX_MAGNITUDE` (it would overflow float64 in training) refuses the expression with the
  point that shows it. The evaluation walks the tree node by node and stops at the first value
  out of range, so a tower of exponentials costs no more than the nodes it has. A pole between
  two probe points (tan x at π/2) is not seen.
* **Kinks as comparisons of x with a constant, with the left derivative.** Every condition of a
  ``Piecewise`` (from max, min) that is equivalent to x ≤ c, x < c, x ≥ c or x > c is written as
  x ≤ c or x > c (``exp(x) - 1 >= 0`` becomes ``x > 0``), so that at the kink the branch on the
  left applies: max and min are continuous, so f is unchanged and f′ at the kink is the left
  derivative, the convention of relu (f′(0) = 0) and of ``max(0, x) + min(0, exp(x) - 1)``
  (f′(0) = 1, as ELU). Generated code then compares the pre-activation itself, so a condition
  cannot overflow, and each branch is evaluated on its own side of the kink only.
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import sympy as sp

from .errors import SpecError
from .naming import X

MAX_NODES = 80
MAX_NESTING = 16
MAX_TOTAL_EXPONENT = 64
MAX_DERIVATIVE_NODES = 400
MAX_MAGNITUDE = mpmath.mpf("1e300")
#: Where f and f′ must be real and finite: every multiple of 1/20 in [−4, 4], 0 included (a
#: pre-activation can be exactly 0, and a kink of |x| or max takes its one-sided value there).
PROBE_POINTS = tuple(sp.Rational(p, 20) for p in range(-80, 81))
_DIGITS = 30
# A condition is rewritten only when it is this small; as_set on a larger one may take long.
_MAX_CONDITION_NODES = 25


class _OutOfRange(Exception):
    """An intermediate value is not real, undefined or too large."""


def admit(expr: sp.Expr, name: str, where: str) -> sp.Expr:
    """expr checked against the bounds and with its kinks normalised (see the module docstring)."""
    _check_size(expr, name, where)
    expr = _normalise_conditions(expr)
    derivative = sp.diff(expr, X)
    if derivative.has(sp.Derivative, sp.Subs, sp.DiracDelta):
        raise SpecError(f"{where}: the derivative of '{name}' has no closed form symbackprop can use")
    derivative_nodes = _nodes(derivative)
    if derivative_nodes > MAX_DERIVATIVE_NODES:
        raise SpecError(
            f"{where}: the derivative of '{name}' is too large ({derivative_nodes} nodes, at most"
            f" {MAX_DERIVATIVE_NODES}); use a shorter expression"
        )
    for label, function in ((name, expr), (f"the derivative of {name}", derivative)):
        for point in PROBE_POINTS:
            try:
                _evaluate(function, point)
            except _OutOfRange as problem:
                raise SpecError(
                    f"{where}: {label} is {problem} at x = {float(point):g}; an activation must be real"
                    f" and finite (at most {float(MAX_MAGNITUDE):.0e}) for every pre-activation"
                ) from None
    return expr


def _nodes(expr: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


def _nesting(expr: sp.Basic) -> int:
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((argument, level + 1) for argument in node.args)
    return deepest


def _check_size(expr: sp.Expr, name: str, where: str) -> None:
    nesting = _nesting(expr)
    if nesting > MAX_NESTING:
        raise SpecError(
            f"{where}: the expression of '{name}' nests too deeply ({nesting} levels, at most {MAX_NESTING})"
        )
    nodes = _nodes(expr)
    if nodes > MAX_NODES:
        raise SpecError(f"{where}: the expression of '{name}' is too large ({nodes} nodes, at most {MAX_NODES})")
    exponents = sum(abs(int(power.exp)) for power in expr.atoms(sp.Pow) if power.exp.is_Integer and power.base.has(X))
    if exponents > MAX_TOTAL_EXPONENT:
        raise SpecError(
            f"{where}: the expression of '{name}' has integer powers of total degree {exponents}"
            f" (at most {MAX_TOTAL_EXPONENT})"
        )


def _normalise_conditions(expr: sp.Expr) -> sp.Expr:
    """Each Piecewise condition that is a half-line in x, as the comparison of x with its end."""

    def half_line(condition: sp.Basic) -> sp.Basic:
        if condition.free_symbols != {X} or _nodes(condition) > _MAX_CONDITION_NODES:
            return condition
        try:
            values = condition.as_set()
        except (NotImplementedError, TypeError, ValueError):
            return condition
        if not isinstance(values, sp.Interval) or not (values.start.is_infinite ^ values.end.is_infinite):
            return condition
        # The kink goes to the branch on its left, whichever the condition named: max and min are
        # continuous, so only f′ at the kink changes, to the left derivative (as relu's f′(0) = 0).
        return sp.Le(X, values.end) if values.start.is_infinite else sp.Gt(X, values.start)

    return expr.replace(
        lambda e: isinstance(e, sp.Piecewise),
        lambda e: sp.Piecewise(*((branch, half_line(condition)) for branch, condition in e.args)),
    )


def _evaluate(expr: sp.Basic, point: sp.Rational) -> mpmath.mpf | bool:
    """expr at x = point, in mpmath, node by node; raises :class:`_OutOfRange` at the first value
    that is not real, undefined or larger than :data:`MAX_MAGNITUDE`."""
    with mpmath.workdps(_DIGITS):
        return _value(expr, mpmath.mpf(point.p) / point.q)


_UNARY: dict[type, Callable[[mpmath.mpf], mpmath.mpf]] = {
    sp.exp: mpmath.exp,
    sp.tanh: mpmath.tanh,
    sp.sinh: mpmath.sinh,
    sp.cosh: mpmath.cosh,
    sp.sin: mpmath.sin,
    sp.cos: mpmath.cos,
    sp.tan: mpmath.tan,
    sp.atan: mpmath.atan,
    sp.erf: mpmath.erf,
    sp.erfc: mpmath.erfc,
    sp.Abs: abs,
    sp.sign: mpmath.sign,
}
_COMPARISONS: dict[type, Callable[[mpmath.mpf, mpmath.mpf], bool]] = {
    sp.LessThan: lambda a, b: a <= b,
    sp.StrictLessThan: lambda a, b: a < b,
    sp.GreaterThan: lambda a, b: a >= b,
    sp.StrictGreaterThan: lambda a, b: a > b,
    sp.Eq: lambda a, b: a == b,
    sp.Ne: lambda a, b: a != b,
}


def _value(node: sp.Basic, x: mpmath.mpf) -> mpmath.mpf | bool:
    if node == X:
        return x
    if isinstance(node, sp.logic.boolalg.BooleanAtom):
        return bool(node)
    if node.is_Number or node in (sp.pi, sp.E):
        return _checked(mpmath.mpf(sp.Float(node, _DIGITS)))
    if type(node) in _COMPARISONS:
        return _COMPARISONS[type(node)](_value(node.lhs, x), _value(node.rhs, x))
    if isinstance(node, sp.And):
        return all(_value(argument, x) for argument in node.args)
    if isinstance(node, sp.Or):
        return any(_value(argument, x) for argument in node.args)
    if isinstance(node, sp.Not):
        return not _value(node.args[0], x)
    if isinstance(node, sp.ITE):
        condition, then, otherwise = node.args
        return _value(then if _value(condition, x) else otherwise, x)
    if isinstance(node, sp.Piecewise):
        for branch, condition in node.args:
            if _value(condition, x):
                return _value(branch, x)
        raise _OutOfRange("undefined (no branch applies)")
    if isinstance(node, sp.Add):
        return _checked(mpmath.fsum(_value(argument, x) for argument in node.args))
    if isinstance(node, sp.Mul):
        product = mpmath.mpf(1)
        for argument in node.args:
            product = _checked(product * _value(argument, x))
        return product
    if isinstance(node, sp.Pow):
        return _power(_value(node.base, x), node.exp, x)
    if isinstance(node, sp.log):
        argument = _value(node.args[0], x)
        if argument <= 0:
            raise _OutOfRange("not real (the logarithm of a number ≤ 0)")
        return _checked(mpmath.log(argument))
    if type(node) in _UNARY:
        argument = _value(node.args[0], x)
        if isinstance(node, sp.exp) and argument > 700:
            raise _OutOfRange("too large")
        if isinstance(node, (sp.sinh, sp.cosh)) and abs(argument) > 700:
            raise _OutOfRange("too large")
        return _checked(_UNARY[type(node)](argument))
    raise _OutOfRange(f"not computable here (it uses {type(node).__name__})")


def _power(base: mpmath.mpf, exponent: sp.Expr, x: mpmath.mpf) -> mpmath.mpf:
    if exponent.is_Integer:
        if base == 0 and exponent < 0:
            raise _OutOfRange("undefined (a division by zero)")
        if base != 0 and int(exponent) * mpmath.log(abs(base), 10) > 300:
            raise _OutOfRange("too large")
        return _checked(base ** int(exponent))
    power = _value(exponent, x)
    if base < 0:
        raise _OutOfRange("not real (a negative number to a non-integer power)")
    if base == 0:
        if power <= 0:
            raise _OutOfRange("undefined (0 to a power ≤ 0)")
        return mpmath.mpf(0)
    if power * mpmath.log(base, 10) > 300:
        raise _OutOfRange("too large")
    return _checked(base**power)


def _checked(value: mpmath.mpf) -> mpmath.mpf:
    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise _OutOfRange("not real" if isinstance(value, mpmath.mpc) else "too large or undefined")
    return value
