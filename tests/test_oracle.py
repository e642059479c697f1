"""The generated modules against oracles that share no code with the derivation.

Every gradient of ``generate_module(network)`` (loaded with ``load_module``) is compared with

* torch.autograd in float64, the built-in activations by their torch functions and custom ones by
  a tree walker over their SymPy expression (``oracle_support.torch_eval``);
* the composed batch loss evaluated in mpmath at 50 digits and differentiated by central
  differences, for small networks (``oracle_support.mp_gradients``), custom activations by the
  hand-written references of ``custom_activations.CORPUS``.

The relative error of a parameter array is max|g − g_ref| / max(max|g_ref|, tiny), and it must not
exceed 1e-12 in float64. Pre-activations of the random networks are kept to |z| ≤ 6 and away from
every kink (by 1e-6), where both oracles define the derivative. Besides: float32 in gives float32
out, and |z| up to 1e4 raises no floating-point error (underflow excepted, which the module
ignores itself) and gives no NaN or infinity.

The networks are a covering set (tests/covering.py), not a cross product: the covering set of the
registry at widths 3-4-3 (the networks test_codegen checks too), which holds every activation on a
hidden layer and every accepted (output activation, loss) pair, and one network per parametric
variant and corpus expression, with it on both hidden layers and the output and the losses spread
over them. Every check (torch, mpmath, float32, large |z|) runs on every one of them, so a new
registry entry is covered by each (and needs an oracle: ``oracle_support`` raises
``NotImplementedError`` naming it). A few random networks of depth 1-5 and widths 1-8 add
mixtures of layers the covering set does not hold.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest
from covering import SIZES, accepted, cover, covering_triples, module_for, output_pairs
from custom_activations import CORPUS, REFERENCES
from oracle_support import (
    kink_distance,
    mp_derivative,
    mp_eval,
    mp_gradients,
    mp_rows,
    mp_scalar,
    relative_error,
    scale_preactivations,
    targets,
    torch_loss_and_grads,
    torch_rows,
    worst_errors,
)

from symbackprop import ACTIVATIONS, Network
from symbackprop.registry import custom_activation, lookup_activation
from symbackprop.spec import from_cli

#: The bound every relative gradient error must meet in float64.
TOLERANCE = 1e-12
#: Pre-activations of the oracle comparisons stay within ±Z_LIMIT (saturated sigmoids make the
#: last bits of ŷ, and so of 1 − ŷ, differ between any two float64 implementations).
Z_LIMIT = 6.0
#: No pre-activation comes closer than this to a kink of its activation.
KINK_MARGIN = 1e-6
#: The largest |z| of the floating-point-error tests.
LARGE_Z = 1e4

#: The parametric built-ins with non-default parameters (tests/test_covering.py checks that every
#: parametric entry of the registry has one here).
VARIANT_IDS = ["leaky_relu(0.2)", "leaky_relu(3)", "elu(0.5)", "elu(2)"]
#: Every built-in, and the parametric ones with non-default parameters too.
BUILTIN_IDS = [*ACTIVATIONS, *VARIANT_IDS]
ELEMENTWISE_IDS = [name for name in BUILTIN_IDS if lookup_activation(name).jacobian.diagonal]
CASES = {case.name: case for case in CORPUS}
#: What the spec judges for a corpus expression: a custom activation, whose range is not known
#: whatever its expression (so the corpus is not built to collect the tests).
PROBE = custom_activation("probe", "x/(1+abs(x))")
#: Each entry's activation object as the spec judges it.
JUDGED: dict[str, Any] = {**{entry: lookup_activation(entry) for entry in BUILTIN_IDS}, **dict.fromkeys(CASES, PROBE)}
#: Every (output activation, loss) the spec accepts, parametric variants and the corpus included.
OUTPUT_PAIRS = output_pairs(JUDGED)
#: The widths of the networks of the variants and the corpus: two hidden layers of different widths.
EXTRA_SIZES = (2, 4, 3, 2)


def _extra_specs() -> list[tuple[tuple[int, ...], tuple[str, ...], str]]:
    """Each parametric variant and corpus expression on both hidden layers and the output, with
    the first loss (in the registry's order) it is accepted with, but for the few networks that
    meet every accepted loss once with a variant's and once with a corpus expression's output
    (the piecewise huber costs several times sse to derive and verify)."""
    extras = [entry for entry in JUDGED if entry not in ACTIVATIONS]
    candidates = [
        (entry, loss)
        for entry, loss in OUTPUT_PAIRS
        if entry in extras and accepted(EXTRA_SIZES, [JUDGED[entry]] * 3, loss)
    ]
    aspects = {
        "entry": lambda c: c[0],
        "loss of a custom output": lambda c: c[1] if c[0] in CASES else None,
        "loss of a built-in output": lambda c: c[1] if c[0] not in CASES else None,
    }
    chosen = cover(candidates, aspects, spread=False)
    return [(EXTRA_SIZES, (entry,) * 3, loss) for entry, loss in chosen]


#: (widths, entries, loss) of every oracle network: the registry's covering set, then the extras.
ORACLE_SPECS = [(SIZES, (hidden, output), loss) for hidden, output, loss in covering_triples()] + _extra_specs()
ORACLE_IDS = ["-".join([*entries, loss]) for _, entries, loss in ORACLE_SPECS]
#: Those whose every activation is finite, with its derivative, for |z| up to 1e4.
LARGE_Z_SPECS = [spec for spec in ORACLE_SPECS if all(CASES[e].large_z for e in spec[1] if e in CASES)]
LARGE_Z_IDS = ["-".join([*entries, loss]) for _, entries, loss in LARGE_Z_SPECS]


def _seed(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode())


@functools.cache
def _custom(name: str) -> Any:
    case = CASES[name]
    return custom_activation(case.name, case.text)


def _resolve(entry: str) -> Any:
    """A built-in id (``elu(0.5)``) or a corpus name, as an activation object."""
    return _custom(entry) if entry in CASES else lookup_activation(entry)


def network_of(spec: tuple[tuple[int, ...], tuple[str, ...], str]) -> Network:
    sizes, entries, loss = spec
    return Network(list(sizes), [_resolve(entry) for entry in entries], loss)


def _output_width(output: Any, rng: np.random.Generator) -> int:
    return int(rng.integers(2, 9)) if not output.jacobian.diagonal else int(rng.integers(1, 9))


def random_network(
    rng: np.random.Generator,
    depth: int,
    hidden: Callable[[], Any],
    output: tuple[Any, str],
) -> Network:
    """Depth layers, widths 1–8, hidden activations drawn by ``hidden()``, the output pair given."""
    activation, loss = output
    sizes = [int(rng.integers(1, 9)) for _ in range(depth)]
    sizes.append(_output_width(activation, rng))
    return Network(sizes, [hidden() for _ in range(depth - 1)] + [activation], loss)


def _draw(
    network: Network,
    seed: int,
    rows: int,
    forward_row: Callable[[Any, np.ndarray], np.ndarray],
    dtype: Any = np.float64,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Parameters (init_params plus random biases), X and Y, with every |z| ≤ Z_LIMIT and every z
    away from the kinks of its activation."""
    module = module_for(network)
    rng = np.random.default_rng(seed)
    for attempt in range(30):
        params = module.init_params(seed=seed % 2**31 + attempt)
        for k in range(1, network.depth + 1):
            params[f"b{k}"][...] = rng.normal(0.0, 0.5, size=params[f"b{k}"].shape)
        X = rng.normal(size=(rows, network.sizes[0]))
        scale_preactivations(network, params, X, Z_LIMIT, forward_row=forward_row)
        if kink_distance(network, params, X, forward_row) > KINK_MARGIN:
            break
    else:  # pragma: no cover - 30 draws that all touch a kink
        pytest.fail(f"{network}: no draw keeps the pre-activations away from the kinks")
    Y = targets(network.loss.targets.name, rows, network.sizes[-1], rng)
    return params, X, Y


def _compare_with_torch(network: Network, seed: int) -> list[str]:
    """The generated loss and gradients against torch.autograd; the lines that exceed TOLERANCE."""
    module = module_for(network)
    rows = int(np.random.default_rng(seed).integers(1, 9))
    params, X, Y = _draw(network, seed, rows, torch_rows)
    loss, grads = module.loss_and_grads(params, X, Y)
    reference_loss, reference = torch_loss_and_grads(network, params, X, Y)
    problems = []
    loss_error = abs(loss - reference_loss) / max(abs(reference_loss), np.finfo(float).tiny)
    if not loss_error <= TOLERANCE:
        problems.append(f"{network} (seed {seed}, {rows} rows): loss {loss!r} vs torch {reference_loss!r}")
    for name, error in worst_errors(grads, reference).items():
        if not error <= TOLERANCE:
            where = f"{network} (seed {seed}, {rows} rows)"
            problems.append(f"{where}: d{name} {_sizes(grads[name], reference[name], error)}")
    return problems


def _sizes(got: np.ndarray, reference: np.ndarray, error: float) -> str:
    """The relative error with its two parts, which tell a wrong value from a spurious one."""
    difference = np.max(np.abs(np.asarray(got, dtype=np.float64) - reference)) if np.size(reference) else 0.0
    return f"relative error {error:.2e} (max|g - ref| {difference:.2e}, max|ref| {np.max(np.abs(reference)):.2e})"


def _compare_with_mpmath(network: Network, seed: int, rows: int = 3) -> list[str]:
    """The generated loss and gradients against 50-digit central differences of the composed loss."""
    module = module_for(network)
    forward_row = mp_rows(REFERENCES)
    params, X, Y = _draw(network, seed, rows, forward_row)
    loss, grads = module.loss_and_grads(params, X, Y)
    reference_loss, reference = mp_gradients(network, params, X, Y, REFERENCES)
    problems = []
    loss_error = abs(loss - float(reference_loss)) / max(abs(float(reference_loss)), np.finfo(float).tiny)
    if not loss_error <= TOLERANCE:
        problems.append(f"{network}: loss {loss!r} vs mpmath {float(reference_loss)!r}")
    for name, error in worst_errors(grads, reference).items():
        if not error <= TOLERANCE:
            problems.append(f"{network}: d{name} {_sizes(grads[name], reference[name], error)} against mpmath")
    return problems


def _report(problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{len(problems)} mismatch(es):\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch", reason="torch (the bench extra) is the float64 autograd oracle")


# --------------------------------------------------------------------------------------------------
# torch.autograd


@pytest.mark.parametrize("spec", ORACLE_SPECS, ids=ORACLE_IDS)
def test_covering_networks_match_torch(torch: Any, spec: tuple) -> None:
    _report(_compare_with_torch(network_of(spec), _seed("torch", spec)))


#: How many random networks: three of each depth 1-5.
SWEEP = 15


@pytest.mark.parametrize("index", range(SWEEP))
def test_random_networks_match_torch(torch: Any, index: int) -> None:
    """Depth 1 + index % 5 and widths 1-8, every hidden layer drawn from the built-ins, their
    parametric variants and the corpus, the output from every accepted pair: mixtures of layers
    and widths the covering set does not hold."""
    rng = np.random.default_rng(_seed("sweep", index))
    pool = [*ELEMENTWISE_IDS, *CASES]
    output, loss = OUTPUT_PAIRS[int(rng.integers(len(OUTPUT_PAIRS)))]
    hidden = lambda: _resolve(pool[int(rng.integers(len(pool)))])  # noqa: E731
    network = random_network(rng, 1 + index % 5, hidden, (_resolve(output), loss))
    _report(_compare_with_torch(network, _seed("sweep", index)))


# --------------------------------------------------------------------------------------------------
# mpmath at 50 digits


@pytest.mark.parametrize("spec", ORACLE_SPECS, ids=ORACLE_IDS)
def test_covering_networks_match_mpmath(spec: tuple) -> None:
    _report(_compare_with_mpmath(network_of(spec), _seed("mpmath", spec)))


# Tail points: far enough out that a derivative written in a cancelling form loses its digits.
TAIL_POINTS = [-100.0, -30.0, -10.0, -3.0, 3.0, 10.0, 30.0, 100.0]


def _saturated(function: Callable[[Any], Any], z: float) -> bool:
    """Whether f is flat at z next to a nonzero value (|f| ≫ |z f′|): there the float64 output has
    lost f′, and a derivative written in the output cannot recover it."""
    with mpmath.workdps(50):
        value = abs(function(mpmath.mpf(z)))
        slope = abs(mp_derivative(function, z))
        return bool(value > 1e3 * abs(z) * slope)


@pytest.mark.parametrize("entry", [*ELEMENTWISE_IDS, *CASES])
def test_derivatives_keep_their_relative_accuracy_in_the_tails(entry: str) -> None:
    """Per point, in a 1-1-1 network (entry, identity, half_sse) with W = 1, b = 0, y = 0:
    dL/db1 = f(z)·f′(z) must be within 1e-12 relatively of the exact value wherever f is not
    saturated (where f tends to 0 or grows, the output holds every digit f′ needs)."""
    activation = _resolve(entry)
    network = Network([1, 1, 1], [activation, "identity"], "half_sse")
    module = module_for(network)
    function = mp_scalar(activation, REFERENCES)
    case = CASES.get(entry)
    params = module.init_params(seed=0)
    for name, value in params.items():
        value[...] = 1.0 if name.startswith("W") else 0.0
    problems = []
    for z in TAIL_POINTS:
        if case is not None and not case.large_z and abs(z) > 10:
            continue
        with mpmath.workdps(50):
            if any(abs(mp_eval(u, mpmath.mpf(z))) < 1e-3 for u in _kink_expressions(activation)):
                continue
            if _saturated(function, z):
                continue
            exact = function(mpmath.mpf(z)) * mp_derivative(function, z)
        X, Y = np.array([[z]]), np.zeros((1, 1))
        with np.errstate(over="ignore", invalid="ignore"):
            _, grads = module.loss_and_grads(params, X, Y)
        got = float(grads["b1"][0])
        floor = 1e-290  # below it float64 has no relative precision left to keep
        error = abs(got - float(exact)) / max(abs(float(exact)), floor)
        if not error <= TOLERANCE:
            problems.append(f"{entry} at z = {z:g}: f·f′ = {got!r}, exact {float(exact)!r} (error {error:.1e})")
    _report(problems)


def _kink_expressions(activation: Any) -> list[Any]:
    from oracle_support import bound_expression, kinks

    return [u for u in kinks(bound_expression(activation)) if u.free_symbols]


@pytest.mark.parametrize("alpha", ["1", "0.5", "2"])
def test_elu_derivative_keeps_its_relative_accuracy_in_the_negative_tail(alpha: str) -> None:
    """elu′(z) = α·eᶻ for z ≤ 0 from z itself: at z = −30 it is α·9.4e-14, which a derivative
    written as a + α (a ≈ −α) cannot give. In a 1-1 network (elu, half_sse), y = f(z) + 1."""
    activation = lookup_activation(f"elu({alpha})")
    module = module_for(Network([1, 1, 1], [activation, "identity"], "half_sse"))
    params = module.init_params(seed=0)
    for name, value in params.items():
        value[...] = 1.0 if name.startswith("W") else 0.0
    a = mpmath.mpf(alpha)
    problems = []
    for z in (-3.0, -10.0, -20.0, -30.0, -100.0):
        with mpmath.workdps(50):
            f = a * mpmath.expm1(z)
            y = float(f) - 1.0  # dL/dŷ = ŷ − y ≈ 1
            exact = (f - mpmath.mpf(y)) * a * mpmath.exp(z)
        _, grads = module.loss_and_grads(params, np.array([[z]]), np.array([[y]]))
        error = abs(float(grads["b1"][0]) - float(exact)) / abs(float(exact))
        if not error <= TOLERANCE:
            problems.append(f"elu({alpha})′ at z = {z:g}: relative error {error:.1e}")
    _report(problems)


# --------------------------------------------------------------------------------------------------
# float32 stays float32


@pytest.mark.parametrize("spec", ORACLE_SPECS, ids=ORACLE_IDS)
def test_float32_in_gives_float32_out(spec: tuple) -> None:
    """Every activation (hidden and output) and every output pair: params from
    init_params(dtype=float32) and float32 X, Y give float32 everywhere."""
    problems = []
    for network in [network_of(spec)]:
        module = module_for(network)
        rng = np.random.default_rng(_seed("float32", spec))
        params = module.init_params(seed=1, dtype=np.float32)
        X = rng.normal(size=(5, network.sizes[0])).astype(np.float32)
        Y = targets(network.loss.targets.name, 5, network.sizes[-1], rng).astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            Y_hat, cache = module.forward(params, X)
            values = {
                "forward Y_hat": Y_hat,
                **{f"cache {name}": array for name, array in cache.items()},
                **{f"params {name}": array for name, array in params.items()},
                "loss_gradient": module.loss_gradient(Y_hat, Y),
                **{f"backward d{name}": g for name, g in module.backward(params, cache, Y).items()},
            }
            loss, grads = module.loss_and_grads(params, X, Y)
            values.update({f"loss_and_grads d{name}": g for name, g in grads.items()})
            losses = {
                "loss": module.loss(Y_hat, Y),
                "loss_from_preactivation": module.loss_from_preactivation(cache[f"Z{network.depth}"], Y),
                "loss_and_grads loss": loss,
            }
        for what, array in values.items():
            if np.asarray(array).dtype != np.float32:
                problems.append(f"{network}: {what} is {np.asarray(array).dtype}")
        for what, value in losses.items():
            # A loss summed in float32 is a float32 number; one computed in float64 almost never is.
            if not (np.isfinite(value) and float(np.float32(value)) == value):
                problems.append(f"{network}: {what} = {value!r} is not a float32 value")
    _report(problems)


# --------------------------------------------------------------------------------------------------
# No floating-point error (other than underflow) and no NaN or infinity at |z| up to 1e4


def _large_z_problems(network: Network, seed: int) -> list[str]:
    module = module_for(network)
    rng = np.random.default_rng(seed)
    rows = 16
    params = module.init_params(seed=seed % 2**31)
    for k in range(1, network.depth + 1):
        params[f"b{k}"][...] = rng.normal(0.0, 0.5, size=params[f"b{k}"].shape)
    X = rng.normal(size=(rows, network.sizes[0]))
    X[0] = 0.0
    # Every unit of every layer reaches |z| = 1e4 on some row (the activations by the mpmath oracle).
    limit = LARGE_Z * (1 - 1e-6)
    scale_preactivations(network, params, X, limit, forward_row=mp_rows(REFERENCES), per_unit=True, only_above=False)
    Y = targets(network.loss.targets.name, rows, network.sizes[-1], rng)
    problems: list[str] = []
    results: dict[str, Any] = {}
    stage = "forward"
    try:
        with np.errstate(all="raise"):
            Y_hat, cache = module.forward(params, X)
            results.update({"Y_hat": Y_hat, **{f"cache {n}": a for n, a in cache.items()}})
            stage = "loss"
            results["loss"] = module.loss(Y_hat, Y)
            stage = "loss_from_preactivation"
            results[stage] = module.loss_from_preactivation(cache[f"Z{network.depth}"], Y)
            stage = "loss_gradient"
            results[stage] = module.loss_gradient(Y_hat, Y)
            stage = "backward"
            results.update({f"backward d{n}": g for n, g in module.backward(params, cache, Y).items()})
            stage = "loss_and_grads"
            loss, grads = module.loss_and_grads(params, X, Y)
            results["loss_and_grads loss"] = loss
            results.update({f"loss_and_grads d{n}": g for n, g in grads.items()})
    except FloatingPointError as error:
        return [f"{network}: FloatingPointError in {stage}: {error}"]
    for what, value in results.items():
        if not np.all(np.isfinite(value)):
            problems.append(f"{network}: {what} is not finite")
    reached = max(float(np.max(np.abs(cache[f"Z{k}"]))) for k in range(1, network.depth + 1))
    if not 0.99 * LARGE_Z <= reached <= LARGE_Z:
        problems.append(f"{network}: the test meant |z| up to 1e4, the module saw {reached:g}")
    return problems


@pytest.mark.parametrize("spec", LARGE_Z_SPECS, ids=LARGE_Z_IDS)
def test_no_floating_point_error_at_large_preactivations(spec: tuple) -> None:
    """Every unit of every layer, the output included, reaches |z| = 1e4 on some row."""
    _report(_large_z_problems(network_of(spec), _seed("large", spec)))


# --------------------------------------------------------------------------------------------------
# The corpus itself: the parsed expressions mean what their references say, from Python and the CLI


@pytest.mark.parametrize("name", list(CASES))
def test_corpus_expressions_parse_to_their_references(name: str) -> None:
    """The parser's expression equals the hand-written reference away from kinks and poles, and
    the spec built from the command line's --activation-def equals the one built in Python."""
    case = CASES[name]
    activation = _custom(name)
    points = [-2.7, -1.3, -0.45, 0.3, 0.85, 1.6, 2.9]
    with mpmath.workdps(30):
        for z in points:
            got, expected = mp_eval(activation.expr, mpmath.mpf(z)), case.reference(mpmath.mpf(z))
            assert abs(got - expected) <= mpmath.mpf("1e-25") * max(1, abs(expected)), (name, z, got, expected)
    by_cli = from_cli("2-3-2", f"{name},identity", "sse", [f"{name}={case.text}"])
    assert by_cli == Network([2, 3, 2], [activation, "identity"], "sse")
    assert by_cli == Network([2, 3, 2], [name, "identity"], "sse", custom_activations={name: case.text})
    again = custom_activation(case.name, activation.definition)
    assert again.expr == activation.expr


def test_the_oracles_agree_with_each_other(torch: Any) -> None:
    """torch and mpmath on the same network and data: the two witnesses are themselves consistent."""
    network = Network([2, 3, 2], [_custom("mish_written_out"), "tanh"], "mse")
    params, X, Y = _draw(network, 7, 4, mp_rows(REFERENCES))
    _, by_torch = torch_loss_and_grads(network, params, X, Y)
    _, by_mpmath = mp_gradients(network, params, X, Y, REFERENCES)
    assert max(worst_errors(by_torch, by_mpmath).values()) <= TOLERANCE


def test_relative_error_is_the_worst_element_over_the_largest_reference() -> None:
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0, 2.5]), np.array([1.0, 2.0])) == pytest.approx(0.25)
    assert relative_error(np.array([np.nan]), np.array([1.0])) == math.inf
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros((2, 1)), np.zeros((1, 2))) == math.inf
