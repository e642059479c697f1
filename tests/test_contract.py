"""Kronecker-delta contraction on its own, and the canonical form used to compare sums.

The oracle for each symbolic identity is the same sum written out at a concrete width."""

from __future__ import annotations

import pytest
import sympy as sp

from symbackprop.contract import canonical, contract_deltas

i, j, p, q = sp.symbols("i j p q", integer=True, positive=True)
n, m = sp.symbols("n m", integer=True, positive=True)
c, w, a = sp.IndexedBase("c"), sp.IndexedBase("w"), sp.IndexedBase("a")
t = sp.Symbol("t", real=True)
delta = sp.KroneckerDelta


def _at_width(expr: sp.Expr, width: int, free: dict[sp.Symbol, int]) -> sp.Expr:
    """``expr`` with n = m = width, free indices set and every sum written out."""
    return expr.subs({n: width, m: width}).doit().subs(free).doit()


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (sp.Sum(c[i] * delta(i, p), (i, 1, n)), c[p]),
        (sp.Sum(delta(p, i) * c[i], (i, 1, n)), c[p]),
        (sp.Sum(c[i] * delta(i, p) + 3 * c[i] * delta(i, p), (i, 1, n)), 4 * c[p]),
        (sp.Sum(t * delta(i, p) * sp.exp(c[i]), (i, 1, n)), t * sp.exp(c[p])),
        # Nested: ∂(Σᵢ Σⱼ wᵢⱼ aⱼ)/∂w_pq
        (sp.Sum(sp.Sum(delta(i, p) * delta(j, q) * a[j], (j, 1, m)), (i, 1, n)), a[q]),
        (sp.Sum(c[i] * sp.Sum(w[i, j] * delta(j, q), (j, 1, m)), (i, 1, n)), sp.Sum(c[i] * w[i, q], (i, 1, n))),
        # A term free of the index is multiplied by the number of terms.
        (sp.Sum(t, (i, 1, n)), n * t),
        (sp.Sum(c[i] * delta(i, p) + t, (i, 1, n)), c[p] + n * t),
        # A factor free of the index moves out of the sum that remains.
        (sp.Sum(t * c[i] ** 2, (i, 1, n)), t * sp.Sum(c[i] ** 2, (i, 1, n))),
        # A delta that meets no sum over its indices stays.
        (c[p] * delta(p, q), c[p] * delta(p, q)),
        (sp.Sum(c[i] * delta(p, q), (i, 1, n)), delta(p, q) * sp.Sum(c[i], (i, 1, n))),
    ],
)
def test_contract_deltas(expr: sp.Expr, expected: sp.Expr) -> None:
    contracted = contract_deltas(expr)
    assert not contracted.has(sp.KroneckerDelta) or expected.has(sp.KroneckerDelta)
    assert sp.expand(contracted - expected) == 0
    for width in (1, 3):
        for free in ({p: 1, q: 1}, {p: width, q: 1}, {p: 1, q: width}):
            assert sp.expand(_at_width(contracted - expr, width, free)) == 0


def test_piecewise_branches_carrying_the_same_delta_meet_their_sum() -> None:
    # ∂ReLU(zᵢ)/∂z_p = Piecewise((0, zᵢ ≤ 0), (δᵢₚ, True)); summed with cᵢ it is c_p f′(z_p).
    z = sp.IndexedBase("z", real=True)
    expr = sp.Sum(c[i] * sp.Piecewise((0, z[i] <= 0), (delta(i, p), True)), (i, 1, n))
    contracted = contract_deltas(expr)
    assert not contracted.has(sp.KroneckerDelta)
    assert sp.piecewise_fold(contracted) == sp.piecewise_fold(c[p] * sp.Piecewise((0, z[p] <= 0), (1, True)))


def test_piecewise_with_different_deltas_is_left_alone() -> None:
    z = sp.IndexedBase("z", real=True)
    piecewise = sp.Piecewise((delta(i, q), z[i] <= 0), (delta(i, p), True))
    assert contract_deltas(piecewise) == piecewise


def test_contraction_does_not_depend_on_the_width_symbol() -> None:
    # The same routine serves every layer: only the limits differ.
    for upper in (n, m, sp.Integer(7)):
        assert contract_deltas(sp.Sum(c[i] * delta(i, p), (i, 1, upper))) == c[p]


def test_canonical_renames_summation_indices() -> None:
    first = sp.Sum(c[i] * w[i, p], (i, 1, n))
    second = sp.Sum(w[j, p] * c[j], (j, 1, n))
    assert first != second
    assert canonical(first) == canonical(second)
    assert canonical(first) != canonical(sp.Sum(c[i] * w[i, q], (i, 1, n)))


def test_canonical_renames_nested_indices_by_depth() -> None:
    first = sp.Sum(sp.Sum(c[i] * w[i, j] * a[j], (j, 1, m)), (i, 1, n))
    second = sp.Sum(sp.Sum(c[j] * w[j, i] * a[i], (i, 1, m)), (j, 1, n))
    assert canonical(first) == canonical(second)


def test_canonical_contracts_first() -> None:
    assert canonical(sp.Sum(c[i] * delta(i, p), (i, 1, n)) + c[p]) == 2 * c[p]
