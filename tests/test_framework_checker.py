"""The checker on PyTorch and JAX code: functions on tensors, modules, custom-VJP losses, layers.

The held-out corpus of tests/handwritten/framework_cases.py must give: every correct
implementation passes, every buggy one fails, and at least 90% of the buggy ones are named. The
other tests pin what the corpus does not show: detection, the module left as it was, precisions
(float32 where torch.autograd.gradcheck fails, float16 and bfloat16), the report's words, the
options refused. Tests that need torch or JAX skip without them.
"""

from __future__ import annotations

import math

import numpy
import pytest
from handwritten.framework_cases import BUGGY, CASES, CORRECT, FrameworkCase
from handwritten.style_torch_autograd import make_module

from symbackprop.testing import CheckError, GradientReport, check_gradients, check_layer
from symbackprop.testing.frameworks import PRECISIONS, detect_framework, precision_of, round_to
from symbackprop.testing.judging import Tolerance

NAMED_SHARE = 0.9
_reports: dict[str, GradientReport] = {}


def report_of(case: FrameworkCase) -> GradientReport:
    if case.name not in _reports:
        code = case.build()
        check = check_layer if case.form == "layer" else check_gradients
        _reports[case.name] = check(case.network, code, **case.options)
    return _reports[case.name]


def is_named(case: FrameworkCase, report: GradientReport) -> bool:
    parts = [row.diagnosis for row in report.rows if not row.ok] + [*report.findings, *report.notes]
    text = "\n".join(parts).lower()
    return any(name.lower() in text for name in case.names)


def test_the_corpus_has_every_form_correct_and_buggy():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    assert len({case.name for case in CASES}) == len(CASES)
    for forms in ({case.form for case in CORRECT}, {case.form for case in BUGGY}):
        assert forms == {"function", "module", "loss", "layer"}
    assert len(CORRECT) >= 10 and len(BUGGY) >= 25
    assert any(case.options.get("dtype") == "float32" for case in CASES)
    assert any(case.form == "module" and case.name.endswith("float32") for case in CASES)


@pytest.mark.parametrize("case", CORRECT, ids=[case.name for case in CORRECT])
def test_a_correct_implementation_passes(case):
    report = report_of(case)
    assert report.verdict == "pass", report.table()


@pytest.mark.parametrize("case", BUGGY, ids=[case.name for case in BUGGY])
def test_a_buggy_implementation_fails(case):
    report = report_of(case)
    assert report.verdict == "fail", f"{case.mistake} (layer {case.layer}):\n{report.table()}"


def test_the_mistakes_are_named():
    if not BUGGY:
        pytest.skip("neither torch nor jax is installed")
    unnamed = [f"{case.name}: {report_of(case).table()}" for case in BUGGY if not is_named(case, report_of(case))]
    share = 1 - len(unnamed) / len(BUGGY)
    assert share >= NAMED_SHARE, "\n\n".join(unnamed)


def test_precisions_are_read_from_every_framework_and_rounded_without_one():
    assert precision_of("bfloat16") is PRECISIONS["bfloat16"]
    assert precision_of(numpy.float32) is PRECISIONS["float32"]
    assert precision_of("torch.float16") is PRECISIONS["float16"]
    assert precision_of("int32") is None
    # 1 + 2⁻⁸ lies halfway between two bfloat16 numbers: ties go to the even one, 1.
    values = numpy.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, 0.1])
    assert round_to(values, PRECISIONS["bfloat16"]).tolist() == [1.0, 1 + 2.0**-6, 0.10009765625]
    assert round_to(values, PRECISIONS["float16"])[2] == float(numpy.float16(0.1))


def test_half_precision_tolerances_pass_below_failing():
    for name in ("float16", "bfloat16"):
        tolerance = Tolerance.for_dtype(name)
        assert tolerance.passes < tolerance.fails < 1
    assert Tolerance.for_dtype("float32") == Tolerance.for_dtype(numpy.float32)


