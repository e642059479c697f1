"""The one table of activations and losses; each is a SymPy expression written once.

Contract
--------
* An :class:`Activation` holds f(x) as a SymPy expression in the real symbol ``x``. Its derivative
  is always ``sympy.diff(f, x)``; an entry may also *claim* a form of f′ written in the layer's
  output ``a = f(x)`` (σ′ = a(1 − a)), which lets generated code reuse cached activations. The
  claim is proved equal to the derivative by the test-suite, entry by entry.
* Each entry owns its behaviour (:mod:`symbackprop.kinds`): an activation its Jacobian structure
  and init rule, a loss its kind of targets. Softmax has the normalised Jacobian: its entry holds
  the numerator ``exp(x)``, and the index-form equations divide by the sum over the layer.
* A :class:`Loss` is a per-sample expression ``scale · Σᵢ term(ŷᵢ, yᵢ)`` in the symbols ``ŷ``,
  ``y`` and the output width ``n``; the batch loss is the mean over samples.
* Every LaTeX string, NumPy line and derivative in symbackprop is printed or derived from these
  entries; nothing here is restated elsewhere.

ReLU and its relatives are ``Piecewise`` with the kink in the first branch (``x <= 0``), so the
derivative at 0 is the left one: f′(0) = 0 for ReLU, as PyTorch and JAX define it.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from types import MappingProxyType

import sympy as sp

from .admission import admit
from .errors import SpecError
from .exprparse import ALLOWED_FUNCTIONS, RESERVED_NAMES, parse_expression
from .kinds import BINARY, DIAGONAL, GLOROT, HE, NORMALISED, ONE_HOT, REAL, InitRule, Jacobian, TargetKind
from .naming import ALPHA, N_OUT, YHAT, A, X, Y


@dataclass(frozen=True)
class Activation:
    """One activation function f, written once as a SymPy expression in :data:`X`."""

    name: str
    expr: sp.Expr
    latex_name: str
    output_range: sp.Set | None
    init: InitRule = GLOROT
    output_derivative: sp.Expr | None = None
    jacobian: Jacobian = DIAGONAL
    #: (symbol, value) pairs of a parametric entry, in the order users write them.
    parameters: tuple[tuple[sp.Symbol, sp.Rational], ...] = ()
    description: str = ""
    #: A custom activation's expression in the grammar of :mod:`symbackprop.exprparse`, which
    #: ``--activation-def`` accepts back (``None`` for the built-in entries).
    definition: str | None = None

    @property
    def label(self) -> str:
        """The name with its parameters, as a user would write it: ``leaky_relu(0.01)``."""
        if not self.parameters:
            return self.name
        values = ", ".join(format_number(value) for _, value in self.parameters)
        return f"{self.name}({values})"

    def bound(self) -> Activation:
        """This entry with its parameters replaced by their values."""
        if not self.parameters:
            return self
        values = dict(self.parameters)
        output_derivative = self.output_derivative
        if output_derivative is not None:
            output_derivative = output_derivative.xreplace(values)
        output_range = self.output_range
        if output_range is not None:
            output_range = output_range.xreplace(values)
        return replace(
            self,
            expr=self.expr.xreplace(values),
            output_derivative=output_derivative,
            output_range=output_range,
            parameters=(),
        )

    def with_parameters(self, *values: sp.Rational) -> Activation:
        """A copy with the parameters set, in the order the entry lists them."""
        names = [symbol for symbol, _ in self.parameters]
        if len(values) != len(names):
            raise SpecError(
                f"activation '{self.name}' takes {len(names)} parameter(s)"
                f" ({', '.join(str(s) for s in names) or 'none'}), got {len(values)}"
            )
        for symbol, value in zip(names, values, strict=True):
            if not 0 < value <= MAX_PARAMETER:
                raise SpecError(
                    f"parameter {symbol} of '{self.name}' must be positive and at most {MAX_PARAMETER:.0e},"
                    f" got {format_number(value)}"
                )
        return replace(self, parameters=tuple(zip(names, values, strict=True)))

    def at(self, argument: sp.Expr) -> sp.Expr:
        """f(argument) for an elementwise activation."""
        return self.bound().expr.xreplace({X: argument})

    def derivative(self) -> sp.Expr:
        """f′(x), by differentiation of the one expression."""
        return sp.diff(self.bound().expr, X)

    def derivative_in_output(self) -> sp.Expr | None:
        """The claimed f′ written in the output a, or ``None`` when the entry has none."""
        return self.bound().output_derivative

    def index_form(self, z: sp.IndexedBase, i: sp.Symbol, j: sp.Symbol, n: sp.Expr) -> sp.Expr:
        """aᵢ as a function of the layer's pre-activations z (n units, summation index j)."""
        return self.jacobian.index_form(self.at, z, i, j, n)


