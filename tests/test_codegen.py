"""The generated NumPy module: printed forms, gradients against independent oracles, stability,
determinism and the committed reference modules."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import covering
import numpy as np
import pytest
import sympy as sp
from covering import SIZES, covering_triples, output_pairs, source_for, triple_id
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ruff.__main__ import find_ruff_bin

from symbackprop import ACTIVATIONS, LOSSES, Network
from symbackprop import equations as eq
from symbackprop.cli import build_parser, main, network_from_arguments
from symbackprop.codegen import (
    GENERATED_MARKER,
    REBUILD_COMMENT,
    REGENERATE_COMMAND,
    TARGET_NAMES,
    TARGETS,
    GenerationError,
    generate_module,
    load_module,
    loss_from_preactivation,
    reference_sources,
    write_module,
)
from symbackprop.printing.numpy import BatchNumPyPrinter, numpy_code
from symbackprop.printing.text import interval_text
from symbackprop.registry import A as OUTPUT

ROOT = Path(__file__).resolve().parent.parent


#: A covering set of the (hidden activation, output activation, loss) triples the spec accepts at
#: widths 3-4-3: every hidden activation, every accepted (output, loss) pair and every loss at
#: least once, computed from the registries (tests/covering.py). It replaces the full cross product,
#: which repeats each layer's code once per entry of the other layer.
PAIRS = list(covering_triples(SIZES))
PAIR_IDS = [triple_id(p) for p in PAIRS]
#: Every (output activation, loss) the spec accepts for a single layer.
OUTPUTS = output_pairs(sizes=(3, 3))


def module_for(sizes: tuple[int, ...], activations: tuple[str, ...], loss: str):  # type: ignore[no-untyped-def]
    """The generated module, once per test process (shared with the other test files)."""
    return covering.module_for(Network(list(sizes), list(activations), loss))


def targets(loss: str, rows: int, outputs: int, rng: np.random.Generator) -> np.ndarray:
    kind = LOSSES[loss].targets.name
    if kind == "one-hot":
        return np.eye(outputs)[rng.integers(0, outputs, rows)]
    if kind == "binary":
        return rng.integers(0, 2, (rows, outputs)).astype(float)
    return rng.normal(size=(rows, outputs))


def finite_difference(module, params, X, Y, step=1e-6):  # type: ignore[no-untyped-def]
    """Central differences of the mean loss, computed from the network's output Y_hat."""
    gradients = {}
    for name, value in params.items():
        gradient = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + step
            up = module.loss(module.forward(params, X)[0], Y)
            value[index] = saved - step
            down = module.loss(module.forward(params, X)[0], Y)
            value[index] = saved
            gradient[index] = (up - down) / (2 * step)
        gradients[name] = gradient
    return gradients


# -- the printer -------------------------------------------------------------------------------


def test_printer_prints_registry_forms_exactly():
    z = eq.preactivation(1)[eq.I]
    a = eq.activation_output(1)[eq.P]
    sigmoid = "numpy.divide(numpy.exp(numpy.minimum(Z1, 0.0)), 1.0 + numpy.exp(-numpy.abs(Z1)))"
    assert numpy_code(ACTIVATIONS["sigmoid"].at(z)) == sigmoid
    softplus = "numpy.add(numpy.maximum(Z1, 0.0), numpy.log1p(numpy.exp(-numpy.abs(Z1))))"
    assert numpy_code(ACTIVATIONS["softplus"].at(z)) == softplus
    assert numpy_code(ACTIVATIONS["relu"].at(z)) == "numpy.maximum(Z1, 0.0)"
    assert numpy_code(ACTIVATIONS["tanh"].derivative_in_output().xreplace({OUTPUT: a})) == "1 - A1**2"
    relu_prime = ACTIVATIONS["relu"].derivative_in_output().xreplace({OUTPUT: a})
    # A step is a boolean mask beside an array, which gives the product its dtype; alone it is cast.
    assert numpy_code(relu_prime * eq.output_gradient(1)[eq.P]) == "(A1 > 0)*dL_dA1"
    assert numpy_code(relu_prime) == "(A1 > 0).astype(A1.dtype)"
    assert numpy_code(relu_prime + sp.Rational(1, 2)) == "(A1 > 0).astype(A1.dtype) + 0.5"
    softmax = ACTIVATIONS["softmax"].index_form(eq.preactivation(2), eq.I, eq.J, eq.width(2))
    assert numpy_code(softmax) == "numpy.exp(Z2 - _logsumexp(Z2))"
    elu = ACTIVATIONS["elu"].at(z)
    assert numpy_code(elu) == "numpy.where(Z1 <= 0, numpy.expm1(numpy.minimum(Z1, 0.0)), Z1)"


