"""The mathematics code generation adds to a derivation: concrete widths, the batch loss, and the
loss written in the output layer's pre-activation.

Contract: plain functions from SymPy expressions to SymPy expressions, shared by every code target.
The batch loss is the mean of the per-sample losses, so 1/m multiplies the output δ once; the L2
term (λ/2) Σₖ ‖W⁽ᵏ⁾‖² holds no sample, so it is added to that mean once (:func:`batch_penalty`),
and λ is the module constant :data:`~symbackprop.naming.L2_CONSTANT` in generated code
(:func:`in_code`); the loss used for training is the registry's loss with the output activation
substituted and its logarithms expanded (:func:`loss_from_preactivation`), which the printers' stable rules make
stable. A test proves it equal to the registry's loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from .. import naming
from ..naming import L2
from ..printing.numpy import BatchTotal

if TYPE_CHECKING:
    from ..derive import Derivation
    from ..spec import Network


def substitute_widths(expr: sp.Expr, network: Network) -> sp.Expr:
    """expr with every width symbol n_k replaced by the network's concrete size."""
    return expr.xreplace({naming.width(k): size for k, size in enumerate(network.sizes)})


def loss_from_preactivation(derivation: Derivation) -> sp.Expr:
    """The per-sample loss written in the output layer's pre-activation z⁽ᴸ⁾: the registry's loss
    with a⁽ᴸ⁾ = f(z⁽ᴸ⁾) substituted and each logarithm expanded (log(e^u / Σ e^v) = u − log Σ e^v,
    log(1 − σ(u)) = −u − log(1 + e^{−u})), so that the printer's stable rules (softplus,
    logsumexp) apply. Equal to the registry's loss; a test proves it."""
    network = derivation.network
    depth = network.depth
    output = derivation.equations.layer(depth)
    loss = derivation.equations.loss.rhs
    a, z = naming.activation_output(depth), naming.preactivation(depth)
    substituted = loss.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == a,
        lambda e: output.activation.index_form(z, e.indices[0], naming.J, naming.width(depth)),
    )
    if not loss.has(sp.log):
        return substituted
    expanded = substituted.replace(
        lambda e: isinstance(e, sp.log),
        lambda e: sp.expand_log(sp.log(sp.together(e.args[0])), force=True),
    )
    # Multiplied out, the terms cancel to the short form (bce: log(1 + e^z) − y·z).
    return expanded.replace(
        lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == naming.I,
        lambda e: sp.Sum(sp.expand(e.function), *e.limits),
    )


def in_code(expr: sp.Expr) -> sp.Expr:
    """expr with λ written as the generated module's constant :data:`~symbackprop.naming.L2_CONSTANT`."""
    return expr.xreplace({L2: naming.L2_CONSTANT})


def batch_penalty(derivation: Derivation) -> sp.Expr:
    """The L2 term of the batch loss, (λ/2) Σₖ Σᵢⱼ (w⁽ᵏ⁾ᵢⱼ)², each layer's sum a total over its
    weight matrix, with λ as in code; 0 for a network without it."""
    total = derivation.equations.regularizer.replace(
        lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == naming.I,
        lambda e: BatchTotal(e.function),
    )
    return in_code(total)


def batch_loss(per_sample: sp.Expr) -> sp.Expr:
    """The mean over the batch of a per-sample loss ``scale · Σᵢ term``: its outer sum over the
    units becomes a sum over the whole batch, divided by m."""
    total = per_sample.replace(
        lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == naming.I,
        lambda e: BatchTotal(e.function),
    )
    return total / naming.BATCH_SIZE


def numbers_out_of_sums(product: sp.Expr) -> sp.Expr:
    """A product with the common number of each sum factor taken out, ``(2a − 2y)·s/2`` →
    ``(a − y)·s``, so that a training step multiplies by one scalar once instead of per term."""
    factors = []
    for factor in sp.Mul.make_args(product):
        if isinstance(factor, sp.Add):
            content, factor = factor.primitive()
            factors.append(content)
        factors.append(factor)
    return sp.Mul(*factors)