@dataclass(frozen=True)
class Loss:
    """A per-sample loss ``scale · Σᵢ term(ŷᵢ, yᵢ)``, written once as a SymPy expression."""

    name: str
    #: The loss's name in words, for messages: "categorical cross-entropy".
    title: str
    term: sp.Expr
    scale: sp.Expr
    latex_name: str
    prediction_domain: sp.Set
    targets: TargetKind
    description: str
    requires_output: str | None = None

    def index_form(self, yhat: sp.IndexedBase, y: sp.IndexedBase, i: sp.Symbol, n: sp.Expr) -> sp.Expr:
        """The per-sample loss over n outputs, summed with index i."""
        term = self.term.xreplace({YHAT: yhat[i], Y: y[i]})
        return self.scale.xreplace({N_OUT: n}) * sp.Sum(term, (i, 1, n))

    def term_derivative(self) -> sp.Expr:
        """∂ term / ∂ŷ, by differentiation of the one expression."""
        return sp.diff(self.term, YHAT)


def _relu_like(negative_branch: sp.Expr) -> sp.Expr:
    # The kink sits in the first branch so that diff gives the left derivative at 0.
    return sp.Piecewise((negative_branch, X <= 0), (X, True))


# The grammar's sigmoid and softplus are the registry's: written once, in the parser's table.
_SIGMOID = ALLOWED_FUNCTIONS["sigmoid"](X)
_SOFTPLUS = ALLOWED_FUNCTIONS["softplus"](X)
_GELU_INNER = sp.sqrt(2 / sp.pi) * (X + sp.Rational(44715, 1000000) * X**3)

