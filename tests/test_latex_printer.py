"""The LaTeX printer's exact strings, entry by entry of the registry, and the document's contract."""

from __future__ import annotations

import pytest
import sympy as sp

from symbackprop import equations as eq
from symbackprop.cli import main
from symbackprop.document import (
    SECTIONS,
    LatexError,
    LatexToolMissing,
    document_context,
    render_latex,
    render_markdown,
)
from symbackprop.document.activations import activation_steps, has_kink
from symbackprop.document.options import resolve_sections
from symbackprop.document.pdf import latex_tool
from symbackprop.exprparse import X
from symbackprop.printing.latex import NOTATIONS, escape_text, latex
from symbackprop.printing.linebreak import FormulaWriter as _Writer
from symbackprop.registry import ACTIVATIONS, LOSSES, A
from symbackprop.spec import Network

#: Each activation at z⁽²⁾ᵢ in a 3-layer network, and its claimed derivative in the output h⁽²⁾ₚ.
ACTIVATION_LATEX = {
    "identity": ("z^{(2)}_{i}", "1"),
    "sigmoid": (r"\frac{1}{1 + e^{- z^{(2)}_{i}}}", r"h^{(2)}_{p} \left(1 - h^{(2)}_{p}\right)"),
    "tanh": (r"\tanh{\left(z^{(2)}_{i} \right)}", "1 - {h^{(2)}_{p}}^{2}"),
    "relu": (
        r"\begin{cases} 0 & \text{for}\: z^{(2)}_{i} \leq 0 \\z^{(2)}_{i} & \text{otherwise} \end{cases}",
        r"\begin{cases} 0 & \text{for}\: h^{(2)}_{p} \leq 0 \\1 & \text{otherwise} \end{cases}",
    ),
    "leaky_relu": (
        r"\begin{cases} 0.01 z^{(2)}_{i} & \text{for}\: z^{(2)}_{i} \leq 0 \\"
        r"z^{(2)}_{i} & \text{otherwise} \end{cases}",
        r"\begin{cases} 0.01 & \text{for}\: h^{(2)}_{p} \leq 0 \\1 & \text{otherwise} \end{cases}",
    ),
    "elu": (
        r"\begin{cases} e^{z^{(2)}_{i}} - 1 & \text{for}\: z^{(2)}_{i} \leq 0 \\"
        r"z^{(2)}_{i} & \text{otherwise} \end{cases}",
        None,
    ),
    "softplus": (r"\log{\left(e^{z^{(2)}_{i}} + 1 \right)}", None),
    "silu": (r"\frac{z^{(2)}_{i}}{1 + e^{- z^{(2)}_{i}}}", None),
    "gelu": (
        r"\frac{\left(\operatorname{erf}{\left(\frac{\sqrt{2} z^{(2)}_{i}}{2} \right)} + 1\right) z^{(2)}_{i}}{2}",
        None,
    ),
    "gelu_tanh": (
        r"\frac{\left(\tanh{\left(\frac{\sqrt{2} \left(0.044715 {z^{(2)}_{i}}^{3} + z^{(2)}_{i}\right)}"
        r"{\sqrt{\pi}} \right)} + 1\right) z^{(2)}_{i}}{2}",
        None,
    ),
    "mish": (r"z^{(2)}_{i} \tanh{\left(\log{\left(e^{z^{(2)}_{i}} + 1 \right)} \right)}", None),
    "softmax": (r"\frac{e^{z^{(2)}_{i}}}{\sum_{j=1}^{n_{2}} e^{z^{(2)}_{j}}}", None),
}

