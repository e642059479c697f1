"""LaTeX of the symbols and expressions of a derivation, in a choice of textbook notations.

Contract
--------
:class:`BackpropLatexPrinter` is SymPy's ``LatexPrinter`` taught the names made by
:mod:`symbackprop.equations` (decoded by :func:`symbackprop.printing.parse_name`) and a few more
made here, for the matrix and batch forms and for the generic activation of a layer:

=====================  ==============================  ==================================
made by                tutorial notation               Coursera notation
=====================  ==============================  ==================================
``w2[i, j]``           ``w^{(2)}_{ij}``                ``W^{[2]}_{ij}``
``a0[j]``              ``x_{j}``                       ``x_{j}``
``a1[i]`` (hidden)     ``h^{(1)}_{i}``                 ``a^{[1]}_{i}``
``a3[i]`` (output)     ``\\hat{y}_{i}``                 ``a^{[3]}_{i}``
``delta2[p]``          ``\\delta^{(2)}_{p}``            ``\\delta^{[2]}_{p}``
``dLda3[p]``           ``\\frac{\\partial L}{...}``     ``\\frac{\\partial \\mathcal{L}}{...}``
``n_2``                ``n_{2}``                       ``n^{[2]}``
``MatrixSymbol w2``    ``\\mathbf{W}^{(2)}``            ``W^{[2]}``
:func:`layer_function`  ``f_{2}``                      ``g^{[2]}``
=====================  ==============================  ==================================

A :class:`Notation` holds the choices; :data:`NOTATIONS` lists them by the name the command line
takes. Everything the document shows as mathematics is printed here, so a new notation is one
more :class:`Notation` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .. import naming
from ..naming import BATCH_LOSS, BATCH_SIZE, L2, parse_name

_FUNCTION_NAME = re.compile(r"^(f|fprime)(\d+)$")
_BATCH_NAME = re.compile(r"^batch_(a|z|delta|fprime|dLda)(\d+)$")
_WIDTH_NAME = re.compile(r"^n_(\d+)$")


#: Order of factors in a printed product, by the quantity a factor holds (SymPy's order within a rank).
_FACTOR_RANK = {"y": 1, "delta": 2, "dLda": 3, "w": 4, "b": 5, "z": 6, "a": 6}


def _factor_rank(factor: sp.Expr) -> tuple[int, bool]:
    """Numbers, then targets, δ, ∂L/∂a, weights, activations; a plain factor before a bracket."""
    bracketed = factor.is_Add
    if factor.is_Number or factor == L2:  # a coefficient first: λ w, not w λ
        return 0, bracketed
    if factor.has(sp.KroneckerDelta) and not factor.has(sp.Indexed, sp.Sum):
        return 9, bracketed
    for node in sp.preorder_traversal(factor):
        if isinstance(node, sp.Indexed):
            name = node.base.label.name
            parsed = parse_name(name)
            return _FACTOR_RANK.get(parsed[0] if parsed else name, 8), bracketed
    return 7, bracketed


def _decimal_places(denominator: int) -> int | None:
    """The decimal places of p/denominator when it terminates (a denominator of 2s and 5s), else None."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    return max(twos, fives) if denominator == 1 else None


def _kind(element: sp.Indexed) -> str | None:
    parsed = parse_name(element.base.label.name)
    return parsed[0] if parsed else None


def _is_bias(term: sp.Expr) -> bool:
    """A term made of biases alone (b⁽ᵏ⁾ᵢ, the vector b⁽ᵏ⁾, or 1ₘ b⁽ᵏ⁾ᵀ of a batch)."""
    names = [e.base.label.name for e in term.atoms(sp.Indexed)] + [m.name for m in term.atoms(sp.MatrixSymbol)]
    kinds = [parse_name(name) for name in names]
    return bool(kinds) and all(kind is not None and kind[0] == "b" for kind in kinds)


def layer_function(k: int) -> type[sp.Function]:
    """f_k, the activation of layer k as an undefined function (for the generic chain rule)."""
    return sp.Function(f"f{k}")


