"""The verification section: the table of the rules checked against the derivation, and the verdict.

Contract
--------
:func:`verification` turns a :class:`~symbackprop.verify.VerificationReport` into rows of the
quantity, the rule's formula (printed from the rule itself when the rule set holds it, else the
report's text), and whether each witness (the contracted index form, the composed loss at small
concrete widths) agreed, with the report's summary: rule set, concrete widths, seed, failures,
and the working precision of the composed witness (:data:`~symbackprop.verify.DIGITS`). The
witnesses are named as the report names them (:func:`witnesses`); the rule set and the details
are plain text, which the template escapes for its format.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import naming
from ..printing.latex import escape_text
from ..printing.linebreak import FormulaWriter
from ..rules import RuleSet
from .batch import vectorised
from .symbols import column_vector, derivative

if TYPE_CHECKING:
    from ..derive import Derivation
    from ..verify import VerificationReport


def verification(
    derivation: Derivation, write: FormulaWriter, report: VerificationReport, rules: RuleSet
) -> dict[str, Any]:
    from ..verify import DIGITS, SymbolicView

    view = SymbolicView(derivation)
    names = witnesses()
    rows = []
    for row in report.rows:
        rule = (
            next(r for r in rules.rules if r.name == row.rule) if any(r.name == row.rule for r in rules.rules) else None
        )
        formula = write(rule.build(view, row.layer)) if rule is not None else escape_text(row.formula)
        quantity = _quantity(row.target, row.layer, write)
        gradient = vectorised(derivation.layer(row.layer).output_gradient)
        if formula == quantity and row.target == "loss_gradient" and gradient is not None:
            # The rule ∇_ŷL is the loss's own derivative: the formula checked is the derived one.
            formula = write.elementwise(gradient)
        rows.append(
            {
                "layer": row.layer,
                "quantity": quantity,
                "rule": formula,
                "verdicts": [getattr(row, name).ok for name in names],
                "ok": row.ok,
                "detail": "; ".join(getattr(row, name).detail for name in names if getattr(row, name).detail),
            }
        )
    return {
        "rows": rows,
        "witnesses": list(names),
        "ok": report.ok,
        "rule_set": report.rule_set,
        "concrete": "-".join(map(str, report.concrete_sizes)),
        "digits": DIGITS,
        "seed": report.seed,
        "failures": len(report.failures),
    }


def witnesses() -> tuple[str, ...]:
    """The names of the witnesses, in order: the fields of a :class:`~symbackprop.verify.RuleCheck`
    that hold a :class:`~symbackprop.verify.Witness` (``symbolic``, ``composed``)."""
    from ..verify import RuleCheck, Witness

    return tuple(field.name for field in fields(RuleCheck) if field.type in (Witness, Witness.__name__))


def _quantity(target: str, k: int, write: FormulaWriter) -> str:
    if target == "loss_gradient":
        return write(sp.MatrixSymbol(naming.OUTPUT_GRADIENT, naming.width(k), 1))
    if target in ("output_delta", "hidden_delta"):
        return write(column_vector("delta", k))
    if target == "bias":
        return write(derivative(naming.LOSS, column_vector("b", k)))
    return write(
        derivative(naming.LOSS, sp.MatrixSymbol(naming.vector_name("w", k), naming.width(k), naming.width(k - 1)))
    )
