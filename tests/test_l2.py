"""L2 regularisation: the network's ``l2``, its derivation, rules, document and generated code."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from symbackprop import TEXTBOOK, Network, Rule, SpecError, derive
from symbackprop import naming as nm
from symbackprop.cli import main
from symbackprop.equations import L2
from symbackprop.spec import from_cli, load_toml, parse_compact
from symbackprop.testing.reference_cache import entry_key

COMPACT = "2 -> 3 tanh -> 1 sigmoid : bce + l2(0.01)"


def _network(l2: float = 0.01) -> Network:
    return Network([2, 3, 1], ["tanh", "sigmoid"], "bce", l2=l2)


# -- the spec ------------------------------------------------------------------------------


def test_every_way_to_write_l2_gives_the_same_network(tmp_path: Path) -> None:
    toml = tmp_path / "net.toml"
    toml.write_text('sizes = [2, 3, 1]\nactivations = ["tanh", "sigmoid"]\nloss = "bce"\nl2 = 0.01\n')
    in_spec = tmp_path / "spec.toml"
    in_spec.write_text('spec = "2 -> 3 tanh -> 1 sigmoid : bce"\nl2 = 1e-2\n')
    network = _network()
    assert parse_compact(COMPACT) == network
    assert load_toml(toml) == network
    assert load_toml(in_spec) == network
    assert from_cli("2-3-1", "tanh,sigmoid", "bce", [], "0.01") == network
    assert from_cli("2 -> 3 tanh -> 1 sigmoid : bce", l2="0.01") == network
    assert network.compact == COMPACT
    assert network.cli_arguments == "2-3-1 --activations tanh,sigmoid --loss bce --l2 0.01"
    assert parse_compact(network.compact) == network


def test_l2_zero_is_no_term_and_prints_as_before() -> None:
    plain = Network([2, 3, 1], ["tanh", "sigmoid"], "bce")
    assert _network(0) == _network(-0.0) == plain
    assert plain.compact == "2 -> 3 tanh -> 1 sigmoid : bce"
    assert "--l2" not in plain.cli_arguments
    assert derive(plain).equations.regularizer == 0


def test_the_reference_cache_key_changes_with_l2() -> None:
    keys = {entry_key(_network(l2)) for l2 in (0.0, 0.01, 0.02)}
    assert len(keys) == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _network(-0.1), "l2: must be a finite number >= 0 (0 for no L2 term), got -0.1"),
        (lambda: _network(float("nan")), "l2: must be a finite number >= 0"),
        (lambda: _network(True), "l2: expected a non-negative number like 0.01, got True"),
        (lambda: _network("0.1"), "l2: expected a non-negative number like 0.01, got '0.1'"),  # type: ignore[arg-type]
        (
            lambda: parse_compact("2 -> 1 sigmoid : bce + l1(0.1)"),
            "compact spec: 'l1(0.1)' after the loss is not a regularisation",
        ),
        (lambda: parse_compact("2 -> 1 sigmoid : bce + l2(1/2)"), "compact spec: l2: '1/2' is not a number"),
        (lambda: parse_compact("2 -> 1 sigmoid : bce + l2(1e999)"), "compact spec: l2: must be a finite number"),
        (lambda: parse_compact("2 -> 1 sigmoid : bce + l2(1) + l2(2)"), "compact spec: l2 given twice"),
        (lambda: from_cli(COMPACT, l2="0.1"), "--l2: given twice; the network already carries l2 = 0.01"),
        (lambda: from_cli("2-1", "sigmoid", "bce", [], "__import__('os')"), "--l2: '__import__('os')' is not a number"),
    ],
)
def test_a_bad_l2_is_refused_naming_it(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_a_toml_l2_of_another_type_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "net.toml"
    path.write_text('spec = "2 -> 1 sigmoid : bce"\nl2 = "0.1"\n')
    with pytest.raises(SpecError, match=f"^{path}: l2: expected a non-negative number like 0.01, got '0.1'$"):
        load_toml(path)
    path.write_text('spec = "2 -> 1 sigmoid : bce + l2(0.1)"\nl2 = 0.2\n')
    with pytest.raises(SpecError, match=f"^{path}: l2: given twice"):
        load_toml(path)


def test_the_command_line_takes_l2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce", "--l2", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "∂L/∂Wˡ = δˡ (aˡ⁻¹)ᵀ + λWˡ" in out
    assert "2 -> 3 tanh -> 1 sigmoid : bce + l2(0.5): rules 'textbook'" in out
    assert main(["verify", "2-1", "--activations", "sigmoid", "--loss", "bce", "--l2", "-1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "symbackprop: error: --l2: must be a finite number >= 0 (0 for no L2 term), got -1"
    ]


# -- derivation and verification ----------------------------------------------------------

NETWORKS = [
    "2 -> 3 tanh -> 1 sigmoid : bce + l2(0.01)",
    "3 -> 4 relu -> 3 softmax : cce + l2(2.5)",
    "2 -> 2 elu -> 2 sigmoid -> 2 identity : mse + l2(0.0001)",
]


@pytest.mark.parametrize("spec", NETWORKS)
def test_sympy_diff_derives_lambda_w_and_nothing_else(spec: str) -> None:
    with_l2 = derive(spec)
    without = derive(spec.rpartition(" + ")[0])
    for layer, plain in zip(with_l2.layers, without.layers, strict=True):
        k = layer.k
        assert layer.weight_gradient == plain.weight_gradient + L2 * nm.weight(k)[nm.P, nm.Q]
        assert (layer.delta, layer.bias_gradient) == (plain.delta, plain.bias_gradient)
        assert layer.weight_chain.has(sp.KroneckerDelta, L2)  # sympy.diff's form, before contraction
    assert with_l2.equations.objective.rhs == without.equations.loss.rhs + with_l2.equations.regularizer


@pytest.mark.parametrize("spec", NETWORKS)
def test_the_textbook_rules_with_lambda_w_verify(spec: str) -> None:
    report = derive(spec).verify()
    assert report.ok, report.table()
    assert {row.formula for row in report.rows if row.target == "weight"} == {"∂L/∂Wˡ = δˡ (aˡ⁻¹)ᵀ + λWˡ"}


@pytest.mark.parametrize(
    ("slip", "build"),
    [
        ("missing", lambda v, k: v.delta(k) * v.a(k - 1).T),
        ("2λ", lambda v, k: v.delta(k) * v.a(k - 1).T + 2 * v.l2 * v.W(k)),
        ("λ/2", lambda v, k: v.delta(k) * v.a(k - 1).T + v.l2 / 2 * v.W(k)),
    ],
)
def test_a_wrong_l2_term_fails_both_witnesses(slip: str, build) -> None:  # type: ignore[no-untyped-def]
    report = derive(COMPACT).verify(TEXTBOOK.replacing(Rule(slip, "weight", slip, build)))
    failing = {(row.layer, row.symbolic.ok, row.composed.ok) for row in report.failures}
    assert failing == {(1, False, False), (2, False, False)}


def test_a_regularised_bias_fails_both_witnesses() -> None:
    rule = Rule("bias decay", "bias", "δ + λb", lambda v, k: v.delta(k) + v.l2 * v.b(k))
    report = derive(COMPACT).verify(TEXTBOOK.replacing(rule))
    assert {(row.target, row.symbolic.ok, row.composed.ok) for row in report.failures} == {("bias", False, False)}
    assert "λ⋅b⁽²⁾[p]" in report.table() or "λ*b⁽²⁾[p]" in report.table()


def test_without_l2_the_term_is_zero_and_a_rule_without_it_verifies() -> None:
    rule = Rule("BP4 alone", "weight", "δaᵀ", lambda v, k: v.delta(k) * v.a(k - 1).T)
    assert derive("2 -> 3 tanh -> 1 sigmoid : bce").verify(TEXTBOOK.replacing(rule)).ok


# -- the document -----------------------------------------------------------------------------


def test_the_document_shows_where_the_term_enters() -> None:
    latex = derive(COMPACT).latex()
    # The loss carries the term, BP4's index form gains it from its own step, and the matrix form.
    assert r"{w^{(2)}_{ij}}^{2}\right)}{2}" in latex
    assert r"\frac{\partial}{\partial w^{(2)}_{pq}} \frac{\lambda \sum" in latex
    assert r"&= \delta^{(2)}_{p} h^{(1)}_{q} + \lambda w^{(2)}_{pq}" in latex
    assert r"\boldsymbol{\delta}^{(1)} \mathbf{x}^{\top} + \lambda \mathbf{W}^{(1)} &&\text{BP4}" in latex
    assert r"\boldsymbol{\Delta}^{(1)\top} \mathbf{X} + \lambda \mathbf{W}^{(1)}" in latex
    assert r"The last term is the L2 penalty, with $\lambda$ = 0.01" in latex
    assert "weight_decay" in derive(COMPACT).markdown()
    assert r"\lambda" not in derive("2 -> 3 tanh -> 1 sigmoid : bce").latex()