def test_printer_turns_sums_into_matrix_products():
    derivation = Network([2, 4, 1], ["relu", "sigmoid"], "bce").derive()
    printer = BatchNumPyPrinter()
    assert printer.doprint(derivation.equations.layer(1).z.rhs) == "A0 @ W1.T + b1"
    assert printer.doprint(derivation.layer(1).output_gradient) == "D2 @ W2"
    assert printer.doprint(derivation.output_delta) == "A2 - Y"
    assert printer.batch_sum(derivation.layer(2).weight_gradient) == "D2.T @ A1"
    assert printer.batch_sum(derivation.layer(2).bias_gradient) == "numpy.sum(D2, axis=0)"


def test_printer_builds_a_delta_in_place_without_temporaries():
    printer = BatchNumPyPrinter()
    a, gradient, y = eq.activation_output(1)[eq.P], eq.output_gradient(1)[eq.P], eq.target()[eq.P]
    tanh = ACTIVATIONS["tanh"].derivative_in_output().xreplace({OUTPUT: a})
    assert printer.print_into(tanh * gradient, "D1", in_place=True) == [
        "numpy.square(A1, out=D1)",
        "numpy.subtract(1, D1, out=D1)",
        "numpy.multiply(D1, dL_dA1, out=D1)",
    ]
    scale = sp.Symbol("scale")
    assert printer.print_into((a - y) * scale, "D1", in_place=True) == [
        "numpy.subtract(A1, Y, out=D1)",
        "numpy.multiply(D1, scale, out=D1)",
    ]
    # Without in_place (the activation may write over its own input) the last call takes out= only.
    assert printer.print_into(tanh * gradient, "D1") == ["numpy.multiply(1 - A1**2, dL_dA1, out=D1)"]


def test_printer_names_what_it_cannot_print():
    with pytest.raises(NotImplementedError, match="besselj"):
        numpy_code(sp.besselj(0, eq.preactivation(1)[eq.I]))


@pytest.mark.parametrize("loss_name", ["bce", "cce"])
def test_loss_from_preactivation_equals_registry_loss(loss_name):
    output = "sigmoid" if loss_name == "bce" else "softmax"
    network = Network([2, 3], output, loss_name)
    derivation = network.derive()
    stable = loss_from_preactivation(derivation)
    registry = derivation.equations.loss.rhs
    z, y, a = eq.preactivation(1), eq.target(), eq.activation_output(1)
    rng = np.random.default_rng(3)
    for _ in range(3):
        zs = rng.normal(size=3) * 3
        ys = targets(loss_name, 1, 3, rng)[0]
        exact = np.exp(zs) / np.exp(zs).sum() if output == "softmax" else 1 / (1 + np.exp(-zs))
        values = {**{z[i + 1]: zs[i] for i in range(3)}, **{y[i + 1]: ys[i] for i in range(3)}}
        values.update({a[i + 1]: exact[i] for i in range(3)})
        first = sp.N(stable.xreplace({eq.width(1): 3}).doit().xreplace(values))
        second = sp.N(registry.xreplace({eq.width(1): 3}).doit().xreplace(values))
        assert abs(first - second) < 1e-9 * max(1.0, abs(second))