_ACTIVATIONS = (
    Activation(
        name="identity",
        expr=X,
        latex_name=r"\operatorname{id}",
        output_range=sp.Reals,
        output_derivative=sp.Integer(1),
        description="f(x) = x; for regression outputs",
    ),
    Activation(
        name="sigmoid",
        expr=_SIGMOID,
        latex_name=r"\sigma",
        output_range=sp.Interval.open(0, 1),
        output_derivative=A * (1 - A),
        description="logistic function 1/(1 + e^-x)",
    ),
    Activation(
        name="tanh",
        expr=sp.tanh(X),
        latex_name=r"\tanh",
        output_range=sp.Interval.open(-1, 1),
        output_derivative=1 - A**2,
        description="hyperbolic tangent",
    ),
    Activation(
        name="relu",
        expr=_relu_like(sp.Integer(0)),
        latex_name=r"\operatorname{ReLU}",
        output_range=sp.Interval(0, sp.oo),
        init=HE,
        output_derivative=sp.Piecewise((0, A <= 0), (1, True)),
        description="max(0, x), with f'(0) = 0",
    ),
    Activation(
        name="leaky_relu",
        expr=_relu_like(ALPHA * X),
        latex_name=r"\operatorname{LeakyReLU}",
        output_range=sp.Reals,
        init=HE,
        output_derivative=sp.Piecewise((ALPHA, A <= 0), (1, True)),
        parameters=((ALPHA, sp.Rational(1, 100)),),
        description="x for x > 0, alpha*x otherwise (default alpha = 0.01), with f'(0) = alpha",
    ),
    Activation(
        name="elu",
        expr=_relu_like(ALPHA * (sp.exp(X) - 1)),
        latex_name=r"\operatorname{ELU}",
        output_range=sp.Interval.open(-ALPHA, sp.oo),
        init=HE,
        parameters=((ALPHA, sp.Integer(1)),),
        description="x for x > 0, alpha*(e^x - 1) otherwise (default alpha = 1)",
    ),
    Activation(
        name="softplus",
        expr=_SOFTPLUS,
        latex_name=r"\operatorname{softplus}",
        output_range=sp.Interval.open(0, sp.oo),
        description="log(1 + e^x)",
    ),
    Activation(
        name="silu",
        expr=X * _SIGMOID,
        latex_name=r"\operatorname{SiLU}",
        output_range=None,
        init=HE,
        description="x * sigmoid(x) (swish)",
    ),
    Activation(
        name="gelu",
        expr=X / 2 * (1 + sp.erf(X / sp.sqrt(2))),
        latex_name=r"\operatorname{GELU}",
        output_range=None,
        init=HE,
        description="x*Phi(x) = 0.5x(1 + erf(x/sqrt(2))), the exact form (torch.nn.GELU())",
    ),
    Activation(
        name="gelu_tanh",
        expr=X / 2 * (1 + sp.tanh(_GELU_INNER)),
        latex_name=r"\operatorname{GELU}_{\tanh}",
        output_range=None,
        init=HE,
        description=(
            "the tanh approximation of gelu, 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))"
            " (torch.nn.GELU(approximate='tanh'))"
        ),
    ),
    Activation(
        name="mish",
        expr=X * sp.tanh(_SOFTPLUS),
        latex_name=r"\operatorname{Mish}",
        output_range=None,
        init=HE,
        description="x * tanh(softplus(x)) (torch.nn.Mish())",
    ),
    Activation(
        name="softmax",
        expr=sp.exp(X),
        latex_name=r"\operatorname{softmax}",
        output_range=sp.Interval.open(0, 1),
        jacobian=NORMALISED,
        description="exp(z_i) / sum_j exp(z_j); output layer only, with cce",
    ),
)

_LOSSES = (
    Loss(
        name="sse",
        title="sum of squared errors",
        term=(Y - YHAT) ** 2,
        scale=sp.Integer(1),
        latex_name=r"\mathrm{SSE}",
        prediction_domain=sp.Reals,
        targets=REAL,
        description="sum of squared errors sum_i (y_i - yhat_i)^2",
    ),
    Loss(
        name="half_sse",
        title="half sum of squared errors",
        term=(YHAT - Y) ** 2,
        scale=sp.Rational(1, 2),
        latex_name=r"\tfrac{1}{2}\mathrm{SSE}",
        prediction_domain=sp.Reals,
        targets=REAL,
        description="half the sum of squared errors 1/2 sum_i (yhat_i - y_i)^2",
    ),
    Loss(
        name="mse",
        title="mean squared error",
        term=(YHAT - Y) ** 2,
        scale=1 / N_OUT,
        latex_name=r"\mathrm{MSE}",
        prediction_domain=sp.Reals,
        targets=REAL,
        description="mean squared error over the outputs (1/n_L) sum_i (yhat_i - y_i)^2",
    ),
    Loss(
        name="huber",
        title="Huber",
        # Quadratic within 1 of the target, linear beyond: the kinks are comparisons of the
        # residual with constants, so the derivative is exact on each side (−1, ŷ − y, 1).
        term=sp.Piecewise(
            (-(YHAT - Y) - sp.Rational(1, 2), YHAT - Y < -1),
            ((YHAT - Y) ** 2 / 2, YHAT - Y <= 1),
            (YHAT - Y - sp.Rational(1, 2), True),
        ),
        scale=1 / N_OUT,
        latex_name=r"\mathrm{Huber}",
        prediction_domain=sp.Reals,
        targets=REAL,
        description="mean over the outputs of r^2/2 for |r| <= 1, |r| - 1/2 beyond (torch.nn.HuberLoss())",
    ),
    Loss(
        name="bce",
        title="binary cross-entropy",
        term=-(Y * sp.log(YHAT) + (1 - Y) * sp.log(1 - YHAT)),
        scale=sp.Integer(1),
        latex_name=r"\mathrm{BCE}",
        prediction_domain=sp.Interval.open(0, 1),
        targets=BINARY,
        description=("binary cross-entropy, summed over the outputs (several outputs are independent binary labels)"),
    ),
    Loss(
        name="cce",
        title="categorical cross-entropy",
        term=-Y * sp.log(YHAT),
        scale=sp.Integer(1),
        latex_name=r"\mathrm{CCE}",
        prediction_domain=sp.Interval.open(0, 1),
        targets=ONE_HOT,
        description="categorical cross-entropy -sum_i y_i log(yhat_i); needs a softmax output",
        requires_output="softmax",
    ),
)

