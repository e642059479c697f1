"""Verification of a derivation against matrix-form rules, layer by layer, by two witnesses.

Contract
--------
:func:`verify` checks every rule of a :class:`~symbackprop.rules.RuleSet` that applies to a
layer, for each layer from the output back, and returns a :class:`VerificationReport`:

(a) **symbolic**: the rule's element (p) or (p, q), computed from ``MatrixSymbol`` objects with
    symbolic widths, equals the contracted index form of the derivation (with the next layer's
    δ and the derivation's ∂L/∂ŷ as inputs, so each rule is judged on its own);
(b) **composed**: in a small concrete copy of the network (same depth, activations, loss and
    L2 term, widths capped at :data:`CAP`), the derivative of the composed loss with respect to every
    weight, bias and a perturbation of every z (which gives δ) is taken at a random point with
    :data:`DIGITS` significant digits, and the rule evaluated on the same numbers must agree to
    :data:`RELATIVE_TOLERANCE`. SymPy differentiates each layer's activation a⁽ᵏ⁾(z) and its
    affine map z(a⁽ᵏ⁻¹⁾, W, b, shift) into their full Jacobians, and the chain rule multiplies
    those Jacobians, evaluated at the point, from the loss back: that is the derivative of the
    composition, without building the composed expression (whose size grows with depth) and
    without any of the rules' formulas (no Jacobian is assumed diagonal, no product transposed);
    SymPy's derivative of the L2 term (λ/2) Σ w², which reads the weights directly, is added.

A rule fails when either witness disagrees, and its row says which, with a counterexample (an
element, the rule's value and the true one, or the shapes that do not match).
"""

from __future__ import annotations

import functools
import numbers
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from . import naming
from .contract import canonical, contract_deltas, is_zero
from .derive import _apply_target_facts
from .errors import SpecError, SymbackpropError
from .naming import L2, N_OUT, YHAT, X, Y
from .printing.text import layer_superscript, plain
from .rules import TEXTBOOK, MatrixLike, Rule, RuleSet, layer_targets

if TYPE_CHECKING:
    from .derive import Derivation, LayerDerivation

#: Widths of the concrete copy are capped here; 3 tells a transpose from the right matrix.
CAP = 3
#: Working precision of the composed witness, in significant digits.
DIGITS = 40
RELATIVE_TOLERANCE = sp.Float("1e-25", DIGITS)

_QUANTITY = {
    "loss_gradient": "∂L/∂ŷ",
    "output_delta": "δ{k}",
    "hidden_delta": "δ{k}",
    "weight": "∂L/∂W{k}",
    "bias": "∂L/∂b{k}",
}


def _quantity(target: str, k: int) -> str:
    return _QUANTITY[target].format(k=layer_superscript(k))


