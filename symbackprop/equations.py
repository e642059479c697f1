"""Index-notation equations of each layer, with symbolic widths, as SymPy objects.

Contract
--------
:func:`build_equations` turns a :class:`~symbackprop.spec.Network` into :class:`Equations`:
for each layer k = 1..L (per sample, column vectors, indices from 1)::

    z⁽ᵏ⁾ᵢ = Σⱼ₌₁^{n_{k-1}} w⁽ᵏ⁾ᵢⱼ a⁽ᵏ⁻¹⁾ⱼ + b⁽ᵏ⁾ᵢ        a⁽ᵏ⁾ᵢ = f_k(z⁽ᵏ⁾ᵢ)

with a⁽⁰⁾ = x, ŷ = a⁽ᴸ⁾, and the per-sample loss L = scale · Σᵢ ℓ(a⁽ᴸ⁾ᵢ, yᵢ). The widths n_k are
symbols, so nothing here or downstream depends on the concrete sizes. Every symbol symbackprop
uses is made by the functions of this module, which are its one naming scheme: the printers
recognise these names, so other modules must not invent their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from .registry import Activation

if TYPE_CHECKING:
    from .spec import Network

#: Free indices of the equations (unit i of a layer, unit j of the layer before).
I, J = sp.symbols("i j", integer=True, positive=True)  # noqa: E741 (the notation's index names)
#: Free indices of the derivatives ∂L/∂w_pq, ∂L/∂b_p, δ_p.
P, Q = sp.symbols("p q", integer=True, positive=True)
#: The per-sample loss.
LOSS = sp.Symbol("L", real=True)


def width(k: int) -> sp.Symbol:
    """n_k, the number of units of layer k (k = 0 is the input)."""
    return sp.Symbol(f"n_{k}", integer=True, positive=True)


def _base(name: str) -> sp.IndexedBase:
    return sp.IndexedBase(name, real=True)


def weight(k: int) -> sp.IndexedBase:
    """w⁽ᵏ⁾, shape (n_k, n_{k-1})."""
    return _base(f"w{k}")


def bias(k: int) -> sp.IndexedBase:
    """b⁽ᵏ⁾."""
    return _base(f"b{k}")


def preactivation(k: int) -> sp.IndexedBase:
    """z⁽ᵏ⁾."""
    return _base(f"z{k}")


def activation_output(k: int) -> sp.IndexedBase:
    """a⁽ᵏ⁾; a⁽⁰⁾ is the input x."""
    return _base(f"a{k}")


def delta(k: int) -> sp.IndexedBase:
    """δ⁽ᵏ⁾ = ∂L/∂z⁽ᵏ⁾."""
    return _base(f"delta{k}")


def output_gradient(k: int) -> sp.IndexedBase:
    """∂L/∂a⁽ᵏ⁾, the quantity the chain rule brings back to layer k."""
    return _base(f"dLda{k}")


def target() -> sp.IndexedBase:
    """y, the target of one sample."""
    return _base("y")


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
    loss: sp.Eq

    def layer(self, k: int) -> LayerEquations:
        """Layer k, counted from 1 as in the notation."""
        return self.layers[k - 1]


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
    return Equations(network=network, layers=tuple(layers), loss=sp.Eq(LOSS, loss, evaluate=False))
