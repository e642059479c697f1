"""Kronecker-delta contraction of index-notation sums, and a canonical form for comparing them.

Contract
--------
``sympy.diff`` of an index-notation expression by an indexed symbol leaves ``KroneckerDelta``
factors inside ``Sum`` objects (∂wᵢⱼ/∂w_pq = δᵢₚδⱼq), which SymPy does not simplify reliably.
:func:`contract_deltas` removes them: ``Σᵢ cᵢ δᵢₚ = c_p``. Every free index is taken to range over
the same units as the summation index it meets, which holds for every sum symbackprop builds (a
derivative by w⁽ᵏ⁾_pq has p over layer k's units). Factors that do not depend on the summation
index are moved out of the sum, and terms free of it are multiplied by the number of terms.

:func:`canonical` gives two expressions that differ only in the names of their summation indices
the same form, so that index-form results can be compared by subtraction, and :func:`is_zero`
decides whether such a difference vanishes identically (SymPy's simplify only where
:func:`integer_exponentials` says it finishes).
"""

from __future__ import annotations

import sympy as sp


def contract_deltas(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every Kronecker delta that meets a sum over one of its indices contracted."""
    if not expr.args or isinstance(expr, (sp.Indexed, sp.IndexedBase, sp.KroneckerDelta)):
        return expr
    if isinstance(expr, sp.Sum):
        summand = contract_deltas(expr.function)
        for index, lower, upper in expr.limits:
            summand = _contract_one(summand, index, lower, upper)
        return summand
    if isinstance(expr, sp.Piecewise):
        return _pull_delta_out_of_piecewise(sp.Piecewise(*((contract_deltas(e), c) for e, c in expr.args)))
    return expr.func(*(contract_deltas(arg) for arg in expr.args))


def _contract_one(summand: sp.Expr, index: sp.Symbol, lower: sp.Expr, upper: sp.Expr) -> sp.Expr:
    result = sp.Integer(0)
    for term in sp.Add.make_args(summand):
        if not term.has(index):
            result += term * (upper - lower + 1)
            continue
        factors = sp.Mul.make_args(_delta_out_of_sums(term))
        delta = next((f for f in factors if _delta_partner(f, index) is not None), None)
        if delta is not None:
            rest = sp.Mul(*(f for f in factors if f is not delta))
            result += rest.xreplace({index: _delta_partner(delta, index)})
            continue
        expanded = sp.expand_mul(term)
        if expanded != term:
            # A delta inside a sum that does not carry it in every term: multiplied out, each term
            # meets the sum on its own.
            result += _contract_one(expanded, index, lower, upper)
            continue
        outside = sp.Mul(*(f for f in factors if not f.has(index)))
        inside = sp.Mul(*(f for f in factors if f.has(index)))
        result += outside * sp.Sum(inside, (index, lower, upper))
    return result


def _delta_out_of_sums(term: sp.Expr) -> sp.Expr:
    """A product with every factor that is a sum whose terms all carry the same delta written as
    that delta times the sum without it: f′(g)·(uδᵢₚ + vδᵢₚ) → δᵢₚ·f′(g)·(u + v). The chain rule
    gives such sums, and pulling the delta out keeps f′ as it is instead of multiplying it out."""
    factors = []
    for factor in sp.Mul.make_args(term):
        summands = sp.Add.make_args(factor) if isinstance(factor, sp.Add) else ()
        common = _common_delta(summands)
        if common is None:
            factors.append(factor)
        else:
            factors += [common, sp.Add(*(_delta_out_of_sums(t / common) for t in summands))]
    return sp.Mul(*factors)


def _common_delta(terms: tuple[sp.Expr, ...]) -> sp.Expr | None:
    if not terms:
        return None
    deltas = [
        {f for f in sp.Mul.make_args(_delta_out_of_sums(term)) if isinstance(f, sp.KroneckerDelta)} for term in terms
    ]
    shared = set.intersection(*deltas)
    return min(shared, key=sp.default_sort_key) if shared else None


def _delta_partner(factor: sp.Expr, index: sp.Symbol) -> sp.Expr | None:
    """The other index of a Kronecker delta δ(index, other), if ``factor`` is one."""
    if not isinstance(factor, sp.KroneckerDelta):
        return None
    first, second = factor.args
    if first == index and not second.has(index):
        return second
    if second == index and not first.has(index):
        return first
    return None


def _pull_delta_out_of_piecewise(expr: sp.Piecewise) -> sp.Expr:
    """Piecewise((0, c), (2zδᵢₚ + δᵢₚ, True)) → δᵢₚ·Piecewise((0, c), (2z + 1, True)), so the delta
    can meet its sum; left alone unless every term of every branch is zero or carries the same
    delta (a smooth term plus a kink, ``x**2 + max(0, x)``, has the delta in each branch's terms)."""
    deltas: set[sp.Expr] = set()
    branches = [(sp.expand_mul(branch), condition) for branch, condition in expr.args]
    for branch, _ in branches:
        for term in sp.Add.make_args(branch):
            if term != 0:
                deltas |= {f for f in sp.Mul.make_args(term) if isinstance(f, sp.KroneckerDelta)}
    if len(deltas) != 1:
        return expr
    (delta,) = deltas
    pulled = []
    for branch, condition in branches:
        terms = [t for t in sp.Add.make_args(branch) if t != 0]
        if any(delta not in sp.Mul.make_args(t) for t in terms):
            return expr
        pulled.append((sp.Add(*(t / delta for t in terms)), condition))
    return delta * sp.Piecewise(*pulled)


def canonical(expr: sp.Expr) -> sp.Expr:
    """``expr`` with its deltas contracted and its summation indices renamed by nesting depth."""
    return _rename_dummies(sp.expand_mul(contract_deltas(expr)), 0)


def _rename_dummies(expr: sp.Expr, depth: int) -> sp.Expr:
    if not expr.args or isinstance(expr, (sp.Indexed, sp.IndexedBase)):
        return expr
    if isinstance(expr, sp.Sum):
        summand = expr.function
        limits = []
        for offset, (index, lower, upper) in enumerate(expr.limits):
            fresh = sp.Symbol(f"_s{depth + offset}", integer=True, positive=True)
            summand = summand.xreplace({index: fresh})
            limits.append((fresh, lower, upper))
        return sp.Sum(_rename_dummies(summand, depth + len(limits)), *limits)
    return expr.func(*(_rename_dummies(arg, depth) for arg in expr.args))


def integer_exponentials(expr: sp.Expr) -> bool:
    """Whether every exponential has integer multiples of its variables: to simplify and factor,
    exp(-1.702x) is exp(-x/500)**851, a polynomial of degree 851 they do not finish with."""
    return all(
        all(coefficient.is_Integer for coefficient, _ in (term.as_coeff_Mul() for term in sp.Add.make_args(e.args[0])))
        for e in expr.atoms(sp.exp)
    )


def is_zero(difference: sp.Expr) -> bool:
    """Whether an index-form difference is identically zero: :func:`multiplies_out_to_zero`, or
    simplified, where that finishes."""
    return multiplies_out_to_zero(difference) or (integer_exponentials(difference) and sp.simplify(difference) == 0)


def multiplies_out_to_zero(difference: sp.Expr) -> bool:
    """Whether a difference is zero multiplied out; or, for a Piecewise, folded and multiplied out,
    or branch by branch, where every branch is zero or cannot be taken (nested kinks fold into
    combinations of conditions that exclude each other). Cheap, and a proof when it says yes."""
    if sp.expand_mul(difference) == 0:
        return True
    if difference.has(sp.Piecewise):
        folded = sp.piecewise_fold(difference)
        return sp.expand_mul(folded) == 0 or (isinstance(folded, sp.Piecewise) and _every_branch_zero(folded))
    return False


def _every_branch_zero(folded: sp.Piecewise) -> bool:
    taken_before: sp.Basic = sp.false
    for branch, condition in folded.args:
        if sp.expand_mul(branch) != 0 and not _never(sp.And(condition, sp.Not(taken_before))):
            return False
        taken_before = sp.Or(taken_before, condition)
    return True


def _never(condition: sp.Basic) -> bool:
    """Whether a condition on one indexed quantity (z⁽ᵏ⁾[p] ≤ −3 ∧ z⁽ᵏ⁾[p] > 3) holds for no real value."""
    if condition == sp.false:
        return True
    quantities = condition.atoms(sp.Indexed)
    if len(quantities) != 1:
        return False
    value = sp.Dummy("v", real=True)
    on_value = condition.xreplace({quantities.pop(): value})
    if on_value.free_symbols != {value}:
        return False
    try:
        return on_value.as_set() == sp.EmptySet
    except (NotImplementedError, TypeError, ValueError):
        return False
