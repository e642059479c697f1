"""Plain and unicode text of expressions and derivations.

Contract: :class:`ReadablePrinter` is the one printer of readable mathematics, one expression on
one line (Σⱼ w⁽²⁾[i, j]⋅a⁽¹⁾[j] + b⁽²⁾[i], [a⁽²⁾[p] > 0]⋅∂L/∂a⁽²⁾[p]). :func:`pretty_derivation`
prints with it, one equation a line, for each layer from the input up, the index-form forward
equations, then ∂L/∂a⁽ᵏ⁾ₚ, δ⁽ᵏ⁾ₚ (in the output form code generation uses), ∂L/∂w⁽ᵏ⁾ₚq and
∂L/∂b⁽ᵏ⁾ₚ; ``symbackprop derive`` prints it. :func:`pretty` prints one expression the same way,
and :func:`equation_text` one equation for a generated code comment, with the layer as a suffix
(w2[p, q]) as the code's array names have it instead of a superscript (w⁽²⁾[p, q]). The one-line
:func:`plain` of reports and messages is SymPy's own form, with layer superscripts.
:func:`source_text` writes an expression in x in the grammar of :mod:`symbackprop.exprparse`,
so that parsing the text gives the expression back. :func:`interval_text` writes a range of
values as a reader does, ``(0, 1)`` or ``[0, ∞)``, for messages and generated docstrings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy as sp
from sympy.core.mul import _keep_coeff
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from .. import naming
from ..naming import L2, parse_name

if TYPE_CHECKING:
    from ..derive import Derivation

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LETTERS = {"w": "w", "b": "b", "z": "z", "a": "a", "delta": "δ", "dLda": "∂L/∂a"}


def layer_superscript(k: int) -> str:
    """The layer mark of the notation, ``⁽³⁾`` for layer 3."""
    return f"⁽{str(k).translate(_SUPERSCRIPT)}⁾"


def _base_name(name: str, superscripts: bool) -> str:
    """The reader's name of a base made by :mod:`symbackprop.naming`: ``w⁽²⁾`` (``w2`` without
    superscripts), ``δ⁽²⁾``, ``∂L/∂a⁽²⁾``, and ``x`` for a⁽⁰⁾; any other name unchanged."""
    parsed = parse_name(name)
    if parsed is None:
        return name
    letter, k = parsed
    if letter == "a" and k == 0:
        return "x"
    return _LETTERS.get(letter, letter) + (layer_superscript(k) if superscripts else str(k))


def _for_display(expr: sp.Basic) -> sp.Basic:
    bases = {b for b in expr.atoms(sp.IndexedBase)}
    return expr.xreplace(
        {L2: naming.L2_DISPLAYED, **{b: sp.IndexedBase(_base_name(b.label.name, True)) for b in bases}}
    )


_SUBSCRIPT_LETTERS = str.maketrans("aehijklmnoprstuvx", "ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_RELATIONS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
_WIDTH = re.compile(r"^n_\d+$")
# The order of the factors of a product: numbers, weights, plain symbols, everything else, and last
# the back-propagated factor (δ, ∂L/∂a, or a sum of them), so that a product reads w⋅a, w⋅δ,
# a⋅(1 - a) and f′(z)⋅∂L/∂a as in the notation.
_NUMBER, _WEIGHT, _PLAIN, _COMPOUND, _BACKPROPAGATED = range(5)


class ReadablePrinter(StrPrinter):
    """An expression on one line as a reader writes it: the one printer of ``symbackprop derive``
    (:func:`pretty`) and of the generated modules' comments (:func:`equation_text`).

    Products join with ⋅, whole powers are superscripts (``a[p]²``), ``√`` a square root, ``|u|``
    the absolute value; ``Σᵢ u`` sums over all the units of the layer that i indexes (another range
    is written out); a piecewise of values 0 and 1 is an Iverson bracket, ``[a2[p] > 0]``, and any
    other ``{u if c; v otherwise}``. Sums come before the other terms (Σⱼ w[i, j]⋅a[j] + b[i]), a
    positive term before a negative one (y[i] - a[i]), and a minus sign out of a sum. The setting
    ``superscripts`` chooses the layer mark of the names of :mod:`symbackprop.naming`: ``w⁽²⁾``
    (derivations) or ``w2`` (comments beside code whose arrays are W2, A2).
    """

    printmethod = "_readable"
    _default_settings = {**StrPrinter._default_settings, "superscripts": True}

    def __init__(self, settings: dict[str, object] | None = None) -> None:
        super().__init__(settings)
        #: Whether an Iverson bracket was printed, so that a text can say what [c] means.
        self.printed_iverson = False

    def parenthesize(self, item: sp.Basic, level: int, strict: bool = False) -> str:
        # A sum binds as a product (Σⱼ w⋅a + b); a piecewise brings its own brackets.
        if isinstance(item, sp.Sum):
            prec = PRECEDENCE["Mul"]
        elif isinstance(item, sp.Piecewise):
            prec = PRECEDENCE["Atom"]
        else:
            prec = precedence(item)
        if prec < level or (not strict and prec <= level):
            return f"({self._print(item)})"
        return self._print(item)

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return sp.pretty(expr, use_unicode=True)  # n_3 as n₃, alpha as α

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "π"

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "ℯ"

    def _print_Infinity(self, expr: sp.Expr) -> str:
        return "∞"

    def _print_NegativeInfinity(self, expr: sp.Expr) -> str:
        return "-∞"

    def _print_IndexedBase(self, expr: sp.IndexedBase) -> str:
        return _base_name(expr.label.name, self._settings["superscripts"])

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        return f"{self._print(expr.base)}[{', '.join(self._print(index) for index in expr.indices)}]"

    def _print_Equality(self, expr: sp.Eq) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_Relational(self, expr: sp.Rel) -> str:
        level = PRECEDENCE["Relational"]
        return f"{self.parenthesize(expr.lhs, level)} {_RELATIONS[expr.rel_op]} {self.parenthesize(expr.rhs, level)}"

    def _print_And(self, expr: sp.And) -> str:
        return " ∧ ".join(self.parenthesize(argument, PRECEDENCE["And"]) for argument in expr.args)

    def _print_Or(self, expr: sp.Or) -> str:
        return " ∨ ".join(self.parenthesize(argument, PRECEDENCE["Or"]) for argument in expr.args)

    def _print_Not(self, expr: sp.Not) -> str:
        return "¬" + self.parenthesize(expr.args[0], PRECEDENCE["Not"])

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Max(self, expr: sp.Max) -> str:
        return f"max({', '.join(self._print(argument) for argument in expr.args)})"

    def _print_Min(self, expr: sp.Min) -> str:
        return f"min({', '.join(self._print(argument) for argument in expr.args)})"

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list[sp.Basic]:
        terms = super()._as_ordered_terms(expr, order=order)
        # The L2 term last, after the loss's own terms it is added to: δ⋅a + λ⋅w.
        return sorted(
            terms,
            key=lambda term: (_has_l2(term), not term.has(sp.Sum), bool(term.could_extract_minus_sign())),
        )

    def _print_Mul(self, expr: sp.Mul) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient.is_negative:
            return "-" + self.parenthesize(_keep_coeff(-coefficient, rest), PRECEDENCE["Mul"], strict=True)
        numerator: list[sp.Basic] = []
        denominator: list[sp.Basic] = []
        for factor in sp.Mul.make_args(expr):
            if factor.is_Pow and factor.is_commutative and factor.exp.as_coeff_Mul()[0] < 0:
                denominator.append(sp.Pow(factor.base, -factor.exp))
            elif factor.is_Rational:
                numerator += [sp.Integer(factor.p)] if factor.p != 1 else []
                denominator += [sp.Integer(factor.q)] if factor.q != 1 else []
            else:
                numerator.append(factor)
        numerator.sort(key=_factor_kind)
        incoming = [factor for factor in numerator if _factor_kind(factor) == _BACKPROPAGATED]
        if incoming and denominator and len(incoming) < len(numerator):
            # f′(z)⋅∂L/∂a: the local derivative as one fraction, then the gradient it multiplies.
            local = self._fraction([factor for factor in numerator if factor not in incoming], denominator)
            return "⋅".join([f"({local})", *(self.parenthesize(factor, PRECEDENCE["Mul"]) for factor in incoming)])
        return self._fraction(numerator, denominator)

    def _fraction(self, numerator: list[sp.Basic], denominator: list[sp.Basic]) -> str:
        level = PRECEDENCE["Mul"]
        top = "⋅".join(self.parenthesize(factor, level) for factor in numerator) or "1"
        if len(denominator) == 0:
            return top
        if len(denominator) == 1:
            return f"{top}/{self.parenthesize(denominator[0], level)}"
        return f"{top}/({'⋅'.join(self.parenthesize(factor, level) for factor in denominator)})"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exponent = expr.base, expr.exp
        if exponent.is_Number and exponent < 0:
            return self._fraction([], [sp.Pow(base, -exponent)])
        if exponent == sp.S.Half:
            bare = base.is_Symbol or base.is_Integer or base.is_NumberSymbol or isinstance(base, sp.Indexed)
            return "√" + (self._print(base) if bare else f"({self._print(base)})")
        level = PRECEDENCE["Pow"]
        if exponent.is_Integer and exponent > 1:
            return self.parenthesize(base, level) + str(exponent).translate(_SUPERSCRIPT)
        return f"{self.parenthesize(base, level)}^{self.parenthesize(exponent, level)}"

    def _print_Sum(self, expr: sp.Sum) -> str:
        body = expr.function
        if isinstance(body, (sp.Add, sp.Mul)) and body.could_extract_minus_sign():
            return "-" + self._print(sp.Sum(-body, *expr.limits))
        text = self.parenthesize(body, PRECEDENCE["Mul"], strict=True)  # Σⱼ w⋅a, Σᵢ (y - a)
        for index, lower, upper in reversed(expr.limits):
            name = self._print(index)
            if lower == 1 and (upper.is_Integer or (upper.is_Symbol and _WIDTH.match(upper.name))):
                subscript = name.translate(_SUBSCRIPT_LETTERS)
                text = f"Σ{subscript if subscript != name else '_' + name} {text}"
            else:
                text = f"Σ({name} = {self._print(lower)}..{self._print(upper)}) {text}"
        return text

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        branches = list(expr.args)
        # (u, c), (Piecewise((v, d), (w, True)), True) reads as the one piecewise (u, c), (v, d), (w, True).
        while isinstance(branches[-1].expr, sp.Piecewise) and branches[-1].cond == sp.true:
            branches = branches[:-1] + list(branches[-1].expr.args)
        values = [branch.expr for branch in branches]
        if len(values) > 1 and set(values) <= {sp.S.Zero, sp.S.One} and values.count(sp.S.One) == 1:
            # 1 where the branch of value 1 is the first whose condition holds.
            chosen = values.index(sp.S.One)
            conditions = [sp.Not(branch.cond) for branch in branches[:chosen]] + [branches[chosen].cond]
            self.printed_iverson = True
            return f"[{self._conjunction([c for c in conditions if c != sp.true])}]"
        cases = [
            f"{self._print(branch.expr)} "
            + ("otherwise" if branch.cond == sp.true else f"if {self._print(branch.cond)}")
            for branch in branches
        ]
        return "{" + "; ".join(cases) + "}"

    def _conjunction(self, conditions: list[sp.Basic]) -> str:
        """``c₁ ∧ c₂``, written ``a < u ≤ b`` for a lower and an upper bound of the same u."""
        if len(conditions) == 2 and all(isinstance(c, _INEQUALITIES) for c in conditions):
            first, second = conditions
            if second.gts == first.lts:
                first, second = second, first
            if first.gts == second.lts:
                level = PRECEDENCE["Relational"]
                sides = [self.parenthesize(side, level) for side in (first.lts, first.gts, second.gts)]
                return f"{sides[0]} {_strictness(first)} {sides[1]} {_strictness(second)} {sides[2]}"
        return " ∧ ".join(self.parenthesize(c, PRECEDENCE["And"]) for c in conditions) or "True"


_INEQUALITIES = (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)


def _strictness(inequality: sp.Rel) -> str:
    return "<" if isinstance(inequality, (sp.StrictLessThan, sp.StrictGreaterThan)) else "≤"


def _has_l2(expr: sp.Basic) -> bool:
    """Whether expr holds λ, the L2 coefficient (as the equations write it, or as displayed)."""
    return expr.has(L2, naming.L2_DISPLAYED)


def _factor_kind(factor: sp.Basic) -> int:
    """Where a factor goes in a product (see :data:`_NUMBER` ... :data:`_BACKPROPAGATED`)."""
    if factor.is_number or _has_l2(factor) and factor.is_Symbol:
        return _NUMBER  # a coefficient, λ included, before the quantities: λ⋅w
    kinds = {parsed[0] for base in factor.atoms(sp.IndexedBase) if (parsed := parse_name(base.label.name))}
    if kinds & {"delta", "dLda"}:
        return _BACKPROPAGATED
    if isinstance(factor, sp.Indexed):
        return _WEIGHT if kinds == {"w"} else _PLAIN
    return _PLAIN if factor.is_Symbol else _COMPOUND


def pretty(expr: sp.Basic) -> str:
    """One expression or equation on one line, with layer superscripts, as ``symbackprop
    derive`` prints it (:class:`ReadablePrinter`)."""
    return ReadablePrinter().doprint(expr)


def interval_text(values: sp.Set) -> str:
    """A set of reals on one line in the usual notation: ``(0, 1)``, ``[0, ∞)``, ``ℝ``."""
    return sp.pretty(values, use_unicode=True).replace("\n", " ")


def plain(expr: sp.Basic) -> str:
    """One expression on one line, with layer superscripts, for messages and reports."""
    return sp.sstr(_for_display(expr))


class _SourcePrinter(StrPrinter):
    """The names of :mod:`symbackprop.exprparse` where SymPy's own differ (abs, e, max, min)."""

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        # The parser's max(a, b) is Piecewise((a, b <= a), (b, True)), min(a, b) the same with
        # a <= b; SymPy may turn the condition around (0 <= x becomes x >= 0), so it is read by its
        # lesser and greater sides.
        if len(expr.args) == 2 and expr.args[1].cond == sp.true:
            (first, condition), (second, _) = expr.args
            if isinstance(condition, (sp.LessThan, sp.GreaterThan)):
                sides = (condition.lts, condition.gts)
                if sides == (second, first):
                    return f"max({self._print(first)}, {self._print(second)})"
                if sides == (first, second):
                    return f"min({self._print(first)}, {self._print(second)})"
        raise ValueError(f"no max/min form for {sp.sstr(expr)}")

    def _print_Max(self, expr: sp.Max) -> str:
        return self._nested("max", expr.args)

    def _print_Min(self, expr: sp.Min) -> str:
        return self._nested("min", expr.args)

    def _nested(self, name: str, arguments: tuple[sp.Expr, ...]) -> str:
        # The grammar's max and min take two arguments; max(a, b, c) is max(max(a, b), c).
        text = self._print(arguments[0])
        for argument in arguments[1:]:
            text = f"{name}({text}, {self._print(argument)})"
        return text


