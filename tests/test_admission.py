"""Trust at the edges: every accepted custom expression derives fully and verifies, every hostile or
oversized one is refused quickly and clearly, and nothing is emitted from a derivation that does
not verify."""

from __future__ import annotations

import dataclasses
import importlib
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from custom_activations import CORPUS

from symbackprop import Network, SpecError
from symbackprop.cachedir import CACHE_SWITCH_VARIABLE
from symbackprop.cli import main
from symbackprop.codegen import generate_module, load_module
from symbackprop.exprparse import X
from symbackprop.registry import custom_activation
from symbackprop.spec import from_cli
from symbackprop.testing import check_gradients
from symbackprop.testing.reference import reference_for
from symbackprop.verify import UnverifiedDerivationError, require_verified

#: Expressions that must be refused: too large, too deep, too high a degree, not real or not
#: finite where a layer lives. Each with a piece of the reason the error must give.
HOSTILE = [
    ("x**x**x**x**x**x**x**x", "(not real|undefined)"),
    ("exp(" * 90 + "x" + ")" * 90, "nests too deeply"),
    ("*".join(f"(x+{k})^64" for k in range(1, 71)), "too large"),
    ("(x+1)^64*(x+2)^64*(x+3)^64", "total degree 192"),
    ("exp(exp(exp(exp(x))))", "too large at x = "),
    ("1/(x-1.5)", r"undefined \(a division by zero\) at x = 1.5"),
    ("x/(x-3)", "undefined"),
    ("exp(exp(exp(x)))", "too large"),
    ("log(x)", r"not real \(the logarithm"),
    ("sqrt(x)", "not real"),
    ("1/x + x", "undefined"),
    ("sin(x)/x", "undefined"),
    ("x**(1/3)", "not real"),
    ("cosh(exp(exp(x)))", "too large"),
    ("sin(" * 20 + "x" + ")" * 20, "nests too deeply"),
    ("+".join(f"sin({k}*x)" for k in range(1, 40)), "too large"),
    ("x^64*x^64/x^63", "exponent too large"),
    ("max(max(max(max(x,0),sin(x)),cos(x)),tanh(x))+min(min(x,1),exp(x)-2)", "nested more than 3 deep"),
    ("max(max(max(x,0),sin(x)),cos(x))*min(min(min(x,1),exp(x)-2),tanh(x))", "too large"),
    ("exp(exp(x)**2)", "too large"),
    ("abs(x)**0.5", "undefined"),
]


def _network(name: str, text: str) -> Network:
    return from_cli("2-3-2", f"{name},{name}", "sse", [f"{name}={text}"])


def _contracted(expr: sp.Expr) -> bool:
    """No Kronecker delta left and no sum over units but the matrix products of the rules."""
    if expr.has(sp.KroneckerDelta):
        return False
    return all(not total.function.has(sp.Piecewise, sp.Sum) for total in expr.atoms(sp.Sum))


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_every_accepted_expression_derives_fully_verifies_and_reads_back(case) -> None:
    network = _network(case.name, case.text)
    derivation = network.derive()
    for layer in derivation.layers:
        for form in (layer.output_gradient, layer.delta, layer.delta_output_form, layer.weight_gradient):
            assert _contracted(form), f"layer {layer.k} keeps an uncontracted sum: {form}"
    assert derivation.verify().ok, derivation.verify().table()
    # The definition the rebuild command carries gives the same network back.
    activation = network.activations[0]
    assert _network(case.name, activation.definition) == network
    module = load_module(generate_module(derivation))
    assert module.SIZES == (2, 3, 2)


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("max(x, 0)", "max(0, x)"),
        ("min(0, x)", "min(x, 0)"),
        ("max(x, 1)", "max(1, x)"),
        ("max(0, x)**2", "max(0, x)*max(0, x)"),
        ("min(0, exp(x) - 1)", "min(exp(x) - 1, 0)"),
    ],
)
def test_max_and_min_take_their_arguments_in_either_order(text: str, same_as: str) -> None:
    first, second = (custom_activation("g", t).bound().expr for t in (text, same_as))
    for point in (-2.5, -0.5, 0.5, 2.5):
        assert float(first.subs(X, point)) == pytest.approx(float(second.subs(X, point)), rel=1e-15)


def test_max_and_min_from_python_get_a_definition_the_command_line_reads_back() -> None:
    activation = custom_activation("g", sp.Max(0, X) ** 2 + sp.Min(X, 1, sp.cos(X)) * sp.sin(X))
    assert activation.definition == "sin(x)*min(min(1, x), cos(x)) + max(0, x)**2"
    network = Network([2, 3, 2], [activation, "identity"], "sse")
    assert from_cli("2-3-2", "g,identity", "sse", [f"g={activation.definition}"]) == network
    assert network.derive().verify().ok


@pytest.mark.parametrize(
    ("text", "left_slope"),
    [("max(0, x) + min(0, exp(x) - 1)", 1), ("max(x, 0)", 0), ("min(x, 0) + 2*max(x, 0)", 1), ("max(0, x)**2", 0)],
)
def test_a_kink_takes_the_left_derivative_whichever_order_max_and_min_were_written(text: str, left_slope: int) -> None:
    derivative = custom_activation("g", text).derivative()
    assert derivative.subs(X, 0) == left_slope