def layer_function_derivative(k: int) -> type[sp.Function]:
    """f′_k, the derivative of the activation of layer k as an undefined function."""
    return sp.Function(naming.derivative_name(k))


def _applied(name: str, arguments: tuple[sp.Basic, ...], printer: LatexPrinter, exp: str | None) -> str:
    """``name(arguments)``: plain brackets around a symbol, as textbooks write f(x), sized ones around a formula.

    ``\\left(`` after a function name leaves a gap (f (x)) that plain brackets do not.
    """
    printed = ", ".join(printer._print(argument) for argument in arguments)
    symbols = (sp.Symbol, sp.Indexed, sp.IndexedBase, sp.MatrixSymbol, sp.Transpose)
    simple = all(isinstance(argument, symbols) for argument in arguments)
    tex = f"{name}({printed})" if simple else rf"{name}\left({printed}\right)"
    return f"{tex}^{{{exp}}}" if exp else tex


def named_function(name: str, latex_name: str) -> type[sp.Function]:
    """An undefined function printed with the registry's LaTeX name: σ(x), tanh(x), ReLU(x)."""

    def _latex(self: sp.Function, printer: LatexPrinter, exp: str | None = None) -> str:
        return _applied(latex_name, self.args, printer, exp)

    return type(f"activation_{name}", (sp.Function,), {"_latex": _latex})


_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "->": r"$\rightarrow$",
}
_TEXT_SPECIAL = re.compile("|".join(re.escape(key) for key in sorted(_TEXT_ESCAPES, key=len, reverse=True)))


def escape_text(text: str) -> str:
    """Plain text (a network's name, a file name) made safe for LaTeX's text mode."""
    return _TEXT_SPECIAL.sub(lambda match: _TEXT_ESCAPES[match.group(0)], text)


#: Unicode in the checker's diagnoses and layouts, as pdflatex (without fontspec) can typeset it.
_TEXT_SYMBOLS = {
    "δ": r"$\delta$",
    "Δ": r"$\Delta$",
    "σ": r"$\sigma$",
    "ε": r"$\varepsilon$",
    "Σ": r"$\Sigma$",
    "∑": r"$\sum$",
    "∂": r"$\partial$",
    "′": r"$'$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "<": r"$<$",
    ">": r"$>$",
    "|": r"$|$",
    "−": r"$-$",
    "⋅": r"$\cdot$",
    "·": r"$\cdot$",
    "×": r"$\times$",
    "→": r"$\rightarrow$",
    "->": r"$\rightarrow$",
    "½": r"$\frac{1}{2}$",
    "²": r"$^2$",
    "³": r"$^3$",
    "ᵀ": r"$^\top$",
    "ŷ": r"$\hat{y}$",
}
_TEXT_SYMBOLS_PATTERN = re.compile("|".join(re.escape(key) for key in sorted(_TEXT_SYMBOLS, key=len, reverse=True)))


def text_with_symbols(text: str) -> str:
    """Plain text for LaTeX's text mode: its special characters escaped, the common Unicode
    symbols of a diagnosis written as math."""
    pieces, start = [], 0
    for match in _TEXT_SYMBOLS_PATTERN.finditer(text):
        pieces += [escape_text(text[start : match.start()]), _TEXT_SYMBOLS[match.group(0)]]
        start = match.end()
    return "".join([*pieces, escape_text(text[start:])])


def batch_matrix(letter: str, k: int, columns: sp.Expr) -> sp.MatrixSymbol:
    """The batch matrix (one row per sample) of a per-sample column quantity: A⁽ᵏ⁾, Δ⁽ᵏ⁾, F′⁽ᵏ⁾."""
    return sp.MatrixSymbol(naming.batch_name(letter, k), BATCH_SIZE, columns)


