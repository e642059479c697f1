"""The readable one-line printer: exact strings of ``symbackprop derive`` and of the generated
modules' comments, which print the same mathematics (only the layer mark differs: w⁽²⁾ and w2)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
import sympy as sp

from symbackprop import naming
from symbackprop.naming import ALPHA, I, P
from symbackprop.printing.text import equation_text, layer_superscript, pretty, pretty_derivation
from symbackprop.spec import Network

GENERATED = Path(__file__).resolve().parent.parent / "generated"

a1, a2 = naming.activation_output(1), naming.activation_output(2)
z1, z2 = naming.preactivation(1), naming.preactivation(2)
w3, d3, g2 = naming.weight(3), naming.delta(3), naming.output_gradient(2)


def _widths(expr: sp.Expr, network: Network) -> sp.Expr:
    return expr.xreplace({naming.width(k): size for k, size in enumerate(network.sizes)})


def test_a_step_prints_as_an_iverson_bracket() -> None:
    relu_prime = sp.Piecewise((0, a2[P] <= 0), (1, True))
    assert equation_text("δ2[p]", relu_prime * g2[P]) == "δ2[p] = [a2[p] > 0]⋅∂L/∂a2[p]"
    assert equation_text("s", sp.Piecewise((1, z2[P] > 0), (0, True))) == "s = [z2[p] > 0]"
    # The derivative of max(-1, min(1, x)): two zero branches, nested as SymPy builds them.
    hardtanh_prime = sp.Piecewise((0, z2[P] <= -1), (sp.Piecewise((0, z2[P] > 1), (1, True)), True))
    assert equation_text("s", hardtanh_prime) == "s = [-1 < z2[p] ≤ 1]"


def test_any_other_piecewise_prints_its_branches() -> None:
    leaky_prime = sp.Piecewise((ALPHA * a2[P], a2[P] <= 0), (1, True))
    assert equation_text("δ2[p]", leaky_prime * g2[P]) == "δ2[p] = {α⋅a2[p] if a2[p] ≤ 0; 1 otherwise}⋅∂L/∂a2[p]"
    relu = Network([3, 4, 1], ["relu", "sigmoid"], "bce").derive().equations.layer(1).a
    assert equation_text(relu.lhs, relu.rhs) == "a1[i] = {0 if z1[i] ≤ 0; z1[i] otherwise}"
    hardtanh = sp.Piecewise((-1, z2[I] <= -1), (sp.Piecewise((1, z2[I] > 1), (z2[I], True)), True))
    assert equation_text("a2[i]", hardtanh) == "a2[i] = {-1 if z2[i] ≤ -1; 1 if z2[i] > 1; z2[i] otherwise}"


def test_sums_print_with_their_index_below_sigma() -> None:
    n3 = naming.width(3)
    assert equation_text("∂L/∂a2[p]", sp.Sum(w3[I, P] * d3[I], (I, 1, n3))) == "∂L/∂a2[p] = Σᵢ w3[i, p]⋅δ3[i]"
    layers = Network([3, 4, 2, 2], ["relu", "relu", "sigmoid"], "sse").derive().equations.layers
    # Weights first and the sum before the bias, in every layer: z = W a + b.
    assert equation_text(layers[0].z.lhs, layers[0].z.rhs) == "z1[i] = Σⱼ w1[i, j]⋅x[j] + b1[i]"
    assert equation_text(layers[1].z.lhs, layers[1].z.rhs) == "z2[i] = Σⱼ w2[i, j]⋅a1[j] + b2[i]"
    # A range other than all the units of a layer is written out.
    assert equation_text("s", sp.Sum(w3[I, P] * d3[I], (I, 0, n3))) == "s = Σ(i = 0..n₃) w3[i, p]⋅δ3[i]"


def test_exponentials_and_powers() -> None:
    softmax = Network([4, 3], ["softmax"], "cce").derive().equations.layer(1).a
    assert equation_text(softmax.lhs, softmax.rhs) == "a1[i] = exp(z1[i])/(Σⱼ exp(z1[j]))"
    softplus_prime = sp.exp(z1[P]) / (sp.exp(z1[P]) + 1)
    assert equation_text("δ1[p]", softplus_prime * naming.output_gradient(1)[P]) == (
        "δ1[p] = (exp(z1[p])/(exp(z1[p]) + 1))⋅∂L/∂a1[p]"
    )
    tanh_prime = (1 - a1[P] ** 2) * naming.output_gradient(1)[P]
    assert equation_text("δ1[p]", tanh_prime) == "δ1[p] = (1 - a1[p]²)⋅∂L/∂a1[p]"
    assert equation_text("u", sp.sqrt(z1[I] ** 2 + 1) + z1[I] ** sp.Rational(3, 2)) == "u = √(z1[i]² + 1) + z1[i]^(3/2)"
    assert equation_text("u", sp.exp(-(z1[P] ** 2) / 2) / (2 * sp.sqrt(sp.pi))) == "u = exp(-z1[p]²/2)/(2⋅√π)"
    assert equation_text("u", 1 / (sp.Abs(z1[P]) + 1) ** 2) == "u = 1/(|z1[p]| + 1)²"


@pytest.mark.parametrize(
    ("loss", "output", "expected"),
    [
        ("sse", "sigmoid", "L = Σᵢ (y[i] - a2[i])²"),
        ("half_sse", "sigmoid", "L = (Σᵢ (a2[i] - y[i])²)/2"),
        ("bce", "sigmoid", "L = -Σᵢ ((1 - y[i])⋅log(1 - a2[i]) + y[i]⋅log(a2[i]))"),
        ("cce", "softmax", "L = -Σᵢ y[i]⋅log(a2[i])"),
    ],
)
def test_the_loss(loss: str, output: str, expected: str) -> None:
    network = Network([3, 4, 2], ["tanh", output], loss)
    assert equation_text("L", _widths(network.derive().equations.loss.rhs, network)) == expected


def test_derive_and_the_comments_print_the_same_mathematics() -> None:
    """Every equation of a derivation, printed for derive and for a comment, differs only in the
    layer mark (δ⁽²⁾ against δ2), so there is one printer, not two that could drift apart."""
    derivation = Network([2, 3, 3, 3, 2], ["relu", "leaky_relu", "tanh", "softmax"], "cce").derive()
    expressions = [derivation.equations.loss.rhs, derivation.loss_gradient]
    for layer, equations in zip(derivation.layers, derivation.equations.layers, strict=True):
        expressions += [equations.z.rhs, equations.a.rhs, layer.output_gradient, layer.delta_output_form]
        expressions += [layer.weight_gradient, layer.bias_gradient]
    for expr in expressions:
        comment = equation_text("e", expr).removeprefix("e = ")
        as_derived = re.sub(r"(?<=[wbza]|δ)(\d+)(?=\[)", lambda m: layer_superscript(int(m[1])), comment)
        assert as_derived == pretty(expr)


def test_derive_prints_one_equation_a_line_and_says_what_a_bracket_means() -> None:
    text = pretty_derivation(Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce").derive())
    lines = text.splitlines()
    assert "z⁽²⁾[i] = Σⱼ w⁽²⁾[i, j]⋅a⁽¹⁾[j] + b⁽²⁾[i]" in lines
    assert "δ⁽²⁾[p] = [a⁽²⁾[p] > 0]⋅(Σᵢ w⁽³⁾[i, p]⋅δ⁽³⁾[i])" in lines
    assert "L = -Σᵢ ((1 - y[i])⋅log(1 - a⁽³⁾[i]) + y[i]⋅log(a⁽³⁾[i]))" in lines
    assert "[c] is 1 where c holds and 0 elsewhere" in text
    no_step = pretty_derivation(Network([2, 3, 1], ["tanh", "sigmoid"], "bce").derive())
    assert "[c] is 1" not in no_step


def _comments(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]


def test_the_committed_modules_comment_in_readable_mathematics() -> None:
    comments = [comment for path in sorted(GENERATED.glob("*.py")) for comment in _comments(path)]
    assert comments
    for internal in ("Piecewise(", "Sum(", "**", "<="):
        assert not [comment for comment in comments if internal in comment], internal
    backward = _comments(GENERATED / "mlp_3_4_2_2_sse.py")
    assert "# BP2, layer 2: ∂L/∂a2[p] = Σᵢ w3[i, p]⋅δ3[i]" in backward
    assert "# BP2: δ2[p] = [a2[p] > 0]⋅∂L/∂a2[p]" in backward