@dataclass(frozen=True)
class Witness:
    """One witness's verdict on one rule, with the evidence when it disagrees."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class RuleCheck:
    """One row of the report: a rule applied to one layer, judged by both witnesses."""

    layer: int
    target: str
    quantity: str
    rule: str
    formula: str
    symbolic: Witness
    composed: Witness

    @property
    def ok(self) -> bool:
        return self.symbolic.ok and self.composed.ok


@dataclass(frozen=True)
class VerificationReport:
    """Every rule check of a derivation; ``ok`` when all agree."""

    network: str
    rule_set: str
    rows: tuple[RuleCheck, ...]
    concrete_sizes: tuple[int, ...]
    seed: int

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> tuple[RuleCheck, ...]:
        return tuple(row for row in self.rows if not row.ok)

    def table(self) -> str:
        """A plain-text table, one row per layer and quantity, then the failures explained."""
        header = ("layer", "quantity", "rule", "formula", "symbolic", "composed")
        body = [
            (
                str(row.layer),
                row.quantity,
                row.rule,
                row.formula,
                "ok" if row.symbolic.ok else "FAIL",
                "ok" if row.composed.ok else "FAIL",
            )
            for row in self.rows
        ]
        widths = [max(len(line[c]) for line in [header, *body]) for c in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in [header, *body]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        sizes = "-".join(map(str, self.concrete_sizes))
        lines.append("")
        lines.append(f"{self.network}: rules '{self.rule_set}', composed witness on widths {sizes}, seed {self.seed}")
        for row in self.failures:
            for name, witness in (("symbolic", row.symbolic), ("composed", row.composed)):
                if not witness.ok:
                    lines.append(f"FAIL layer {row.layer} {row.quantity} by {row.rule} ({name}): {witness.detail}")
        lines.append("all rules verified" if self.ok else f"{len(self.failures)} rule check(s) failed")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


class UnverifiedDerivationError(SymbackpropError):
    """A derivation does not verify against the textbook rules, so nothing is made from it."""


def require_verified(derivation: Derivation) -> VerificationReport:
    """The textbook report of ``derivation``, or :class:`UnverifiedDerivationError` naming the
    failing layer, activation and rule nearest the output. Every artefact (module, document,
    reference of the checker) passes through here; the report is computed once per derivation,
    by this derivation (a report handed in could belong to another)."""
    report = _textbook_report(derivation)
    if report.ok:
        return report
    row = report.failures[0]
    witness, detail = ("symbolic", row.symbolic.detail) if not row.symbolic.ok else ("composed", row.composed.detail)
    activation = derivation.layer(row.layer).activation.label
    raise UnverifiedDerivationError(
        f"{derivation.network.compact}: the derivation does not verify, so nothing was written: layer {row.layer}"
        f" ({activation}), rule {row.rule} ({row.formula}) for {row.quantity}, {witness} witness: {detail}"
    )


@functools.lru_cache(maxsize=64)
def _textbook_report(derivation: Derivation) -> VerificationReport:
    return _verify(derivation, TEXTBOOK, seed=0)


def verify(derivation: Derivation, rules: RuleSet | None = None, *, seed: int = 0) -> VerificationReport:
    """Check ``derivation`` against ``rules`` (the textbook rules by default); the textbook report
    at seed 0 is computed once per derivation. ``seed`` (any integer) draws the composed witness's point."""
    from .derive import Derivation

    if not isinstance(derivation, Derivation):
        raise SpecError(
            "verify: expected a Derivation (from symbackprop.derive(network) or network.derive()),"
            f" got {derivation!r:.60}"
        )
    if rules is not None and not isinstance(rules, RuleSet):
        raise SpecError(
            "verify: rules must be a RuleSet (symbackprop.TEXTBOOK, symbackprop.TUTORIAL_MISTAKES) or None,"
            f" got {rules!r:.60}"
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise SpecError(f"verify: seed must be an integer, got {seed!r:.60}")
    seed = int(seed)  # random.Random takes no NumPy integers
    rules = rules or TEXTBOOK
    if rules is TEXTBOOK and seed == 0:
        return _textbook_report(derivation)
    return _verify(derivation, rules, seed=seed)


def _verify(derivation: Derivation, rules: RuleSet, *, seed: int) -> VerificationReport:
    symbolic = SymbolicView(derivation)
    try:
        concrete = ConcreteNetwork(derivation, seed=seed)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as error:
        raise UnverifiedDerivationError(
            f"{derivation.network.compact}: the composed witness cannot evaluate the network"
            f" ({type(error).__name__}: {error}), so the derivation cannot be verified"
        ) from None
    rows = []
    depth = derivation.network.depth
    for k in range(depth, 0, -1):
        layer = derivation.layer(k)
        for target in layer_targets(is_output=k == depth):
            rule = rules.rule_for(target, layer.activation)
            if rule is None:
                continue
            quantity = _quantity(target, k)
            rows.append(
                RuleCheck(
                    layer=k,
                    target=target,
                    quantity=quantity,
                    rule=rule.name,
                    formula=rule.formula_for(bool(derivation.network.l2)),
                    symbolic=symbolic.check(rule, k),
                    composed=concrete.check(rule, k),
                )
            )
    return VerificationReport(
        network=derivation.network.compact,
        rule_set=rules.name,
        rows=tuple(rows),
        concrete_sizes=concrete.sizes,
        seed=seed,
    )


def _expected_shape(view_width, target: str, k: int) -> tuple:  # type: ignore[no-untyped-def]
    if target == "weight":
        return (view_width(k), view_width(k - 1))
    return (view_width(k), 1)


def _rule_matrix(rule: Rule, view: object, k: int) -> tuple[MatrixLike | None, str]:
    try:
        return rule.build(view, k), ""  # type: ignore[arg-type]
    except (sp.ShapeError, ValueError, TypeError) as error:
        return None, f"the rule cannot be evaluated: {error}"


class SymbolicView:
    """Witness (a): the rules on ``MatrixSymbol`` objects with the symbolic widths n_k."""

    def __init__(self, derivation: Derivation) -> None:
        self.derivation = derivation
        self.depth = derivation.network.depth
        self._elements: dict[str, Callable[..., sp.Expr]] = {}
        for k in range(0, self.depth + 1):
            self._elements[naming.vector_name("a", k)] = lambda r, c, k=k: naming.activation_output(k)[r]
        for k in range(1, self.depth + 1):
            layer = derivation.layer(k)
            self._elements[naming.vector_name("w", k)] = lambda r, c, k=k: naming.weight(k)[r, c]
            self._elements[naming.vector_name("b", k)] = lambda r, c, k=k: naming.bias(k)[r]
            self._elements[naming.vector_name("z", k)] = lambda r, c, k=k: naming.preactivation(k)[r]
            self._elements[naming.vector_name("delta", k)] = lambda r, c, k=k: naming.delta(k)[r]
            if layer.derivative is not None:
                self._elements[naming.derivative_name(k)] = lambda r, c, d=layer.derivative: d.xreplace({naming.P: r})
        self._elements[naming.TARGET] = lambda r, c: naming.target()[r]
        self._elements[naming.OUTPUT_GRADIENT] = lambda r, c: derivation.loss_gradient.xreplace({naming.P: r})
        loss = derivation.network.loss
        term = loss.scale.xreplace({N_OUT: naming.width(self.depth)}) * loss.term_derivative()
        output = naming.activation_output(self.depth)
        self._elements[naming.LOSS_DERIVATIVE] = lambda r, c: term.xreplace({YHAT: output[r], Y: naming.target()[r]})

    def _vector(self, name: str, k: int) -> sp.MatrixSymbol:
        return sp.MatrixSymbol(name, naming.width(k), 1)

    def W(self, k: int) -> MatrixLike:
        return sp.MatrixSymbol(naming.vector_name("w", k), naming.width(k), naming.width(k - 1))

    def b(self, k: int) -> MatrixLike:
        return self._vector(naming.vector_name("b", k), k)

    def z(self, k: int) -> MatrixLike:
        return self._vector(naming.vector_name("z", k), k)

    def a(self, k: int) -> MatrixLike:
        return self._vector(naming.vector_name("a", k), k)

    def delta(self, k: int) -> MatrixLike:
        return self._vector(naming.vector_name("delta", k), k)

    def fprime(self, k: int) -> MatrixLike:
        if self.derivation.layer(k).derivative is None:
            raise ValueError(f"layer {k}'s activation is not elementwise, so f′(z) is no vector")
        return self._vector(naming.derivative_name(k), k)

    def ones(self, k: int) -> MatrixLike:
        return sp.OneMatrix(naming.width(k), 1)

    def hadamard(self, first: MatrixLike, second: MatrixLike) -> MatrixLike:
        if first.shape != second.shape:
            raise sp.ShapeError(f"⊙ of shapes {first.shape} and {second.shape}")
        return sp.hadamard_product(first, second)

    @property
    def y(self) -> MatrixLike:
        return self._vector(naming.TARGET, self.depth)

    @property
    def grad_a(self) -> MatrixLike:
        return self._vector(naming.OUTPUT_GRADIENT, self.depth)

    @property
    def loss_derivative(self) -> MatrixLike:
        return self._vector(naming.LOSS_DERIVATIVE, self.depth)

    @property
    def l2(self) -> sp.Expr:
        return L2 if self.derivation.network.l2 else sp.Integer(0)

    def check(self, rule: Rule, k: int) -> Witness:
        matrix, problem = _rule_matrix(rule, self, k)
        if matrix is None:
            return Witness(False, problem)
        expected = _expected_shape(naming.width, rule.target, k)
        mismatch = _inner_mismatch(matrix)
        if mismatch:
            return Witness(False, mismatch)
        if tuple(matrix.shape) != expected:
            return Witness(False, f"the rule gives shape {_shape(matrix.shape)}, the quantity has {_shape(expected)}")
        column = naming.Q - 1 if rule.target == "weight" else 0
        element = _apply_target_facts(
            contract_deltas(self._index_form(matrix[naming.P - 1, column])), self.derivation.network.loss
        )
        derived = self._derived(rule.target, k)
        difference = _comparable(element) - _comparable(derived)
        if is_zero(difference):
            if rule.target in ("output_delta", "hidden_delta"):
                return _code_form_witness(self.derivation.layer(k))
            return Witness(True)
        return Witness(
            False,
            f"element {_element_name(rule.target, k)} by the rule is {plain(element)},"
            f" the derivation gives {plain(derived)}",
        )

    def _derived(self, target: str, k: int) -> sp.Expr:
        layer = self.derivation.layer(k)
        return {
            "loss_gradient": layer.output_gradient,
            "output_delta": layer.delta,
            "hidden_delta": layer.delta,
            "weight": layer.weight_gradient,
            "bias": layer.bias_gradient,
        }[target]

    def _index_form(self, element: sp.Expr) -> sp.Expr:
        """MatrixSymbol elements (0-based) as the derivation's indexed symbols (1-based)."""
        element = element.replace(
            lambda e: isinstance(e, MatrixElement),
            lambda e: self._elements[e.parent.name](e.i + 1, e.j + 1),
        )
        return element.replace(
            lambda e: isinstance(e, sp.Sum) and any(lower == 0 for _, lower, _ in e.limits),
            _one_based,
        )


def _code_form_witness(layer: LayerDerivation) -> Witness:
    """Whether the δ that code generation prints (f′ in the output a, the fused output form) equals
    the derived δ: both at random points of z, y and of every sum they share, at :data:`DIGITS`
    digits, with a⁽ᵏ⁾ = f(z⁽ᵏ⁾) put back in."""
    if layer.derivative is None:  # softmax: the printed δ is the derived one, tidied
        return Witness(True)
    output, pre = naming.activation_output(layer.k)[naming.P], naming.preactivation(layer.k)[naming.P]
    in_z = {output: layer.activation.at(pre)}
    printed, derived = layer.delta_output_form.xreplace(in_z), layer.delta.xreplace(in_z)
    quantities = printed.atoms(sp.Sum, sp.Indexed) | derived.atoms(sp.Sum, sp.Indexed)
    quantities |= printed.free_symbols | derived.free_symbols
    rng = random.Random(layer.k)
    for _ in range(3):
        # xreplace matches a whole sum before what it holds: each sum is one number.
        values = {q: sp.Float(rng.uniform(-2, 2), DIGITS) for q in sorted(quantities, key=sp.default_sort_key)}
        value = (printed - derived).xreplace(values).evalf(DIGITS)
        scale = max(abs(derived.xreplace(values).evalf(DIGITS)), sp.Float(1))
        if not value.is_number or abs(value) > RELATIVE_TOLERANCE * scale:
            return Witness(
                False,
                f"the δ{layer_superscript(layer.k)} that code generation prints,"
                f" {plain(layer.delta_output_form)}, is not the derived {plain(layer.delta)}"
                f" (they differ by {sp.N(value, 6)} at a random point)",
            )
    return Witness(True)


def _one_based(total: sp.Sum) -> sp.Sum:
    summand, limits = total.function, []
    for index, lower, upper in total.limits:
        if lower == 0:
            summand = summand.xreplace({index: index - 1})
            lower, upper = lower + 1, upper + 1
        limits.append((index, lower, upper))
    return sp.Sum(summand, *limits)


def _comparable(expr: sp.Expr) -> sp.Expr:
    return sp.piecewise_fold(canonical(expr))


def _inner_mismatch(matrix: MatrixLike) -> str:
    """The first product whose inner widths differ (SymPy cannot tell n_1 from n_2 itself)."""
    for node in sp.preorder_traversal(matrix):
        if isinstance(node, sp.MatMul):
            factors = [f for f in node.args if isinstance(f, sp.MatrixExpr)]
            for left, right in zip(factors, factors[1:], strict=False):
                if left.shape[1] != right.shape[0]:
                    return (
                        f"the product {plain(left)}·{plain(right)} joins shapes"
                        f" {_shape(left.shape)} and {_shape(right.shape)}"
                    )
        if isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
            shapes = {tuple(arg.shape) for arg in node.args if isinstance(arg, sp.MatrixExpr)}
            if len(shapes) > 1:
                return f"{plain(node)} combines shapes {', '.join(_shape(s) for s in sorted(shapes, key=str))}"
    return ""


def _shape(shape: tuple) -> str:  # type: ignore[type-arg]
    return "(" + ", ".join(plain(s) for s in shape) + ")"


def _element_name(target: str, k: int) -> str:
    return _quantity(target, k) + ("[p, q]" if target == "weight" else "[p]")


class ConcreteNetwork:
    """Witness (b): a small copy of the network, its composed loss and SymPy's derivatives."""

    def __init__(self, derivation: Derivation, *, seed: int) -> None:
        network = derivation.network
        self.derivation = derivation
        self.depth = network.depth
        self.sizes = tuple(min(n, CAP) for n in network.sizes)
        rng = random.Random(seed)

        def number() -> sp.Float:
            return sp.Float(rng.uniform(-1, 1), DIGITS)

        layers = range(1, self.depth + 1)
        self.weights = [_real_symbols(f"w{k}_{{i}}_{{j}}", self.sizes[k], self.sizes[k - 1]) for k in layers]
        self.biases = [_real_symbols(f"b{k}_{{i}}", self.sizes[k]) for k in layers]
        self.shifts = [_real_symbols(f"e{k}_{{i}}", self.sizes[k]) for k in layers]
        x = sp.Matrix(self.sizes[0], 1, lambda i, j: number())
        self.target_values = network.loss.targets.sample(rng, self.sizes[-1], DIGITS)
        values = {}
        for matrix in [*self.weights, *self.biases]:
            values.update({symbol: number() for symbol in matrix})
        for matrix in self.shifts:
            values.update({symbol: sp.Integer(0) for symbol in matrix})
        self.values = values

        activations = [x]
        inputs_jacobians, parameter_jacobians = [], []
        for k in range(1, self.depth + 1):
            inputs = _real_symbols("u_{i}", self.sizes[k - 1])
            preactivations = _real_symbols("z_{i}", self.sizes[k])
            parameters = self._parameters(k)
            affine = self.weights[k - 1] * inputs + self.biases[k - 1] + self.shifts[k - 1]
            activation = _apply(network.activations[k - 1], preactivations)
            point = {**self.values, **dict(zip(inputs, activations[-1], strict=True))}
            at_z = dict(zip(preactivations, affine.xreplace(point).evalf(DIGITS), strict=True))
            # ∂a/∂z once per layer, not ∂f(Wu + b)/∂θ for every θ: the same derivative for a fraction
            # of SymPy's work, as the heavy expression f is differentiated once per unit.
            activation_jacobian = activation.jacobian(preactivations).xreplace(at_z).evalf(DIGITS)
            inputs_jacobians.append(activation_jacobian * affine.jacobian(inputs).xreplace(point))
            parameter_jacobians.append(activation_jacobian * affine.jacobian(parameters).xreplace(point))
            activations.append(activation.xreplace(at_z).evalf(DIGITS))
        self.forward = activations
        outputs = _real_symbols("yhat_{i}", self.sizes[-1])
        loss = _loss(network.loss, outputs, self.target_values)
        self.true_loss_gradient = loss_gradient = (
            sp.Matrix([loss]).jacobian(outputs).xreplace(dict(zip(outputs, activations[-1], strict=True))).T
        )
        # The chain rule over the composition: dL/dθ_k = dL/dŷ · J_L ⋯ J_{k+1} · ∂a_k/∂θ_k.
        gradient: dict[sp.Symbol, sp.Expr] = {}
        through = loss_gradient.T
        for k in range(self.depth, 0, -1):
            gradient.update(zip(self._parameters(k), through * parameter_jacobians[k - 1], strict=True))
            through = through * inputs_jacobians[k - 1]
        # The L2 term reads the weights directly: SymPy's derivative of it, added to the chain's.
        self.l2 = sp.Float(network.l2, DIGITS)
        weights = [s for m in self.weights for s in m]
        penalty = self.l2 / 2 * sp.Add(*(s**2 for s in weights))
        for symbol in weights:
            gradient[symbol] += sp.diff(penalty, symbol).xreplace(values)
        self.true_weight_gradients = [m.applyfunc(gradient.__getitem__) for m in self.weights]
        self.true_bias_gradients = [m.applyfunc(gradient.__getitem__) for m in self.biases]
        self.true_deltas = [m.applyfunc(gradient.__getitem__) for m in self.shifts]
        self.view = ConcreteView(self)

    def _parameters(self, k: int) -> list[sp.Symbol]:
        return [s for m in (self.weights[k - 1], self.biases[k - 1], self.shifts[k - 1]) for s in m]

    def _numbers(self, matrix: sp.Matrix) -> sp.Matrix:
        return matrix.xreplace(self.values)

    def check(self, rule: Rule, k: int) -> Witness:
        matrix, problem = _rule_matrix(rule, self.view, k)
        if matrix is None:
            return Witness(False, f"{problem} (widths {'-'.join(map(str, self.sizes))})")
        truth = {
            "loss_gradient": self.true_loss_gradient,
            "output_delta": self.true_deltas[k - 1],
            "hidden_delta": self.true_deltas[k - 1],
            "weight": self.true_weight_gradients[k - 1],
            "bias": self.true_bias_gradients[k - 1],
        }[rule.target]
        matrix = sp.Matrix(matrix).evalf(DIGITS)
        if matrix.shape != truth.shape:
            return Witness(
                False,
                f"the rule gives shape {matrix.shape}, the true gradient has {truth.shape}"
                f" (widths {'-'.join(map(str, self.sizes))})",
            )
        worst, worst_error = None, sp.Float(0)
        scale = max([abs(v) for v in truth] + [sp.Float(1)])
        for index in range(len(truth)):
            error = abs(matrix[index] - truth[index]) / scale
            if error > worst_error:
                worst, worst_error = index, error
        if worst is None or worst_error <= RELATIVE_TOLERANCE:
            return Witness(True)
        row, column = divmod(worst, truth.shape[1])
        place = f"[{row + 1}, {column + 1}]" if rule.target == "weight" else f"[{row + 1}]"
        return Witness(
            False,
            f"{_quantity(rule.target, k)}{place}: the rule gives {sp.N(matrix[worst], 12)},"
            f" SymPy's derivative of the composed loss is {sp.N(truth[worst], 12)}"
            f" (widths {'-'.join(map(str, self.sizes))}, 1-based indices)",
        )


class ConcreteView:
    """The rules' names bound to the numbers of a :class:`ConcreteNetwork`."""

    def __init__(self, network: ConcreteNetwork) -> None:
        self._network = network
        self.depth = network.depth

    def _number(self, matrix: sp.Matrix) -> sp.Matrix:
        return matrix.xreplace(self._network.values)

    def W(self, k: int) -> MatrixLike:
        return self._number(self._network.weights[k - 1])

    def b(self, k: int) -> MatrixLike:
        return self._number(self._network.biases[k - 1])

    def z(self, k: int) -> MatrixLike:
        return self.W(k) * self.a(k - 1) + self.b(k)

    def a(self, k: int) -> MatrixLike:
        return self._network.forward[k]

    def delta(self, k: int) -> MatrixLike:
        return self._network.true_deltas[k - 1]

    def fprime(self, k: int) -> MatrixLike:
        activation = self._network.derivation.network.activations[k - 1]
        if not activation.jacobian.diagonal:
            raise ValueError(f"layer {k}'s activation is not elementwise, so f′(z) is no vector")
        derivative = activation.derivative()
        return self.z(k).applyfunc(lambda value: derivative.xreplace({X: value}).evalf(DIGITS))

    def ones(self, k: int) -> MatrixLike:
        return sp.ones(self._network.sizes[k], 1)

    def hadamard(self, first: MatrixLike, second: MatrixLike) -> MatrixLike:
        return sp.Matrix(first).multiply_elementwise(sp.Matrix(second))

    @property
    def y(self) -> MatrixLike:
        return self._network.target_values

    @property
    def grad_a(self) -> MatrixLike:
        return self._network.true_loss_gradient

    @property
    def loss_derivative(self) -> MatrixLike:
        loss = self._network.derivation.network.loss
        n = self._network.sizes[-1]
        term = loss.scale.xreplace({N_OUT: n}) * loss.term_derivative()
        outputs = self.a(self.depth)
        return sp.Matrix([term.xreplace({YHAT: outputs[i], Y: self.y[i]}).evalf(DIGITS) for i in range(n)])

    @property
    def l2(self) -> sp.Expr:
        return self._network.l2


def _real_symbols(pattern: str, rows: int, columns: int = 1) -> sp.Matrix:
    # Real, so that SymPy differentiates abs(), sign() and friends as functions of a real argument.
    return sp.Matrix(rows, columns, lambda i, j: sp.Symbol(pattern.format(i=i, j=j), real=True))


def _apply(activation, z: sp.Matrix) -> sp.Matrix:  # type: ignore[no-untyped-def]
    return activation.jacobian.apply(z.applyfunc(activation.at))


def _loss(loss, outputs: sp.Matrix, targets: sp.Matrix) -> sp.Expr:  # type: ignore[no-untyped-def]
    n = outputs.shape[0]
    terms = [loss.term.xreplace({YHAT: outputs[i], Y: targets[i]}) for i in range(n)]
    return loss.scale.xreplace({N_OUT: n}) * sp.Add(*terms)