def source_text(expr: sp.Expr, *, means: sp.Expr | None = None) -> str | None:
    """``expr`` as text that :func:`symbackprop.exprparse.parse_expression` turns back into it (or
    into ``means``, when given), or ``None`` when the grammar cannot write it (a function outside
    its whitelist)."""
    from ..errors import ExpressionError
    from ..exprparse import parse_expression

    try:
        text = _SourcePrinter().doprint(expr)
        return text if parse_expression(text) == (expr if means is None else means) else None
    except (ValueError, ExpressionError):
        return None


def pretty_derivation(derivation: Derivation) -> str:
    """The whole derivation as text, layer by layer, one equation a line."""
    network = derivation.network
    printer = ReadablePrinter()

    def equation(label: str, expr: sp.Expr) -> str:
        return f"{label} = {printer.doprint(expr)}"

    lines = [f"Network {network.compact}", "", equation(str(naming.LOSS), derivation.equations.objective.rhs), ""]
    for layer_equations, layer in zip(derivation.equations.layers, derivation.layers, strict=True):
        k = layer.k
        role = "output layer" if layer.is_output else "hidden layer"
        mark = layer_superscript(k)
        units = "unit" if layer_equations.size == 1 else "units"
        lines.append(f"Layer {k}: {layer.activation.label}, {role}, {layer_equations.size} {units}")
        lines.append(printer.doprint(layer_equations.z))
        lines.append(printer.doprint(layer_equations.a))
        lines.append(equation(f"∂L/∂a{mark}[p]", layer.output_gradient))
        lines.append(equation(f"δ{mark}[p]", layer.delta_output_form))
        lines.append(equation(f"∂L/∂w{mark}[p, q]", layer.weight_gradient))
        lines.append(equation(f"∂L/∂b{mark}[p]", layer.bias_gradient))
        lines.append("")
    lines.append("(p indexes the n_k units of layer k, q those of layer k-1, and each Σ runs over all the units of")
    iverson = "; [c] is 1 where c holds and 0 elsewhere" if printer.printed_iverson else ""
    lines.append(f"a layer{iverson}; {naming.LOSS} is the per-sample loss)")
    return "\n".join(lines)


def equation_text(lhs: sp.Expr | str, rhs: sp.Expr) -> str:
    """``lhs = rhs`` on one line for a code comment, printed as ``symbackprop derive`` prints it
    (:class:`ReadablePrinter`) but with the layer as a suffix (δ2, ∂L/∂a2, w2), as in the code's
    array names; a⁽⁰⁾ is x."""
    printer = ReadablePrinter({"superscripts": False})
    left = lhs if isinstance(lhs, str) else printer.doprint(lhs)
    return f"{left} = {printer.doprint(rhs)}"
