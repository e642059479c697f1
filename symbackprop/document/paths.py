"""The paths section: ∂L/∂w⁽¹⁾ as a sum over the paths from the weight to the loss.

Contract
--------
:func:`paths` writes ∂L/∂w⁽¹⁾_pq as sums over the units of layers 2..L of the product of the local
derivatives along each path (∂L/∂ŷ, ∂a/∂z, ∂z/∂a, ..., ∂z⁽¹⁾/∂w⁽¹⁾), and the one path through
unit 1 of every layer with each factor's formula, :data:`PATH_FACTORS_PER_LINE` factors a line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import naming
from ..printing.latex import layer_function_derivative
from ..printing.linebreak import FormulaWriter
from .symbols import derivative

if TYPE_CHECKING:
    from ..derive import Derivation

#: Factors per line in the product along a back-propagation path.
PATH_FACTORS_PER_LINE = 4


def paths(derivation: Derivation, write: FormulaWriter) -> dict[str, Any]:
    """∂L/∂w⁽¹⁾_pq as a sum over paths of products of local derivatives, and the path through unit 1."""
    depth = derivation.network.depth
    P, Q = naming.P, naming.Q
    units = {k: sp.Symbol(f"i_{k}", integer=True, positive=True) for k in range(2, depth + 1)}
    units[1] = P
    symbolic: list[sp.Expr] = [derivative(naming.LOSS, naming.activation_output(depth)[units[depth]])]
    values: list[sp.Expr] = [derivation.loss_gradient.xreplace({P: 1})]
    for k in range(depth, 0, -1):
        a, z = naming.activation_output(k), naming.preactivation(k)
        symbolic.append(derivative(a[units[k]], z[units[k]]))
        if derivation.layer(k).activation.jacobian.diagonal:
            values.append(layer_function_derivative(k)(z[1]))
        else:
            values.append(derivative(a[1], z[1]))
        if k > 1:
            symbolic.append(derivative(z[units[k]], naming.activation_output(k - 1)[units[k - 1]]))
            values.append(naming.weight(k)[1, 1])
    symbolic.append(derivative(naming.preactivation(1)[P], naming.weight(1)[P, Q]))
    values.append(naming.activation_output(0)[1])
    sums = [rf"\sum_{{{write(units[k])}=1}}^{{{write(naming.width(k))}}}" for k in range(depth, 1, -1)]

    def lines(factors: list[sp.Expr]) -> list[str]:
        # A sum among the factors (2ŷ − 2y for sse) needs brackets once it stands beside a \cdot.
        printed = [rf"\left({write(f)}\right)" if isinstance(f, sp.Add) else write(f) for f in factors]
        return [
            r" \cdot ".join(printed[start : start + PATH_FACTORS_PER_LINE])
            for start in range(0, len(printed), PATH_FACTORS_PER_LINE)
        ]

    return {
        "weight": write(naming.weight(1)[P, Q]),
        "lhs": write(derivative(naming.LOSS, naming.weight(1)[P, Q])),
        "sums": " ".join(sums),
        "symbolic": lines(symbolic),
        "path_lhs": write(derivative(naming.LOSS, naming.weight(1)[1, 1])),
        "path": lines(values),
        "layer": 1,  # the weight's layer: the first, the farthest from the loss
        "depth": depth,
        "factors": len(symbolic),
    }
