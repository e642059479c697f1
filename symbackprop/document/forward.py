"""The forward section: each layer's equations, for one sample and for a batch, and the loss.

Contract
--------
:func:`forward` gives, for every layer, the index-form equations of z⁽ᵏ⁾ᵢ and a⁽ᵏ⁾ᵢ from
:mod:`symbackprop.equations`, the same as column vectors, the batch form
Z⁽ᵏ⁾ = A⁽ᵏ⁻¹⁾W⁽ᵏ⁾ᵀ + 1ₘb⁽ᵏ⁾ᵀ, and the per-sample loss (with the network's L2 term, if it has
one) with the batch loss J, their mean. Each equation is a pair of printed sides, for the
templates to align at the equals sign; ``l2`` is λ printed and its value ("" without the term).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import naming
from ..naming import BATCH_LOSS, BATCH_SIZE, L2, X
from ..printing.latex import batch_matrix, layer_function
from ..printing.linebreak import FormulaWriter
from .symbols import column_vector

if TYPE_CHECKING:
    from ..derive import Derivation


def forward(derivation: Derivation, write: FormulaWriter) -> dict[str, Any]:
    layers = []
    for layer in derivation.equations.layers:
        k = layer.k
        weights = sp.MatrixSymbol(naming.vector_name("w", k), naming.width(k), naming.width(k - 1))
        z_vector = weights * column_vector("a", k - 1) + column_vector("b", k)
        batch_z = (
            batch_matrix("a", k - 1, naming.width(k - 1)) * weights.T
            + sp.OneMatrix(BATCH_SIZE, 1) * column_vector("b", k).T
        )
        function = layer_function(k)
        layers.append(
            {
                "k": k,
                "index": [_sides(write, equation.lhs, equation.rhs) for equation in (layer.z, layer.a)],
                "range": rf"{write(naming.I)} = 1, \dots, {write(naming.width(k))}",
                "matrix": [
                    _sides(write, column_vector("z", k), z_vector),
                    _sides(write, column_vector("a", k), function(naming.preactivation(k))),
                    _sides(write, batch_matrix("z", k, naming.width(k)), batch_z),
                ],
                "activation": derivation.network.activations[k - 1].latex_name,
                "function": write(function(X)),
            }
        )
    sample = sp.Symbol("s", integer=True, positive=True)
    loss = derivation.equations.objective
    l2 = derivation.network.l2
    return {
        "layers": layers,
        "loss": [
            _sides(write, loss.lhs, loss.rhs),
            _sides(
                write, BATCH_LOSS, sp.Sum(sp.IndexedBase(naming.LOSS)[sample], (sample, 1, BATCH_SIZE)) / BATCH_SIZE
            ),
        ],
        "loss_name": derivation.network.loss.latex_name,
        "l2": {"symbol": write(L2), "value": repr(l2)} if l2 else None,
    }


def _sides(write: FormulaWriter, lhs: sp.Basic, rhs: sp.Basic) -> dict[str, str]:
    """An equation as its two printed sides, for the templates to align at the equals sign."""
    return {"lhs": write(lhs), "rhs": write(rhs)}
