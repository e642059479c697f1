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


# -- generated code ---------------------------------------------------------------------------

#: Networks whose activations and losses torch has, and an L2 coefficient each (small to large).
CODE_NETWORKS = [
    "2 -> 3 tanh -> 1 sigmoid : bce + l2(0.01)",
    "3 -> 4 relu -> 3 softmax : cce + l2(0.5)",
    "2 -> 3 sigmoid -> 2 tanh -> 2 identity : mse + l2(3.0)",
    "4 -> 5 tanh -> 2 identity : sse + l2(1e-4)",
]


def _module(spec: str, target: str = "numpy"):  # type: ignore[no-untyped-def]
    from symbackprop.codegen import load_module
    from symbackprop.codegen.modules import generate_module
    from symbackprop.codegen.targets import target as code_target

    return load_module(generate_module(parse_compact(spec), target=code_target(target)), f"l2_{target}")


def _data(network: Network, rows: int = 7):  # type: ignore[no-untyped-def]
    import numpy

    rng = numpy.random.default_rng(5)
    X = rng.normal(size=(rows, network.sizes[0]))
    if network.loss.name == "cce":
        Y = numpy.eye(network.sizes[-1])[rng.integers(network.sizes[-1], size=rows)]
    elif network.loss.name == "bce":
        Y = (rng.random((rows, network.sizes[-1])) > 0.5).astype(float)
    else:
        Y = rng.normal(size=(rows, network.sizes[-1]))
    return X, Y


@pytest.mark.parametrize("spec", CODE_NETWORKS)
def test_numpy_gradients_with_l2_equal_central_differences(spec: str) -> None:
    import numpy

    module, network = _module(spec), parse_compact(spec)
    X, Y = _data(network)
    params = module.init_params(3)
    _, grads = module.loss_and_grads(params, X, Y)
    step = 1e-6
    for name, value in params.items():
        for index in numpy.ndindex(value.shape):
            shifted = {key: array.copy() for key, array in params.items()}
            shifted[name][index] += step
            above = module.loss_and_grads(shifted, X, Y)[0]
            shifted[name][index] -= 2 * step
            below = module.loss_and_grads(shifted, X, Y)[0]
            assert (above - below) / (2 * step) == pytest.approx(grads[name][index], rel=1e-6, abs=1e-8), (name, index)


def _torch_loss(torch, network: Network, params, X, Y):  # type: ignore[no-untyped-def]
    """The regularised mean loss, written with torch's own functions (none of symbackprop's code)."""
    functions = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}
    A = torch.as_tensor(X)
    for k, activation in enumerate(network.activations, start=1):
        Z = A @ params[f"W{k}"].T + params[f"b{k}"]
        A = torch.softmax(Z, dim=1) if activation.name == "softmax" else functions[activation.name](Z)
    Y = torch.as_tensor(Y)
    per_sample = {
        "bce": lambda: -(Y * torch.log(A) + (1 - Y) * torch.log(1 - A)).sum(dim=1),
        "cce": lambda: -(Y * torch.log(A)).sum(dim=1),
        "mse": lambda: ((A - Y) ** 2).mean(dim=1),
        "sse": lambda: ((Y - A) ** 2).sum(dim=1),
    }[network.loss.name]()
    penalty = sum((params[f"W{k}"] ** 2).sum() for k in range(1, network.depth + 1))
    return per_sample.mean() + network.l2 / 2 * penalty


@pytest.mark.parametrize("spec", CODE_NETWORKS)
def test_every_target_matches_torch_autograd_of_the_regularised_loss(spec: str) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is an optional extra: pip install 'symbackprop[torch]'")
    network = parse_compact(spec)
    module = _module(spec)
    X, Y = _data(network)
    params = module.init_params(3)
    leaves = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    expected = _torch_loss(torch, network, leaves, X, Y)
    expected.backward()
    loss, grads = module.loss_and_grads(params, X, Y)
    assert loss == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    for name, leaf in leaves.items():
        assert abs(grads[name] - leaf.grad.numpy()).max() <= 1e-12 * max(1.0, abs(grads[name]).max()), name
    # The torch module: loss_and_grads, and the MLP's loss().backward() through the derived node.
    torch_module = _module(spec, "torch")
    tensors = {name: torch.tensor(value) for name, value in params.items()}
    torch_loss, torch_grads = torch_module.loss_and_grads(tensors, torch.tensor(X), torch.tensor(Y))
    assert float(torch_loss) == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    mlp = torch_module.MLP(tensors)
    mlp.loss(torch.tensor(X), torch.tensor(Y)).backward()
    for name, leaf in leaves.items():
        assert torch.allclose(torch_grads[name], leaf.grad, rtol=1e-12, atol=1e-12), name
        assert torch.allclose(mlp.params()[name].grad, leaf.grad, rtol=1e-12, atol=1e-12), name


