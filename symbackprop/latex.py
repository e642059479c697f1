"""The step-by-step back-propagation document of a derivation, as LaTeX (and PDF) or Markdown.

Contract
--------
:func:`document_context` turns a :class:`~symbackprop.derive.Derivation` into plain data for the
templates: every formula in it was printed by :mod:`symbackprop.printing.latex` from the
derivation's own expressions (the chain-rule forms before contraction, the contracted forms, the
output forms), from the registry entries (each activation's derivative is worked from its
definition by SymPy, step by step, each step checked equal to the one before) and from the
matrix-form rules the verification checked. The templates only loop and insert.

* :func:`render_latex` fills ``templates/derivation.tex.j2``: a full document (``standalone``)
  or a fragment to ``\\input`` (its first lines list the packages it needs);
* :func:`render_markdown` fills ``templates/derivation.md.j2`` with ``$...$`` / ``$$...$$``
  math that GitHub and Jupyter (MathJax) render; it has no figure (TikZ does not render there);
* :func:`compile_pdf` runs ``latexmk`` or ``pdflatex`` and reports overfull boxes;
* :func:`layer_latex` is the display math of one layer, for Jupyter's ``_repr_latex_``.

``sections`` chooses parts among :data:`SECTIONS` (in document order, whatever order is given);
``notation`` is a name of :data:`~symbackprop.printing.latex.NOTATIONS`. Widths stay symbolic
(n_k) in every formula, so a 512-wide layer prints as narrow as a 2-wide one; only the figure
uses the concrete widths, and it draws at most :data:`FIGURE_UNITS` units per layer. A formula
wider than :data:`LINE_GLYPHS` is broken before a + or −; an intermediate form that still cannot
fit (GELU′ inside δ) is left out, its symbol f′ₖ standing for it, so no line runs off the page.
A chain's step is a list of lines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp

from . import equations as eq
from .contract import contract_deltas
from .errors import SymbackpropError
from .exprparse import X
from .printing.latex import (
    BATCH_LOSS,
    BATCH_SIZE,
    DEFAULT_NOTATION,
    NOTATIONS,
    BackpropLatexPrinter,
    Notation,
    batch_matrix,
    escape_text,
    layer_function,
    layer_function_derivative,
    named_function,
)
from .registry import A, Activation
from .rules import TEXTBOOK, RuleSet
from .templating import render

if TYPE_CHECKING:
    from .derive import Derivation, LayerDerivation
    from .verify import VerificationReport

#: The parts of the document, in order; ``--sections`` takes a comma-separated subset.
SECTIONS = ("network", "forward", "activations", "backward", "matrix", "paths", "verification")
FORMATS = ("latex", "markdown")
#: Units drawn per layer in the figure; wider layers show the first ones, a ⋮, and the last.
FIGURE_UNITS = 5
#: A sum over a layer is also written out term by term when the layer has at most this many units.
EXPANDED_SUM_UNITS = 4
#: Factors per line in the product along a back-propagation path.
PATH_FACTORS_PER_LINE = 4
INSTALL_HINT = (
    "install TeX Live (Debian/Ubuntu: sudo apt-get install latexmk texlive-latex-base texlive-latex-recommended"
    " texlive-latex-extra texlive-pictures; macOS: brew install --cask mactex-no-gui; Windows: MiKTeX),"
    " or compile the .tex file elsewhere"
)


class LatexError(SymbackpropError):
    """The document cannot be made as asked (an unknown section or notation, a failed compile)."""


class LatexToolMissing(LatexError):
    """Neither latexmk nor pdflatex is installed."""


@dataclass(frozen=True)
class CompiledPdf:
    """A compiled document: the PDF and the overfull boxes TeX reported, in points."""

    pdf: Path
    overfull_hboxes: tuple[float, ...]
    log: str


def resolve_sections(sections: str | Iterable[str] | None) -> tuple[str, ...]:
    """The sections asked for, in document order; a comma-separated string is accepted."""
    if sections is None:
        return SECTIONS
    names = [s.strip() for s in sections.split(",")] if isinstance(sections, str) else [s.strip() for s in sections]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise LatexError(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if not names:
        raise LatexError(f"no section chosen; choose from {', '.join(SECTIONS)}")
    return tuple(name for name in SECTIONS if name in names)


def resolve_notation(notation: str | Notation) -> Notation:
    if isinstance(notation, Notation):
        return notation
    if notation not in NOTATIONS:
        raise LatexError(f"unknown notation '{notation}'; choose from {', '.join(NOTATIONS)}")
    return NOTATIONS[notation]


class _Writer:
    """The printer of one document, with the network depth so that a⁽ᴸ⁾ prints as ŷ."""

    def __init__(self, notation: Notation, depth: int | None) -> None:
        self.notation = notation
        self.depth = depth
        self._printer = BackpropLatexPrinter({"notation": notation, "depth": depth})
        self._hadamard = BackpropLatexPrinter({"notation": notation, "depth": depth, "hadamard": True})

    def __call__(self, expr: sp.Basic) -> str:
        return self._printer.doprint(expr)

    def elementwise(self, expr: sp.Basic) -> str:
        return self._hadamard.doprint(expr)

    def fits(self, printed: str | sp.Basic) -> bool:
        """Whether a formula fits on one line of the page beside its left side."""
        return _glyphs(printed if isinstance(printed, str) else self(printed)) <= LINE_GLYPHS

    def lines(self, expr: sp.Basic) -> list[str]:
        """A formula on one line, or a long sum broken before a + or − (GELU′ is three lines wide)."""
        tex = self(expr)
        if self.fits(tex) or not isinstance(expr, sp.Add):
            return [tex]
        lines: list[str] = []
        for term in self._printer._as_ordered_terms(expr):
            negative = term.could_extract_minus_sign()
            printed = self(-term if negative and lines else term)
            if self._printer._needs_add_brackets(-term if negative and lines else term):
                printed = rf"\left({printed}\right)"
            sign = ("- " if negative else "+ ") if lines else ""
            if lines and _glyphs(lines[-1] + printed) <= LINE_GLYPHS:
                lines[-1] += f" {sign}{printed}"
            else:
                lines.append(f"{sign}{printed}")
        return lines

    def steps(self, *exprs: sp.Basic) -> list[list[str]]:
        """Printed forms, each as its lines, with repeats dropped: a step printed as the one before adds nothing."""
        printed: list[list[str]] = []
        for expr in exprs:
            lines = self.lines(expr)
            if not printed or printed[-1] != lines:
                printed.append(lines)
        return printed


#: Glyphs of a formula that fit on the page beside an aligned left side (A4, 11 pt, 2.2 cm margins).
LINE_GLYPHS = 60
_COMMAND = re.compile(r"\\([a-zA-Z]+|.)")
_ZERO_WIDTH = {
    "left", "right", "begin", "end", "text", "operatorname", "mathbf", "boldsymbol", "mathrm", "hat", ",", ":", "!",
}


def _glyphs(tex: str) -> float:
    """A rough width of printed LaTeX in glyphs: a fraction is as wide as its wider part, scripts are small."""
    width, position = 0.0, 0
    while position < len(tex):
        char = tex[position]
        if char == "\\":
            match = _COMMAND.match(tex, position)
            name = match.group(1) if match else ""
            position = match.end() if match else position + 1
            if name == "frac":
                numerator, position = _group(tex, position)
                denominator, position = _group(tex, position)
                width += max(_glyphs(numerator), _glyphs(denominator))
            elif name not in _ZERO_WIDTH:
                width += 1.5 if len(name) > 1 else 0.5
        elif char in "^_":
            script, position = _group(tex, position + 1)
            width += 0.6 * _glyphs(script)
        else:
            position += 1
            width += 0 if char in "{} &" else 1
    return width


def _group(tex: str, position: int) -> tuple[str, int]:
    """The brace group (or single character) at ``position``, and the position after it."""
    while position < len(tex) and tex[position] == " ":
        position += 1
    if position >= len(tex) or tex[position] != "{":
        return tex[position:position + 1], position + 1
    depth = 0
    for end in range(position, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[end], 0)
        if depth == 0:
            return tex[position + 1:end], end + 1
    return tex[position + 1:], len(tex)


def _block(lhs: str, steps: Sequence[list[str]], note: str = "") -> dict[str, Any]:
    return {"lhs": lhs, "steps": list(steps), "note": note}


# Network ------------------------------------------------------------------------------------


def _shown_units(size: int) -> list[int | None]:
    """The units the figure draws (``None`` is the ⋮ between the first ones and the last)."""
    if size <= FIGURE_UNITS:
        return list(range(1, size + 1))
    return [*range(1, FIGURE_UNITS - 1), None, size]


def _figure(derivation: Derivation, write: _Writer) -> dict[str, Any]:
    sizes = derivation.network.sizes
    depth = derivation.network.depth
    spacing = round(min(2.8, 14.0 / max(depth, 1)), 2)
    columns: list[dict[str, Any]] = []
    for k, size in enumerate(sizes):
        units = _shown_units(size)
        top = (len(units) - 1) / 2
        nodes = []
        for row, unit in enumerate(units):
            y = round((top - row) * 1.1, 2)
            label = r"\vdots" if unit is None else write(eq.activation_output(k)[unit])
            node = {"id": f"u{k}r{row}", "x": round(k * spacing, 2), "y": y, "label": label, "dots": unit is None,
                    "unit": unit}
            nodes.append(node)
        kind = "input" if k == 0 else ("output" if k == depth else "hidden")
        caption = write(eq.width(k)) + f" = {size}"
        activation = "" if k == 0 else derivation.network.activations[k - 1].latex_name
        columns.append({"k": k, "nodes": nodes, "kind": kind, "caption": caption, "activation": activation})
    edges = []
    for k in range(1, depth + 1):
        sources, targets = columns[k - 1]["nodes"], columns[k]["nodes"]
        # The outermost edges carry their weight, above the top one and below the bottom one, where
        # no other edge crosses: w_11 and w_{n_k n_{k-1}} show which index is which unit.
        outer = {(sources[0]["id"], targets[0]["id"]): "above", (sources[-1]["id"], targets[-1]["id"]): "below"}
        for source in sources:
            for target in targets:
                if source["dots"] or target["dots"]:
                    continue
                side = outer.get((source["id"], target["id"]), "")
                label = write(eq.weight(k)[target["unit"], source["unit"]]) if side else ""
                edges.append({"source": source["id"], "target": target["id"], "label": label, "side": side})
    return {"columns": columns, "edges": edges, "spacing": spacing}


def _notation_rows(notation: Notation, write: _Writer) -> list[dict[str, str]]:
    """The notation table; the generic layer letter (k or l) is a symbol of the printing layer."""
    layer = notation.layer_letter
    n_k, n_before = notation.width_name(layer), notation.width_name(f"{layer}-1")
    rows = [
        (n_k, f"number of units in layer ${layer}$ (layer 0 is the input)", ""),
        (
            notation.element("w", layer, "ij", None),
            f"weight from unit $j$ of layer ${layer}-1$ to unit $i$ of layer ${layer}$",
            rf"{notation.vector('w', layer, None)}: {n_k} \times {n_before}",
        ),
        (notation.element("b", layer, "i", None), f"bias of unit $i$ of layer ${layer}$", rf"{n_k} \times 1"),
        (notation.element("z", layer, "i", None), "weighted input (pre-activation) of unit $i$", rf"{n_k} \times 1"),
        (
            notation.element("a", layer, "i", None),
            rf"output of unit $i$; ${write(eq.activation_output(0)[eq.I])}$ is the input"
            + (r", $\hat{y}_{i}$ the prediction" if notation.output_as_prediction else ""),
            rf"{n_k} \times 1",
        ),
        (notation.activation_name(layer), f"activation of layer ${layer}$", ""),
        (
            notation.element("delta", layer, "i", None),
            rf"error of unit $i$, $\partial {notation.loss} / \partial z$ of that unit",
            rf"{n_k} \times 1",
        ),
        (write(sp.KroneckerDelta(eq.I, eq.P)), "Kronecker delta: 1 if $i = p$, else 0", ""),
        (write(eq.LOSS), "loss of one sample", ""),
        (rf"{write(BATCH_LOSS)},\ {write(BATCH_SIZE)}", "mean loss of a batch of $m$ samples", ""),
    ]
    return [{"symbol": symbol, "meaning": meaning, "shape": shape} for symbol, meaning, shape in rows]


# Forward ------------------------------------------------------------------------------------


def _vector(kind: str, k: int) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(f"{kind}{k}", eq.width(k), 1)


def _forward(derivation: Derivation, write: _Writer) -> dict[str, Any]:
    layers = []
    for layer in derivation.equations.layers:
        k = layer.k
        weights = sp.MatrixSymbol(f"w{k}", eq.width(k), eq.width(k - 1))
        z_vector = weights * _vector("a", k - 1) + _vector("b", k)
        batch_z = batch_matrix("a", k - 1, eq.width(k - 1)) * weights.T + sp.OneMatrix(BATCH_SIZE, 1) * _vector(
            "b", k
        ).T
        function = layer_function(k)
        layers.append(
            {
                "k": k,
                "index": [_sides(write, equation.lhs, equation.rhs) for equation in (layer.z, layer.a)],
                "range": rf"{write(eq.I)} = 1, \dots, {write(eq.width(k))}",
                "matrix": [
                    _sides(write, _vector("z", k), z_vector),
                    _sides(write, _vector("a", k), function(eq.preactivation(k))),
                    _sides(write, batch_matrix("z", k, eq.width(k)), batch_z),
                ],
                "activation": derivation.network.activations[k - 1].latex_name,
                "function": write(function(X)),
            }
        )
    sample = sp.Symbol("s", integer=True, positive=True)
    loss = derivation.equations.loss
    return {
        "layers": layers,
        "loss": [
            _sides(write, loss.lhs, loss.rhs),
            _sides(write, BATCH_LOSS, sp.Sum(sp.IndexedBase(eq.LOSS)[sample], (sample, 1, BATCH_SIZE)) / BATCH_SIZE),
        ],
        "loss_name": derivation.network.loss.latex_name,
    }


def _sides(write: _Writer, lhs: sp.Basic, rhs: sp.Basic) -> dict[str, str]:
    """An equation as its two printed sides, for the templates to align at the equals sign."""
    return {"lhs": write(lhs), "rhs": write(rhs)}


# Activations ----------------------------------------------------------------------------------


#: Where two forms of an activation's derivative are compared when expansion does not show them
#: equal: both sides of 0 (a kink), away from 0 itself, at 30 digits.
CHECK_POINTS = tuple(sp.Rational(n, 10) for n in (-25, -7, -3, 4, 11, 19))
CHECK_DIGITS = 30


def _equal(first: sp.Expr, second: sp.Expr) -> bool:
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


def activation_steps(activation: Activation, write: _Writer) -> dict[str, Any]:
    """f′ worked from the registry's definition to its output form; each step checked equal to the last.

    The chain is: definition (and its exponential form, when it has one) → the derivative of that
    form as differentiation gives it → the registry's derivative → the output form with f(x)'s
    formula in place of a → written with f(x) → written with a.
    """
    bound = activation.bound()
    f = named_function(activation.name, activation.latex_name)
    definition = bound.expr
    # tanh(x) is defined by its exponentials; a formula around a tanh (GELU) is clearer left as it is.
    exponential = definition.rewrite(sp.exp) if isinstance(definition, sp.Function) else definition
    differentiated = sp.diff(exponential, X)
    derivative = activation.derivative()
    chain: list[sp.Expr] = [sp.Derivative(exponential, X, evaluate=False), differentiated, derivative]
    claimed = activation.derivative_in_output()
    if claimed is not None:
        # tanh(x) in place of a reads as the next step already; only a formula is worth writing in.
        if not claimed.has(sp.Piecewise) and not isinstance(definition, sp.Function):
            chain.append(claimed.subs(A, sp.UnevaluatedExpr(definition)))
        if not isinstance(definition, sp.Function):  # 1 − tanh²(x) has just been written with f already
            chain.append(claimed.xreplace({A: f(X)}))
        chain.append(claimed)

    def value(expr: sp.Expr) -> sp.Expr:
        # The named function and the output a both stand for the definition when steps are compared.
        expr = expr.doit().xreplace({A: definition})
        return expr.replace(lambda e: isinstance(e, f), lambda e: definition.xreplace({X: e.args[0]}))

    steps: list[list[str]] = []
    previous = None
    for expr in chain:
        current = value(expr)
        if previous is not None and not _equal(current, previous):
            continue  # A form that SymPy cannot prove equal is not shown rather than shown unproved.
        previous = current
        lines = write.lines(expr)
        if lines not in steps:
            steps.append(lines)
    at_zero = derivative.subs(X, 0)
    return {
        "name": escape_text(activation.label),
        "function": write(f(X)),
        "derivative_name": write(sp.Derivative(f(X), X)),
        "definition": definition_sides(write, f, definition, exponential),
        "steps": steps,
        "kink": has_kink(derivative),
        "at_zero": write(sp.Eq(sp.Subs(sp.Derivative(f(X), X), X, 0), at_zero, evaluate=False)),
    }


def has_kink(derivative: sp.Expr) -> bool:
    """f′ jumps at 0 (ReLU, leaky ReLU), so a convention is needed there; ELU's does not."""
    if not derivative.has(sp.Piecewise, sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min):
        return False
    # Approached through a positive ε so that each Piecewise condition decides (limit in x does not).
    epsilon = sp.Symbol("epsilon", positive=True)
    sides = [sp.limit(derivative.xreplace({X: sign * epsilon}), epsilon, 0, "+") for sign in (-1, 1)]
    return sides[0] != sides[1]


