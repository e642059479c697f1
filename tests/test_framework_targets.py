"""The PyTorch and JAX targets: printed forms, generated modules, and their derived gradients
against each framework's own autograd of an independently written model.

The oracle model is the registry's mathematics evaluated by the framework, written once: each
activation's SymPy expression and each loss's per-sample term, turned into framework functions by
``sympy.lambdify`` (``modules="torch"``, ``"jax"``), so it shares nothing with symbackprop's
printers, derivation or templates. Its gradients come from ``torch.autograd``/``jax.grad``. The
generated modules' derived gradients must equal them to 1e-12 relative (per parameter array,
max|g − g_ref| / max|g_ref|) in float64, on every network of the covering set (every hidden
activation, every accepted (output activation, loss) pair), and equal the generated NumPy
module's on the same data. float32 in must give float32 out. Tests needing torch or JAX skip
with a reason when it is absent.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import sympy as sp
from covering import SIZES, covering_triples, module_for, triple_id
from oracle_support import relative_error, targets
from ruff.__main__ import find_ruff_bin

from symbackprop import Network
from symbackprop.codegen import GENERATED_MARKER, generate_module, load_module
from symbackprop.codegen.targets import TARGET_NAMES, TARGETS, target
from symbackprop.errors import GenerationError
from symbackprop.kinds import NORMALISED
from symbackprop.naming import N_OUT, YHAT, X, Y
from symbackprop.printing.jax import JaxPrinter
from symbackprop.printing.torch import TorchPrinter

#: Relative agreement (per parameter array) required of the derived gradients in float64.
TOLERANCE = 1e-12
ROWS = 6
COVERING = covering_triples()


def network_of(triple: tuple[str, str, str]) -> Network:
    hidden, output, loss = triple
    return Network(list(SIZES), [hidden, output], loss)


@functools.cache
def framework_module(network: Network, name: str) -> Any:
    """The generated module of ``network`` for the target ``name``, generated once per process."""
    return load_module(generate_module(network, target=TARGETS[name]), f"generated_{name}")


def draw(network: Network, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Parameters (the NumPy module's init plus random biases), X and Y of the loss's kind, float64."""
    rng = np.random.default_rng(seed)
    params = {name: np.array(value) for name, value in module_for(network).init_params(seed).items()}
    for k in range(1, network.depth + 1):
        params[f"b{k}"] = rng.normal(0.0, 0.5, size=params[f"b{k}"].shape)
    X_data = rng.normal(size=(ROWS, network.sizes[0]))
    Y_data = targets(network.loss.targets.name, ROWS, network.sizes[-1], rng)
    return params, X_data, Y_data


