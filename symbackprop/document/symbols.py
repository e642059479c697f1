"""The matrix symbols and unevaluated derivatives the sections of the document print.

Contract
--------
:func:`column_vector` is one layer's quantity (a⁽ᵏ⁾, z⁽ᵏ⁾, b⁽ᵏ⁾, δ⁽ᵏ⁾) as an n_k × 1
``MatrixSymbol``, named as :mod:`symbackprop.printing.latex` recognises it; :func:`derivative`
is ∂of/∂by left unevaluated, to be printed as written.
"""

from __future__ import annotations

import sympy as sp

from .. import naming


def column_vector(kind: str, k: int) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(naming.vector_name(kind, k), naming.width(k), 1)


def derivative(of: sp.Expr, by: sp.Expr) -> sp.Derivative:
    return sp.Derivative(of, by, evaluate=False)