def definition_sides(write: _Writer, f: type[sp.Function], definition: sp.Expr, exponential: sp.Expr) -> dict:
    """f(x) = its definition (= its exponential form), as a left side and the right sides."""
    sides: list[str] = []
    for form in (definition, exponential):
        if write(form) not in sides:
            sides.append(write(form))
    return {"lhs": write(f(X)), "sides": sides}


# Backward -------------------------------------------------------------------------------------


def _derivative(of: sp.Expr, by: sp.Expr) -> sp.Derivative:
    return sp.Derivative(of, by, evaluate=False)


def _expanded_sum(expr: sp.Expr, sizes: Sequence[int]) -> sp.Expr | None:
    """A sum over a small layer written term by term (the chain rule's total derivative)."""
    widths = {eq.width(k): size for k, size in enumerate(sizes)}
    sums = list(expr.atoms(sp.Sum))
    if not sums or any(widths.get(s.limits[0][2], EXPANDED_SUM_UNITS + 1) > EXPANDED_SUM_UNITS for s in sums):
        return None
    return expr.xreplace(widths).doit()


def _output_gradient_block(layer: LayerDerivation, write: _Writer, sizes: Sequence[int] | None) -> dict[str, Any]:
    k, P, I = layer.k, eq.P, eq.I  # noqa: E741 (the equations' own index names)
    a = eq.activation_output(k)
    lhs = write(_derivative(eq.LOSS, a[P]))
    if layer.is_output:
        return _block(lhs, write.steps(layer.output_gradient_chain, _loss_gradient_terms(layer), layer.output_gradient),
                      "differentiating the loss; only the term $i = p$ depends on the output $p$")
    z_next = eq.preactivation(k + 1)
    total = sp.Sum(_derivative(eq.LOSS, z_next[I]) * _derivative(z_next[I], a[P]), (I, 1, eq.width(k + 1)))
    steps = [total, layer.output_gradient_chain, layer.output_gradient]
    expanded = _expanded_sum(layer.output_gradient, sizes) if sizes is not None else None
    if expanded is not None:
        steps.append(expanded)
    return _block(lhs, write.steps(*steps),
                  f"total derivative: the output $p$ feeds every unit of layer {k + 1},"
                  " so the chain rule sums over them")