#: Each loss over the n₃ outputs ŷ of a 3-layer network.
LOSS_LATEX = {
    "sse": r"\sum_{i=1}^{n_{3}} \left(y_{i} - \hat{y}_{i}\right)^{2}",
    "half_sse": r"\frac{1}{2} \sum_{i=1}^{n_{3}} \left(\hat{y}_{i} - y_{i}\right)^{2}",
    "mse": r"\frac{1}{n_{3}} \sum_{i=1}^{n_{3}} \left(\hat{y}_{i} - y_{i}\right)^{2}",
    "bce": r"\sum_{i=1}^{n_{3}} \left(- \left(1 - y_{i}\right) \log{\left(1 - \hat{y}_{i} \right)}"
    r" - y_{i} \log{\left(\hat{y}_{i} \right)}\right)",
    "cce": r"\sum_{i=1}^{n_{3}} - y_{i} \log{\left(\hat{y}_{i} \right)}",
    "huber": r"\frac{1}{n_{3}} \sum_{i=1}^{n_{3}} \begin{cases} y_{i} - \hat{y}_{i} - \frac{1}{2} & \text{for}\:"
    r" \hat{y}_{i} - y_{i} < -1 \\\frac{\left(\hat{y}_{i} - y_{i}\right)^{2}}{2} & \text{for}\:"
    r" \hat{y}_{i} - y_{i} \leq 1 \\\hat{y}_{i} - y_{i} - \frac{1}{2} & \text{otherwise} \end{cases}",
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_prints_exactly(name: str) -> None:
    assert name in ACTIVATION_LATEX, f"registry entry '{name}' has no expected LaTeX in this test"
    activation = ACTIVATIONS[name]
    forward, claimed = ACTIVATION_LATEX[name]
    assert latex(activation.index_form(eq.preactivation(2), eq.I, eq.J, eq.width(2)), depth=3) == forward
    output_form = activation.derivative_in_output()
    if claimed is None:
        assert output_form is None
    else:
        assert latex(output_form.xreplace({A: eq.activation_output(2)[eq.P]}), depth=3) == claimed


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_prints_exactly(name: str) -> None:
    assert name in LOSS_LATEX, f"registry entry '{name}' has no expected LaTeX in this test"
    loss = LOSSES[name].index_form(eq.activation_output(3), eq.target(), eq.I, eq.width(3))
    assert latex(loss, depth=3) == LOSS_LATEX[name]


@pytest.mark.parametrize(
    ("expr", "tutorial", "coursera"),
    [
        (eq.weight(1)[eq.I, eq.J], "w^{(1)}_{ij}", "W^{[1]}_{ij}"),
        (eq.activation_output(0)[eq.J], "x_{j}", "x_{j}"),
        (eq.activation_output(2)[eq.I], "h^{(2)}_{i}", "a^{[2]}_{i}"),
        (eq.activation_output(3)[eq.I], r"\hat{y}_{i}", "a^{[3]}_{i}"),
        (eq.delta(2)[eq.P], r"\delta^{(2)}_{p}", r"\delta^{[2]}_{p}"),
        (
            eq.output_gradient(3)[eq.P],
            r"\frac{\partial L}{\partial \hat{y}_{p}}",
            r"\frac{\partial \mathcal{L}}{\partial a^{[3]}_{p}}",
        ),
        (eq.width(2), "n_{2}", "n^{[2]}"),
        (eq.LOSS, "L", r"\mathcal{L}"),
        (sp.MatrixSymbol("w2", eq.width(2), eq.width(1)).T, r"\mathbf{W}^{(2)\top}", r"W^{[2]\top}"),
        (eq.delta(1)[eq.P] * eq.activation_output(0)[eq.Q], r"\delta^{(1)}_{p} x_{q}", r"\delta^{[1]}_{p} x_{q}"),
        (eq.activation_output(1)[eq.P] ** 2, "{h^{(1)}_{p}}^{2}", "{a^{[1]}_{p}}^{2}"),
    ],
)
def test_symbols_in_both_notations(expr: sp.Basic, tutorial: str, coursera: str) -> None:
    assert latex(expr, notation="tutorial", depth=3) == tutorial
    assert latex(expr, notation="coursera", depth=3) == coursera


def test_rules_print_as_bp_equations() -> None:
    from symbackprop.rules import TEXTBOOK
    from symbackprop.verify import SymbolicView

    derivation = Network(sizes=[2, 4, 3, 1], activations=["relu", "relu", "sigmoid"], loss="bce").derive()
    view = SymbolicView(derivation)
    relu = ACTIVATIONS["relu"]
    hidden = TEXTBOOK.rule_for("hidden_delta", relu).build(view, 2)
    weight = TEXTBOOK.rule_for("weight", relu).build(view, 2)
    assert latex(hidden, depth=3) == (r"\mathbf{W}^{(3)\top} \boldsymbol{\delta}^{(3)} \odot f'_{2}(\mathbf{z}^{(2)})")
    assert latex(weight, depth=3) == r"\boldsymbol{\delta}^{(2)} \mathbf{h}^{(1)\top}"


def test_escape_text() -> None:
    assert escape_text("2 -> 4 leaky_relu(0.01) : half_sse & 50%") == (
        r"2 $\rightarrow$ 4 leaky\_relu(0.01) : half\_sse \& 50\%"
    )


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("sigmoid", r"\frac{d}{d x} \frac{1}{1 + e^{- x}}", r"a \left(1 - a\right)"),
        ("tanh", r"\frac{d}{d x} \frac{e^{x} - e^{- x}}{e^{x} + e^{- x}}", r"1 - a^{2}"),
        ("relu", None, r"\begin{cases} 0 & \text{for}\: a \leq 0 \\1 & \text{otherwise} \end{cases}"),
    ],
)
def test_activation_derivative_is_worked_from_its_definition(name: str, first: str | None, last: str) -> None:
    steps = activation_steps(ACTIVATIONS[name], _Writer(NOTATIONS["tutorial"], 3))
    if first is not None:
        assert steps["steps"][0] == [first]
    assert steps["steps"][-1] == [last]
    assert len(steps["steps"]) >= 3
    assert steps["kink"] == (name == "relu")
    if name == "sigmoid":
        assert [r"\sigma(x) \left(1 - \sigma(x)\right)"] in steps["steps"]
    if name == "relu":
        assert steps["at_zero"].endswith("= 0")


