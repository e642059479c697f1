"""Unicode text of a derivation, for a terminal: ``symbackprop derive`` prints this.

Contract: :func:`pretty_derivation` lists, for each layer from the input up, the index-form
forward equations, then ∂L/∂a⁽ᵏ⁾ₚ, δ⁽ᵏ⁾ₚ (in the output form code generation uses),
∂L/∂w⁽ᵏ⁾ₚq and ∂L/∂b⁽ᵏ⁾ₚ. Indexed symbols are shown with layer superscripts (w⁽²⁾[p, q]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from .. import equations as eq

if TYPE_CHECKING:
    from ..derive import Derivation

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LETTERS = {"w": "w", "b": "b", "z": "z", "a": "a", "delta": "δ", "dLda": "∂L/∂a"}


def _display_base(name: str) -> str:
    from . import parse_name

    parsed = parse_name(name)
    if parsed is None:
        return name
    letter, k = parsed
    if letter == "a" and k == 0:
        return "x"
    return f"{_LETTERS[letter]}⁽{str(k).translate(_SUPERSCRIPT)}⁾"


def _for_display(expr: sp.Basic) -> sp.Basic:
    bases = {b for b in expr.atoms(sp.IndexedBase)}
    return expr.xreplace({b: sp.IndexedBase(_display_base(b.label.name)) for b in bases})


def pretty(expr: sp.Basic) -> str:
    """One expression or equation in unicode, with layer superscripts."""
    return sp.pretty(_for_display(expr), use_unicode=True, wrap_line=False)


def _labelled(label: str, expr: sp.Expr) -> str:
    body = pretty(expr).splitlines()
    middle = len(body) // 2 if len(body) > 1 else 0
    pad = " " * (len(label) + 3)
    return "\n".join((f"{label} = " if row == middle else pad) + line for row, line in enumerate(body))


def pretty_derivation(derivation: Derivation) -> str:
    """The whole derivation as text, layer by layer."""
    network = derivation.network
    lines = [f"Network {network.compact}", "", _labelled("L", derivation.equations.loss.rhs), ""]
    for layer_equations, layer in zip(derivation.equations.layers, derivation.layers):
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
    lines.append(f"(p indexes the n_k units of layer k, q those of layer k-1; {eq.LOSS} is the per-sample loss)")
    return "\n".join(lines)