def _loss_gradient_terms(layer: LayerDerivation) -> sp.Expr:
    """∂L/∂ŷₚ contracted, its terms over a common denominator gathered: (1 − y)/(1 − ŷ) − y/ŷ for bce."""
    by_denominator: dict[sp.Expr, list[sp.Expr]] = {}
    for term in sp.Add.make_args(contract_deltas(layer.output_gradient_chain)):
        numerator, denominator = sp.fraction(term)
        by_denominator.setdefault(denominator, []).append(numerator)
    return sp.Add(*(sp.Add(*numerators) / denominator for denominator, numerators in by_denominator.items()))


def _shown_gradient(layer: LayerDerivation) -> sp.Expr:
    """The ∂L/∂a put into δ: a fraction over a sum (bce) shows its cancellation better term by term."""
    if layer.is_output and sp.fraction(layer.output_gradient)[1].is_Add:
        return _loss_gradient_terms(layer)
    return layer.output_gradient


def _delta_block(layer: LayerDerivation, write: _Writer, targets_sum_to_one: bool) -> dict[str, Any]:
    k, P, I = layer.k, eq.P, eq.I  # noqa: E741 (the equations' own index names)
    a, z = eq.activation_output(k), eq.preactivation(k)
    lhs = write(eq.delta(k)[P])
    generic = sp.Sum(_derivative(eq.LOSS, a[I]) * _derivative(a[I], z[P]), (I, 1, eq.width(k)))
    steps: list[sp.Expr] = [_derivative(eq.LOSS, z[P]), generic]
    dLda = eq.output_gradient(k)
    gradient = _shown_gradient(layer)
    if layer.activation.elementwise and layer.derivative is not None:
        note = (r"only $i = p$ survives: an elementwise activation's output $i$ depends on its input $i$ alone,"
                f" so ${write(_derivative(a[I], z[P]))} = {write(_elementwise_jacobian(k))}$")
        fprime = layer_function_derivative(k)
        steps.append(dLda[P] * fprime(z[P]))
        # The derived local rule, with this layer's f′ (from the section on activations) as one factor;
        # an f′ too long for a line (GELU′) stays f′ₖ here, written out in the section on activations.
        factored = dLda[P] * layer.derivative
        local = factored if _equal(factored, layer.delta_local) else layer.delta_local
        claimed = layer.activation.derivative_in_output()
        in_output = claimed.xreplace({A: a[P]}) if claimed is not None else layer.derivative
        if not write.fits(local):
            in_output = fprime(z[P]) if claimed is None else in_output
        else:
            steps.append(local)
        if claimed is not None:
            steps.append(dLda[P] * in_output)
        if in_output != 1:
            steps.append(sp.Mul(sp.UnevaluatedExpr(gradient), in_output, evaluate=False))
        if write.fits(layer.delta_output_form):
            steps.append(layer.delta_output_form)
    else:
        note = "the activation normalises over the layer, so its Jacobian is full and every output contributes"

        def substituted(shown: bool) -> sp.Expr:
            # ∂L/∂a⁽ᵏ⁾ᵢ replaced by its formula: kept in brackets to show the step, or multiplied out.
            def value(element: sp.Indexed) -> sp.Expr:
                formula = gradient.xreplace({P: element.indices[0]})
                return sp.UnevaluatedExpr(formula) if shown else formula

            return layer.delta_local.replace(lambda e: isinstance(e, sp.Indexed) and e.base == dLda, value)

        steps += [layer.delta_chain, layer.delta_local, substituted(True), contract_deltas(substituted(False)),
                  layer.delta]
        if targets_sum_to_one:
            note += f"; the targets sum to one, ${write(sp.Eq(sp.Sum(eq.target()[I], (I, 1, eq.width(k))), 1))}$"
    return _block(lhs, write.steps(*steps), note)