@dataclass(frozen=True)
class Notation:
    """One textbook convention for the layer superscript, the activations and the loss."""

    name: str
    description: str
    #: Wraps the layer number: ``(2)`` or ``[2]``.
    layer_open: str
    layer_close: str
    #: The letter of a layer index in prose formulas (k or l).
    layer_letter: str
    #: Hidden-layer outputs: ``h`` (tutorial) or ``a`` (Coursera).
    hidden_letter: str
    #: The output layer's a⁽ᴸ⁾ is written ŷ.
    output_as_prediction: bool
    weight_letter: str
    weight_matrix: str
    loss: str
    #: The activation of layer k; ``{k}`` is replaced by the layer.
    function: str
    function_derivative: str
    #: Vectors and matrices are bold in the tutorial convention.
    bold: bool
    #: Width of layer k; ``{k}`` is replaced by the layer.
    width: str

    def layer(self, k: int | str) -> str:
        return f"{self.layer_open}{k}{self.layer_close}"

    def activation_name(self, k: int | str, *, derivative: bool = False) -> str:
        return (self.function_derivative if derivative else self.function).replace("{k}", str(k))

    def width_name(self, k: int | str) -> str:
        return self.width.replace("{k}", str(k))

    def _vector(self, letter: str) -> str:
        if not self.bold:
            return letter
        if letter == r"\hat{y}":
            return r"\hat{\mathbf{y}}"
        return rf"\boldsymbol{{{letter}}}" if letter.startswith("\\") else rf"\mathbf{{{letter}}}"

    def letter(self, kind: str, k: int | str, depth: int | None) -> tuple[str, bool]:
        """The base letter of a quantity of layer k and whether it carries the layer superscript."""
        if kind == "a":
            if k == 0:
                return "x", False
            if self.output_as_prediction and k == depth:
                return r"\hat{y}", False
            return self.hidden_letter, True
        return {"w": self.weight_letter, "b": "b", "z": "z", "delta": r"\delta"}[kind], True

    def element(self, kind: str, k: int | str, indices: str, depth: int | None) -> str:
        """One element, e.g. ``w^{(2)}_{ij}``."""
        if kind == "dLda":
            return rf"\frac{{\partial {self.loss}}}{{\partial {self.element('a', k, indices, depth)}}}"
        letter, layered = self.letter(kind, k, depth)
        superscript = f"^{{{self.layer(k)}}}" if layered else ""
        return f"{letter}{superscript}_{{{indices}}}"

    def vector(self, kind: str, k: int | str, depth: int | None, *, transpose: bool = False) -> str:
        """A whole layer's vector or matrix, e.g. ``\\mathbf{W}^{(2)}``, optionally transposed."""
        top = r"\top" if transpose else ""
        if kind == "dLda":
            return rf"\nabla_{{{self.vector('a', k, depth)}}} {self.loss}" + (f"^{{{top}}}" if top else "")
        if kind == "w":
            return f"{self._vector(self.weight_matrix)}^{{{self.layer(k)}{top}}}"
        letter, layered = self.letter(kind, k, depth)
        superscript = self.layer(k) if layered else ""
        body = self._vector(letter)
        if superscript or top:
            return f"{body}^{{{superscript}{top}}}"
        return body

    def batch(self, kind: str, k: int | str, depth: int | None, *, transpose: bool = False) -> str:
        """A batch matrix with one row per sample, e.g. ``\\mathbf{A}^{(1)}``, ``\\hat{\\mathbf{Y}}``."""
        top = r"\top" if transpose else ""
        if kind == "dLda":
            return rf"\nabla_{{{self.batch('a', k, depth)}}} {self.loss}" + (f"^{{{top}}}" if top else "")
        if kind == "fprime":
            body = f"{self.activation_name(k, derivative=True)}({self.batch('z', k, depth)})"
            return rf"\left({body}\right)^{{{top}}}" if top else body
        if kind == "a" and k == 0:
            letter, layered = "X", False
        elif kind == "a" and self.output_as_prediction and k == depth:
            letter, layered = r"\hat{Y}", False
        else:
            letter = {"a": self.hidden_letter.upper(), "z": "Z", "delta": r"\Delta"}[kind]
            layered = True
        superscript = self.layer(k) if layered else ""
        body = self._vector(letter)
        if superscript or top:
            return f"{body}^{{{superscript}{top}}}"
        return body


