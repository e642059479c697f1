"""Candidate derivatives: what a hand-written layer may compute in place of its activation's f′.

Contract
--------
:func:`candidate_derivatives` lists, for an elementwise activation, the derivatives that
hand-written back-propagation computes instead of the right one, each a SymPy expression in
z (:data:`~symbackprop.naming.X`) and in a = f(z) (:data:`~symbackprop.naming.A`), with what it
is in words and the right formula it departs from:

* slips of the right formula, generated from its expression (in z, and in a where the registry
  gives one): a square dropped (1 − tanh z for 1 − tanh² z), the sign of a term flipped inside a
  sum (a(1 + a) for a(1 − a)), and a step or kink moved from 0 to ±1 (ReLU′ as z > 1);
* the derivatives of the registry's other elementwise activations;
* for a parametric activation, :func:`with_parameter` gives the entry at another value of its
  parameter (a slope of 0.01 where α = 0.1; eᶻ, an ELU′ with α = 1), which the diagnosis
  estimates from the user's gradients.

Nothing here is numeric: :mod:`.mutants` evaluates the candidates with the reference's printer,
and :mod:`.diagnosis` keeps the one that explains the user's gradients.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import sympy as sp

from ..errors import SpecError
from ..naming import X
from ..registry import ACTIVATIONS, Activation, format_number


@dataclass(frozen=True)
class Candidate:
    """A derivative a layer may compute instead of f′, in z (X) and a (A)."""

    expr: sp.Expr
    #: What it is, in words: "the square is missing", "relu′, another activation's derivative".
    what: str
    #: The right formula it departs from (f′ in z, or in a).
    right: sp.Expr


def _pow_twos(expr: sp.Expr) -> list[sp.Pow]:
    return [node for node in sp.preorder_traversal(expr) if isinstance(node, sp.Pow) and node.exp == 2]


def _flippable_terms(expr: sp.Expr) -> Iterator[tuple[sp.Add, sp.Expr]]:
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Add):
            for term in node.args:
                if not term.is_number:
                    yield node, term


def _slips(right: sp.Expr) -> Iterator[Candidate]:
    """The slips of one formula of f′."""
    for power in _pow_twos(right):
        yield Candidate(right.xreplace({power: power.base}), "the square is missing", right)
    for total, term in _flippable_terms(right):
        flipped = total.func(*[-t if t == term else t for t in total.args])
        sign = "+ for −" if term.could_extract_minus_sign() else "− for +"
        yield Candidate(right.xreplace({total: flipped}), f"a sign flipped, {sign}", right)
    if right.has(sp.Piecewise):
        for shift in (1, -1):
            moved = right.xreplace({X: X - shift})
            yield Candidate(moved, f"its step at {shift} instead of at 0", right)


@functools.lru_cache(maxsize=64)
def candidate_derivatives(activation: Activation) -> tuple[Candidate, ...]:
    """The derivatives a layer with ``activation`` may compute instead of f′ (elementwise only)."""
    right = activation.derivative()
    forms = [right]
    in_output = activation.derivative_in_output()
    if in_output is not None:
        forms.append(in_output)
    candidates = [slip for form in forms for slip in _slips(form)]
    for other in ACTIVATIONS.values():
        if other.jacobian.diagonal and other.name != activation.name:
            candidates.append(Candidate(other.derivative(), f"{other.label}′, another activation's derivative", right))
    return tuple(_distinct(candidates, right))


def _distinct(candidates: list[Candidate], right: sp.Expr) -> Iterator[Candidate]:
    seen = {right}
    for candidate in candidates:
        if candidate.expr not in seen:
            seen.add(candidate.expr)
            yield candidate


def with_parameter(activation: Activation, value: float) -> Activation | None:
    """The activation with its one parameter set to ``value`` rounded to three significant
    digits (None when it has no single parameter, or the value is out of its range)."""
    if len(activation.parameters) != 1:
        return None
    rounded = sp.Rational(sp.nsimplify(float(f"{value:.3g}"), rational=True))
    try:
        return activation.with_parameters(rounded)
    except SpecError:
        return None


def parameter_text(activation: Activation) -> str:
    """``α = 0.1``: the activation's one parameter and its value."""
    ((symbol, value),) = activation.parameters
    return f"{sp.pretty(symbol, use_unicode=True)} = {format_number(value)}"