def _elementwise_jacobian(k: int) -> sp.Expr:
    """∂a⁽ᵏ⁾ᵢ/∂z⁽ᵏ⁾ₚ = f′ₖ(z⁽ᵏ⁾ᵢ) δᵢₚ for an elementwise activation."""
    return layer_function_derivative(k)(eq.preactivation(k)[eq.I]) * sp.KroneckerDelta(eq.I, eq.P)


def _parameter_blocks(layer: LayerDerivation, write: _Writer) -> list[dict[str, Any]]:
    k, P, Q, I = layer.k, eq.P, eq.Q, eq.I  # noqa: E741 (the equations' own index names)
    z = eq.preactivation(k)
    w, b = eq.weight(k), eq.bias(k)
    weight = sp.Sum(_derivative(eq.LOSS, z[I]) * _derivative(z[I], w[P, Q]), (I, 1, eq.width(k)))
    bias = sp.Sum(_derivative(eq.LOSS, z[I]) * _derivative(z[I], b[P]), (I, 1, eq.width(k)))
    source = write(eq.activation_output(k - 1)[Q])
    return [
        _block(write(_derivative(eq.LOSS, w[P, Q])), write.steps(weight, layer.weight_chain, layer.weight_gradient),
               f"the weight ${write(w[P, Q])}$ enters unit $p$ of layer {k} only, multiplied by the input ${source}$"),
        _block(write(_derivative(eq.LOSS, b[P])), write.steps(bias, layer.bias_chain, layer.bias_gradient),
               f"the bias ${write(b[P])}$ enters unit $p$ of layer {k} only, with coefficient 1"),
    ]