# -- gradients -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("hidden", "output", "loss"), PAIRS, ids=PAIR_IDS)
def test_gradients_match_central_differences(hidden, output, loss):
    module = module_for((3, 4, 3), (hidden, output), loss)
    rng = np.random.default_rng(1)
    params = module.init_params(seed=2)
    for value in params.values():
        value += rng.normal(scale=0.1, size=value.shape)  # nonzero biases
    X = rng.normal(size=(6, 3))
    Y = targets(loss, 6, 3, rng)
    value, grads = module.loss_and_grads(params, X, Y)
    assert value == pytest.approx(module.loss(module.forward(params, X)[0], Y), rel=1e-10)
    numeric = finite_difference(module, params, X, Y)
    for name in params:
        np.testing.assert_allclose(grads[name], numeric[name], rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize(("hidden", "output", "loss"), PAIRS, ids=PAIR_IDS)
def test_training_step_equals_readable_forward_backward(hidden, output, loss):
    """The buffer-reusing step of ``train`` makes the update lr·∇ of the readable backward."""
    module = module_for((3, 4, 3), (hidden, output), loss)
    rng = np.random.default_rng(7)
    params = module.init_params(seed=3)
    for value in params.values():
        value += rng.normal(scale=0.1, size=value.shape)
    X = rng.normal(size=(6, 3))
    Y = targets(loss, 6, 3, rng)
    value, grads = module.loss_and_grads(params, X, Y)
    step, stepped = module.make_train_step(params, 6, 0.1)
    assert step(X, Y) == pytest.approx(value, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(stepped[name], params[name] - 0.1 * grads[name], rtol=1e-12, atol=1e-14)


NAMES_WITHOUT_SOFTMAX = [name for name, entry in ACTIVATIONS.items() if entry.jacobian.diagonal]


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    depth=st.integers(1, 3),
    width=st.integers(1, 4),
    hidden=st.sampled_from(NAMES_WITHOUT_SOFTMAX),
    batch=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_property_random_networks_match_finite_differences(depth, width, hidden, batch, seed):
    sizes = (2, *([width] * (depth - 1)), 2)
    module = module_for(sizes, tuple([hidden] * (depth - 1) + ["sigmoid"]), "bce")
    rng = np.random.default_rng(seed)
    params = module.init_params(seed=seed)
    for value in params.values():
        # Zero biases behind a dead ReLU put z exactly on the kink, where differences disagree
        # with the f'(0) = 0 convention by construction.
        value += rng.normal(scale=0.1, size=value.shape)
    X = rng.normal(size=(batch, 2))
    Y = targets("bce", batch, 2, rng)
    _, cache = module.forward(params, X)
    hidden_z = [cache[f"Z{k}"] for k in range(1, depth)]
    # A step of the differences that crosses a kink measures neither one-sided slope.
    assume(not ACTIVATIONS[hidden].derivative().has(sp.Piecewise) or all(np.abs(z).min() > 1e-3 for z in hidden_z))
    _, grads = module.loss_and_grads(params, X, Y)
    numeric = finite_difference(module, params, X, Y)
    for name in params:
        np.testing.assert_allclose(grads[name], numeric[name], rtol=1e-5, atol=1e-7)


def test_loss_gradient_is_derivative_of_loss():
    module = module_for((3, 4, 3), ("tanh", "sigmoid"), "bce")
    rng = np.random.default_rng(0)
    Y_hat = rng.uniform(0.1, 0.9, (4, 3))
    Y = targets("bce", 4, 3, rng)
    numeric = np.zeros_like(Y_hat)
    for index in np.ndindex(Y_hat.shape):
        up, down = Y_hat.copy(), Y_hat.copy()
        up[index] += 1e-7
        down[index] -= 1e-7
        numeric[index] = (module.loss(up, Y) - module.loss(down, Y)) / 2e-7
    np.testing.assert_allclose(module.loss_gradient(Y_hat, Y) / 4, numeric, rtol=1e-6)


# -- numerical stability ------------------------------------------------------------------------


@pytest.mark.parametrize(("hidden", "output", "loss"), PAIRS, ids=PAIR_IDS)
def test_no_overflow_or_nan_at_extreme_preactivations(hidden, output, loss):
    module = module_for((3, 4, 3), (hidden, output), loss)
    params = module.init_params()
    params["W1"][...] = np.eye(4, 3)
    params["W2"][...] = np.eye(3, 4)
    X = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [30.0, -30.0, 1e-3]])
    Y = targets(loss, 3, 3, np.random.default_rng(0))
    with np.errstate(all="raise"):
        Y_hat, cache = module.forward(params, X)
        value, grads = module.loss_and_grads(params, X, Y)
        clipped = module.loss(Y_hat, Y)
        step, _ = module.make_train_step(params, 3, 0.1)
        with np.errstate(under="ignore"):  # the step leaves the intended underflow to its caller
            stepped = step(X, Y)
    assert np.all(np.isfinite(Y_hat))
    assert np.isfinite(value) and np.isfinite(clipped) and np.isfinite(stepped)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("output", "loss"), OUTPUTS, ids=["-".join(p) for p in OUTPUTS])
