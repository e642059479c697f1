"""Fitting what a layer computes: the derivative a hand-written layer uses, recovered from its gradients.

Contract
--------
:func:`fitted_derivatives` is called when the catalogue of :mod:`.mutants` leaves a failing row
unexplained. For each elementwise activation of the network it makes a mutant per candidate
derivative of :mod:`.derivative_fit` (slips of the right formula, the registry's other
activations), on every layer with that activation at once and on each such layer alone (a
helper function is usually shared by the layers that use it). For a parametric activation it
estimates the parameter the code uses: every gradient depends on a layer's f′ linearly, and f′
of the registry's parametric entries on their parameter affinely, so two reruns (α = 1 and
α = 2) and a least-squares fit to the user's gradients give it; the entry at that value, rounded
to three digits, is one more candidate. Each mutant says, in the diagnosis's words, the formula
the layer computes beside the right one. Whether a candidate explains the user's gradients is
judged as for every mutant (:mod:`.diagnosis`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy
import sympy as sp

from ..naming import X
from ..printing.text import pretty
from ..registry import Activation
from .derivative_fit import Candidate, candidate_derivatives, parameter_text, with_parameter
from .judging import Run
from .mutants import Mutant, derivative_mutants, with_changes
from .reference import Array, Params, Probe, Reference

#: The variable of a printed f′: z, as users write it.
_Z = sp.Symbol("z")


def fitted_derivatives(
    reference: Reference, probe: Probe, runs: Sequence[Run], canonical: Sequence[Params]
) -> list[Mutant]:
    """Mutants with a candidate derivative in place of f′, on the layers of each elementwise activation."""
    caches = [reference.forward(probe.params, run.batch) for run in runs]
    scales = [run.scale for run in runs]
    corrects = [run.correct for run in runs]

    def mutant(layers: Sequence[int], derivative: sp.Expr, description: str) -> Mutant | None:
        try:
            made = derivative_mutants(reference, probe.params, caches, scales, layers, derivative, description)
        # A candidate the batch printer cannot print, or that needs a module the reference lacks (scipy).
        except (ArithmeticError, TypeError, ValueError, NotImplementedError, NameError):
            return None
        return with_changes(made, corrects)

    mutants = []
    for activation, layer_sets in _layers_by_activation(reference):
        for layers in layer_sets:
            where = _where(layers)
            for candidate in candidate_derivatives(activation):
                computed = f"{where} {_computes(layers)} {_formula(candidate.expr)}"
                description = f"{computed}; {_right(activation, candidate)}: {candidate.what}"
                made = mutant(layers, candidate.expr, description)
                if made is not None:
                    mutants.append(made)
            estimated = _estimated_parameter(activation, layers, mutant, canonical)
            if estimated is not None:
                mutants.append(estimated)
    return mutants


def _layers_by_activation(reference: Reference) -> Iterator[tuple[Activation, list[list[int]]]]:
    """Each elementwise activation with the layer sets to try: all its layers, then each alone."""
    layers: dict[str, list[int]] = {}
    activations: dict[str, Activation] = {}
    for k in range(1, reference.depth + 1):
        activation = reference.derivation.layer(k).activation
        if activation.jacobian.diagonal:
            layers.setdefault(activation.label, []).append(k)
            activations[activation.label] = activation
    for label, ks in layers.items():
        yield activations[label], [ks, *([[k] for k in ks] if len(ks) > 1 else [])]


def _where(layers: Sequence[int]) -> str:
    if len(layers) == 1:
        return f"layer {layers[0]}"
    return f"layers {', '.join(map(str, layers[:-1]))} and {layers[-1]}"


def _computes(layers: Sequence[int]) -> str:
    return "computes" if len(layers) == 1 else "compute"


def _formula(expr: sp.Expr) -> str:
    """``f′(z) = …`` for a formula in z, ``f′ = …`` for one in the output a."""
    written = pretty(expr.xreplace({X: _Z}))
    return f"f′(z) = {written}" if expr.has(X) or not expr.free_symbols else f"f′ = {written}"


def _right(activation: Activation, candidate: Candidate) -> str:
    written = pretty(candidate.right.xreplace({X: _Z}))
    if candidate.right.has(X) or not candidate.right.free_symbols:
        return f"{activation.label}′(z) = {written}"
    return f"{activation.label}′ = {written} with a = {activation.label}(z)"


def _estimated_parameter(
    activation: Activation,
    layers: Sequence[int],
    mutant: Callable[[Sequence[int], sp.Expr, str], Mutant | None],
    canonical: Sequence[Params],
) -> Mutant | None:
    """The mutant of the activation at the parameter value the user's gradients fit best."""
    low, high = with_parameter(activation, 1.0), with_parameter(activation, 2.0)
    if low is None or high is None:
        return None
    at_low, at_high = mutant(layers, low.derivative(), ""), mutant(layers, high.derivative(), "")
    if at_low is None or at_high is None:
        return None
    names = sorted(at_low.changed | at_high.changed)
    along, toward = 0.0, 0.0
    for user, g_low, g_high in zip(canonical, at_low.grads, at_high.grads, strict=True):
        for name in names:
            if numpy.shape(user[name]) != g_low[name].shape:
                return None
            step: Array = g_high[name] - g_low[name]
            along += float(numpy.vdot(user[name] - g_low[name], step))
            toward += float(numpy.vdot(step, step))
    if toward == 0:
        return None
    fitted = with_parameter(activation, 1.0 + along / toward)
    if fitted is None or fitted.label == activation.label:
        return None
    description = (
        f"{_where(layers)} {_computes(layers)} {activation.name}′ with {parameter_text(fitted)} where the network's"
        f" {parameter_text(activation)}: {_formula(fitted.derivative())}"
    )
    return mutant(layers, fitted.derivative(), description)