def _layer_blocks(
    layer: LayerDerivation, write: _Writer, sizes: Sequence[int] | None, targets_sum_to_one: bool
) -> list[dict[str, Any]]:
    return [
        _output_gradient_block(layer, write, sizes),
        _delta_block(layer, write, targets_sum_to_one),
        *_parameter_blocks(layer, write),
    ]


def _backward(derivation: Derivation, write: _Writer) -> list[dict[str, Any]]:
    layers = []
    for layer in reversed(derivation.layers):
        role = "output layer" if layer.is_output else "hidden layer"
        layers.append(
            {
                "k": layer.k,
                "title": f"Layer {layer.k} ({role}, {escape_text(layer.activation.label)})",
                "blocks": _layer_blocks(
                    layer, write, derivation.network.sizes, derivation.network.loss.targets_sum_to_one
                ),
            }
        )
    return layers


# Matrix and batch form ----------------------------------------------------------------------------


def _vectorised(expr: sp.Expr) -> sp.Expr | None:
    """An elementwise index form (in p alone) as whole vectors: ŷ_p − y_p becomes ŷ − y."""
    indexed = list(expr.atoms(sp.Indexed))
    if expr.has(sp.Sum) or not indexed or any(e.indices != (eq.P,) for e in indexed):
        return None
    return expr.xreplace({e: e.base for e in indexed})