@pytest.mark.parametrize("spec", CODE_NETWORKS[:2])
def test_jax_loss_fn_and_loss_and_grads_carry_the_term(spec: str) -> None:
    import numpy

    jax = pytest.importorskip("jax", reason="JAX is an optional extra: pip install 'symbackprop[jax]'")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        network, numpy_module, jax_module = parse_compact(spec), _module(spec), _module(spec, "jax")
        X, Y = _data(network)
        params = numpy_module.init_params(3)
        loss, grads = numpy_module.loss_and_grads(params, X, Y)
        arrays = {name: jax.numpy.asarray(value) for name, value in params.items()}
        jax_loss, jax_grads = jax_module.loss_and_grads(arrays, X, Y)
        via_vjp = jax.grad(jax_module.loss_fn)(arrays, X, Y)
        assert float(jax_module.loss_fn(arrays, X, Y)) == pytest.approx(loss, rel=1e-12)
        assert float(jax_loss) == pytest.approx(loss, rel=1e-12)
        for name in params:
            numpy.testing.assert_allclose(jax_grads[name], grads[name], rtol=1e-12, atol=1e-14)
            numpy.testing.assert_allclose(via_vjp[name], grads[name], rtol=1e-12, atol=1e-14)
    finally:
        jax.config.update("jax_enable_x64", previous)


@pytest.mark.parametrize("spec", CODE_NETWORKS)
def test_the_buffered_training_step_descends_the_regularised_loss(spec: str) -> None:
    import numpy

    module, network = _module(spec), parse_compact(spec)
    X, Y = _data(network)
    params = module.init_params(3)
    loss, grads = module.loss_and_grads(params, X, Y)
    step, packed = module.make_train_step(params, X.shape[0], 0.1)
    assert step(X, Y) == pytest.approx(loss, rel=1e-13)
    for name in params:
        numpy.testing.assert_allclose(packed[name], params[name] - 0.1 * grads[name], rtol=1e-13, atol=1e-15)
    assert network.l2 == module.L2
    assert module.l2_penalty(params) == pytest.approx(
        network.l2 / 2 * sum(float((params[f"W{k}"] ** 2).sum()) for k in range(1, network.depth + 1)), rel=1e-14
    )


@pytest.mark.parametrize("spec", CODE_NETWORKS[:2])
def test_an_optimizer_step_receives_the_mean_gradient_with_the_term(spec: str) -> None:
    import numpy

    module, network = _module(spec), parse_compact(spec)
    X, Y = _data(network)
    params = module.init_params(3)
    _, grads = module.loss_and_grads(params, X, Y)
    received = []
    step = module._make_step(module._pack(params), X.shape[0], 0.1, update=lambda g: received.append(g.copy()))
    step(X, Y)
    for name, value in module._views(received[0]).items():
        numpy.testing.assert_allclose(value, grads[name], rtol=1e-13, atol=1e-15)


L2_NETWORK = Network([2, 3, 1], ["tanh", "sigmoid"], "bce", l2=0.1)


def _hand_written(slip: str):  # type: ignore[no-untyped-def]
    """Back-propagation of L2_NETWORK written out by hand, with one slip of its L2 term."""
    import numpy as np

    lam = 0.1

    def grads(params, X, Y):  # type: ignore[no-untyped-def]
        m = X.shape[0]
        A1 = np.tanh(X @ params["W1"].T + params["b1"])
        A2 = 1 / (1 + np.exp(-(A1 @ params["W2"].T + params["b2"])))
        D2 = (A2 - Y) / m
        D1 = (D2 @ params["W2"]) * (1 - A1**2)
        factor = {"none": 1.0, "l2_missing": 0.0, "l2_double": 2.0, "l2_over_m": 1 / m}.get(slip, 1.0)
        bias = lam if slip == "l2_on_bias" else 0.0
        return {
            "dW1": D1.T @ X + factor * lam * params["W1"],
            "db1": D1.sum(0) + bias * params["b1"],
            "dW2": D2.T @ A1 + factor * lam * params["W2"],
            "db2": D2.sum(0) + bias * params["b2"],
        }

    return grads


def test_the_checker_passes_a_correct_l2_gradient() -> None:
    from symbackprop.testing import check_gradients

    assert check_gradients(L2_NETWORK, _hand_written("none")).ok


#: The slips of an L2 term that _hand_written makes, each named by the catalogue entry of its name.
L2_SLIPS = ("l2_missing", "l2_double", "l2_over_m", "l2_on_bias")


@pytest.mark.parametrize("slip", L2_SLIPS)
def test_the_checker_names_a_slip_of_the_l2_term(slip: str) -> None:
    from symbackprop.testing import check_gradients

    report = check_gradients(L2_NETWORK, _hand_written(slip))
    assert not report.ok
    failing = [row for row in report.rows if row.verdict == "fail"]
    assert failing and all(row.mistake == slip for row in failing), report.table()


def test_a_lambda_too_small_to_show_a_missing_term_is_said() -> None:
    from symbackprop.testing import check_gradients

    tiny = Network([2, 3, 1], ["tanh", "sigmoid"], "bce", l2=1e-12)
    report = check_gradients(tiny, _hand_written("l2_missing"))
    assert report.ok  # λW is far below the tolerance: nothing can tell the term is missing
    assert any("λ = 1e-12 is too small" in note for note in report.notes), report.table()
    assert not any("too small" in note for note in check_gradients(L2_NETWORK, _hand_written("none")).notes)
