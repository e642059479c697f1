"""Plain and unicode text of expressions and derivations.

Contract: :func:`pretty_derivation` lists, for each layer from the input up, the index-form
forward equations, then ∂L/∂a⁽ᵏ⁾ₚ, δ⁽ᵏ⁾ₚ (in the output form code generation uses),
∂L/∂w⁽ᵏ⁾ₚq and ∂L/∂b⁽ᵏ⁾ₚ; ``symbackprop derive`` prints it. Indexed symbols are shown with layer
superscripts (w⁽²⁾[p, q]), in :func:`pretty` and in the one-line :func:`plain` of reports.
:func:`source_text` writes an expression in x in the grammar of :mod:`symbackprop.exprparse`,
so that parsing the text gives the expression back. :func:`interval_text` writes a range of
values as a reader does, ``(0, 1)`` or ``[0, ∞)``, for messages and generated docstrings, and
:func:`equation_text` one equation on one line for a generated code comment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp
from sympy.printing.str import StrPrinter

from .. import naming
from ..naming import parse_name

if TYPE_CHECKING:
    from ..derive import Derivation

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LETTERS = {"w": "w", "b": "b", "z": "z", "a": "a", "delta": "δ", "dLda": "∂L/∂a"}


def layer_superscript(k: int) -> str:
    """The layer mark of the notation, ``⁽³⁾`` for layer 3."""
    return f"⁽{str(k).translate(_SUPERSCRIPT)}⁾"


def _display_base(name: str) -> str:
    parsed = parse_name(name)
    if parsed is None:
        return name
    letter, k = parsed
    if letter == "a" and k == 0:
        return "x"
    return f"{_LETTERS[letter]}{layer_superscript(k)}"


def _for_display(expr: sp.Basic) -> sp.Basic:
    bases = {b for b in expr.atoms(sp.IndexedBase)}
    return expr.xreplace({b: sp.IndexedBase(_display_base(b.label.name)) for b in bases})


def pretty(expr: sp.Basic) -> str:
    """One expression or equation in unicode, with layer superscripts."""
    return sp.pretty(_for_display(expr), use_unicode=True, wrap_line=False)


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


def _labelled(label: str, expr: sp.Expr) -> str:
    body = pretty(expr).splitlines()
    middle = len(body) // 2 if len(body) > 1 else 0
    pad = " " * (len(label) + 3)
    return "\n".join((f"{label} = " if row == middle else pad) + line for row, line in enumerate(body))


def pretty_derivation(derivation: Derivation) -> str:
    """The whole derivation as text, layer by layer."""
    network = derivation.network
    lines = [f"Network {network.compact}", "", _labelled("L", derivation.equations.loss.rhs), ""]
    for layer_equations, layer in zip(derivation.equations.layers, derivation.layers, strict=True):
        k = layer.k
        role = "output layer" if layer.is_output else "hidden layer"
        sup = str(k).translate(_SUPERSCRIPT)
        units = "unit" if layer_equations.size == 1 else "units"
        lines.append(f"Layer {k}: {layer.activation.label}, {role}, {layer_equations.size} {units}")
        lines.append(pretty(layer_equations.z))
        lines.append(pretty(layer_equations.a))
        lines.append(_labelled(f"∂L/∂a⁽{sup}⁾[p]", layer.output_gradient))
        lines.append(_labelled(f"δ⁽{sup}⁾[p]", layer.delta_output_form))
        lines.append(_labelled(f"∂L/∂w⁽{sup}⁾[p, q]", layer.weight_gradient))
        lines.append(_labelled(f"∂L/∂b⁽{sup}⁾[p]", layer.bias_gradient))
        lines.append("")
    lines.append(f"(p indexes the n_k units of layer k, q those of layer k-1; {naming.LOSS} is the per-sample loss)")
    return "\n".join(lines)


_COMMENT_NAMES = {"delta": "δ", "dLda": "∂L/∂a"}


def equation_text(lhs: sp.Expr | str, rhs: sp.Expr) -> str:
    """``lhs = rhs`` on one line for a code comment, with δ and ∂L/∂a spelled out and a⁽⁰⁾ as x."""

    def shown(expr: sp.Expr) -> str:
        renamed = {}
        for base in expr.atoms(sp.IndexedBase):
            parsed = parse_name(base.label.name)
            if parsed is None:
                continue
            letter, k = parsed
            name = "x" if (letter, k) == ("a", 0) else f"{_COMMENT_NAMES.get(letter, letter)}{k}"
            renamed[base] = sp.IndexedBase(name)
        return sp.sstr(expr.xreplace(renamed))

    left = lhs if isinstance(lhs, str) else shown(lhs)
    return f"{left} = {shown(rhs)}"