def _batch_form(matrix: sp.MatrixExpr, depth: int, *, per_sample: bool) -> sp.MatrixExpr:
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
        letter = {"dLda": "dLda", "lossprime": "dLda", "y": "y"}.get(name)
        if letter is None:
            letter = re.match(r"^(a|z|delta|fprime)", name).group(1)  # type: ignore[union-attr]
            k = int(name[len(letter):])
        else:
            k = depth
        big = sp.MatrixSymbol("batch_y", BATCH_SIZE, symbol.shape[0]) if letter == "y" else batch_matrix(
            letter, k, symbol.shape[0]
        )
        batch[sp.Transpose(symbol)] = big
        batch[symbol] = big.T
    result = matrix.doit().xreplace(batch).doit()
    if not per_sample and result.shape[1] == BATCH_SIZE:
        result = result * sp.OneMatrix(BATCH_SIZE, 1)
    return result


_TARGET_SYMBOL = {"loss_gradient": "dLda", "output_delta": "delta", "hidden_delta": "delta"}


def _matrix_target(target: str, k: int) -> tuple[sp.Expr, sp.Expr]:
    """What a rule gives, for one sample and for the batch: ∇_ŷL and ∂J/∂Ŷ, δ and Δ, ∂L/∂W and ∂J/∂W …"""
    if target == "loss_gradient":
        return (sp.MatrixSymbol("dLda", eq.width(k), 1),
                _derivative(BATCH_LOSS, batch_matrix("a", k, eq.width(k))))
    if target in ("output_delta", "hidden_delta"):
        return _vector("delta", k), batch_matrix("delta", k, eq.width(k))
    if target == "bias":
        return _derivative(eq.LOSS, _vector("b", k)), _derivative(BATCH_LOSS, _vector("b", k))
    weights = sp.MatrixSymbol(f"w{k}", eq.width(k), eq.width(k - 1))
    return _derivative(eq.LOSS, weights), _derivative(BATCH_LOSS, weights)


def _has_inner_product(rule: sp.MatrixExpr) -> bool:
    """A per-sample inner product (softmax's ⟨∇L, a⟩) is one number per sample: transposing the
    vectors does not turn it into the batch's row-wise products, so such a rule gets no batch form."""
    for node in sp.preorder_traversal(rule):
        if isinstance(node, sp.MatMul):
            factors = [f for f in node.args if isinstance(f, sp.MatrixExpr)]
            if any(row.shape[0] == 1 and column.shape[1] == 1 for row, column in pairwise(factors)):
                return True
    return False


def _matrix(derivation: Derivation, write: _Writer, rules: RuleSet) -> list[dict[str, Any]]:
    from .verify import SymbolicView

    view = SymbolicView(derivation)
    depth = derivation.network.depth
    rows = []
    for layer in reversed(derivation.layers):
        k = layer.k
        targets = ["loss_gradient", "output_delta"] if layer.is_output else ["hidden_delta"]
        equations = []
        for target in [*targets, "bias", "weight"]:
            rule = rules.rule_for(target, layer.activation)
            if rule is None:
                continue
            built = rule.build(view, k)
            sample_lhs, batch_lhs = _matrix_target(target, k)
            lhs = write(sample_lhs)
            derived = {"loss_gradient": layer.output_gradient, "output_delta": layer.delta_output_form}.get(target)
            vector = _vectorised(derived) if derived is not None else None
            # ∇_ŷL's rule is the symbol itself; its formula is the derived one, written for whole vectors.
            sides = [tex for tex in [write(built)] if tex != lhs]
            # A derived form too long for the line (GELU′ written out) is left to the index form above.
            if vector is not None and not write.fits(write.elementwise(vector)):
                vector = None
            batch_forms: list[sp.Expr] = []
            if not _has_inner_product(built):
                batch_forms.append(_batch_form(built, depth, per_sample=target not in ("bias", "weight")))
            if vector is not None:
                sides.append(write.elementwise(vector))
                batch_forms.append(_batch_vector(vector, depth))
            if target in ("loss_gradient", "output_delta"):
                # The batch loss is the mean: its gradient is 1/m of the per-sample one, set in Δ⁽ᴸ⁾ once.
                batch_forms = [form / BATCH_SIZE if isinstance(form, sp.MatrixExpr)
                               else sp.UnevaluatedExpr(form) / BATCH_SIZE for form in batch_forms]
            equations.append({
                "rule": escape_text(rule.name) if rule.name.isascii() else "",
                "lhs": lhs,
                "sides": sides,
                "batch_lhs": write(batch_lhs),
                "batch_sides": [write.elementwise(form) for form in batch_forms],
            })
        fprime = None
        claimed = layer.activation.derivative_in_output()
        if layer.activation.elementwise and claimed is not None and not claimed.has(sp.Piecewise):
            # f′ of the whole layer in its cached output, elementwise (σ′ = a ⊙ (1 − a)).
            fprime = {"lhs": write(sp.MatrixSymbol(f"fprime{k}", eq.width(k), 1)),
                      "rhs": write.elementwise(claimed.xreplace({A: eq.activation_output(k)}))}
        rows.append({"k": k, "equations": equations, "fprime": fprime})
    return rows


def _batch_vector(vector: sp.Expr, depth: int) -> sp.Expr:
    """ŷ − y (whole vectors) written for the batch: Ŷ − Y."""
    replacements = {}
    for base in vector.atoms(sp.IndexedBase):
        name = base.label.name
        replacements[base] = sp.IndexedBase("batch_y") if name == "y" else sp.IndexedBase(f"batch_{name}")
    return vector.xreplace(replacements)