def test_output_layer_is_stable_at_extreme_preactivations(output, loss, dtype):
    """A single layer with W = I puts z of the output activation and the loss at ±1e4 directly
    (behind a hidden tanh the output would only ever see |z| <= 1)."""
    module = module_for((3, 3), (output,), loss)
    params = module.init_params(dtype=dtype)
    params["W1"][...] = np.eye(3)
    X = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, 1e4], [1e3, -1e3, -30.0]], dtype)
    Y = targets(loss, 4, 3, np.random.default_rng(0)).astype(dtype)
    with np.errstate(all="raise"):
        Y_hat, cache = module.forward(params, X)
        from_z = module.loss_from_preactivation(cache["Z1"], Y)
        from_predictions = module.loss(Y_hat, Y)
        value, grads = module.loss_and_grads(params, X, Y)
        step, stepped_params = module.make_train_step(params, 4, 0.1)
        with np.errstate(under="ignore"):  # the step leaves the intended underflow to its caller
            stepped = step(X, Y)
    assert np.all(np.isfinite(Y_hat)) and Y_hat.dtype == dtype
    assert all(np.isfinite(v) for v in (from_z, from_predictions, value, stepped))
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    assert all(np.all(np.isfinite(p)) and p.dtype == dtype for p in stepped_params.values())


def test_stable_bce_is_exact_at_saturation():
    module = module_for((1, 1), ("sigmoid",), "bce")
    Z = np.array([[-1e4], [1e4], [-800.0]])
    Y = np.array([[1.0], [0.0], [0.0]])
    with np.errstate(all="raise"):
        value = module.loss_from_preactivation(Z, Y)
    assert value == pytest.approx((1e4 + 1e4 + 0.0) / 3)


@pytest.mark.parametrize("loss_name", [name for name, loss in LOSSES.items() if loss.prediction_domain != sp.Reals])
def test_the_loss_docstring_names_its_domain_as_a_reader_writes_it(loss_name):
    loss = LOSSES[loss_name]
    module = module_for((2, 3, 2), ("tanh", loss.requires_output or "sigmoid"), loss_name)
    assert f"clipped into the loss's domain {interval_text(loss.prediction_domain)}," in module.loss.__doc__
    assert "Interval" not in module.loss.__doc__


def test_interval_text_writes_ranges_in_the_usual_notation():
    assert interval_text(sp.Interval.open(0, 1)) == "(0, 1)"
    assert interval_text(sp.Interval.Ropen(0, sp.oo)) == "[0, ∞)"
    assert interval_text(sp.Reals) == "ℝ"


# -- the module as a file -----------------------------------------------------------------------


def test_generation_is_deterministic_and_marked():
    network = Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce")
    first, second = generate_module(network), generate_module(network.derive())
    assert first == second
    assert first.startswith(GENERATED_MARKER)
    assert "symbackprop generate 2-4-3-1 --activations relu,relu,sigmoid --loss bce -o mlp.py" in first


