"""The registry's claims, entry by entry: output-form derivatives, the convention at kinks,
output ranges, parameters and custom activations."""

from __future__ import annotations

import itertools
import math

import mpmath
import pytest
import sympy as sp

from symbackprop import ACTIVATIONS, LOSSES, SpecError, custom_activation
from symbackprop.exprparse import X
from symbackprop.registry import N_OUT, YHAT, A, Y, lookup_activation, lookup_loss

#: Points on both sides of every kink, the kink itself, and far enough out to see saturation.
POINTS = [sp.Integer(-3), sp.Rational(-1, 3), sp.Integer(0), sp.Rational(1, 7), sp.Rational(5, 2)]

#: Each parametric entry at its default and at a value of our choosing.
VARIANTS = [pytest.param(entry, id=entry.label) for entry in ACTIVATIONS.values()] + [
    pytest.param(entry.with_parameters(*(value * 3 for _, value in entry.parameters)), id=f"{entry.name}-x3")
    for entry in ACTIVATIONS.values()
    if entry.parameters
]
WITH_OUTPUT_FORM = [p for p in VARIANTS if p.values[0].output_derivative is not None]
ELEMENTWISE = [p for p in VARIANTS if p.values[0].jacobian.diagonal]


def _value(expr: sp.Expr, x: sp.Expr) -> sp.Float:
    return sp.N(expr.subs(X, x), 30)


def test_registry_has_the_entries_the_design_names() -> None:
    # The names the issue and the README promise; every other test iterates the registry itself.
    assert {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu", "gelu", "softmax"} <= set(
        ACTIVATIONS
    )
    assert {"sse", "half_sse", "mse", "bce", "cce"} <= set(LOSSES)


@pytest.mark.parametrize("activation", WITH_OUTPUT_FORM)
def test_output_form_derivative_equals_symbolic_derivative(activation) -> None:
    claimed = activation.derivative_in_output().xreplace({A: activation.at(X)})
    difference = sp.piecewise_fold(claimed - activation.derivative())
    assert sp.simplify(difference) == 0


@pytest.mark.parametrize("activation", WITH_OUTPUT_FORM)
def test_output_form_derivative_equals_symbolic_derivative_at_points(activation) -> None:
    claimed = activation.derivative_in_output().xreplace({A: activation.at(X)})
    for x in POINTS:
        assert abs(_value(claimed, x) - _value(activation.derivative(), x)) < 1e-25, x


@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_derivative_matches_central_difference(activation) -> None:
    f, h = activation.at(X), sp.Rational(1, 10**12)
    for x in POINTS:
        if x == 0 and activation.expr.has(sp.Piecewise):
            continue  # the kink: the convention below decides
        slope = (_value(f, x + h) - _value(f, x - h)) / (2 * h)
        assert abs(slope - _value(activation.derivative(), x)) < 1e-9, x


@pytest.mark.parametrize("activation", [p for p in ELEMENTWISE if p.values[0].expr.has(sp.Piecewise)])
def test_derivative_at_the_kink_is_the_left_one(activation) -> None:
    # f'(0) = 0 for ReLU and alpha for leaky ReLU, as PyTorch and JAX define them. The oracle: the
    # slope of f itself just left of 0, a one-sided difference at 30 digits.
    f, h = activation.at(X), sp.Rational(1, 10**15)
    left_slope = (_value(f, sp.Integer(0)) - _value(f, -h)) / h
    assert abs(_value(activation.derivative(), sp.Integer(0)) - left_slope) < 1e-9


def test_relu_and_leaky_relu_kink_values() -> None:
    assert ACTIVATIONS["relu"].derivative().subs(X, 0) == 0
    leaky = lookup_activation("leaky_relu(0.2)")
    assert leaky.derivative().subs(X, 0) == sp.Rational(1, 5)
    assert leaky.derivative_in_output().subs(A, 0) == sp.Rational(1, 5)


@pytest.mark.parametrize("activation", [p for p in ELEMENTWISE if p.values[0].output_range is not None])
def test_values_lie_in_the_claimed_output_range(activation) -> None:
    interval = activation.bound().output_range
    for x in [*POINTS, sp.Integer(-30), sp.Integer(30)]:
        value = _value(activation.at(X), x)
        assert interval.contains(value) == sp.true, (x, value)


def test_softmax_is_the_one_normalised_entry() -> None:
    softmax = ACTIVATIONS["softmax"]
    z, i, j, n = sp.IndexedBase("z"), sp.Symbol("i"), sp.Symbol("j"), sp.Symbol("n")
    form = softmax.index_form(z, i, j, n)
    assert form == sp.exp(z[i]) / sp.Sum(sp.exp(z[j]), (j, 1, n))
    for entry in ACTIVATIONS.values():
        if entry.jacobian.diagonal:
            assert entry.index_form(z, i, j, n) == entry.at(z[i])