# Paths ------------------------------------------------------------------------------------------


def _paths(derivation: Derivation, write: _Writer) -> dict[str, Any]:
    """∂L/∂w⁽¹⁾_pq as a sum over paths of products of local derivatives, and the path through unit 1."""
    depth = derivation.network.depth
    P, Q = eq.P, eq.Q
    units = {k: sp.Symbol(f"i_{k}", integer=True, positive=True) for k in range(2, depth + 1)}
    units[1] = P
    symbolic: list[sp.Expr] = [_derivative(eq.LOSS, eq.activation_output(depth)[units[depth]])]
    values: list[sp.Expr] = [derivation.loss_gradient.xreplace({P: 1})]
    for k in range(depth, 0, -1):
        a, z = eq.activation_output(k), eq.preactivation(k)
        symbolic.append(_derivative(a[units[k]], z[units[k]]))
        if derivation.layer(k).activation.elementwise:
            values.append(layer_function_derivative(k)(z[1]))
        else:
            values.append(_derivative(a[1], z[1]))
        if k > 1:
            symbolic.append(_derivative(z[units[k]], eq.activation_output(k - 1)[units[k - 1]]))
            values.append(eq.weight(k)[1, 1])
    symbolic.append(_derivative(eq.preactivation(1)[P], eq.weight(1)[P, Q]))
    values.append(eq.activation_output(0)[1])
    sums = [
        rf"\sum_{{{write(units[k])}=1}}^{{{write(eq.width(k))}}}" for k in range(depth, 1, -1)
    ]

    def lines(factors: list[sp.Expr]) -> list[str]:
        # A sum among the factors (2ŷ − 2y for sse) needs brackets once it stands beside a \cdot.
        printed = [rf"\left({write(f)}\right)" if isinstance(f, sp.Add) else write(f) for f in factors]
        return [
            r" \cdot ".join(printed[start:start + PATH_FACTORS_PER_LINE])
            for start in range(0, len(printed), PATH_FACTORS_PER_LINE)
        ]

    return {
        "weight": write(eq.weight(1)[P, Q]),
        "lhs": write(_derivative(eq.LOSS, eq.weight(1)[P, Q])),
        "sums": " ".join(sums),
        "symbolic": lines(symbolic),
        "path_lhs": write(_derivative(eq.LOSS, eq.weight(1)[1, 1])),
        "path": lines(values),
        "depth": depth,
        "factors": len(symbolic),
    }


# Verification ------------------------------------------------------------------------------------


def _verification(derivation: Derivation, write: _Writer, report: VerificationReport,
                  rules: RuleSet) -> dict[str, Any]:
    from .verify import SymbolicView

    view = SymbolicView(derivation)
    rows = []
    for row in report.rows:
        rule = next(r for r in rules.rules if r.name == row.rule) if any(
            r.name == row.rule for r in rules.rules) else None
        formula = write(rule.build(view, row.layer)) if rule is not None else escape_text(row.formula)
        quantity = _quantity(row.target, row.layer, write)
        gradient = _vectorised(derivation.layer(row.layer).output_gradient)
        if formula == quantity and row.target == "loss_gradient" and gradient is not None:
            # The rule ∇_ŷL is the loss's own derivative: the formula checked is the derived one.
            formula = write.elementwise(gradient)
        rows.append(
            {
                "layer": row.layer,
                "quantity": quantity,
                "rule": formula,
                "symbolic": row.symbolic.ok,
                "composed": row.composed.ok,
                "ok": row.ok,
                "detail": escape_text("; ".join(w.detail for w in (row.symbolic, row.composed) if w.detail)),
            }
        )
    return {
        "rows": rows,
        "ok": report.ok,
        "rule_set": escape_text(report.rule_set),
        "concrete": "-".join(map(str, report.concrete_sizes)),
        "seed": report.seed,
        "failures": len(report.failures),
    }


def _quantity(target: str, k: int, write: _Writer) -> str:
    if target == "loss_gradient":
        return write(sp.MatrixSymbol("dLda", eq.width(k), 1))
    if target in ("output_delta", "hidden_delta"):
        return write(_vector("delta", k))
    if target == "bias":
        return write(_derivative(eq.LOSS, _vector("b", k)))
    return write(_derivative(eq.LOSS, sp.MatrixSymbol(f"w{k}", eq.width(k), eq.width(k - 1))))


# The document ---------------------------------------------------------------------------------