#: The activations by name, parameters at their defaults.
ACTIVATIONS: Mapping[str, Activation] = MappingProxyType({a.name: a for a in _ACTIVATIONS})
#: The losses by name.
LOSSES: Mapping[str, Loss] = MappingProxyType({loss.name: loss for loss in _LOSSES})

_ACTIVATION_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")
# Bounded digits and exponent: Fraction("1e-999999999") would first build a billion-digit integer.
_NUMBER = re.compile(r"^[+-]?(\d{1,20}(\.\d{0,20})?|\.\d{1,20})([eE][+-]?\d{1,2})?$")
#: Parameters above this are refused; they would print as floats no sensible network uses.
MAX_PARAMETER = 10**6


def format_number(value: sp.Rational) -> str:
    if value.is_Integer:
        return str(value)
    exact = Fraction(int(value.p), int(value.q))
    decimal = repr(float(value))
    if Fraction(decimal) == exact or not _terminates(exact.denominator):
        return decimal
    # Written as given where float's shortest form would round it (0.1234567890123456789).
    return _exact_decimal(exact)


def _terminates(denominator: int) -> bool:
    """Whether 1/denominator has a finite decimal expansion (no prime factor but 2 and 5)."""
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def _exact_decimal(value: Fraction) -> str:
    """A fraction whose denominator divides a power of ten, as its exact decimal expansion."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = abs(value.numerator * 10**digits // value.denominator)
    whole, fraction = divmod(scaled, 10**digits)
    return f"{'-' if value < 0 else ''}{whole}.{fraction:0{digits}d}"


def _suggestion(name: str, known: list[str]) -> str:
    by_lower = {entry.lower(): entry for entry in known}
    key = name.lower()
    close = difflib.get_close_matches(key, list(by_lower), n=1)
    # A known name with decoration around it ('bce_loss', 'relu6') is too long for difflib's ratio.
    close = close or sorted((entry for entry in by_lower if key.startswith(entry)), key=len, reverse=True)
    if close:
        return f"; did you mean '{by_lower[close[0]]}'?"
    return f"; known: {', '.join(sorted(known))}"


def lookup_activation(
    text: str, *, where: str = "activation", custom: Mapping[str, Activation] | None = None
) -> Activation:
    """The activation that ``text`` names: ``relu``, ``leaky_relu(0.2)``, or a custom name."""
    table = {**ACTIVATIONS, **(custom or {})}
    match = _ACTIVATION_CALL.match(text)
    if match is None:
        raise SpecError(f"{where}: '{text}' is not an activation name (like relu or leaky_relu(0.2))")
    name, arguments = match.group(1), match.group(2)
    if name not in table:
        raise SpecError(f"{where}: unknown activation '{name}'{_suggestion(name, list(table))}")
    entry = table[name]
    if arguments is None:
        return entry
    values = []
    for argument in (part.strip() for part in arguments.split(",")):
        if not _NUMBER.match(argument):
            raise SpecError(
                f"{where}: parameter '{argument}' of '{name}' is not a number like 0.2"
                " (at most 20 digits before and after the point, and a two-digit exponent)"
            )
        values.append(sp.Rational(Fraction(argument)))
    try:
        return entry.with_parameters(*values)
    except SpecError as error:
        raise SpecError(f"{where}: {error}") from None


def lookup_loss(text: str, *, where: str = "loss") -> Loss:
    """The loss that ``text`` names."""
    name = text.strip()
    if name not in LOSSES:
        raise SpecError(f"{where}: unknown loss '{name}'{_suggestion(name, list(LOSSES))}")
    return LOSSES[name]


def _grammar_form(expr: object) -> object:
    """A SymPy expression from Python with ``Max`` and ``Min`` written as the grammar's max and min
    (a tie takes the first argument), so that it has a definition the command line reads back."""
    if not isinstance(expr, sp.Expr):
        return expr
    return expr.replace(
        lambda e: isinstance(e, (sp.Max, sp.Min)),
        lambda e: functools.reduce(ALLOWED_FUNCTIONS["max" if isinstance(e, sp.Max) else "min"], e.args),
    )


def custom_activation(
    name: str, expression: str | sp.Expr, *, where: str = "custom activation", text: str | None = None
) -> Activation:
    """An elementwise activation from a user's expression in x, parsed by our safe parser
    (``text`` is the expression as the user wrote it, when ``expression`` was parsed from it).

    Its output range is unknown, so on the output layer it is accepted with the losses defined for
    every real prediction (sse, half_sse, mse, huber) only; its derivative comes from differentiation
    like every other entry's.
    """
    if not isinstance(name, str):
        raise SpecError(f"{where}: the name must be a string, got {name!r:.60}")
    if name in ACTIVATIONS:
        raise SpecError(f"{where}: '{name}' is a built-in activation; choose another name")
    if name in RESERVED_NAMES:
        what = "the variable" if name == "x" else "a function" if name in ALLOWED_FUNCTIONS else "a constant"
        raise SpecError(f"{where}: '{name}' is {what} of the expression grammar; choose another name")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
        raise SpecError(f"{where}: '{name}' is not a valid name (lower-case letters, digits, _)")
    from .printing.text import source_text

    expr = parse_expression(expression, where=where) if isinstance(expression, str) else _grammar_form(expression)
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {X}:
        raise SpecError(
            f"{where}: the expression of '{name}' must depend on x and nothing else"
            " (from Python, symbackprop.exprparse.X, the real symbol x)"
        )
    # Written back in the parser's grammar, so that a spec's command line reproduces it. SymPy may
    # have rewritten the expression into a form the grammar cannot spell (max(0, x)**2 becomes a
    # Piecewise of squares); then the user's own text, or the Python expression as it was given
    # (with Max and Min), is written instead, as long as it parses to the same expression.
    definition = source_text(expr)
    if definition is None and isinstance(expression, sp.Expr):
        definition = source_text(expression, means=expr)
    written = expression if isinstance(expression, str) else text
    if definition is None and written is not None:
        definition = written.strip()
    if definition is None:
        functions = ", ".join(ALLOWED_FUNCTIONS)
        raise SpecError(
            f"{where}: the expression of '{name}' uses something the activation grammar cannot write;"
            f" use arithmetic, numbers, x, pi, e and the functions {functions}"
        )
    escaped = name.replace("_", r"\_")
    return Activation(
        name=name,
        expr=admit(expr, name, where),
        latex_name=rf"\operatorname{{{escaped}}}",
        output_range=None,
        description=f"custom: {definition}",
        definition=definition,
    )