def worst(grads: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Relative error of each parameter's gradient; only those above :data:`TOLERANCE`."""
    errors = {name: relative_error(np.asarray(grads[name]), np.asarray(reference[name])) for name in reference}
    return {name: error for name, error in errors.items() if not error <= TOLERANCE}


# --------------------------------------------------------------------------------------------------
# The oracle: the registry's expressions, lambdified into the framework, differentiated by it


def _numbers(expr: sp.Expr) -> sp.Expr:
    """expr with its irrational constants (sqrt(2), pi) as 30-digit numbers: SymPy's torch printer
    would call torch.sqrt(2) on an int."""
    return expr.replace(
        lambda e: isinstance(e, sp.Expr) and e.is_number and not e.is_Number, lambda e: sp.Float(e.evalf(30), 30)
    )


def oracle_loss(network: Network, lib: str, xp: Any) -> Callable[[dict[str, Any], Any, Any], Any]:
    """The mean batch loss of ``network`` as a function of (params, X, Y) in the framework ``lib``
    (``xp`` its array namespace): z = a W^T + b, a = f(z) lambdified from the activation's
    expression (a normalised activation divides by its row sums), the loss's term lambdified."""
    # lambdify takes erf from the math module for both frameworks; each has its own.
    if lib == "torch":
        modules = [{"erf": sys.modules["torch"].special.erf}, "torch"]
    else:
        modules = [{"erf": sys.modules["jax"].scipy.special.erf}, "jax"]
    layers = []
    for activation in network.activations:
        function = sp.lambdify(X, _numbers(activation.bound().expr), modules=modules)
        if activation.jacobian == NORMALISED:
            layers.append(lambda z, f=function: f(z) / f(z).sum(**{_keep(lib): True, _axis(lib): 1}))
        elif activation.jacobian.diagonal:
            layers.append(lambda z, f=function: f(z) + 0 * z)  # a constant f (identity' = 1) broadcasts
        else:
            raise NotImplementedError(f"no oracle for the Jacobian of {activation.name}")
    n = network.sizes[-1]
    term = sp.lambdify((YHAT, Y), _numbers(network.loss.term), modules=modules)
    scale = float(network.loss.scale.xreplace({N_OUT: n}))

    def mean_loss(params: dict[str, Any], X_data: Any, Y_data: Any) -> Any:
        a = X_data
        for k, f in enumerate(layers, start=1):
            a = f(a @ params[f"W{k}"].T + params[f"b{k}"])
        return xp.mean(scale * term(a, Y_data).sum(**{_axis(lib): 1}))

    return mean_loss


def _axis(lib: str) -> str:
    return "dim" if lib == "torch" else "axis"


def _keep(lib: str) -> str:
    return "keepdim" if lib == "torch" else "keepdims"


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch", reason="PyTorch is an optional extra: pip install 'symbackprop[torch]'")


@pytest.fixture(scope="module")
def jax() -> Iterator[Any]:
    jax = pytest.importorskip("jax", reason="JAX is an optional extra: pip install 'symbackprop[jax]'")
    pytest.importorskip("jax.scipy.special")  # the oracle's erf

    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", previous)


#: Where the torch tests run: the CPU, and a CUDA device where there is one (skipped otherwise).
DEVICES = ["cpu", "cuda"]


def on_device(torch: Any, device: str) -> str:
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return device


# --------------------------------------------------------------------------------------------------
# Printed forms (exact strings): the NumPy printer's stable forms, in each framework's calls


def _printed(printer: Any, text: str) -> str:
    return printer.translate(text)


@pytest.mark.parametrize(
    ("numpy_source", "torch_source", "jax_source"),
    [
        (
            "numpy.divide(numpy.exp(numpy.minimum(Z1, 0.0)), 1.0 + numpy.exp(-numpy.abs(Z1)))",
            "torch.divide(torch.exp(torch.clamp_max(Z1, 0.0)), 1.0 + torch.exp(-torch.abs(Z1)))",
            "jnp.divide(jnp.exp(jnp.minimum(Z1, 0.0)), 1.0 + jnp.exp(-jnp.abs(Z1)))",
        ),
        (
            "numpy.exp(Z2 - _logsumexp(Z2))",
            "torch.exp(Z2 - torch.logsumexp(Z2, dim=1, keepdim=True))",
            "jnp.exp(Z2 - jax.nn.logsumexp(Z2, axis=1, keepdims=True))",
        ),
        (
            "numpy.where(Z1 <= 0, 0.01, 1).astype(Z1.dtype)",
            "torch.where(Z1 <= 0, Z1.new_tensor(0.01), 1).to(Z1.dtype)",
            "jnp.where(Z1 <= 0, 0.01, 1).astype(Z1.dtype)",
        ),
        (
            "numpy.logical_and.reduce([A2 - Y > -1, A2 - Y <= 1, Z2 > 0])",
            "torch.logical_and(torch.logical_and(A2 - Y > -1, A2 - Y <= 1), Z2 > 0)",
            "jnp.logical_and(jnp.logical_and(A2 - Y > -1, A2 - Y <= 1), Z2 > 0)",
        ),
        (
            "numpy.sum(D1, axis=0)",
            "torch.sum(D1, dim=0)",
            "jnp.sum(D1, axis=0)",
        ),
        (
            "Y_hat = numpy.clip(Y_hat, numpy.finfo(Y_hat.dtype).tiny, 1 - numpy.finfo(Y_hat.dtype).epsneg)",
            "Y_hat = torch.clamp(Y_hat, torch.finfo(Y_hat.dtype).tiny, 1 - torch.finfo(Y_hat.dtype).eps / 2)",
            "Y_hat = jnp.clip(Y_hat, numpy.finfo(Y_hat.dtype).tiny, 1 - numpy.finfo(Y_hat.dtype).epsneg)",
        ),
        (
            "(predict(params, X) > 0.5).astype(numpy.int64)",
            "(predict(params, X) > 0.5).to(torch.int64)",
            "(predict(params, X) > 0.5).astype(jnp.int64)",
        ),
        (
            "0.5 * scipy.special.erfc(-0.7071067811865476 * Z1)",
            "0.5 * torch.special.erfc(-0.7071067811865476 * Z1)",
            "0.5 * jax.scipy.special.erfc(-0.7071067811865476 * Z1)",
        ),
    ],
)
def test_numpy_printouts_translate_name_by_name(numpy_source: str, torch_source: str, jax_source: str) -> None:
    assert _printed(TorchPrinter(), numpy_source) == torch_source
    assert _printed(JaxPrinter(), numpy_source) == jax_source


def test_the_jax_printer_lists_the_module_erf_needs() -> None:
    printer = JaxPrinter()
    printer.doprint(sp.erf(sp.IndexedBase("z1")[sp.Symbol("i")]))
    assert set(printer.imports) == {"jax.scipy.special"}


@pytest.mark.parametrize("printer", [TorchPrinter, JaxPrinter], ids=["torch", "jax"])
def test_a_numpy_name_without_a_translation_is_refused_by_name(printer: type) -> None:
    with pytest.raises(NotImplementedError, match="numpy.logaddexp"):
        printer().translate("numpy.logaddexp(Z1, 0.0)")


def test_torch_clamps_only_against_numbers() -> None:
    assert TorchPrinter().translate("numpy.maximum(Z1, A1)") == "torch.maximum(Z1, A1)"
    assert TorchPrinter().translate("numpy.maximum(Z1, -20.0)") == "torch.clamp_min(Z1, -20.0)"


# --------------------------------------------------------------------------------------------------
# The targets and the generated sources (no framework needed)


def test_targets_by_name() -> None:
    assert TARGET_NAMES == ("numpy", "torch", "jax")
    assert dict(TARGETS) == {name: target(name) for name in TARGET_NAMES}
    assert {name: TARGETS[name].name for name in TARGETS} == {name: name for name in TARGET_NAMES}
    with pytest.raises(GenerationError, match="unknown code target 'tensorflow'; choose one of numpy, torch, jax"):
        target("tensorflow")


def _top_level_imports(source: str) -> set[str]:
    imported = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    return imported - set(sys.stdlib_module_names)


@pytest.mark.parametrize(("name", "imports"), [("torch", {"torch"}), ("jax", {"jax", "numpy"})], ids=["torch", "jax"])
def test_generated_sources_are_deterministic_marked_and_import_only_their_framework(name: str, imports: set) -> None:
    network = Network([3, 5, 2], ["gelu", "sigmoid"], "bce")
    source = generate_module(network, target=TARGETS[name])
    assert source == generate_module(network, target=TARGETS[name])
    assert source.splitlines()[0].startswith(GENERATED_MARKER)
    assert _top_level_imports(source) == imports
    # Each block carries the equation it implements.
    for comment in ("# Layer 1 (gelu): z1[i] = ", "# Layer 2 (sigmoid): ", "# BP1 (output layer", "# BP2, layer 1:"):
        assert comment in source
    assert source.count("# BP4: ∂L/∂w") == source.count("# BP3: ∂L/∂b") == 2


# --------------------------------------------------------------------------------------------------
# Against the frameworks' autograd, on the covering set


@pytest.mark.parametrize("triple", COVERING, ids=triple_id)
def test_torch_gradients_equal_autograd_of_the_registry_model(torch: Any, triple: tuple[str, str, str]) -> None:
    network = network_of(triple)
    module = framework_module(network, "torch")
    params, X_data, Y_data = draw(network)
    tensors = {name: torch.tensor(value) for name, value in params.items()}
    X_t, Y_t = torch.tensor(X_data), torch.tensor(Y_data)

    leaves = {name: value.clone().requires_grad_(True) for name, value in tensors.items()}
    reference_loss = oracle_loss(network, "torch", torch)(leaves, X_t, Y_t)
    reference = dict(zip(leaves, torch.autograd.grad(reference_loss, list(leaves.values())), strict=True))
    reference_value = float(reference_loss.detach())

    loss, grads = module.loss_and_grads(tensors, X_t, Y_t)
    assert abs(float(loss) - reference_value) <= TOLERANCE * abs(reference_value)
    assert worst(grads, reference) == {}

    model = module.MLP(tensors)
    model.loss(X_t, Y_t).backward()
    assert worst({name: p.grad for name, p in model.named_parameters()}, reference) == {}

    numpy_loss, numpy_grads = module_for(network).loss_and_grads(params, X_data, Y_data)
    assert abs(float(loss) - numpy_loss) <= TOLERANCE * abs(numpy_loss)
    assert worst(grads, numpy_grads) == {}


@pytest.mark.parametrize("triple", COVERING, ids=triple_id)
def test_jax_gradients_equal_autograd_of_the_registry_model(jax: Any, triple: tuple[str, str, str]) -> None:
    jnp = jax.numpy
    network = network_of(triple)
    module = framework_module(network, "jax")
    params, X_data, Y_data = draw(network)
    arrays = {name: jnp.asarray(value) for name, value in params.items()}
    X_j, Y_j = jnp.asarray(X_data), jnp.asarray(Y_data)

    reference_loss, reference = jax.value_and_grad(oracle_loss(network, "jax", jnp))(arrays, X_j, Y_j)
    loss, grads = jax.value_and_grad(module.loss_fn)(arrays, X_j, Y_j)
    assert abs(float(loss) - float(reference_loss)) <= TOLERANCE * abs(float(reference_loss))
    assert worst(grads, reference) == {}
    assert worst(module.loss_and_grads(arrays, X_j, Y_j)[1], reference) == {}

    numpy_grads = module_for(network).loss_and_grads(params, X_data, Y_data)[1]
    assert worst(grads, numpy_grads) == {}


@pytest.mark.parametrize("triple", COVERING, ids=triple_id)
def test_float32_in_gives_float32_out(torch: Any, jax: Any, triple: tuple[str, str, str]) -> None:
    network = network_of(triple)
    params, X_data, Y_data = draw(network)
    single = {name: value.astype(np.float32) for name, value in params.items()}
    X32, Y32 = X_data.astype(np.float32), Y_data.astype(np.float32)

    torch_module = framework_module(network, "torch")
    tensors = {name: torch.tensor(value) for name, value in single.items()}
    Y_hat, cache = torch_module.forward(tensors, torch.tensor(X32))
    loss, grads = torch_module.loss_and_grads(tensors, torch.tensor(X32), torch.tensor(Y32))
    produced = [Y_hat, *cache.values(), loss, *grads.values(), torch_module.loss(Y_hat, torch.tensor(Y32))]
    assert {str(t.dtype) for t in produced} == {"torch.float32"}

    jax_module = framework_module(network, "jax")
    arrays = {name: jax.numpy.asarray(value) for name, value in single.items()}
    Y_hat, cache = jax_module.forward(arrays, jax.numpy.asarray(X32))
    loss, grads = jax.value_and_grad(jax_module.loss_fn)(arrays, jax.numpy.asarray(X32), jax.numpy.asarray(Y32))
    produced = [Y_hat, *cache.values(), loss, *grads.values(), jax_module.loss(Y_hat, jax.numpy.asarray(Y32))]
    assert {str(a.dtype) for a in produced} == {"float32"}


# --------------------------------------------------------------------------------------------------
# The torch module: no tape, torch.optim, devices, training, weights files

_NETWORK = Network([3, 5, 4, 3], ["tanh", "elu", "softmax"], "cce")


def _autograd_nodes(root: Any) -> set[str]:
    seen, stack, names = set(), [root], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


def test_the_mlp_loss_records_one_node_and_no_forward_operation(torch: Any) -> None:
    module = framework_module(_NETWORK, "torch")
    params, X_data, Y_data = draw(_NETWORK)
    model = module.MLP({name: torch.tensor(value) for name, value in params.items()})
    loss = model.loss(torch.tensor(X_data), torch.tensor(Y_data))
    assert _autograd_nodes(loss.grad_fn) == {"_DerivedLossBackward", "AccumulateGrad"}
    assert [type(p).__name__ for p in model.parameters()] == ["Parameter"] * 6
    assert [tuple(p.shape) for p in model.parameters()] == [(5, 3), (5,), (4, 5), (4,), (3, 4), (3,)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_optim_steps_equal_the_derived_sgd_steps(torch: Any, device: str, dtype: str) -> None:
    device = on_device(torch, device)
    module = framework_module(_NETWORK, "torch")
    kind = getattr(torch, dtype)
    params, X_data, Y_data = draw(_NETWORK)
    X_t = torch.tensor(X_data, dtype=kind, device=device)
    Y_t = torch.tensor(Y_data, dtype=kind, device=device)
    model = module.MLP({name: torch.tensor(value) for name, value in params.items()}, dtype=kind, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        optimizer.zero_grad()
        model.loss(X_t, Y_t).backward()
        optimizer.step()
    trained, _ = module.train(X_t, Y_t, epochs=5, lr=0.1, params=module.MLP(params, dtype=kind).params())
    for name, parameter in model.named_parameters():
        assert parameter.dtype == kind and parameter.device.type == device
        torch.testing.assert_close(parameter.detach(), trained[name], rtol=0, atol=0)


def test_torch_training_equals_numpy_training(torch: Any) -> None:
    module = framework_module(_NETWORK, "torch")
    params, X_data, Y_data = draw(_NETWORK)
    expected, expected_history = module_for(_NETWORK).train(X_data, Y_data, epochs=4, lr=0.2, params=params)
    tensors = {name: torch.tensor(value) for name, value in params.items()}
    trained, history = module.train(torch.tensor(X_data), torch.tensor(Y_data), epochs=4, lr=0.2, params=tensors)
    assert worst(trained, expected) == {}
    np.testing.assert_allclose(history["loss"], expected_history["loss"], rtol=TOLERANCE)


def test_torch_weights_round_trip_and_refuse_other_networks(torch: Any, tmp_path: Any) -> None:
    module = framework_module(_NETWORK, "torch")
    params = module.init_params(seed=3)
    module.save(tmp_path / "w.pt", params)
    loaded = module.load(tmp_path / "w.pt")
    assert all(torch.equal(loaded[name], params[name]) for name in module.PARAMETER_NAMES)
    other = framework_module(network_of(COVERING[0]), "torch")
    with pytest.raises(other.WeightsFileError, match="holds weights of '3 -> 5 tanh -> 4 elu"):
        other.load(tmp_path / "w.pt")
    (tmp_path / "text.pt").write_text("not weights")
    with pytest.raises(module.WeightsFileError, match="cannot read weights"):
        module.load(tmp_path / "text.pt")


# --------------------------------------------------------------------------------------------------
# The JAX module: jit, vmap, donation, training, weights files


@pytest.mark.slow
def test_jax_gradients_compose_with_jit_and_vmap(jax: Any) -> None:
    jnp = jax.numpy
    module = framework_module(_NETWORK, "jax")
    params, X_data, Y_data = draw(_NETWORK)
    arrays = {name: jnp.asarray(value) for name, value in params.items()}
    jitted = jax.jit(jax.grad(module.loss_fn))(arrays, jnp.asarray(X_data), jnp.asarray(Y_data))
    numpy_module = module_for(_NETWORK)
    assert worst(jitted, numpy_module.loss_and_grads(params, X_data, Y_data)[1]) == {}
    # One gradient per sample: vmap over batches of one row each.
    per_sample = jax.vmap(jax.grad(module.loss_fn), in_axes=(None, 0, 0))(
        arrays, jnp.asarray(X_data)[:, None, :], jnp.asarray(Y_data)[:, None, :]
    )
    for row in range(ROWS):
        expected = numpy_module.loss_and_grads(params, X_data[row : row + 1], Y_data[row : row + 1])[1]
        assert worst({name: value[row] for name, value in per_sample.items()}, expected) == {}


def test_jax_train_step_donates_and_equals_numpy_training(jax: Any) -> None:
    jnp = jax.numpy
    module = framework_module(_NETWORK, "jax")
    params, X_data, Y_data = draw(_NETWORK)
    arrays = {name: jnp.asarray(value) for name, value in params.items()}
    stepped, _ = module.train_step(arrays, jnp.asarray(X_data), jnp.asarray(Y_data), 0.2)
    assert all(value.is_deleted() for value in arrays.values())
    expected, expected_history = module_for(_NETWORK).train(X_data, Y_data, epochs=4, lr=0.2, params=params)
    one_step = module_for(_NETWORK).train(X_data, Y_data, epochs=1, lr=0.2, params=params)[0]
    assert worst(stepped, one_step) == {}
    trained, history = module.train(jnp.asarray(X_data), jnp.asarray(Y_data), epochs=4, lr=0.2, params=params)
    assert worst(trained, expected) == {}
    np.testing.assert_allclose(history["loss"], expected_history["loss"], rtol=TOLERANCE)


def test_jax_weights_are_the_numpy_modules_weights_files(jax: Any, tmp_path: Any) -> None:
    module = framework_module(_NETWORK, "jax")
    numpy_module = module_for(_NETWORK)
    params = module.init_params(seed=3)
    module.save(tmp_path / "w.npz", params)
    from_numpy = numpy_module.load(tmp_path / "w.npz")
    assert all(np.array_equal(from_numpy[name], np.asarray(params[name])) for name in module.PARAMETER_NAMES)
    numpy_module.save(tmp_path / "n.npz", from_numpy)
    loaded = module.load(tmp_path / "n.npz")
    assert all(np.array_equal(np.asarray(loaded[name]), from_numpy[name]) for name in module.PARAMETER_NAMES)
    (tmp_path / "text.npz").write_text("not weights")
    with pytest.raises(module.WeightsFileError, match="not an .npz archive"):
        module.load(tmp_path / "text.npz")


# --------------------------------------------------------------------------------------------------
# Static checks of the generated sources


@pytest.mark.slow
def test_generated_framework_modules_pass_strict_mypy_and_ruff(torch: Any, jax: Any, tmp_path: Any) -> None:
    pytest.importorskip("mypy")
    networks = [
        Network([4, 16, 3], ["tanh", "softmax"], "cce"),
        Network([3, 5, 1], ["gelu", "sigmoid"], "bce"),
        Network([3, 5, 2], ["leaky_relu", "identity"], "huber"),
    ]
    for index, network in enumerate(networks):
        for name in ("torch", "jax"):
            source = generate_module(network, target=TARGETS[name])
            (tmp_path / f"m_{name}_{index}.py").write_text(source, encoding="utf-8")
    mypy = [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path / ".cache"), "--strict", "."]
    result = subprocess.run(mypy, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    ruff = [find_ruff_bin(), "check", "--no-cache", "--isolated", "--line-length", "120", "."]
    result = subprocess.run(ruff, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
