"""Whether two forms of a formula in x are equal, decided quickly and the same way on every run.

Contract
--------
:func:`equal` is true when the difference of the two forms expands to 0, or, when it is a
function of x alone, when it vanishes to 30 digits at every point of :data:`CHECK_POINTS` (both
sides of 0, where a kink would be, and away from 0 itself). The document shows a step only when
it is equal to the one before, so a form SymPy cannot prove equal is left out rather than shown
unproved. ``simplify`` would prove more but can run for minutes (GELU's tanh against its
exponential form).
"""

from __future__ import annotations

import sympy as sp

from ..naming import X

#: Where two forms of an activation's derivative are compared when expansion does not show them
#: equal: both sides of 0 (a kink), away from 0 itself, at 30 digits.
CHECK_POINTS = tuple(sp.Rational(n, 10) for n in (-25, -7, -3, 4, 11, 19))
CHECK_DIGITS = 30


def equal(first: sp.Expr, second: sp.Expr) -> bool:
    """Equal by expansion, or at every check point to 30 digits.

    ``simplify`` would prove more but can run for minutes (GELU's tanh against its exponential
    form); the points are fixed, so a document is the same on every run.
    """
    difference = first - second
    if sp.expand(difference) == 0:
        return True
    if difference.free_symbols - {X}:
        return False
    tolerance = sp.Float(10) ** (5 - CHECK_DIGITS)
    for point in CHECK_POINTS:
        value = sp.N(difference.xreplace({X: point}), CHECK_DIGITS)
        if not value.is_number or not abs(value) < tolerance:
            return False
    return True
