"""The derivation: real differentiation of the index equations, fused output deltas, the softmax
Jacobian, and a structure that does not depend on the widths and reaches one layer back only."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from symbackprop import ACTIVATIONS, LOSSES, Network, SpecError, derive
from symbackprop import equations as eq
from symbackprop.contract import canonical

ELEMENTWISE = [name for name, entry in ACTIVATIONS.items() if entry.jacobian.diagonal]


def _network(hidden: str, output: str, loss: str, sizes: tuple[int, ...] = (2, 3, 2)) -> Network | None:
    try:
        return Network(list(sizes), [hidden] * (len(sizes) - 2) + [output], loss)
    except SpecError:
        return None


def test_every_layer_comes_from_diff_of_the_equations() -> None:
    derivation = Network([2, 4, 3, 1], ["relu", "tanh", "sigmoid"], "bce").derive()
    for layer in derivation.layers:
        # The chains are sympy.diff's own output, Kronecker deltas and all.
        assert layer.weight_chain.has(sp.KroneckerDelta)
        assert layer.delta_chain.has(sp.KroneckerDelta)
        assert layer.output_gradient_chain.has(sp.KroneckerDelta)
        for contracted in (layer.weight_gradient, layer.bias_gradient, layer.delta, layer.output_gradient):
            assert not contracted.has(sp.KroneckerDelta)
        # f′ of the layer, against central differences of its activation at 30 digits.
        z, h = eq.preactivation(layer.k)[eq.P], sp.Rational(1, 10**12)
        for value in (sp.Rational(-7, 10), sp.Rational(2, 5), sp.Rational(13, 10)):
            slope = (layer.activation.at(value + h) - layer.activation.at(value - h)) / (2 * h)
            assert sp.N(layer.derivative.xreplace({z: value}) - slope, 30) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("hidden", ["tanh", "relu", "gelu"])
def test_sigmoid_with_bce_gives_yhat_minus_y(hidden: str) -> None:
    derivation = Network([2, 3, 2], [hidden, "sigmoid"], "bce").derive()
    a, y = eq.activation_output(2), eq.target()
    assert derivation.output_delta == a[eq.P] - y[eq.P]


@pytest.mark.parametrize("hidden", ["tanh", "relu", "gelu"])
def test_softmax_with_cce_gives_yhat_minus_y(hidden: str) -> None:
    derivation = Network([2, 3, 3], [hidden, "softmax"], "cce").derive()
    a, y = eq.activation_output(2), eq.target()
    assert derivation.output_delta == a[eq.P] - y[eq.P]
    assert derivation.layer(2).delta == a[eq.P] - y[eq.P]


def test_softmax_jacobian_contracts_to_a_times_g_minus_its_mean() -> None:
    layer = Network([2, 3, 4], ["tanh", "softmax"], "cce").derive().layer(2)
    a, g, n = eq.activation_output(2), eq.output_gradient(2), eq.width(2)
    # The chain is the full Jacobian: a sum over every output i of ∂aᵢ/∂z_p.
    assert layer.delta_chain.has(sp.Sum) and layer.derivative is None
    expected = a[eq.P] * (g[eq.P] - sp.Sum(g[eq.I] * a[eq.I], (eq.I, 1, n)))
    assert canonical(layer.delta_local) == canonical(expected)


def test_softmax_delta_at_concrete_width_matches_the_jacobian_product() -> None:
    # Oracle: the 3x3 softmax Jacobian multiplied by a gradient vector, written out with numbers.
    layer = Network([2, 3, 3], ["tanh", "softmax"], "cce").derive().layer(2)
    z_values = [sp.Rational(1, 3), sp.Rational(-1, 2), sp.Integer(2)]
    g_values = [sp.Integer(1), sp.Rational(-2, 7), sp.Rational(3, 5)]
    zs = sp.Matrix(sp.symbols("z0:3", real=True))
    softmax = zs.applyfunc(sp.exp) / sum(zs.applyfunc(sp.exp))
    point = dict(zip(zs, z_values, strict=True))
    truth = softmax.jacobian(zs).T.subs(point) * sp.Matrix(g_values)
    a_values = softmax.subs(point)
    a, g = eq.activation_output(2), eq.output_gradient(2)
    for unit in range(3):
        value = layer.delta_local.subs({eq.width(2): 3, eq.P: unit + 1}).doit()
        value = value.subs({a[k + 1]: a_values[k] for k in range(3)}).subs({g[k + 1]: g_values[k] for k in range(3)})
        assert sp.N(value - truth[unit], 30) == pytest.approx(0, abs=1e-25)


#: Every elementwise output activation with every loss the spec accepts it with.
ELEMENTWISE_OUTPUTS = [
    (output, loss) for output in ELEMENTWISE for loss in LOSSES if _network("tanh", output, loss) is not None
]


@pytest.mark.parametrize(("output", "loss"), ELEMENTWISE_OUTPUTS)
def test_output_form_equals_the_derived_delta(output: str, loss: str) -> None:
    layer = Network([2, 3, 2], ["tanh", output], loss).derive().layer(2)
    activation = layer.activation.bound()
    z, a = eq.preactivation(2)[eq.P], eq.activation_output(2)[eq.P]
    # Put a = f(z) back into both forms: they must agree at a few points.
    both = [form.xreplace({a: activation.at(z)}) for form in (layer.delta, layer.delta_output_form)]
    y = eq.target()[eq.P]
    for z_value, y_value in [(sp.Rational(-3, 4), sp.Integer(1)), (sp.Rational(5, 4), sp.Integer(0))]:
        values = [sp.N(form.subs({z: z_value, y: y_value, eq.width(2): 2}), 30) for form in both]
        assert values[0] == pytest.approx(values[1], abs=1e-25)


def test_a_layer_reaches_only_one_layer_back() -> None:
    derivation = Network([3, 4, 4, 4, 4, 2], "tanh", "half_sse").derive()
    for layer in derivation.layers[:-1]:
        bases = {base.label.name for base in layer.output_gradient.atoms(sp.IndexedBase)}
        assert bases == {f"w{layer.k + 1}", f"delta{layer.k + 1}"}
        bases = {base.label.name for base in layer.delta_output_form.atoms(sp.IndexedBase)}
        assert bases == {f"a{layer.k}", f"w{layer.k + 1}", f"delta{layer.k + 1}"}
    for layer in derivation.layers:
        bases = {base.label.name for base in layer.weight_gradient.atoms(sp.IndexedBase)}
        assert bases == {f"a{layer.k - 1}", f"delta{layer.k}"}


def _comparable(derivation) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    fields = [f.name for f in dataclasses.fields(derivation.layers[0])]
    return [{name: getattr(layer, name) for name in fields} for layer in derivation.layers]


@pytest.mark.parametrize("activations", [["relu", "tanh", "sigmoid"], ["gelu", "elu", "softmax"]])
def test_derivation_does_not_depend_on_the_widths(activations: list[str]) -> None:
    loss = "cce" if activations[-1] == "softmax" else "bce"
    narrow = Network([4, 4, 4, 4], activations, loss).derive()
    wide = Network([4096, 4096, 4096, 4096], activations, loss).derive()
    assert _comparable(narrow) == _comparable(wide)
    assert narrow.equations.loss == wide.equations.loss
    for small, large in zip(narrow.equations.layers, wide.equations.layers, strict=True):
        assert (small.z, small.a) == (large.z, large.a)
        assert (small.size, large.size) == (4, 4096)


def test_derivation_is_inspectable_and_printable() -> None:
    derivation = Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce").derive()
    assert derivation.layer(1) is derivation.layers[0]
    assert derivation.loss_gradient == derivation.layer(3).output_gradient
    assert derivation.equations.layer(2).z.lhs == eq.preactivation(2)[eq.I]
    assert derivation.equations.loss.rhs.has(sp.Sum)
    text = derivation.pretty()
    assert str(derivation) == text
    for k in (1, 2, 3):
        assert f"Layer {k}:" in text
        assert f"∂L/∂w⁽{'¹²³'[k - 1]}⁾[p, q]" in text


@pytest.mark.parametrize(
    ("k", "message"),
    [
        (0, "layer: expected a layer number from 1 to 2 (2 -> 3 tanh -> 1 sigmoid : bce), got 0"),
        (3, "layer: expected a layer number from 1 to 2"),
        (-1, "got -1"),
        ("1", "got '1'"),
        (1.0, "got 1.0"),
        (True, "got True"),
    ],
)
def test_a_layer_outside_1_to_L_is_a_spec_error(k: object, message: str) -> None:
    derivation = Network([2, 3, 1], ["tanh", "sigmoid"], "bce").derive()
    with pytest.raises(SpecError) as error:
        derivation.layer(k)  # type: ignore[arg-type]
    assert message in str(error.value)


def test_derive_takes_a_network_or_its_compact_form_and_nothing_else() -> None:
    network = Network([2, 1], "sigmoid", "bce")
    assert derive("2 -> 1 sigmoid : bce") == derive(network)
    for given in (5, None, b"2 -> 1 sigmoid : bce"):
        with pytest.raises(SpecError, match=r"derive: expected a Network or a compact spec"):
            derive(given)  # type: ignore[arg-type]
