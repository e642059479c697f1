"""Formulas moved between forms: an index form as whole vectors, a per-sample rule as a batch one.

Contract
--------
The derivation is written per sample with column vectors; the generated code works on a batch
with samples as rows (X is m × n₀). :func:`vectorised` writes an elementwise index form in p
alone for whole vectors (ŷₚ − yₚ becomes ŷ − y); :func:`batch_form` writes a per-sample matrix
rule for the batch (v → Vᵀ, vᵀ → V, a lone column summed over the samples as Vᵀ1ₘ);
:func:`batch_vector` does the same for a vectorised formula (ŷ − y becomes Ŷ − Y). A rule with a
per-sample inner product (softmax's ⟨∇L, a⟩) has no such batch form, which
:func:`has_inner_product` detects. The results are SymPy expressions; printing is left to
:mod:`symbackprop.printing`.
"""

from __future__ import annotations

import re
from itertools import pairwise

import sympy as sp

from .. import naming
from ..naming import BATCH_SIZE
from ..printing.latex import batch_matrix


def vectorised(expr: sp.Expr) -> sp.Expr | None:
    """An elementwise index form (in p alone) as whole vectors: ŷ_p − y_p becomes ŷ − y."""
    indexed = list(expr.atoms(sp.Indexed))
    if expr.has(sp.Sum) or not indexed or any(e.indices != (naming.P,) for e in indexed):
        return None
    return expr.xreplace({e: e.base for e in indexed})


def batch_form(matrix: sp.MatrixExpr, depth: int, *, per_sample: bool) -> sp.MatrixExpr:
    """A per-sample column rule written for a batch with samples as rows.

    A column vector v of one sample becomes the row of its batch matrix V, so vᵀ → V and v → Vᵀ;
    a product δ aᵀ then sums over the samples by itself (Δᵀ A), and a lone column summed over the
    samples is Vᵀ 1ₘ. ``per_sample`` quantities (δ) are transposed instead, one row per sample.
    """
    if per_sample:
        matrix = matrix.T
    batch: dict[sp.Basic, sp.Basic] = {}
    for symbol in matrix.atoms(sp.MatrixSymbol):
        name = symbol.name
        if symbol.shape[1] != 1 or name.startswith("b"):
            continue
        letter = {
            naming.OUTPUT_GRADIENT: naming.OUTPUT_GRADIENT,
            naming.LOSS_DERIVATIVE: naming.OUTPUT_GRADIENT,
            naming.TARGET: naming.TARGET,
        }.get(name)
        if letter is None:
            letter = re.match(r"^(a|z|delta|fprime)", name).group(1)  # type: ignore[union-attr]
            k = int(name[len(letter) :])
        else:
            k = depth
        big = (
            sp.MatrixSymbol(naming.batch_name(naming.TARGET), BATCH_SIZE, symbol.shape[0])
            if letter == "y"
            else batch_matrix(letter, k, symbol.shape[0])
        )
        batch[sp.Transpose(symbol)] = big
        batch[symbol] = big.T
    result = matrix.doit().xreplace(batch).doit()
    if not per_sample and result.shape[1] == BATCH_SIZE:
        result = result * sp.OneMatrix(BATCH_SIZE, 1)
    return result


def has_inner_product(rule: sp.MatrixExpr) -> bool:
    """A per-sample inner product (softmax's ⟨∇L, a⟩) is one number per sample: transposing the
    vectors does not turn it into the batch's row-wise products, so such a rule gets no batch form."""
    for node in sp.preorder_traversal(rule):
        if isinstance(node, sp.MatMul):
            factors = [f for f in node.args if isinstance(f, sp.MatrixExpr)]
            if any(row.shape[0] == 1 and column.shape[1] == 1 for row, column in pairwise(factors)):
                return True
    return False


def batch_vector(vector: sp.Expr, depth: int) -> sp.Expr:
    """ŷ − y (whole vectors) written for the batch: Ŷ − Y."""
    replacements = {}
    for base in vector.atoms(sp.IndexedBase):
        name = base.label.name
        replacements[base] = sp.IndexedBase(naming.batch_name(name))
    return vector.xreplace(replacements)
