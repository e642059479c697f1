"""The matrix section: the rules the verification checked, for one sample and for a batch.

Contract
--------
:func:`matrix` gives, from the output layer back, each layer's matrix-form rules of a
:class:`~symbackprop.rules.RuleSet` (∇_ŷL, δ⁽ᴸ⁾ or δ⁽ᵏ⁾, ∂L/∂b⁽ᵏ⁾, ∂L/∂W⁽ᵏ⁾) as built for the
layer, the derived elementwise form beside it when it fits on a line, and both written for a
batch with samples as rows (:mod:`.batch`), the 1/m of the mean loss set in Δ⁽ᴸ⁾ once. An
elementwise activation whose derivative has a form in its output (σ′ = a ⊙ (1 − a)) also gets
that form for the whole layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import naming
from ..naming import BATCH_LOSS, BATCH_SIZE, A
from ..printing.latex import batch_matrix, escape_text
from ..printing.linebreak import LINE_GLYPHS, FormulaWriter, glyphs
from ..rules import RuleSet, layer_targets
from .batch import batch_form, batch_vector, has_inner_product, vectorised
from .symbols import column_vector, derivative

if TYPE_CHECKING:
    from ..derive import Derivation

#: The batch line of a rule and its derived form: the glyph estimate leaves out the spacing of
#: its operators, and this line holds more of them (1/m twice, two ⊙), so it is allowed less.
_BATCH_LINE_GLYPHS = LINE_GLYPHS - 10


def matrix_target(target: str, k: int) -> tuple[sp.Expr, sp.Expr]:
    """What a rule gives, for one sample and for the batch: ∇_ŷL and ∂J/∂Ŷ, δ and Δ, ∂L/∂W and ∂J/∂W …"""
    if target == "loss_gradient":
        return (
            sp.MatrixSymbol(naming.OUTPUT_GRADIENT, naming.width(k), 1),
            derivative(BATCH_LOSS, batch_matrix("a", k, naming.width(k))),
        )
    if target in ("output_delta", "hidden_delta"):
        return column_vector("delta", k), batch_matrix("delta", k, naming.width(k))
    if target == "bias":
        return derivative(naming.LOSS, column_vector("b", k)), derivative(BATCH_LOSS, column_vector("b", k))
    weights = sp.MatrixSymbol(naming.vector_name("w", k), naming.width(k), naming.width(k - 1))
    return derivative(naming.LOSS, weights), derivative(BATCH_LOSS, weights)


def matrix(derivation: Derivation, write: FormulaWriter, rules: RuleSet) -> list[dict[str, Any]]:
    from ..verify import SymbolicView

    view = SymbolicView(derivation)
    depth = derivation.network.depth
    rows = []
    for layer in reversed(derivation.layers):
        k = layer.k
        equations = []
        for target in layer_targets(layer.is_output, bp_order=True):
            rule = rules.rule_for(target, layer.activation)
            if rule is None:
                continue
            built = rule.build(view, k)
            sample_lhs, batch_lhs = matrix_target(target, k)
            lhs = write(sample_lhs)
            derived = {"loss_gradient": layer.output_gradient, "output_delta": layer.delta_output_form}.get(target)
            vector = vectorised(derived) if derived is not None else None
            # ∇_ŷL's rule is the symbol itself; its formula is the derived one, written for whole vectors.
            sides = [tex for tex in [write(built)] if tex != lhs]
            mean = target in ("loss_gradient", "output_delta")
            batch_forms: list[sp.Expr] = []
            if not has_inner_product(built):
                batch_forms.append(batch_form(built, depth, per_sample=target not in ("bias", "weight")))
            # A derived form too long for the line, for one sample or beside the rule for the batch
            # (GELU′ written out), is left to the index form above.
            if vector is not None:
                batch_line = [write.elementwise(_batch(form, mean)) for form in batch_forms]
                batch_line.append(write.elementwise(_batch(batch_vector(vector, depth), mean)))
                if not (write.fits(write.elementwise(vector)) and glyphs(" = ".join(batch_line)) <= _BATCH_LINE_GLYPHS):
                    vector = None
            if vector is not None:
                sides.append(write.elementwise(vector))
                batch_forms.append(batch_vector(vector, depth))
            batch_forms = [_batch(form, mean) for form in batch_forms]
            equations.append(
                {
                    "rule": escape_text(rule.name) if rule.name.isascii() else "",
                    "lhs": lhs,
                    "sides": sides,
                    "batch_lhs": write(batch_lhs),
                    "batch_sides": [write.elementwise(form) for form in batch_forms],
                }
            )
        fprime = None
        claimed = layer.activation.derivative_in_output()
        if layer.activation.jacobian.diagonal and claimed is not None and not claimed.has(sp.Piecewise):
            # f′ of the whole layer in its cached output, elementwise (σ′ = a ⊙ (1 − a)).
            fprime = {
                "lhs": write(sp.MatrixSymbol(naming.derivative_name(k), naming.width(k), 1)),
                "rhs": write.elementwise(claimed.xreplace({A: naming.activation_output(k)})),
            }
        rows.append({"k": k, "equations": equations, "fprime": fprime})
    return rows


def _batch(form: sp.Expr, mean: bool) -> sp.Expr:
    """A batch form with the 1/m of the mean loss where it belongs (∂J/∂Ŷ and Δ⁽ᴸ⁾), once."""
    if not mean:
        return form
    return form / BATCH_SIZE if isinstance(form, sp.MatrixExpr) else sp.UnevaluatedExpr(form) / BATCH_SIZE