def test_fused_output_delta_cancels_to_prediction_minus_target() -> None:
    fused = [([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce"), ([4, 16, 3], ["tanh", "softmax"], "cce")]
    for sizes, activations, loss in fused:
        derivation = Network(sizes=sizes, activations=activations, loss=loss).derive()
        context = document_context(derivation, sections="backward")
        output = context["backward"][0]
        delta = output["blocks"][1]
        depth = len(sizes) - 1
        assert delta["lhs"] == rf"\delta^{{({depth})}}_{{p}}"
        assert delta["steps"][-1] == [r"\hat{y}_{p} - y_{p}"]
        assert len(delta["steps"]) >= 4, "the cancellation is shown in steps"


def test_sections_choose_parts_in_document_order() -> None:
    assert resolve_sections("verification, forward") == ("forward", "verification")
    assert resolve_sections(None) == SECTIONS
    with pytest.raises(LatexError, match="unknown section"):
        resolve_sections("forward,figure")
    derivation = Network(sizes=[3, 1], activations=["sigmoid"], loss="half_sse").derive()
    text = render_latex(derivation, sections="forward", standalone=False)
    assert r"\section{Forward pass}" in text
    assert r"\section{Verification}" not in text
    assert r"\documentclass" not in text
    assert render_latex(derivation, sections="forward").startswith(r"\documentclass")


def test_markdown_uses_mathjax_delimiters_and_no_tikz() -> None:
    derivation = Network(sizes=[2, 4, 3, 1], activations=["relu", "relu", "sigmoid"], loss="bce").derive()
    text = render_markdown(derivation, notation="coursera")
    assert text.startswith("# Back-propagation through the network `2 -> 4 relu -> 3 relu -> 1 sigmoid : bce`")
    assert "tikzpicture" not in text
    assert text.count("$$") % 2 == 0
    assert r"$$" + "\n" + r"\begin{aligned}" in text
    assert "W^{[1]}_{ij}" in text
    assert "All rules verified" in text


def test_layer_repr_latex_is_display_math() -> None:
    derivation = Network(sizes=[4, 16, 3], activations=["tanh", "softmax"], loss="cce").derive()
    shown = derivation.layer(1)._repr_latex_()
    assert shown.startswith("$$\n\\begin{aligned}")
    assert r"\delta^{(1)}_{p} &=" in shown
    assert "*" not in shown.replace(r"\cdot", "")


def test_missing_tools_give_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(LatexToolMissing, match="apt-get install"):
        latex_tool()


def test_cli_pdf_without_tools_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    status = main(
        [
            "latex",
            "3-1",
            "--activations",
            "sigmoid",
            "--loss",
            "half_sse",
            "-o",
            str(tmp_path / "d.tex"),
            "--pdf",
            "--sections",
            "forward",
        ]
    )
    assert status == 2
    assert "latexmk or pdflatex" in capsys.readouterr().err
    assert (tmp_path / "d.tex").exists()


def test_cli_writes_markdown(tmp_path, capsys) -> None:
    out = tmp_path / "derivation.md"
    status = main(
        [
            "latex",
            "3-1",
            "--activations",
            "sigmoid",
            "--loss",
            "half_sse",
            "--format",
            "markdown",
            "-o",
            str(out),
            "--sections",
            "forward,backward",
        ]
    )
    assert status == 0
    assert out.read_text().startswith("# Back-propagation")
    assert not list(tmp_path.glob(".*tmp"))


def test_cli_rejects_unknown_section(capsys) -> None:
    assert main(["latex", "3-1", "--activations", "sigmoid", "--loss", "sse", "--sections", "bogus"]) == 2
    assert "unknown section(s) bogus" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("expr", "printed"),
    [
        # The textbook's order: the weighted sum before the bias, a positive term first.
        (
            eq.build_equations(Network(sizes=[2, 1], activations=["sigmoid"], loss="sse")).layer(1).z.rhs,
            r"\sum_{j=1}^{n_{0}} w^{(1)}_{ij} x_{j} + b^{(1)}_{i}",
        ),
        (eq.target()[eq.P] - eq.activation_output(1)[eq.P], r"y_{p} - \hat{y}_{p}"),
        # ½ and 1/m in front of a sum; ∂L/∂ŷ and the Kronecker delta beside a fraction, not in it.
        (
            sp.Sum(eq.activation_output(1)[eq.I], (eq.I, 1, eq.width(1))) / 2,
            r"\frac{1}{2} \sum_{i=1}^{n_{1}} \hat{y}_{i}",
        ),
        (
            eq.output_gradient(1)[eq.I]
            * sp.KroneckerDelta(eq.I, eq.P)
            * sp.exp(-eq.preactivation(1)[eq.I])
            / (1 + sp.exp(-eq.preactivation(1)[eq.I])) ** 2,
            r"\frac{\partial L}{\partial \hat{y}_{i}} \frac{e^{- z^{(1)}_{i}}}{\left(1 + e^{- z^{(1)}_{i}}\right)^{2}}"
            r" \delta_{i p}",
        ),
        # Constants given in decimals stay decimals; a concrete index of two digits gets commas.
        (sp.Rational(8943, 200000) * X**3 + X, "0.044715 x^{3} + x"),
        (X / 100, "0.01 x"),
        (sp.Rational(1, 3) * X, r"\frac{x}{3}"),
        (eq.weight(2)[1, 12], "w^{(2)}_{1,12}"),
        (eq.weight(2)[1, 2], "w^{(2)}_{12}"),
        # No gap between a function's name and its bracket when the argument is a symbol.
        (sp.Function("fprime2")(eq.preactivation(2)[eq.P]), "f'_{2}(z^{(2)}_{p})"),
    ],
)
def test_printer_writes_as_textbooks_do(expr: sp.Basic, printed: str) -> None:
    assert latex(expr, depth=1) == printed


def test_long_formula_is_broken_before_a_sign_and_every_line_fits() -> None:
    write = _Writer(NOTATIONS["tutorial"], 2)
    derivative = ACTIVATIONS["gelu_tanh"].derivative()
    lines = write.lines(derivative)
    assert len(lines) > 1
    assert all(write.fits(line) for line in lines)
    assert all(line.startswith(("+ ", "- ")) for line in lines[1:])
    assert write.lines(X + 1) == ["x + 1"]


@pytest.mark.parametrize("name", [name for name, entry in ACTIVATIONS.items() if entry.jacobian.diagonal])
def test_kink_at_zero_matches_one_sided_slopes(name: str) -> None:
    # The oracle: the slopes of f itself just left and right of 0, by finite differences.
    f = sp.lambdify(X, ACTIVATIONS[name].bound().expr, "mpmath")
    step = 1e-7
    left, right = (f(0) - f(-step)) / step, (f(step) - f(0)) / step
    assert has_kink(ACTIVATIONS[name].derivative()) == (abs(left - right) > 1e-3)
