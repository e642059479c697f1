"""Formulas of the document broken into lines that fit the page, by an estimate of their width.

Contract
--------
:class:`FormulaWriter` is the LaTeX printer of one document (:class:`~.latex.BackpropLatexPrinter`
in a :class:`~.latex.Notation`, told the network depth so that a⁽ᴸ⁾ prints as ŷ). Besides printing
an expression it says whether a formula :meth:`~FormulaWriter.fits` on one line, breaks a long
sum before a + or − (:meth:`~FormulaWriter.lines`), and prints a chain of forms as its steps,
each step a list of lines (:meth:`~FormulaWriter.steps`).

:func:`glyphs` estimates the width of printed LaTeX in glyphs (a fraction is as wide as its wider
part, scripts are small); a formula wider than :data:`LINE_GLYPHS` does not fit beside an aligned
left side on an A4 page at 11 pt. The estimate is deterministic, so a document is the same on
every run.
"""

from __future__ import annotations

import re

import sympy as sp

from .latex import BackpropLatexPrinter, Notation

#: Glyphs of a formula that fit on the page beside an aligned left side (A4, 11 pt, 2.2 cm margins).
LINE_GLYPHS = 60
_COMMAND = re.compile(r"\\([a-zA-Z]+|.)")
_ZERO_WIDTH = {
    "left",
    "right",
    "begin",
    "end",
    "text",
    "operatorname",
    "mathbf",
    "boldsymbol",
    "mathrm",
    "hat",
    ",",
    ":",
    "!",
}


class FormulaWriter:
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
        return glyphs(printed if isinstance(printed, str) else self(printed)) <= LINE_GLYPHS

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
            if lines and glyphs(lines[-1] + printed) <= LINE_GLYPHS:
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


def glyphs(tex: str) -> float:
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
                width += max(glyphs(numerator), glyphs(denominator))
            elif name not in _ZERO_WIDTH:
                width += 1.5 if len(name) > 1 else 0.5
        elif char in "^_":
            script, position = _group(tex, position + 1)
            width += 0.6 * glyphs(script)
        else:
            position += 1
            width += 0 if char in "{} &" else 1
    return width


def _group(tex: str, position: int) -> tuple[str, int]:
    """The brace group (or single character) at ``position``, and the position after it."""
    while position < len(tex) and tex[position] == " ":
        position += 1
    if position >= len(tex) or tex[position] != "{":
        return tex[position : position + 1], position + 1
    depth = 0
    for end in range(position, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[end], 0)
        if depth == 0:
            return tex[position + 1 : end], end + 1
    return tex[position + 1 :], len(tex)