NOTATIONS: Mapping[str, Notation] = MappingProxyType(
    {
        "tutorial": Notation(
            name="tutorial",
            description=r"layer $k$ in round brackets, hidden outputs $h$, activations $f_k$",
            layer_open="(",
            layer_close=")",
            layer_letter="k",
            hidden_letter="h",
            output_as_prediction=True,
            weight_letter="w",
            weight_matrix="W",
            loss="L",
            function="f_{{k}}",
            function_derivative="f'_{{k}}",
            bold=True,
            width="n_{{k}}",
        ),
        "coursera": Notation(
            name="coursera",
            description=r"layer $l$ in square brackets, activations $g^{[l]}$, loss $\mathcal{L}$",
            layer_open="[",
            layer_close="]",
            layer_letter="l",
            hidden_letter="a",
            output_as_prediction=False,
            weight_letter="W",
            weight_matrix="W",
            loss=r"\mathcal{L}",
            function="g^{[{k}]}",
            function_derivative="g^{[{k}]\\prime}",
            bold=False,
            width="n^{[{k}]}",
        ),
    }
)
DEFAULT_NOTATION = "tutorial"


class BackpropLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the symbols of :mod:`symbackprop.equations` in a notation."""

    _default_settings = {
        **LatexPrinter._default_settings,
        "notation": DEFAULT_NOTATION,
        "depth": None,
        # Products of whole vectors are elementwise (⊙): set when printing vectorised index forms.
        "hadamard": False,
    }

    def __init__(self, settings: dict | None = None) -> None:
        settings = dict(settings or {})
        notation = settings.get("notation", DEFAULT_NOTATION)
        if isinstance(notation, str):
            notation = NOTATIONS[notation]
        settings["notation"] = notation
        settings.setdefault("mul_symbol", None)
        super().__init__(settings)
        self._outer_order: list[str] = []

    @property
    def notation(self) -> Notation:
        return self._settings["notation"]

    @property
    def depth(self) -> int | None:
        return self._settings["depth"]

    # Scalars -------------------------------------------------------------------------------

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        width = _WIDTH_NAME.match(expr.name)
        if width:
            return self.notation.width_name(width.group(1))
        if expr == naming.LOSS:
            return self.notation.loss
        if expr == BATCH_LOSS:
            return "J"
        return super()._print_Symbol(expr, style=style)

    def _print_Rational(self, expr: sp.Rational) -> str:
        # A constant given in decimals (GELU's 0.044715, a slope of 0.01) reads as it was given;
        # ½ and ¼ stay fractions.
        decimals = _decimal_places(expr.q)
        if expr.q <= 10 or decimals is None:
            return super()._print_Rational(expr)
        digits = f"{abs(expr.p) * 10**decimals // expr.q:0{decimals + 1}d}"
        sign = "- " if expr.p < 0 else ""
        return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        printed = [self._print(index) for index in expr.indices]
        # w_{1p} reads unambiguously; w_{1512} does not, so longer indices get commas: w_{1,512}.
        indices = ("," if any(len(index) > 1 for index in printed) else "").join(printed)
        name = expr.base.label.name
        parsed = parse_name(name)
        if parsed is None:
            return f"{self._print(expr.base.label)}_{{{indices}}}"
        kind, k = parsed
        return self.notation.element(kind, k, indices, self.depth)

    def _print_Pow(self, expr: sp.Pow, exp: str | None = None) -> str:
        if isinstance(expr.base, (sp.Indexed, sp.IndexedBase)) and expr.exp.is_Integer and expr.exp > 1:
            # Braces let a power follow a superscripted element: {h^{(1)}_{p}}^{2}.
            return f"{{{self._print(expr.base)}}}^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_IndexedBase(self, expr: sp.IndexedBase) -> str:
        if expr.label.name == naming.batch_name(naming.TARGET):
            return self.notation._vector("Y")
        if expr.label.name == "y":
            return self.notation._vector("y")
        batch = _BATCH_NAME.match(expr.label.name)
        if batch:
            return self.notation.batch(batch.group(1), int(batch.group(2)), self.depth)
        parsed = parse_name(expr.label.name)
        if parsed is None:
            return self._print(expr.label)
        kind, k = parsed
        return self.notation.vector(kind, k, self.depth)

    def _print_Mul(self, expr: sp.Mul) -> str:
        if self._settings["hadamard"]:
            coefficient, factors = expr.as_coeff_mul()
            vectors = [f for f in factors if f.atoms(sp.IndexedBase)]
            if len(vectors) > 1 and sp.fraction(expr)[1] == 1:
                scalars = sp.Mul(coefficient, *[f for f in factors if f not in vectors])
                vectors = sorted(vectors, key=_factor_rank)
                tex = r" \odot ".join(self.parenthesize(f, PRECEDENCE["Mul"], strict=True) for f in vectors)
                if scalars == 1:
                    return tex
                if scalars == -1:
                    return f"- {tex}"
                return f"{self.parenthesize(scalars, PRECEDENCE['Mul'])} {tex}"
        numerator, denominator = sp.fraction(expr)
        if denominator != 1:
            return self._print_fraction(expr, numerator, denominator)
        reorderable = expr.is_commutative and self._settings["order"] != "none"
        if not reorderable:
            return super()._print_Mul(expr)
        if expr.args[0] == -1 and len(expr.args) > 2:
            return "- " + self._print_Mul(sp.Mul(*expr.args[1:], evaluate=False))
        # SymPy orders factors alphabetically (x_q δ_p); textbooks write δ_p x_q, y log ŷ. The
        # printer keeps the new order ('none') for this product only: sums inside keep theirs.
        factors = sorted(expr.args, key=_factor_rank)
        self._outer_order.append(self._settings["order"])
        self._settings["order"] = "none"
        try:
            return super()._print_Mul(sp.Mul(*factors, evaluate=False))
        finally:
            self._settings["order"] = self._outer_order.pop()

    def _print_fraction(self, expr: sp.Expr, numerator: sp.Expr, denominator: sp.Expr) -> str:
        """A quotient as textbooks write it: ½ Σ …, 1/m Σ …, and ∂L/∂ŷ or δᵢₚ beside a fraction, not in it."""
        if expr.could_extract_minus_sign():
            return "- " + self._print(-expr)
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient.is_Rational and coefficient.q > 10 and _decimal_places(coefficient.q) is not None:
            return f"{self._print(coefficient)} {self.parenthesize(rest, PRECEDENCE['Mul'])}"  # 0.01 x, not x/100
        if isinstance(numerator, sp.Sum) and (denominator.is_Symbol or denominator.is_Integer):
            return rf"\frac{{1}}{{{self._print(denominator)}}} {self._print(numerator)}"
        if denominator == BATCH_SIZE and numerator != 1:
            return rf"\frac{{1}}{{m}} {self.parenthesize(numerator, PRECEDENCE['Mul'])}"
        factors = sp.Mul.make_args(numerator)
        gradients = [f for f in factors if isinstance(f, sp.Indexed) and _kind(f) == "dLda"]
        kroneckers = [f for f in factors if isinstance(f, sp.KroneckerDelta)]
        if not gradients and not kroneckers:
            return super()._print_Mul(expr)
        rest = sp.Mul(*[f for f in factors if f not in gradients and f not in kroneckers]) / denominator
        return " ".join(self._print(f) for f in [*gradients, rest, *kroneckers])

    def _as_ordered_terms(self, expr: sp.Expr, order: str | None = None) -> list[sp.Expr]:
        """SymPy's order, then the bias last (Σ w x + b), the L2 term after the loss's (δ aᵀ + λ W)
        and a positive term first (y − ŷ, not −ŷ + y)."""
        terms = list(super()._as_ordered_terms(expr, order=order))
        terms = [t for t in terms if not _is_bias(t)] + [t for t in terms if _is_bias(t)]
        terms = [t for t in terms if not t.has(L2)] + [t for t in terms if t.has(L2)]
        if terms and terms[0].could_extract_minus_sign():
            positive = next((t for t in terms if not t.could_extract_minus_sign()), None)
            if positive is not None:
                terms.remove(positive)
                terms.insert(0, positive)
        return terms

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        if not self._outer_order or self._settings["order"] != "none":
            return super()._print_Add(expr, order)
        self._settings["order"] = self._outer_order[-1]
        try:
            return super()._print_Add(expr, order)
        finally:
            self._settings["order"] = "none"

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr) -> str:
        # A negative formula put in place of a symbol (∂L/∂ŷᵢ → −yᵢ/ŷᵢ) keeps its brackets (a sum gets
        # them from the product it stands in).
        inner = expr.args[0]
        if not inner.is_Add and inner.could_extract_minus_sign():
            return rf"\left({self._print(inner)}\right)"
        return self._print(inner)

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        variables = expr.variables
        simple = isinstance(expr.expr, (sp.Indexed, sp.Symbol)) and len(variables) == 1
        if not simple:
            return super()._print_Derivative(expr)
        return rf"\frac{{\partial {self._print(expr.expr)}}}{{\partial {self._print(variables[0])}}}"

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        match = _FUNCTION_NAME.match(type(expr).__name__)
        if match is None:
            return super()._print_Function(expr, exp)
        kind, k = match.group(1), match.group(2)
        return _applied(self.notation.activation_name(k, derivative=kind == "fprime"), expr.args, self, exp)

    # Vectors and matrices --------------------------------------------------------------------

    def _matrix_name(self, expr: sp.MatrixSymbol, *, transpose: bool) -> str | None:
        name = expr.name
        batch = _BATCH_NAME.match(name)
        if batch:
            return self.notation.batch(batch.group(1), int(batch.group(2)), self.depth, transpose=transpose)
        top = r"^{\top}" if transpose else ""
        if name == "y":
            return self.notation._vector("y") + top
        if name in (naming.OUTPUT_GRADIENT, naming.LOSS_DERIVATIVE):
            return self.notation.vector(naming.OUTPUT_GRADIENT, self.depth or "L", self.depth, transpose=transpose)
        if name == naming.batch_name(naming.TARGET):
            return self.notation._vector("Y") + top
        if name.startswith(naming.DERIVATIVE):
            k = int(name.removeprefix(naming.DERIVATIVE))
            z = self.notation.vector("z", k, self.depth)
            body = f"{self.notation.activation_name(k, derivative=True)}({z})"
            return rf"\left({body}\right)^{{\top}}" if transpose else body
        parsed = parse_name(name)
        if parsed is None:
            return None
        kind, k = parsed
        return self.notation.vector(kind, k, self.depth, transpose=transpose)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        name = self._matrix_name(expr, transpose=False)
        return name if name is not None else super()._print_MatrixSymbol(expr)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        if isinstance(expr.arg, sp.MatrixSymbol):
            name = self._matrix_name(expr.arg, transpose=True)
            if name is not None:
                return name
        return rf"\left({self._print(expr.arg)}\right)^{{\top}}"

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        return r" \odot ".join(self.parenthesize(arg, PRECEDENCE["Mul"], strict=True) for arg in expr.args)

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        rows = expr.shape[0]
        return rf"\mathbf{{1}}_{{{self._print(rows)}}}"


def latex(
    expr: sp.Basic, *, notation: str | Notation = DEFAULT_NOTATION, depth: int | None = None, hadamard: bool = False
) -> str:
    """``expr`` in LaTeX, in the notation named (``depth`` = L, to write a⁽ᴸ⁾ as ŷ)."""
    return BackpropLatexPrinter({"notation": notation, "depth": depth, "hadamard": hadamard}).doprint(expr)


def equation(
    lhs: sp.Basic,
    *rhs: sp.Basic,
    notation: str | Notation = DEFAULT_NOTATION,
    depth: int | None = None,
    hadamard: bool = False,
) -> str:
    """``lhs = rhs₁ = rhs₂ …`` on one line (matrix expressions cannot be put in a ``sympy.Eq``)."""
    printer = BackpropLatexPrinter({"notation": notation, "depth": depth, "hadamard": hadamard})
    return " = ".join(printer.doprint(side) for side in (lhs, *rhs))
