"""Index-notation equations of each layer, with symbolic widths, as SymPy objects.

Contract
--------
:func:`build_equations` turns a :class:`~symbackprop.spec.Network` into :class:`Equations`:
for each layer k = 1..L (per sample, column vectors, indices from 1)::

    z⁽ᵏ⁾ᵢ = Σⱼ₌₁^{n_{k-1}} w⁽ᵏ⁾ᵢⱼ a⁽ᵏ⁻¹⁾ⱼ + b⁽ᵏ⁾ᵢ        a⁽ᵏ⁾ᵢ = f_k(z⁽ᵏ⁾ᵢ)

with a⁽⁰⁾ = x, ŷ = a⁽ᴸ⁾, and the per-sample loss L = scale · Σᵢ ℓ(a⁽ᴸ⁾ᵢ, yᵢ) + R, where R is the
network's L2 term (:attr:`Equations.regularizer`)::

    R = (λ/2) Σₖ Σᵢ Σⱼ (w⁽ᵏ⁾ᵢⱼ)²        (0 for a network without l2; biases are not regularised)

with λ the symbol :data:`L2`; the network's number replaces it only in generated code. R does not
depend on the sample, so the mean over a batch of L is the mean data loss plus R, and the 1/m of
the mean never touches R. :attr:`Equations.loss` keeps the data term alone (the part that reads
the predictions), and :attr:`Equations.objective` is the whole L. The widths n_k are symbols, so
nothing here or downstream depends on the concrete sizes. Every symbol symbackprop uses is made by
:mod:`symbackprop.naming`, except λ, defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from .naming import (
    L2,
    LOSS,
    I,
    J,
    P,
    Q,
    activation_output,
    bias,
    delta,
    output_gradient,
    preactivation,
    target,
    weight,
    width,
)
from .registry import Activation

if TYPE_CHECKING:
    from .spec import Network

# The symbols the equations are written in, also reachable from here (eq.weight(2)[eq.I, eq.J]).
__all__ = [
    "L2",
    "LOSS",
    "I",
    "J",
    "P",
    "Q",
    "Equations",
    "LayerEquations",
    "activation_output",
    "bias",
    "build_equations",
    "delta",
    "output_gradient",
    "preactivation",
    "target",
    "weight",
    "width",
]


@dataclass(frozen=True)
class LayerEquations:
    """The forward equations of layer k, with free index i."""

    k: int
    activation: Activation
    size: int
    z: sp.Eq
    a: sp.Eq

    @property
    def width(self) -> sp.Symbol:
        return width(self.k)


@dataclass(frozen=True)
class Equations:
    """The index-notation equations of a whole network and its per-sample loss."""

    network: Network
    layers: tuple[LayerEquations, ...]
    #: The data term of the per-sample loss, L = scale · Σᵢ ℓ(a⁽ᴸ⁾ᵢ, yᵢ).
    loss: sp.Eq
    #: The L2 term R = (λ/2) Σₖ Σᵢⱼ (w⁽ᵏ⁾ᵢⱼ)², or 0.
    regularizer: sp.Expr

    def layer(self, k: int) -> LayerEquations:
        """Layer k, counted from 1 as in the notation."""
        return self.layers[k - 1]

    @property
    def objective(self) -> sp.Eq:
        """The whole per-sample loss, L = data term + R."""
        return sp.Eq(LOSS, self.loss.rhs + self.regularizer, evaluate=False)


def build_equations(network: Network) -> Equations:
    """The forward equations of every layer and the loss, in index notation."""
    layers = []
    for k, (size, activation) in enumerate(zip(network.sizes[1:], network.activations, strict=True), start=1):
        weighted = sp.Sum(weight(k)[I, J] * activation_output(k - 1)[J], (J, 1, width(k - 1)))
        layers.append(
            LayerEquations(
                k=k,
                activation=activation,
                size=size,
                z=sp.Eq(preactivation(k)[I], weighted + bias(k)[I], evaluate=False),
                a=sp.Eq(
                    activation_output(k)[I], activation.index_form(preactivation(k), I, J, width(k)), evaluate=False
                ),
            )
        )
    depth = network.depth
    loss = network.loss.index_form(activation_output(depth), target(), I, width(depth))
    return Equations(
        network=network,
        layers=tuple(layers),
        loss=sp.Eq(LOSS, loss, evaluate=False),
        regularizer=regularizer(network.depth) if network.l2 else sp.Integer(0),
    )


def regularizer(depth: int) -> sp.Expr:
    """(λ/2) Σₖ Σᵢ Σⱼ (w⁽ᵏ⁾ᵢⱼ)² over the weights of layers 1..depth."""
    return L2 / 2 * sp.Add(*(squared_weights(k) for k in range(1, depth + 1)))


def squared_weights(k: int) -> sp.Expr:
    """Σᵢ Σⱼ (w⁽ᵏ⁾ᵢⱼ)², the squared Frobenius norm of W⁽ᵏ⁾."""
    return sp.Sum(weight(k)[I, J] ** 2, (I, 1, width(k)), (J, 1, width(k - 1)))