def test_numpy_code_is_detected_as_numpy_and_both_frameworks_are_refused():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")

    def numpy_code(params, X, Y):
        return numpy.zeros(3)

    def both(params, X, Y):
        return torch.zeros(3), jnp.zeros(3)

    assert detect_framework(numpy_code) == "numpy"
    assert detect_framework(torch.nn.Linear(2, 3)) == "torch"
    with pytest.raises(CheckError, match="both torch and jax"):
        detect_framework(both)
    with pytest.raises(CheckError, match="framework: 'tensorflow' is not one of numpy, torch, jax"):
        check_gradients("2 -> 1 sigmoid : bce", numpy_code, framework="tensorflow")


def test_the_module_is_left_as_it_was():
    torch = pytest.importorskip("torch")
    module = make_module([3, 5, 2], ["tanh", "sigmoid"])
    module.eval()
    module.layers[0].weight.grad = torch.ones(5, 3, dtype=torch.float64)
    module.layers[1].bias.requires_grad_(False)
    before = {key: value.clone() for key, value in module.state_dict().items()}
    assert check_gradients("3 -> 5 tanh -> 2 sigmoid : bce", module).ok
    assert all(torch.equal(before[key], value) for key, value in module.state_dict().items())
    assert torch.equal(module.layers[0].weight.grad, torch.ones(5, 3, dtype=torch.float64))
    assert module.layers[1].weight.grad is None and not module.layers[1].bias.requires_grad
    assert not module.training


def test_a_module_is_mapped_by_names_and_its_loss_is_used():
    torch = pytest.importorskip("torch")
    module = make_module([3, 5, 2], ["tanh", "sigmoid"])
    names = {"W1": "layers.0.weight", "b1": "layers.0.bias", "W2": "layers.1.weight", "b2": "layers.1.bias"}

    def bce(output, Y):
        return torch.nn.functional.binary_cross_entropy(output, Y, reduction="sum") / output.shape[0]

    report = check_gradients("3 -> 5 tanh -> 2 sigmoid : bce", module, names=names, loss=bce)
    assert report.ok and report.row("loss").verdict == "pass"
    with pytest.raises(CheckError, match="has no parameter 'fc1.weight'; it has layers.0.weight"):
        check_gradients("3 -> 5 tanh -> 2 sigmoid : bce", module, names={**names, "W1": "fc1.weight"})
    with pytest.raises(CheckError, match="params: a torch.nn.Module takes only names= and loss="):
        check_gradients("3 -> 5 tanh -> 2 sigmoid : bce", module, params={"W1": numpy.zeros((5, 3))})


def test_a_float32_module_passes_where_torch_gradcheck_fails():
    torch = pytest.importorskip("torch")
    module = make_module([3, 5, 2], ["tanh", "sigmoid"], dtype=torch.float32)
    X = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    Y = (torch.rand(7, 2, generator=torch.Generator().manual_seed(1)) > 0.5).float()

    def loss(*parameters):
        for parameter, value in zip(module.parameters(), parameters, strict=True):
            parameter.data = value
        return torch.nn.functional.binary_cross_entropy(module(X), Y)

    inputs = tuple(parameter.detach().clone().requires_grad_(True) for parameter in module.parameters())
    with pytest.warns(UserWarning, match="not of double precision"):
        assert not torch.autograd.gradcheck(loss, inputs, raise_exception=False)
    report = check_gradients(
        "3 -> 5 tanh -> 2 sigmoid : bce", make_module([3, 5, 2], ["tanh", "sigmoid"], dtype=torch.float32)
    )
    assert report.ok, report.table()
    assert "torch float32 code, judged in float32" in report.table()


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_half_precision_modules_are_judged_in_their_precision(precision):
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, precision)
    correct = check_gradients(
        "3 -> 5 tanh -> 2 sigmoid : bce", make_module([3, 5, 2], ["tanh", "sigmoid"], dtype=dtype)
    )
    assert correct.ok, correct.table()
    assert correct.tolerance.dtype == precision
    buggy = make_module([3, 5, 2], ["tanh", "sigmoid"], "missing_prime", 1, dtype)
    assert check_gradients("3 -> 5 tanh -> 2 sigmoid : bce", buggy).verdict == "fail"


def test_a_function_using_torch_only_to_return_tensors_is_checked_on_numpy_arrays():
    torch = pytest.importorskip("torch")

    def grads(params, X, Y):
        W = params["W1"].copy()  # NumPy's method: a tensor has none
        delta = (1 / (1 + numpy.exp(-(X @ W.T + params["b1"]))) - Y) / X.shape[0]
        return {"W1": torch.tensor(delta.T @ X), "b1": torch.tensor(delta.sum(0))}

    report = check_gradients("3 -> 2 sigmoid : bce", grads)
    assert report.ok and "checked on NumPy arrays" in " ".join(report.notes)


