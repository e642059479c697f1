"""The activations section: each activation's derivative worked from its definition, step by step.

Contract
--------
:func:`activation_steps` starts from the registry entry's definition f(x) (and its exponential
form, when it has one), differentiates it, and walks to the entry's derivative and to its form in
the output a = f(x); each step is shown only when :func:`~.equality.equal` finds it equal to the
one before, and a step printed as the one before is dropped. :func:`has_kink` says whether f′
jumps at :data:`KINK` (0), where the document states the convention: f′ there, the side whose
limit it takes (read off the derivative, the left one for every entry the registry admits) and
who else takes that side (:data:`CONVENTIONS`). The name is plain text; the template escapes it.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..naming import A, X
from ..printing.latex import named_function
from ..printing.linebreak import FormulaWriter
from ..registry import Activation
from .equality import equal

#: Where an activation's derivative may jump (ReLU's kink), and so where the document states f′.
KINK = 0
#: Who else takes f′ at a kink from that side: the registry's ``Piecewise`` puts the kink in its
#: first branch, so f′ at the kink is the left derivative, f′(0) = 0 for ReLU, as in PyTorch.
CONVENTIONS = {"left": "PyTorch"}


def activation_steps(activation: Activation, write: FormulaWriter) -> dict[str, Any]:
    """f′ worked from the registry's definition to its output form; each step checked equal to the last.

    The chain is: definition (and its exponential form, when it has one) → the derivative of that
    form as differentiation gives it → the registry's derivative → the output form with f(x)'s
    formula in place of a → written with f(x) → written with a.
    """
    bound = activation.bound()
    f = named_function(activation.name, activation.latex_name)
    definition = bound.expr
    # tanh(x) is defined by its exponentials; a formula around a tanh (GELU) is clearer left as it is.
    exponential = definition.rewrite(sp.exp) if isinstance(definition, sp.Function) else definition
    differentiated = sp.diff(exponential, X)
    derivative = activation.derivative()
    chain: list[sp.Expr] = [sp.Derivative(exponential, X, evaluate=False), differentiated, derivative]
    claimed = activation.derivative_in_output()
    if claimed is not None:
        # tanh(x) in place of a reads as the next step already; only a formula is worth writing in.
        if not claimed.has(sp.Piecewise) and not isinstance(definition, sp.Function):
            chain.append(claimed.subs(A, sp.UnevaluatedExpr(definition)))
        if not isinstance(definition, sp.Function):  # 1 − tanh²(x) has just been written with f already
            chain.append(claimed.xreplace({A: f(X)}))
        chain.append(claimed)

    def value(expr: sp.Expr) -> sp.Expr:
        # The named function and the output a both stand for the definition when steps are compared.
        expr = expr.doit().xreplace({A: definition})
        return expr.replace(lambda e: isinstance(e, f), lambda e: definition.xreplace({X: e.args[0]}))

    steps: list[list[str]] = []
    previous = None
    for expr in chain:
        current = value(expr)
        if previous is not None and not equal(current, previous):
            continue  # A form that SymPy cannot prove equal is not shown rather than shown unproved.
        previous = current
        lines = write.lines(expr)
        if lines not in steps:
            steps.append(lines)
    at_zero = derivative.subs(X, KINK)
    sides = one_sided_derivatives(derivative)
    side = ""
    if sides is not None:
        side = "left" if at_zero == sides[0] else "right" if at_zero == sides[1] else ""
    return {
        "name": activation.label,
        "function": write(f(X)),
        "derivative_name": write(sp.Derivative(f(X), X)),
        "definition": definition_sides(write, f, definition, exponential),
        "steps": steps,
        "kink": sides is not None and sides[0] != sides[1],
        "kink_point": write(sp.Integer(KINK)),
        # The side whose limit f′ takes at the kink: the left one for every entry the registry admits.
        "kink_side": side,
        "kink_reference": CONVENTIONS.get(side, ""),
        "at_zero": write(sp.Eq(sp.Subs(sp.Derivative(f(X), X), X, KINK), at_zero, evaluate=False)),
    }


def has_kink(derivative: sp.Expr) -> bool:
    """f′ jumps at 0 (ReLU, leaky ReLU), so a convention is needed there; ELU's does not."""
    sides = one_sided_derivatives(derivative)
    return sides is not None and sides[0] != sides[1]


def one_sided_derivatives(derivative: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """The limits of f′ from the left and from the right of :data:`KINK`; ``None`` when f′ is smooth
    there by its form (no branch, absolute value, sign or max/min)."""
    if not derivative.has(sp.Piecewise, sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min):
        return None
    # Approached through a positive ε so that each Piecewise condition decides (limit in x does not).
    epsilon = sp.Symbol("epsilon", positive=True)
    left, right = (sp.limit(derivative.xreplace({X: KINK + sign * epsilon}), epsilon, 0, "+") for sign in (-1, 1))
    return left, right


def definition_sides(write: FormulaWriter, f: type[sp.Function], definition: sp.Expr, exponential: sp.Expr) -> dict:
    """f(x) = its definition (= its exponential form), as a left side and the right sides."""
    sides: list[str] = []
    for form in (definition, exponential):
        if write(form) not in sides:
            sides.append(write(form))
    return {"lhs": write(f(X)), "sides": sides}