def test_a_branch_not_taken_cannot_leave_its_domain() -> None:
    # numpy.where evaluates both branches: Z**1.5 and sqrt(Z) must not see the negative side.
    module = load_module(generate_module(_network("g", "max(0, x)**1.5")))
    params = module.init_params(seed=0)
    X = np.array([[-3.0, 2.0], [1.5, -0.5], [0.25, 4.0]])
    with np.errstate(all="raise"):
        _, grads = module.loss_and_grads(params, X, np.zeros((3, 2)))
    assert all(np.isfinite(g).all() for g in grads.values())


def test_kinks_become_comparisons_of_x_with_a_constant() -> None:
    expr = custom_activation("g", "min(0, 1.5*(exp(x) - 1))").expr
    (piecewise,) = expr.atoms(sp.Piecewise)
    assert piecewise.args[0].cond == sp.Gt(X, 0)


@pytest.mark.parametrize(("text", "reason"), HOSTILE, ids=[f"hostile{n}" for n in range(len(HOSTILE))])
def test_hostile_or_oversized_expressions_are_refused_quickly_and_clearly(
    text: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.perf_counter()
    with pytest.raises(SpecError, match=reason):
        _network("g", text)
    # A guard against a hang (the refusal comes before any derivation), not a speed goal: a loaded
    # machine may take seconds, an unbounded expansion takes minutes.
    assert time.perf_counter() - start < 30.0
    target = tmp_path / "mlp.py"
    status = main(
        [
            "generate",
            "2-3-1",
            "--activations",
            "g,identity",
            "--loss",
            "sse",
            "--activation-def",
            f"g={text}",
            "-o",
            str(target),
        ]
    )
    captured = capsys.readouterr()
    assert status == 2 and not target.exists()
    assert captured.err.startswith("symbackprop: error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


@pytest.fixture
def wrong_output_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """A derivation whose printed δ is twice the derived one: the slip the gate must stop."""
    derive_module = importlib.import_module("symbackprop.derive")
    original = derive_module._output_form

    def doubled(*arguments: object) -> sp.Expr:
        return 2 * original(*arguments)

    monkeypatch.setattr(derive_module, "_output_form", doubled)
    # The slip is made in memory, where the checker's cache key (the package's files) cannot see
    # it: no reference of this run or of an earlier one may stand in for the slipped derivation.
    monkeypatch.setenv(CACHE_SWITCH_VARIABLE, "0")
    reference_for.cache_clear()


def test_a_derivation_that_does_not_verify_is_named_and_refused(wrong_output_form: None) -> None:
    network = Network([2, 3, 1], ["tanh", "sigmoid"], "bce")
    derivation = network.derive()
    report = derivation.verify()
    assert not report.ok
    message = r"layer 2 \(sigmoid\), rule BP1 .* for δ⁽²⁾, symbolic witness: the δ⁽²⁾ that code generation prints"
    with pytest.raises(UnverifiedDerivationError, match=message):
        require_verified(derivation)
    with pytest.raises(UnverifiedDerivationError, match="nothing was written"):
        generate_module(derivation)
    with pytest.raises(UnverifiedDerivationError):
        derivation.latex()
    with pytest.raises(UnverifiedDerivationError):
        derivation.markdown()
    with pytest.raises(UnverifiedDerivationError):
        check_gradients(network, lambda params, X, Y: {})


@pytest.mark.parametrize(
    "command",
    [
        ["generate", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce", "-o", "{out}/mlp.py"],
        ["latex", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce", "-o", "{out}/d.tex"],
        [
            "latex",
            "2-3-1",
            "--activations",
            "tanh,sigmoid",
            "--loss",
            "bce",
            "--format",
            "markdown",
            "-o",
            "{out}/d.md",
        ],
        ["regenerate", "--out", "{out}/generated"],
        ["demo", "--quiet", "--out", "{out}/demo"],
    ],
    ids=["generate", "latex", "markdown", "regenerate", "demo"],
)
def test_the_command_line_writes_nothing_from_an_unverified_derivation(
    command: list[str], wrong_output_form: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([part.format(out=tmp_path) for part in command])
    captured = capsys.readouterr()
    assert status in (1, 2)
    if status == 2:
        assert "does not verify" in captured.err and "Traceback" not in captured.err
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [], f"written despite the failed verification: {written}"


def test_train_and_check_refuse_an_unverified_derivation(
    wrong_output_form: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "points.csv"
    data.write_text("a,b,y\n0.1,0.2,1\n0.3,-0.4,0\n", encoding="utf-8")
    out = tmp_path / "run"
    status = main(
        [
            "train",
            "2-3-1",
            "--activations",
            "tanh,sigmoid",
            "--loss",
            "bce",
            "--data",
            str(data),
            "--target",
            "y",
            "--epochs",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert status == 2 and "does not verify" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
    source = tmp_path / "mine.py"
    source.write_text("def grads(params, X, Y):\n    return {}\n", encoding="utf-8")
    status = main(["check", f"{source}:grads", "--spec", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce"])
    assert status == 2 and "does not verify" in capsys.readouterr().err


def test_a_tampered_layer_does_not_pass_the_gate() -> None:
    derivation = Network([2, 3, 1], ["tanh", "sigmoid"], "bce").derive()
    layer = derivation.layer(1)
    tampered = dataclasses.replace(layer, delta_output_form=layer.delta_output_form * 3)
    wrong = dataclasses.replace(derivation, layers=(tampered, derivation.layer(2)))
    with pytest.raises(UnverifiedDerivationError, match=r"layer 1 \(tanh\), rule BP2"):
        generate_module(wrong)
    assert generate_module(derivation)
