"""Rewrites of SymPy expressions that make the printed NumPy code stable and keep its dtype.

Contract
--------
:func:`prepare` takes an index-form expression and returns an equal one in which the structures
that overflow or cancel in floating point are named or rewritten, so that
:class:`~symbackprop.printing.numpy.BatchNumPyPrinter` prints each by its own stable rule
(see that module's docstring for the rules): the logistic function as :class:`Logistic`,
``1 − erf`` as :class:`Erfc`, ``c·eᵘ − c`` as ``expm1``, ``1 ± tanh`` and ``1 − tanh²`` in σ,
numeric constants as floats, and products with a ``Piecewise`` folded into its branches. The
helpers that read a ``Piecewise`` (a step's condition, a kink's variable, constant and side) live
here too, for the printer and the rewrites alike. Every rewrite is an identity; none changes a
value.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.logic.inference import satisfiable


def logistic_argument(expr: sp.Expr) -> sp.Expr | None:
    """``u`` when expr is ``1 + exp(-u)``."""
    if isinstance(expr, sp.Add) and len(expr.args) == 2 and sp.S.One in expr.args:
        other = expr.args[0] if expr.args[1] == sp.S.One else expr.args[1]
        if isinstance(other, sp.exp):
            return -other.args[0]
    return None


class Erfc(sp.Function):
    """erfc(u) = 1 − erf(u), kept as written (SymPy's own erfc turns erfc(−u) into 2 − erfc(u))."""

    nargs = 1


class Logistic(sp.Function):
    """σ(u) = 1/(1 + exp(-u)), a name for the structure so that it prints in its stable form."""

    nargs = 1


def _logistic_form(expr: sp.Expr) -> sp.Expr:
    """Every ``(1 + exp(-u))**-k`` as ``σ(u)**k``; then every ``exp(-u)`` beside a σ(u) as
    ``(1 - σ(u))/σ(u)`` when that leaves no division by σ (σ′ = exp(-u)σ² becomes σ(1 - σ)),
    so that no exp(±u) is left to overflow."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp < 0 and logistic_argument(e.base) is not None,
        lambda e: Logistic(logistic_argument(e.base)) ** (-e.exp),
    )
    # log σ(u) = −log(1 + e⁻ᵘ), which prints as the stable softplus instead of the log of an underflow.
    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], Logistic),
        lambda e: -sp.log(1 + sp.exp(-e.args[0].args[0])),
    )
    # Factors without an exponential stay as they are: (a − y)·f′(z) is not multiplied out.
    if isinstance(expr, sp.Mul):
        factors = sp.Mul.make_args(expr)
        passive = [f for f in factors if not f.has(Logistic, sp.exp)]
        if passive:
            active = sp.Mul(*(f for f in factors if f.has(Logistic, sp.exp)))
            return sp.Mul(*passive) * _exponentials_beside_logistic(active)
    return _exponentials_beside_logistic(expr)


def _exponential_times_logistic(product: sp.Mul) -> sp.Expr:
    """eᶜᵛ·σ(−v)ᵏ as σ(v)ᶜ·σ(−v)ᵏ⁻ᶜ in a product (c ≤ k a whole number): softplus′ = eᶻ/(1 + eᶻ)
    keeps its relative accuracy and cannot overflow, nor can e²ᶻ/(1 + eᶻ)²."""
    factors = list(sp.Mul.make_args(product))
    for exponential in [f for f in factors if isinstance(f, sp.exp)]:
        for position, factor in enumerate(factors):
            base, power = factor.as_base_exp()
            if not isinstance(base, Logistic) or not (power.is_Integer and power > 0):
                continue
            v = -base.args[0]
            times = sp.cancel(exponential.args[0] / v)
            if times.is_Integer and 1 <= times <= power:
                factors[position] = base ** (power - times) * Logistic(v) ** times
                factors.remove(exponential)
                break
    return sp.Mul(*factors)


def _exponentials_beside_logistic(expr: sp.Expr) -> sp.Expr:
    expr = expr.replace(
        lambda e: isinstance(e, sp.Mul) and e.has(Logistic) and any(isinstance(f, sp.exp) for f in e.args),
        _exponential_times_logistic,
    )
    for logistic in expr.atoms(Logistic):
        exponential = sp.exp(-logistic.args[0])
        if not expr.has(exponential):
            continue
        rewritten = sp.expand(expr.xreplace({exponential: (1 - logistic) / logistic}))
        divides = rewritten.has(1 / logistic) or any(
            isinstance(p, sp.Pow) and p.base == logistic and p.exp.is_negative for p in rewritten.atoms(sp.Pow)
        )
        if not divides and not rewritten.has(exponential):
            expr = sp.factor_terms(rewritten)
    return expr


def prepare(expr: sp.Expr) -> sp.Expr:
    """expr made ready for printing: the logistic function named (see :func:`_logistic_form`),
    numeric constants (sqrt(2/pi)) as floats, so the code keeps the arrays' dtype (a NumPy
    scalar would up-cast float32), and a product with a Piecewise folded into its branches, so
    a step with constant branches cannot turn float32 into float64."""
    expr = _logistic_form(_special_functions(expr))
    expr = expr.replace(
        lambda e: isinstance(e, sp.Expr) and e.is_number and not e.is_Rational and not e.is_Float,
        lambda e: sp.Float(float(e)),
    )
    return expr.replace(
        lambda e: isinstance(e, sp.Mul) and any(isinstance(f, sp.Piecewise) and not is_step(f) for f in e.args),
        sp.piecewise_fold,
    )


def _special_functions(expr: sp.Expr) -> sp.Expr:
    """Sums that lose their relative accuracy where their terms cancel, written as the special
    function that does not: c·eᵘ − c as c·expm1(u), c ± c·erf(u) as c·erfc(∓u), c ± c·tanh(u) as
    2c·σ(±2u), c − c·tanh²(u) as 4c·σ(2u)σ(−2u)."""

    def rewrite(total: sp.Add) -> sp.Expr:
        terms = list(total.args)
        for number in (t for t in terms if t.is_Number):
            for term in terms:
                coefficient, rest = term.as_coeff_Mul()
                others = [t for t in terms if t is not number and t is not term]
                if isinstance(rest, sp.exp) and coefficient == -number:
                    return sp.Add(*others, coefficient * expm1(rest.args[0]))
                squared_tanh = isinstance(rest, sp.Pow) and isinstance(rest.base, sp.tanh) and rest.exp == 2
                if squared_tanh and coefficient == -number:
                    # c − c·tanh²(u) = 4c·σ(2u)σ(−2u), which does not cancel to 0 where |tanh(u)| → 1
                    u = rest.base.args[0]
                    return sp.Add(*others, 4 * number * Logistic(2 * u) * Logistic(-2 * u))
                if isinstance(rest, sp.tanh) and abs(coefficient) == abs(number):
                    # c + c·tanh(u) = 2c·σ(2u), which keeps its relative accuracy where tanh(u) → −1
                    sign = 1 if coefficient == number else -1
                    return sp.Add(*others, 2 * number * Logistic(2 * sign * rest.args[0]))
                if isinstance(rest, sp.erf) and abs(coefficient) == abs(number):
                    # c + c·erf(u) = c·erfc(−u); c − c·erf(u) = c·erfc(u)
                    sign = 1 if coefficient == number else -1
                    return sp.Add(*others, number * Erfc(-sign * rest.args[0]))
        return total

    return expr.replace(lambda e: isinstance(e, sp.Add), rewrite)


def step_condition(expr: sp.Piecewise) -> sp.Basic | None:
    """The condition under which a step ``(0, c), (1, True)`` or ``(1, c), (0, True)`` is 1."""
    if len(expr.args) != 2 or expr.args[1].cond != sp.true:
        return None
    values = (expr.args[0].expr, expr.args[1].expr)
    if values == (0, 1):
        return sp.Not(expr.args[0].cond)
    if values == (1, 0):
        return expr.args[0].cond
    return None


def is_step(expr: sp.Piecewise) -> bool:
    """A step with values 0 and 1: a boolean mask, which multiplies an array without changing its dtype."""
    return step_condition(expr) is not None


def kink(condition: sp.Basic) -> tuple[sp.Expr, sp.Expr, str] | None:
    """``(u, c, "below")`` for a condition ``u <= c`` or ``u < c`` (either way round), ``(u, c, "above")``
    for ``u >= c`` or ``u > c``, with c a number; None for any other condition."""
    if not isinstance(condition, (sp.LessThan, sp.StrictLessThan, sp.GreaterThan, sp.StrictGreaterThan)):
        return None
    lesser, greater = condition.lts, condition.gts
    if greater.is_number and not lesser.is_number:
        return lesser, greater, "below"
    if lesser.is_number and not greater.is_number:
        return greater, lesser, "above"
    return None


def sides_taken(conditions: list[sp.Basic]) -> list[tuple[sp.Expr, sp.Expr, str]]:
    """The kinks ``(u, c, side)`` whose side the conditions (all holding) imply: a kink that is
    one of the conditions or of their conjunctions, and a kink whose other side makes the
    conjunction false once each comparison of u with c takes its value there, the other
    comparisons read as free propositions (a nested Piecewise folds into such conditions)."""
    sides: list[tuple[sp.Expr, sp.Expr, str]] = []
    for condition in conditions:
        for part in condition.args if isinstance(condition, sp.And) else (condition,):
            edge = kink(part)
            if edge is not None and edge not in sides:
                sides.append(edge)
    whole = sp.And(*conditions)
    edges = {edge[:2] for atom in whole.atoms(sp.core.relational.Relational) if (edge := kink(atom)) is not None}
    for variable, constant in sorted(edges, key=sp.default_sort_key):
        if any(known[:2] == (variable, constant) for known in sides):
            continue
        for side, other_side_above in (("below", True), ("above", False)):
            if _false_on_side(whole, variable, constant, above=other_side_above):
                sides.append((variable, constant, side))
    return sides


def _false_on_side(condition: sp.Basic, variable: sp.Expr, constant: sp.Expr, above: bool) -> bool:
    """Whether the condition is false wherever variable > constant (``above``) or < constant."""
    values = {}
    for atom in condition.atoms(sp.core.relational.Relational):
        edge = kink(atom)
        if edge is not None and edge[:2] == (variable, constant):
            values[atom] = sp.true if (edge[2] == "above") == above else sp.false
    if not values:
        return False
    return satisfiable(_propositions(condition.xreplace(values))) is False


def _propositions(condition: sp.Basic) -> sp.Basic:
    """The condition with each comparison a proposition, a comparison and its negation (``u <= c``
    and ``u > c``) one proposition and its negation, for a satisfiability check."""
    propositions: dict[sp.Basic, sp.Basic] = {}
    replacements = {}
    for atom in sorted(condition.atoms(sp.core.relational.Relational), key=sp.default_sort_key):
        canonical, negated = atom.canonical, atom.negated.canonical
        if canonical in propositions:
            replacements[atom] = propositions[canonical]
        elif negated in propositions:
            replacements[atom] = sp.Not(propositions[negated])
        else:
            replacements[atom] = propositions[canonical] = sp.Dummy()
    return condition.xreplace(replacements)