def document_context(
    derivation: Derivation,
    *,
    notation: str | Notation = DEFAULT_NOTATION,
    sections: str | Iterable[str] | None = None,
    report: VerificationReport | None = None,
    rules: RuleSet | None = None,
) -> dict[str, Any]:
    """Everything the templates insert, printed; sections not asked for are not computed. The
    derivation must verify against the textbook rules (:func:`~symbackprop.verify.require_verified`)."""
    from .verify import require_verified

    textbook = require_verified(derivation, report)
    chosen = resolve_sections(sections)
    style = resolve_notation(notation)
    network = derivation.network
    write = _Writer(style, network.depth)
    rules = rules or TEXTBOOK
    context: dict[str, Any] = {
        "sections": chosen,
        "notation": {"name": style.name, "description": style.description, "layer": style.layer_letter},
        "title": escape_text(f"{network.compact}"),
        "network_plain": network.compact,
        "widths": [f"{write(eq.width(k))} = {size}" for k, size in enumerate(network.sizes)],
        "depth": network.depth,
        "loss_name": network.loss.latex_name,
        "loss_label": escape_text(network.loss.name),
        "output_symbol": write(A),
        "batch_factor": write(1 / BATCH_SIZE),
    }
    if "network" in chosen:
        context["figure"] = _figure(derivation, write)
        context["notation_rows"] = _notation_rows(style, write)
    if "forward" in chosen:
        context["forward"] = _forward(derivation, write)
    if "activations" in chosen:
        distinct = {activation.label: activation for activation in network.activations if activation.elementwise}
        context["activations"] = [activation_steps(activation, write) for activation in distinct.values()]
    if "backward" in chosen:
        context["backward"] = _backward(derivation, write)
    if "matrix" in chosen:
        context["matrix"] = _matrix(derivation, write, rules)
    if "paths" in chosen:
        context["paths"] = _paths(derivation, write)
    if "verification" in chosen:
        report = report or (textbook if rules is TEXTBOOK else derivation.verify(rules))
        context["verification"] = _verification(derivation, write, report, rules)
    return context


def render_latex(
    derivation: Derivation,
    *,
    notation: str | Notation = DEFAULT_NOTATION,
    sections: str | Iterable[str] | None = None,
    standalone: bool = True,
    report: VerificationReport | None = None,
    rules: RuleSet | None = None,
) -> str:
    """The LaTeX document (``standalone``) or fragment of the derivation."""
    context = document_context(derivation, notation=notation, sections=sections, report=report, rules=rules)
    return render("derivation.tex.j2", standalone=standalone, **context)


def render_markdown(
    derivation: Derivation,
    *,
    notation: str | Notation = DEFAULT_NOTATION,
    sections: str | Iterable[str] | None = None,
    report: VerificationReport | None = None,
    rules: RuleSet | None = None,
) -> str:
    """The derivation as Markdown with MathJax math; the TikZ figure is left out."""
    context = document_context(derivation, notation=notation, sections=sections, report=report, rules=rules)
    return render("derivation.md.j2", **context)


def layer_latex(layer: LayerDerivation, *, notation: str | Notation = DEFAULT_NOTATION) -> str:
    """Display math of one layer's steps (∂L/∂a, δ, ∂L/∂w, ∂L/∂b), for Jupyter's ``_repr_latex_``.

    A layer on its own does not know the network's widths, so sums stay in Σ form; the output
    layer's a⁽ᴸ⁾ prints as ŷ as in the document.
    """
    write = _Writer(resolve_notation(notation), layer.k if layer.is_output else None)
    # A layer alone cannot tell whether the targets sum to one; its δ shows the form it holds.
    blocks = _layer_blocks(layer, write, None, targets_sum_to_one=False)
    # Jupyter shows text/latex as mathematics only, so the prose notes are left to the document.
    return render("layer.md.j2", blocks=[{**block, "note": ""} for block in blocks])


# Files and PDF ----------------------------------------------------------------------------------------


def write_document(path: str | Path, text: str) -> Path:
    """Write a document whole or not at all."""
    from .codegen import write_atomic

    write_atomic(path, text)
    return Path(path)


_ERROR_LINE = re.compile(r"^\S+\.tex:\d+: ")
_OVERFULL = re.compile(r"Overfull \\hbox \(([\d.]+)pt too wide\)")


def latex_tool() -> list[str]:
    """The command that compiles a .tex file to PDF here: latexmk when present, else pdflatex."""
    if shutil.which("latexmk"):
        return ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if shutil.which("pdflatex"):
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    raise LatexToolMissing(f"--pdf needs latexmk or pdflatex, and neither is on PATH; {INSTALL_HINT}")


def compile_pdf(tex_path: str | Path, *, timeout: float = 300) -> CompiledPdf:
    """Compile a standalone .tex file to the PDF beside it (atomically); the log's overfull boxes."""
    tex_path = Path(tex_path)
    command = latex_tool()
    with tempfile.TemporaryDirectory(prefix="symbackprop-latex-") as folder:
        source = Path(folder) / tex_path.name
        shutil.copyfile(tex_path, source)
        try:
            finished = subprocess.run(
                [*command, source.name], cwd=folder, capture_output=True, text=True, timeout=timeout,
                env={**os.environ, "TEXINPUTS": f"{tex_path.parent.resolve()}{os.pathsep}"},
            )
        except subprocess.TimeoutExpired:
            raise LatexError(f"{tex_path}: {command[0]} did not finish in {timeout:.0f} s") from None
        log_path = source.with_suffix(".log")
        log = log_path.read_text(errors="replace") if log_path.exists() else finished.stdout
        produced = source.with_suffix(".pdf")
        if finished.returncode != 0 or not produced.exists():
            errors = [line for line in log.splitlines() if line.startswith("!") or _ERROR_LINE.match(line)]
            first = "\n".join(errors[:5]) or finished.stdout[-800:]
            raise LatexError(f"{tex_path}: {command[0]} failed (exit {finished.returncode}):\n{first}")
        target = tex_path.with_suffix(".pdf")
        staged = tex_path.parent / f".{target.name}.tmp"
        shutil.copyfile(produced, staged)
        os.replace(staged, target)
    overfull = tuple(float(points) for points in _OVERFULL.findall(log))
    return CompiledPdf(pdf=target, overfull_hboxes=overfull, log=log)