@pytest.mark.parametrize("loss", LOSSES.values(), ids=list(LOSSES))
def test_loss_term_derivative_matches_central_differences_and_index_form_sums_the_term(loss) -> None:
    # The oracle: central differences of the term itself in mpmath at 40 digits, at predictions in
    # the loss's domain and targets of each kind, none at a kink (huber's |yhat - y| = 1).
    term = sp.lambdify((YHAT, Y), loss.term, "mpmath")
    derivative = sp.lambdify((YHAT, Y), loss.term_derivative(), "mpmath")
    predictions = [p for p in (-2.5, 0.15, 0.2, 0.7, 0.9, 1.9) if loss.prediction_domain.contains(p) == sp.true]
    assert predictions
    with mpmath.workdps(40):
        h = mpmath.mpf("1e-15")
        for p, t in itertools.product(map(mpmath.mpf, predictions), map(mpmath.mpf, ("0", "1", "0.3"))):
            slope = (term(p + h, t) - term(p - h, t)) / (2 * h)
            assert abs(derivative(p, t) - slope) <= 1e-20 * max(1, abs(slope)), (float(p), float(t))
    yhat, y, i = sp.IndexedBase("yhat"), sp.IndexedBase("y"), sp.Symbol("i", integer=True)
    concrete = loss.index_form(yhat, y, i, sp.Integer(3)).doit()
    by_hand = loss.scale.subs(N_OUT, 3) * sum(loss.term.xreplace({YHAT: yhat[m], Y: y[m]}) for m in (1, 2, 3))
    assert sp.expand(concrete - by_hand) == 0


@pytest.mark.parametrize("loss", LOSSES.values(), ids=list(LOSSES))
def test_loss_is_smallest_at_the_target(loss) -> None:
    # For a target inside the prediction domain, ŷ = y is a critical point of each term,
    # except cross-entropy, which is only minimal under the constraint Σŷ = 1.
    target = sp.Rational(1, 3)
    slope = loss.term_derivative().subs({YHAT: target, Y: target})
    if loss.targets.sums_to_one:
        assert slope != 0
    else:
        assert slope == 0


def test_loss_values_at_a_point() -> None:
    # Independent oracle: the formulas of the issue, evaluated with math.
    yhat, y = 0.3, 1.0
    values = {
        name: float(loss.scale.subs(N_OUT, 1) * loss.term.subs({YHAT: yhat, Y: y})) for name, loss in LOSSES.items()
    }
    assert values["sse"] == pytest.approx((y - yhat) ** 2)
    assert values["half_sse"] == pytest.approx(0.5 * (yhat - y) ** 2)
    assert values["mse"] == pytest.approx((yhat - y) ** 2)
    assert values["bce"] == pytest.approx(-math.log(yhat))
    assert values["cce"] == pytest.approx(-math.log(yhat))


def test_parameters_are_bound_and_labelled() -> None:
    leaky = lookup_activation("leaky_relu(0.25)")
    assert leaky.label == "leaky_relu(0.25)"
    assert leaky.bound().parameters == ()
    assert not leaky.bound().expr.free_symbols - {X}
    assert ACTIVATIONS["elu"].label == "elu(1)"
    assert lookup_activation("elu(2)").at(sp.Integer(-1)) == 2 * (sp.exp(-1) - 1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sigmiod", "did you mean 'sigmoid'"),
        ("relu(1)", "takes 0 parameter(s)"),
        ("leaky_relu(0.1, 2)", "takes 1 parameter(s)"),
        ("leaky_relu(-1)", "must be positive"),
        ("leaky_relu(x)", "is not a number"),
        ("leaky_relu(1e7)", "must be positive and at most 1e+06, got 10000000"),
        # Refused by its text, before Fraction would build a ten-million-digit integer.
        ("leaky_relu(1e-9999999)", "is not a number like 0.2"),
        ("leaky_relu(" + "9" * 50 + ")", "is not a number like 0.2"),
        ("relu(", "is not an activation name"),
    ],
)
def test_lookup_activation_errors(text: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=r"^layer 9: ") as error:
        lookup_activation(text, where="layer 9")
    assert fragment in str(error.value)


def test_lookup_loss_suggests_a_close_name() -> None:
    with pytest.raises(SpecError, match="unknown loss 'msee'; did you mean 'mse'"):
        lookup_loss("msee")


def test_custom_activation_from_text_and_from_sympy() -> None:
    from_text = custom_activation("softsign", "x/(1+abs(x))")
    from_sympy = custom_activation("softsign", X / (1 + sp.Abs(X)))
    assert from_text == from_sympy
    # The derivative against softsign′(x) = 1/(1 + |x|)², written by hand.
    for x in POINTS:
        assert abs(_value(from_text.derivative(), x) - 1 / (1 + abs(float(x))) ** 2) < 1e-15, x
    assert from_text.output_range is None


@pytest.mark.parametrize(
    ("name", "expression", "fragment"),
    [
        ("relu", "x", "is a built-in activation"),
        ("x", "x", "'x' is the variable of the expression grammar; choose another name"),
        ("exp", "x", "'exp' is a function of the expression grammar; choose another name"),
        ("max", "x", "'max' is a function of the expression grammar"),
        ("pi", "x", "'pi' is a constant of the expression grammar"),
        ("e", "x", "'e' is a constant of the expression grammar"),
        (None, "x", "the name must be a string, got None"),
        (5, "x", "the name must be a string, got 5"),
        ("Soft", "x", "is not a valid name"),
        ("c", sp.Symbol("x") ** 2, "must depend on x and nothing else"),
        ("c", X * sp.Symbol("t", real=True), "must depend on x and nothing else"),
        ("c", "x.__class__", "attribute access is not allowed"),
        ("c", "__import__('os')", "unknown name '__import__'"),
    ],
)
def test_custom_activation_errors(name: str, expression, fragment: str) -> None:
    with pytest.raises(SpecError) as error:
        custom_activation(name, expression)
    assert fragment in str(error.value)
