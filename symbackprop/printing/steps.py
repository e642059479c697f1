"""One step of back-propagation, ``lhs = rhs``, as a readable line and as LaTeX (for the checker's reports)."""

from __future__ import annotations

import sympy as sp

from ..naming import LOSS
from .latex import equation
from .text import ReadablePrinter, equation_text


def step_text(lhs: sp.Expr, rhs: sp.Expr, *, gradient: bool) -> tuple[str, str]:
    """``lhs = rhs`` as :func:`~.text.equation_text` and :func:`~.latex.equation` write it; with
    ``gradient`` the left side is ∂L/∂lhs (an element of a weight or a bias)."""
    if not gradient:
        return equation_text(lhs, rhs), equation(lhs, rhs)
    written = ReadablePrinter({"superscripts": False}).doprint(lhs)
    return equation_text(f"∂L/∂{written}", rhs), equation(sp.Derivative(LOSS, lhs), rhs)