def test_jax_float64_needs_64_bit_mode_and_then_works():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    def loss_fn(params, X, Y):
        return jnp.mean(jnp.sum((X @ params["W1"].T + params["b1"] - Y) ** 2, axis=1))

    if not jax.config.read("jax_enable_x64"):
        with pytest.raises(CheckError, match="64-bit mode"):
            check_gradients("3 -> 2 identity : sse", loss_fn, dtype="float64")
    jax.config.update("jax_enable_x64", True)
    try:
        report = check_gradients("3 -> 2 identity : sse", loss_fn, dtype="float64")
    finally:
        jax.config.update("jax_enable_x64", False)
    assert report.ok and report.tolerance.dtype == "float64"
    assert math.isclose(report.row("loss").relative_error, 0.0, abs_tol=1e-14)


def test_check_layer_refuses_numpy_code_and_unknown_activations():
    with pytest.raises(CheckError, match="check_layer checks a backward of torch or JAX"):
        check_layer("tanh", lambda x, W, b: numpy.tanh(x @ W.T + b))
    with pytest.raises(CheckError, match="activation:"):
        check_layer("tanhh", lambda x, W, b: x, framework="torch")


def test_the_gradcheck_fixture_takes_a_module(gradcheck):
    pytest.importorskip("torch")
    assert gradcheck("3 -> 5 tanh -> 2 sigmoid : bce", make_module([3, 5, 2], ["tanh", "sigmoid"])).ok


def test_a_cuda_module_is_checked_on_its_device():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    module = make_module([3, 5, 2], ["tanh", "sigmoid"]).to("cuda")
    report = check_gradients("3 -> 5 tanh -> 2 sigmoid : bce", module)
    assert report.ok and "on cuda" in report.table()


TORCH_GRADS = """
import torch


def grads(params, X, Y):
    A1 = torch.tanh(X @ params["W1"].T + params["b1"])
    A2 = torch.sigmoid(A1 @ params["W2"].T + params["b2"])
    D2 = (A2 - Y) / X.shape[0]
    D1 = (D2 @ params["W2"]) * (1 - A1**2)
    return {"dW1": D1.T @ X, "db1": D1.sum(0), "dW2": D2.T @ A1, "db2": D2.sum(0)}
"""


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_command_line_checks_torch_code_in_the_precision_asked(tmp_path, monkeypatch, capsys, dtype):
    pytest.importorskip("torch")
    from symbackprop.cli import main

    (tmp_path / "torch_grads.py").write_text(TORCH_GRADS)
    monkeypatch.chdir(tmp_path)
    spec = ["--spec", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce"]
    status = main(["check", "torch_grads.py:grads", *spec, "--framework", "torch", "--dtype", dtype])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"torch {dtype} code, judged in {dtype}" in out


def test_a_device_is_read_from_its_name_and_one_the_machine_lacks_is_refused_naming_it(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    from symbackprop.cli import main

    (tmp_path / "torch_grads.py").write_text(TORCH_GRADS)
    monkeypatch.chdir(tmp_path)
    spec = ["--spec", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce"]
    assert main(["check", "torch_grads.py:grads", *spec, "--device", "cpu"]) == 0
    capsys.readouterr()
    if not torch.cuda.is_available():
        assert main(["check", "torch_grads.py:grads", *spec, "--device", "cuda:0"]) == 2
        assert capsys.readouterr().err.startswith("symbackprop: error: --device: 'cuda:0' is not a torch device")


def test_a_jax_device_name_is_one_of_jax_devices():
    jax = pytest.importorskip("jax")
    from symbackprop.testing.frameworks import _jax_device

    assert _jax_device(jax, "cpu") == jax.devices("cpu")[0]
    assert _jax_device(jax, "cpu:0") == jax.devices("cpu")[0]
    with pytest.raises(CheckError, match=r"'tpu:7' is not a JAX device this machine has \(it has cpu:0"):
        _jax_device(jax, "tpu:7")
