"""The backward section: each layer's ∂L/∂a, δ, ∂L/∂w and ∂L/∂b, from the chain rule to the derived form.

Contract
--------
:func:`backward` gives, from the output layer back, the blocks of every layer; :func:`layer_blocks`
gives one layer's (also for Jupyter's display of a layer alone). A block is a left side, the steps
that lead to the result (each a list of printed lines) and a note that says why the step holds.
Every step is printed from the derivation's own expressions: the chain-rule form before
contraction, the contracted form, the output form; an intermediate form too wide for a line
(GELU′ inside δ) is left out, its symbol f′ₖ standing for it. A sum over a layer of at most
:data:`EXPANDED_SUM_UNITS` units is also written out term by term.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import naming
from ..contract import contract_deltas
from ..equations import squared_weights
from ..naming import L2, A
from ..printing.latex import layer_function_derivative
from ..printing.linebreak import FormulaWriter
from .equality import equal
from .symbols import derivative

if TYPE_CHECKING:
    from ..derive import Derivation, LayerDerivation

#: A sum over a layer is also written out term by term when the layer has at most this many units.
EXPANDED_SUM_UNITS = 4


def _block(lhs: str, steps: Sequence[list[str]], note: str = "") -> dict[str, Any]:
    return {"lhs": lhs, "steps": list(steps), "note": note}


def _expanded_sum(expr: sp.Expr, sizes: Sequence[int]) -> sp.Expr | None:
    """A sum over a small layer written term by term (the chain rule's total derivative)."""
    widths = {naming.width(k): size for k, size in enumerate(sizes)}
    sums = list(expr.atoms(sp.Sum))
    if not sums or any(widths.get(s.limits[0][2], EXPANDED_SUM_UNITS + 1) > EXPANDED_SUM_UNITS for s in sums):
        return None
    return expr.xreplace(widths).doit()


def _output_gradient_block(layer: LayerDerivation, write: FormulaWriter, sizes: Sequence[int] | None) -> dict[str, Any]:
    k, P, I = layer.k, naming.P, naming.I  # noqa: E741 (the equations' own index names)
    a = naming.activation_output(k)
    lhs = write(derivative(naming.LOSS, a[P]))
    if layer.is_output:
        return _block(
            lhs,
            write.steps(layer.output_gradient_chain, _loss_gradient_terms(layer), layer.output_gradient),
            "differentiating the loss; only the term $i = p$ depends on the output $p$",
        )
    z_next = naming.preactivation(k + 1)
    total = sp.Sum(derivative(naming.LOSS, z_next[I]) * derivative(z_next[I], a[P]), (I, 1, naming.width(k + 1)))
    steps = [total, layer.output_gradient_chain, layer.output_gradient]
    expanded = _expanded_sum(layer.output_gradient, sizes) if sizes is not None else None
    if expanded is not None:
        steps.append(expanded)
    return _block(
        lhs,
        write.steps(*steps),
        f"total derivative: the output $p$ feeds every unit of layer {k + 1}, so the chain rule sums over them",
    )


def _loss_gradient_terms(layer: LayerDerivation) -> sp.Expr:
    """∂L/∂ŷₚ contracted, its terms over a common denominator gathered: (1 − y)/(1 − ŷ) − y/ŷ for bce."""
    by_denominator: dict[sp.Expr, list[sp.Expr]] = {}
    for term in sp.Add.make_args(contract_deltas(layer.output_gradient_chain)):
        numerator, denominator = sp.fraction(term)
        by_denominator.setdefault(denominator, []).append(numerator)
    return sp.Add(*(sp.Add(*numerators) / denominator for denominator, numerators in by_denominator.items()))


def _shown_gradient(layer: LayerDerivation) -> sp.Expr:
    """The ∂L/∂a put into δ: a fraction over a sum (bce) shows its cancellation better term by term."""
    if layer.is_output and sp.fraction(layer.output_gradient)[1].is_Add:
        return _loss_gradient_terms(layer)
    return layer.output_gradient


def _delta_block(layer: LayerDerivation, write: FormulaWriter, targets_sum_to_one: bool) -> dict[str, Any]:
    k, P, I = layer.k, naming.P, naming.I  # noqa: E741 (the equations' own index names)
    a, z = naming.activation_output(k), naming.preactivation(k)
    lhs = write(naming.delta(k)[P])
    generic = sp.Sum(derivative(naming.LOSS, a[I]) * derivative(a[I], z[P]), (I, 1, naming.width(k)))
    steps: list[sp.Expr] = [derivative(naming.LOSS, z[P]), generic]
    dLda = naming.output_gradient(k)
    gradient = _shown_gradient(layer)
    if layer.activation.jacobian.diagonal and layer.derivative is not None:
        note = (
            r"only $i = p$ survives: an elementwise activation's output $i$ depends on its input $i$ alone,"
            f" so ${write(derivative(a[I], z[P]))} = {write(_elementwise_jacobian(k))}$"
        )
        fprime = layer_function_derivative(k)
        steps.append(dLda[P] * fprime(z[P]))
        # The derived local rule, with this layer's f′ (from the section on activations) as one factor;
        # an f′ too long for a line (GELU′) stays f′ₖ here, written out in the section on activations.
        factored = dLda[P] * layer.derivative
        local = factored if equal(factored, layer.delta_local) else layer.delta_local
        claimed = layer.activation.derivative_in_output()
        in_output = claimed.xreplace({A: a[P]}) if claimed is not None else layer.derivative
        if not write.fits(local):
            in_output = fprime(z[P]) if claimed is None else in_output
        else:
            steps.append(local)
        if claimed is not None:
            steps.append(dLda[P] * in_output)
        if in_output != 1:
            steps.append(sp.Mul(sp.UnevaluatedExpr(gradient), in_output, evaluate=False))
        if write.fits(layer.delta_output_form):
            steps.append(layer.delta_output_form)
    else:
        note = "the activation normalises over the layer, so its Jacobian is full and every output contributes"

        def substituted(shown: bool) -> sp.Expr:
            # ∂L/∂a⁽ᵏ⁾ᵢ replaced by its formula: kept in brackets to show the step, or multiplied out.
            def value(element: sp.Indexed) -> sp.Expr:
                formula = gradient.xreplace({P: element.indices[0]})
                return sp.UnevaluatedExpr(formula) if shown else formula

            return layer.delta_local.replace(lambda e: isinstance(e, sp.Indexed) and e.base == dLda, value)

        steps += [
            layer.delta_chain,
            layer.delta_local,
            substituted(True),
            contract_deltas(substituted(False)),
            layer.delta,
        ]
        if targets_sum_to_one:
            note += (
                f"; the targets sum to one, ${write(sp.Eq(sp.Sum(naming.target()[I], (I, 1, naming.width(k))), 1))}$"
            )
    return _block(lhs, write.steps(*steps), note)


def _elementwise_jacobian(k: int) -> sp.Expr:
    """∂a⁽ᵏ⁾ᵢ/∂z⁽ᵏ⁾ₚ = f′ₖ(z⁽ᵏ⁾ᵢ) δᵢₚ for an elementwise activation."""
    return layer_function_derivative(k)(naming.preactivation(k)[naming.I]) * sp.KroneckerDelta(naming.I, naming.P)


def _parameter_blocks(layer: LayerDerivation, write: FormulaWriter) -> list[dict[str, Any]]:
    k, P, Q, I = layer.k, naming.P, naming.Q, naming.I  # noqa: E741 (the equations' own index names)
    z = naming.preactivation(k)
    w, b = naming.weight(k), naming.bias(k)
    weight = sp.Sum(derivative(naming.LOSS, z[I]) * derivative(z[I], w[P, Q]), (I, 1, naming.width(k)))
    bias = sp.Sum(derivative(naming.LOSS, z[I]) * derivative(z[I], b[P]), (I, 1, naming.width(k)))
    source = write(naming.activation_output(k - 1)[Q])
    note = f"the weight ${write(w[P, Q])}$ enters unit $p$ of layer {k} only, multiplied by the input ${source}$"
    if layer.weight_gradient.has(L2):
        # The L2 term holds the weight directly; of its sum over the layers only layer k's part does.
        own = L2 / 2 * squared_weights(k)
        weight = sp.Add(weight, derivative(own, w[P, Q]), evaluate=False)
        note += (
            f"; it also enters the L2 term directly, through layer {k}'s part ${write(own)}$, whose"
            f" derivative is ${write(L2 * w[P, Q])}$ for every sample (biases are not regularised)"
        )
    return [
        _block(
            write(derivative(naming.LOSS, w[P, Q])),
            write.steps(weight, layer.weight_chain, layer.weight_gradient),
            note,
        ),
        _block(
            write(derivative(naming.LOSS, b[P])),
            write.steps(bias, layer.bias_chain, layer.bias_gradient),
            f"the bias ${write(b[P])}$ enters unit $p$ of layer {k} only, with coefficient 1",
        ),
    ]


def layer_blocks(
    layer: LayerDerivation, write: FormulaWriter, sizes: Sequence[int] | None, targets_sum_to_one: bool
) -> list[dict[str, Any]]:
    return [
        _output_gradient_block(layer, write, sizes),
        _delta_block(layer, write, targets_sum_to_one),
        *_parameter_blocks(layer, write),
    ]


def backward(derivation: Derivation, write: FormulaWriter) -> list[dict[str, Any]]:
    layers = []
    for layer in reversed(derivation.layers):
        layers.append(
            {
                "k": layer.k,
                "is_output": layer.is_output,
                "activation": layer.activation.label,
                "blocks": layer_blocks(
                    layer, write, derivation.network.sizes, derivation.network.loss.targets.sums_to_one
                ),
            }
        )
    return layers