def test_committed_reference_modules_are_up_to_date(tmp_path, capsys):
    """The regenerate command, run into a temporary folder, writes exactly the bytes of generated/."""
    assert main(["regenerate", "--out", str(tmp_path)]) == 0
    folder = ROOT / "generated"
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(reference_sources())
    stale = [
        name
        for name in written
        if not (folder / name).is_file() or (folder / name).read_bytes() != (tmp_path / name).read_bytes()
    ]
    assert not stale, f"generated/ is out of date ({', '.join(stale)}); run: {REGENERATE_COMMAND}"
    # Caches of tools run on the folder (__pycache__, .mypy_cache, .ruff_cache) are not committed.
    extra = sorted(
        p.name
        for p in folder.iterdir()
        if p.name not in written and p.name != "__pycache__" and not p.name.startswith(".")
    )
    assert not extra, f"generated/ holds files no command writes: {extra}; run: {REGENERATE_COMMAND}"


def assert_formatted_and_lint_clean(paths: list[str], cwd: Path = ROOT) -> None:
    """ruff's formatter would change nothing and its linter finds nothing, with no project settings."""
    ruff = find_ruff_bin()
    for arguments in (["check", "--select", "E,F,W,I,B,UP,SIM"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *arguments, "--no-cache", "--isolated", "--line-length", "120", *paths],
            cwd=cwd,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"ruff {arguments[0]}:\n{result.stdout}{result.stderr}"


def test_committed_reference_modules_are_formatted_and_lint_clean():
    assert_formatted_and_lint_clean(sorted(str(p) for p in (ROOT / "generated").glob("*.py")))


def test_generated_modules_are_formatted_and_lint_clean(tmp_path):
    """Every module of the covering set: every activation and every (output, loss) pair printed."""
    for hidden, output, loss in PAIRS:
        source = source_for(Network(list(SIZES), [hidden, output], loss))
        (tmp_path / f"m_{hidden}_{output}_{loss}.py").write_text(source, encoding="utf-8")
    assert_formatted_and_lint_clean(["."], cwd=tmp_path)


@pytest.mark.slow
def test_committed_and_generated_modules_pass_mypy(tmp_path):
    """One strict mypy run over the committed reference modules and three generated ones (one run
    instead of two: mypy's start-up, reading NumPy's stubs, is most of its time)."""
    pytest.importorskip("mypy")
    for path in (ROOT / "generated").glob("*.py"):
        shutil.copyfile(path, tmp_path / path.name)
    for hidden, output, loss in [("relu", "sigmoid", "bce"), ("tanh", "softmax", "cce"), ("gelu", "softplus", "mse")]:
        source = source_for(Network([3, 4, 3], [hidden, output], loss))
        (tmp_path / f"m_{hidden}_{output}_{loss}.py").write_text(source, encoding="utf-8")
    # SciPy ships no type information (gelu's module imports scipy.special for erf).
    (tmp_path / "mypy.ini").write_text("[mypy]\n[mypy-scipy.*]\nignore_missing_imports = True\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path / ".cache"), "--strict", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


# -- the generate command -------------------------------------------------------------------


def test_generate_writes_an_importable_module(tmp_path, capsys):
    target = tmp_path / "mlp.py"
    assert main(["generate", "2-4-3-1", "--activations", "relu,relu,sigmoid", "--loss", "bce", "-o", str(target)]) == 0
    namespace: dict[str, object] = {}
    exec(compile(target.read_text(encoding="utf-8"), str(target), "exec"), namespace)
    assert namespace["SIZES"] == (2, 4, 3, 1)
    # A file symbackprop wrote may be regenerated in place.
    assert main(["generate", "2-4-1", "--activations", "relu,sigmoid", "--loss", "bce", "-o", str(target)]) == 0


def test_generate_refuses_to_overwrite_a_foreign_file(tmp_path, capsys):
    target = tmp_path / "mine.py"
    target.write_text("print('my own code')\n", encoding="utf-8")
    arguments = ["generate", "2-1", "--activations", "sigmoid", "--loss", "bce", "-o", str(target)]
    assert main(arguments) == 2
    assert "not written by symbackprop" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "print('my own code')\n"
    assert main([*arguments, "--force"]) == 0
    assert target.read_text(encoding="utf-8").startswith(GENERATED_MARKER)


def test_generate_reports_bad_spec_and_missing_folder(tmp_path, capsys):
    assert main(["generate", "2-1", "--activations", "sigmoid", "--loss", "bcee", "-o", str(tmp_path / "a.py")]) == 2
    assert "did you mean 'bce'" in capsys.readouterr().err
    missing = tmp_path / "nowhere" / "a.py"
    assert main(["generate", "2-1", "--activations", "sigmoid", "--loss", "bce", "-o", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_write_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "mlp.py"
    write_module(target, f"{GENERATED_MARKER} old\n")

    def refuse(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", refuse)
    with pytest.raises(GenerationError, match="No space left"):
        write_module(target, f"{GENERATED_MARKER} new\n")
    assert target.read_text(encoding="utf-8") == f"{GENERATED_MARKER} old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.py"]


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_deep_network_generates_within_the_line_limit(target):
    network = Network([64, *([64] * 8), 1], ["relu"] * 8 + ["sigmoid"], "bce")
    source = generate_module(network, target=TARGETS[target])
    assert max(len(line) for line in source.splitlines() if not line.startswith(REBUILD_COMMENT)) <= 120
    if target == "numpy":  # the frameworks' modules import their framework; their tests load them
        assert len(load_module(source).PARAMETER_NAMES) == 18


@pytest.mark.parametrize(
    "network",
    [
        Network([64, *([64] * 8), 1], ["relu"] * 8 + ["sigmoid"], "bce"),
        Network([3, 4, 1], ["softsign", "identity"], "mse", custom_activations={"softsign": "x/(1 + abs(x))"}),
    ],
    ids=["deep", "custom"],
)
def test_the_rebuild_comment_is_one_pasteable_command(network):
    source = generate_module(network, output_name="mine.py")
    (line,) = [line for line in source.splitlines() if line.startswith(REBUILD_COMMENT)]
    words = shlex.split(line.removeprefix(REBUILD_COMMENT), comments=True)
    assert words[:2] == ["symbackprop", "generate"] and words[-2:] == ["-o", "mine.py"]
    arguments = build_parser().parse_args(words[1:])
    assert network_from_arguments(arguments) == network


@pytest.mark.slow
@pytest.mark.parametrize(
    ("network", "output_name"),
    [
        (Network([3, 4, 2], ["leaky_relu(0.1234567890123456789)", "elu(0.5)"], "mse"), "mlp.py"),
        (Network([2, 3, 1], ["elu", "sigmoid"], "bce"), "my net (v2).py"),
        (
            Network(
                [2, 3, 1], ["kinked", "identity"], "sse", custom_activations={"kinked": "max(0, x)**2 + min(x, 0)/2"}
            ),
            "kinked.py",
        ),
    ],
    ids=["parameters", "spaces-in-name", "custom"],
)
def test_the_rebuild_comment_run_by_a_shell_gives_the_same_bytes(network, output_name, tmp_path):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash to run the rebuild comment")
    source = generate_module(network, output_name=output_name)
    (line,) = [line for line in source.splitlines() if line.startswith(REBUILD_COMMENT)]
    # The console script installed beside this interpreter, as a user's shell would find it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [bash, "-c", line.removeprefix("# Rebuild: ")],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        check=True,
        capture_output=True,
        text=True,
    )
    assert (tmp_path / output_name).read_bytes() == source.encode("utf-8")


def test_a_missing_formatter_is_a_clear_error(monkeypatch):
    import ruff.__main__

    def missing() -> str:
        raise FileNotFoundError("no ruff binary next to the interpreter")

    monkeypatch.setattr(ruff.__main__, "find_ruff_bin", missing)
    with pytest.raises(GenerationError, match=r"ruff formatter is missing .*pip install 'ruff>=0.17,<0.18'"):
        generate_module(Network([2, 1], ["sigmoid"], "bce"))
