"""Median time of one training step (forward, loss, backward, SGD or Adam update) of the generated modules,
against peers measured in the same run on the same data, weights and dtype.

The generated steps, one per code target: NumPy (``make_train_step``), PyTorch (``loss_and_grads``
then ``sgd_step``: the derived gradients under ``no_grad``, so no tape) and JAX (the jitted
``train_step``, its parameters donated). Peers: the matrix multiplications alone (the floor a
NumPy step cannot beat), a hand-tuned NumPy step written here, PyTorch eager, torch.compile, JAX
jit and scikit-learn's MLPClassifier.partial_fit (MLPRegressor for squared error: its output unit
is linear, not a sigmoid, so that step is close to ours, not the same). The framework targets and
the library peers run only when installed (``pip install -e .[bench]``); a missing or failing one
is skipped with a message. Before timing, one step of every contender but scikit-learn (which keeps its own loss
scaling) is checked to give the generated NumPy step's update, so the timings compare the same
computation. Contenders are timed in interleaved rounds, so a change in the machine's load touches
all of them alike.

The Adam rows time the generated NumPy module's Adam step (``_make_step`` with the ``_optimizer``
update that ``train(optimizer="adam")`` builds, its buffers allocated once) against PyTorch's
eager autograd step with ``torch.optim.Adam`` (``foreach``), a jitted ``jax.value_and_grad`` step
with Adam's update written by hand (the same equations, its state donated) and scikit-learn's
``solver="adam"``; each from the same start, PyTorch's and JAX's checked to make the same update.
The generated PyTorch and JAX modules have no Adam step, so they sit those rows out.

The goals judged at full size: the NumPy step is never slower than the hand-tuned one, and faster
than every library peer on the three larger networks; the PyTorch step is at most as slow as
PyTorch's eager autograd step, and the JAX step within 1.05× of JAX's jitted
``value_and_grad`` step, on every network; the NumPy Adam step faster than every peer's. The
last column is the best generated step's time over the best peer's (below 1: a generated step is
the fastest of all).

Every contender runs on ``--threads`` threads (default 1: on a shared two-core machine a second
thread mostly adds contention; PyTorch's OpenMP pool then takes milliseconds a step).

First it prints the machine, NumPy's BLAS library with the kernel it chose and its threads, and a
warning for every environment variable that forces a kernel (``machine.py``).

``--memory`` instead measures the peak resident memory of ``train`` on a 1,000,000 × 100 float32
data set with batch 256 and shuffling, in a fresh process. ``--smoke`` runs everything at a toy
size in seconds (the README's test runs each command with it).

    python benchmarks/train_bench.py [--repeats 300] [--only 2-4-3-1] [--threads 1] [--smoke]
    python benchmarks/train_bench.py --memory [--smoke]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace


def limit_threads(argv: list[str]) -> int:
    """The --threads value, set for every library's thread pool before any of them is imported."""
    threads = argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "1"
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = threads
    if threads == "1":
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return int(threads)


THREADS = limit_threads(sys.argv)

import numpy as np  # noqa: E402 (the thread limits must be set first)
from machine import print_machine  # noqa: E402

from symbackprop import Network  # noqa: E402
from symbackprop.codegen import JAX, TORCH, generate_module, load_module  # noqa: E402

Step = Callable[[], object]

#: The generated steps, by code target; every other contender but the floor is a peer.
TARGETS = {"numpy": "generated numpy", "torch": "generated torch", "jax": "generated jax"}
FLOOR = "matmuls"
#: Each framework target's goal: (its peer, the largest ratio of its time over the peer's).
FRAMEWORK_GOALS = {"generated torch": ("torch", 1.0), "generated jax": ("jax", 1.05)}


@dataclass(frozen=True)
class Config:
    name: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    batch: int
    dtype: type
    #: Whether the goal asks the generated step to beat every peer here, not only the hand-tuned one.
    beat_all_peers: bool
    #: "sgd" or "adam" (PyTorch's defaults: betas (0.9, 0.999), eps 1e-8).
    optimizer: str = "sgd"


CONFIGS = (
    Config("2-4-3-1", (2, 4, 3, 1), ("relu", "relu", "sigmoid"), "bce", 1000, np.float64, False),
    Config("3-4-2-2", (3, 4, 2, 2), ("relu", "relu", "sigmoid"), "mse", 32, np.float64, False),
    Config("784-128-64-10", (784, 128, 64, 10), ("relu", "relu", "softmax"), "cce", 128, np.float32, True),
    Config("1024-1024-1024-10", (1024, 1024, 1024, 10), ("tanh", "tanh", "softmax"), "cce", 256, np.float32, True),
    Config("64-(64x8)-1", (64, *([64] * 8), 1), ("relu",) * 8 + ("sigmoid",), "bce", 64, np.float32, True),
)
#: The Adam rows: the goal is to beat every peer on each.
CONFIGS += tuple(
    replace(c, optimizer="adam", beat_all_peers=True) for c in CONFIGS if c.name in ("3-4-2-2", "784-128-64-10")
)


def smoke_config(config: Config) -> Config:
    """The configuration shrunk to a toy: every width at most 8, batch 16 (same depth and kinds)."""
    sizes = tuple(min(n, 8) for n in config.sizes)
    return replace(config, name=f"{config.name} as {'-'.join(map(str, sizes))}", sizes=sizes, batch=16)


def interleaved_medians(steps: dict[str, Step], repeats: int) -> dict[str, float]:
    """Median µs per call of every step, timed in rounds that visit each step in turn: ten calls
    a round (the first may find caches cold) while a step is short, one a round once a step takes
    milliseconds, so that a change in the machine's load falls on every contender alike."""
    warm_up = time.perf_counter()
    for step in steps.values():
        for _ in range(max(3, repeats // 20)):
            step()
    per_round = 10 if time.perf_counter() - warm_up < 0.05 * len(steps) else 1
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(max(1, repeats // per_round)):
        for name, step in steps.items():
            for _ in range(per_round):
                start = time.perf_counter()
                step()
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) * 1e6 for name, times in samples.items()}


def network(config: Config) -> Network:
    return Network(list(config.sizes), list(config.activations), config.loss)


def problem(config: Config) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(config.batch, config.sizes[0])).astype(config.dtype)
    outputs = config.sizes[-1]
    if config.loss == "cce":
        Y = np.eye(outputs, dtype=config.dtype)[rng.integers(0, outputs, config.batch)]
    elif config.loss == "bce":
        Y = rng.integers(0, 2, (config.batch, outputs)).astype(config.dtype)
    else:
        Y = rng.uniform(size=(config.batch, outputs)).astype(config.dtype)
    return X, Y


def parameter_names(config: Config) -> list[str]:
    return [f"{kind}{k}" for k in range(1, len(config.sizes)) for kind in ("W", "b")]


@dataclass(frozen=True)
class Peer:
    """A step to time, and how to read its parameters back (in W1, b1, W2, ... order) for the check."""

    step: Step
    parameters: Callable[[], list[np.ndarray]] | None


def generated_peer(module, params, config: Config, X, Y, lr: float) -> Peer:  # type: ignore[no-untyped-def]
    """make_train_step's SGD step, or the Adam step as train(optimizer="adam") builds it."""
    if config.optimizer == "sgd":
        step, packed = module.make_train_step(params, config.batch, lr)
    else:
        flat = module._pack(params)
        buffers = {name: np.zeros_like(flat) for name in module.OPTIMIZERS["adam"]}
        settings = module._optimizer_settings("adam", lr, None, None, None, None)
        step, packed = (
            module._make_step(flat, config.batch, lr, module._optimizer(flat, buffers, settings)),
            module._views(flat),
        )
    return Peer(lambda: step(X, Y), lambda: [packed[name] for name in parameter_names(config)])


def torch_target(config: Config, params, X, Y, lr: float) -> Peer:  # type: ignore[no-untyped-def]
    """The generated PyTorch module's derived gradients and update."""
    import torch

    torch.set_num_threads(THREADS)
    module = load_module(generate_module(network(config), target=TORCH))
    tensors = {name: torch.tensor(value) for name, value in params.items()}  # copies: peers share params
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def step() -> None:
        _, grads = module.loss_and_grads(tensors, Xt, Yt)
        module.sgd_step(tensors, grads, lr)

    return Peer(step, lambda: [tensors[name].numpy() for name in parameter_names(config)])


def jax_target(config: Config, params, X, Y, lr: float) -> Peer:  # type: ignore[no-untyped-def]
    """The generated JAX module's jitted ``train_step`` (its parameters donated), given the rate as
    an array made once, as a training loop would: a Python float is a new argument to transfer at
    every call, 5% of a 100 µs step."""
    import jax

    jax.config.update("jax_enable_x64", True)  # else float64 configurations would run in float32
    import jax.numpy as jnp

    module = load_module(generate_module(network(config), target=JAX))
    state = {"params": {name: jnp.asarray(value) for name, value in params.items()}}
    Xj, Yj, rate = jnp.asarray(X), jnp.asarray(Y), jnp.asarray(lr, config.dtype)

    def step() -> None:
        state["params"], batch_loss = module.train_step(state["params"], Xj, Yj, rate)
        batch_loss.block_until_ready()

    return Peer(step, lambda: [np.asarray(state["params"][name]) for name in parameter_names(config)])


def matmuls_only(config: Config, params, X) -> Peer:  # type: ignore[no-untyped-def]
    """The three products per layer (forward, weight gradient, backward) into preallocated outputs."""
    depth = len(config.sizes) - 1
    weights = [params[f"W{k}"] for k in range(1, depth + 1)]
    Z = [np.empty((config.batch, n), config.dtype) for n in config.sizes[1:]]
    G = [np.empty_like(W) for W in weights]
    B = [np.empty((config.batch, n), config.dtype) for n in config.sizes[:-1]]

    def step() -> None:
        inputs = X
        for k in range(depth):
            np.matmul(inputs, weights[k].T, out=Z[k])
            inputs = Z[k]
        for k in range(depth - 1, -1, -1):
            np.matmul(Z[k].T, X if k == 0 else Z[k - 1], out=G[k])
            if k:
                np.matmul(Z[k], weights[k], out=B[k])

    return Peer(step, None)


def hand_tuned(config: Config, params, X, Y, lr: float) -> Peer:  # type: ignore[no-untyped-def]
    """The step a careful person writes by hand: buffers, in-place ufuncs, fused δ with −lr/m,
    the bias gradient as a product with ones, one flat update."""
    depth = len(config.sizes) - 1
    names = parameter_names(config)
    flat = np.concatenate([params[n].ravel() for n in names])
    updates = np.empty_like(flat)
    views, grads, offset = [], [], 0
    for name in names:
        size = params[name].size
        views.append(flat[offset : offset + size].reshape(params[name].shape))
        grads.append(updates[offset : offset + size].reshape(params[name].shape))
        offset += size
    m = config.batch
    A = [X] + [np.empty((m, n), config.dtype) for n in config.sizes[1:]]
    D = [np.empty((m, n), config.dtype) for n in config.sizes[1:]]
    ones = np.ones(m, config.dtype)
    scale = -lr / m
    hidden, output = config.activations[0], config.activations[-1]

    def step() -> float:
        for k in range(depth):
            W, b = views[2 * k], views[2 * k + 1]
            np.matmul(A[k], W.T, out=A[k + 1])
            A[k + 1] += b
            if k < depth - 1:
                if hidden == "relu":
                    np.maximum(A[k + 1], 0, out=A[k + 1])
                else:
                    np.tanh(A[k + 1], out=A[k + 1])
        out = A[depth]
        if config.loss == "bce":  # the loss from the logits, before they become probabilities
            loss = np.sum(np.logaddexp(0, out) - Y * out) / m
        if output == "softmax":
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        else:
            np.negative(out, out=out)
            np.exp(out, out=out)
            out += 1
            np.reciprocal(out, out=out)
        if config.loss == "cce":
            loss = -np.sum(Y * np.log(out)) / m
        elif config.loss == "mse":
            loss = np.mean((out - Y) ** 2)
        if config.loss == "mse":
            np.subtract(out, Y, out=D[-1])
            D[-1] *= out
            D[-1] *= 1 - out
            D[-1] *= 2 * scale / config.sizes[-1]
        else:
            np.subtract(out, Y, out=D[-1])
            D[-1] *= scale
        for k in range(depth - 1, -1, -1):
            np.matmul(D[k].T, A[k], out=grads[2 * k])
            np.matmul(ones, D[k], out=grads[2 * k + 1])
            if k:
                np.matmul(D[k], views[2 * k], out=D[k - 1])
                if hidden == "relu":
                    D[k - 1] *= A[k] > 0
                else:
                    D[k - 1] *= 1 - A[k] * A[k]
        np.add(flat, updates, out=flat)
        return float(loss)

    return Peer(step, lambda: views)


def torch_peer(config: Config, params, X, Y, lr: float, compiled: bool) -> Peer:  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(THREADS)
    depth = len(config.sizes) - 1
    tensors = [torch.tensor(params[name], requires_grad=True) for name in parameter_names(config)]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    hidden = torch.relu if config.activations[0] == "relu" else torch.tanh
    optimizer = (torch.optim.SGD if config.optimizer == "sgd" else torch.optim.Adam)(tensors, lr=lr, foreach=True)

    def loss_of(Xb: torch.Tensor, Yb: torch.Tensor) -> torch.Tensor:
        h = Xb
        for k in range(depth):
            h = torch.nn.functional.linear(h, tensors[2 * k], tensors[2 * k + 1])
            if k < depth - 1:
                h = hidden(h)
        if config.loss == "cce":
            return -(Yb * torch.log_softmax(h, dim=1)).sum(dim=1).mean()
        if config.loss == "bce":
            return torch.nn.functional.binary_cross_entropy_with_logits(h, Yb, reduction="sum") / h.shape[0]
        return ((torch.sigmoid(h) - Yb) ** 2).mean()

    loss_function = torch.compile(loss_of) if compiled else loss_of

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_function(Xt, Yt).backward()
        optimizer.step()

    return Peer(step, lambda: [t.detach().numpy() for t in tensors])


def jax_peer(config: Config, params, X, Y, lr: float) -> Peer:  # type: ignore[no-untyped-def]
    import jax

    jax.config.update("jax_enable_x64", True)  # else float64 configurations would run in float32
    import jax.numpy as jnp

    depth = len(config.sizes) - 1
    hidden = jax.nn.relu if config.activations[0] == "relu" else jnp.tanh

    def loss(ps, X, Y):  # type: ignore[no-untyped-def]
        h = X
        for k in range(depth):
            h = h @ ps[2 * k].T + ps[2 * k + 1]
            if k < depth - 1:
                h = hidden(h)
        if config.loss == "cce":
            return -(Y * jax.nn.log_softmax(h, axis=1)).sum(axis=1).mean()
        if config.loss == "bce":
            return (jnp.logaddexp(0, h) - Y * h).sum() / h.shape[0]
        return ((jax.nn.sigmoid(h) - Y) ** 2).mean()

    @jax.jit
    def sgd(ps, X, Y):  # type: ignore[no-untyped-def]
        value, grads = jax.value_and_grad(loss)(ps, X, Y)
        return [p - lr * g for p, g in zip(ps, grads, strict=True)], value

    @functools.partial(jax.jit, donate_argnums=(0, 1, 2, 3))
    def adam(ps, ms, vs, t, X, Y):  # type: ignore[no-untyped-def]
        """torch.optim.Adam's update with its defaults, as the generated module's _optimizer has it;
        the step count t lives on the device, so no argument is transferred per call."""
        t = t + 1
        value, grads = jax.value_and_grad(loss)(ps, X, Y)
        ms = [m + 0.1 * (g - m) for m, g in zip(ms, grads, strict=True)]
        vs = [0.999 * v + 0.001 * g * g for v, g in zip(vs, grads, strict=True)]
        rate, root = lr / (1 - 0.9**t), jnp.sqrt(1 - 0.999**t)
        ps = [p - rate * m / (jnp.sqrt(v) / root + 1e-8) for p, m, v in zip(ps, ms, vs, strict=True)]
        return ps, ms, vs, t, value

    ps = [jnp.asarray(params[name]) for name in parameter_names(config)]
    state = {
        "ps": ps,
        "ms": [jnp.zeros_like(p) for p in ps],
        "vs": [jnp.zeros_like(p) for p in ps],
        "t": jnp.asarray(0, config.dtype),
    }
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def step() -> None:
        if config.optimizer == "sgd":
            state["ps"], value = sgd(state["ps"], Xj, Yj)
        else:
            state["ps"], state["ms"], state["vs"], state["t"], value = adam(
                state["ps"], state["ms"], state["vs"], state["t"], Xj, Yj
            )
        value.block_until_ready()

    return Peer(step, lambda: [np.asarray(p) for p in state["ps"]])


def sklearn_peer(config: Config, params, X, Y, lr: float) -> Peer:  # type: ignore[no-untyped-def]
    """MLPClassifier (MLPRegressor for squared error) with plain SGD or Adam, PyTorch's defaults."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    depth = len(config.sizes) - 1
    settings = {"hidden_layer_sizes": config.sizes[1:-1], "activation": config.activations[0], "alpha": 0.0}
    settings.update(solver=config.optimizer, learning_rate_init=lr, batch_size=config.batch)
    settings.update(momentum=0.0) if config.optimizer == "sgd" else settings.update(epsilon=1e-8)
    if config.loss == "mse":
        model, labels = MLPRegressor(**settings), Y
        model.partial_fit(X, labels)
    else:
        model = MLPClassifier(**settings)
        labels = Y.argmax(axis=1) if config.loss == "cce" else Y[:, 0]
        classes = np.arange(config.sizes[-1]) if config.loss == "cce" else np.array([0.0, 1.0])
        model.partial_fit(X, labels, classes=classes)
    # The same starting weights (scikit-learn keeps W transposed); its float32 stays float32.
    model.coefs_ = [params[f"W{k}"].T.copy() for k in range(1, depth + 1)]
    model.intercepts_ = [params[f"b{k}"].copy() for k in range(1, depth + 1)]
    return Peer(lambda: model.partial_fit(X, labels), None)


def peer_factories(config: Config, params, X, Y, lr: float, smoke: bool):  # type: ignore[no-untyped-def]
    """(name, a function making the contender or raising, why it may not apply): the framework
    targets, then the library peers."""
    adam = config.optimizer == "adam"
    no_adam = "the generated module has no Adam step" if adam else None
    factories: list[tuple[str, Callable[[], Peer], str | None]] = [
        (TARGETS["torch"], lambda: torch_target(config, params, X, Y, lr), no_adam),
        (TARGETS["jax"], lambda: jax_target(config, params, X, Y, lr), no_adam),
        ("torch", lambda: torch_peer(config, params, X, Y, lr, compiled=False), None),
        (
            "torch.compile",
            lambda: torch_peer(config, params, X, Y, lr, compiled=True),
            "compiling takes minutes, not a smoke test"
            if smoke
            else "the Adam rows time eager PyTorch"
            if adam
            else None,
        ),
        ("jax", lambda: jax_peer(config, params, X, Y, lr), None),
        ("sklearn", lambda: sklearn_peer(config, params, X, Y, lr), None),
    ]
    return factories


def check_same_update(name: str, peer: Peer, reference: list[np.ndarray], config: Config) -> None:
    """One step of the peer from the shared start must land where the generated step did."""
    if peer.parameters is None:
        return
    peer.step()
    tolerance = 1e-9 if config.dtype == np.float64 else 2e-4
    for label, mine, theirs in zip(parameter_names(config), reference, peer.parameters(), strict=True):
        if not np.allclose(theirs, mine, rtol=tolerance, atol=tolerance):
            worst = float(np.max(np.abs(np.asarray(theirs, dtype=np.float64) - mine)))
            raise RuntimeError(f"{name} makes a different update of {label} (off by up to {worst:.3g})")


def run(config: Config, repeats: int, smoke: bool) -> dict[str, float]:
    module = load_module(generate_module(network(config)))
    X, Y = problem(config)
    lr = 1e-3
    start = module.init_params(seed=0, dtype=config.dtype)

    def fresh():  # type: ignore[no-untyped-def]
        return {name: value.copy() for name, value in start.items()}

    reference_peer = generated_peer(module, fresh(), config, X, Y, lr)
    reference_peer.step()
    reference = [value.copy() for value in reference_peer.parameters()]  # type: ignore[misc]
    peers = {
        TARGETS["numpy"]: generated_peer(module, fresh(), config, X, Y, lr),
        "matmuls": matmuls_only(config, fresh(), X),
    }
    if config.optimizer == "sgd":  # the hand-tuned step is SGD's
        peers["hand-tuned"] = hand_tuned(config, fresh(), X, Y, lr)
        check_same_update("hand-tuned", hand_tuned(config, fresh(), X, Y, lr), reference, config)
    for name, make, not_applicable in peer_factories(config, fresh(), X, Y, lr, smoke):
        try:
            if not_applicable:
                raise LookupError(not_applicable)
            peer = make()
            check_same_update(name, peer, reference, config)
        except Exception as error:  # a peer that does not apply, is not installed or fails is reported, not fatal
            kind = "" if type(error) is LookupError else "not installed: " if isinstance(error, ImportError) else None
            reason = f"{type(error).__name__}: " if kind is None else kind
            print(
                f"[{config.name} {config.optimizer}] {name} skipped: {reason}{str(error).splitlines()[0]}",
                file=sys.stderr,
            )
            continue
        peers[name] = peer
    return interleaved_medians({name: peer.step for name, peer in peers.items()}, repeats)


def peers_of(timings: dict[str, float]) -> list[str]:
    return [name for name in timings if name not in TARGETS.values() and name != FLOOR]


def framework_ratio(timings: dict[str, float], target: str) -> float | None:
    """The framework target's time over its framework's peer's, when both ran."""
    peer = FRAMEWORK_GOALS[target][0]
    return timings[target] / timings[peer] if target in timings and peer in timings else None


def best_ratio(timings: dict[str, float]) -> str:
    """The fastest generated step's time over the fastest peer's, naming both."""
    target = min((name for name in TARGETS.values() if name in timings), key=timings.__getitem__)
    peer = min(peers_of(timings), key=timings.__getitem__, default=None)
    if peer is None:
        return "–"
    return f"{timings[target] / timings[peer]:.2f} ({target} / {peer})"


def verdict(config: Config, timings: dict[str, float]) -> str:
    """Which goals miss at this configuration: the NumPy step never slower than the hand-tuned one,
    and on the MNIST-sized and wide configurations faster than every library peer; each framework
    target within its bound of its framework's peer. A goal whose contenders did not run is not judged."""
    numpy_step = timings[TARGETS["numpy"]]
    rivals = ["hand-tuned"] + (peers_of(timings) if config.beat_all_peers else [])
    behind = [name for name in dict.fromkeys(rivals) if name in timings and timings[name] < numpy_step]
    missed = [f"numpy behind {', '.join(behind)}"] if behind else []
    for target, (peer, bound) in FRAMEWORK_GOALS.items():
        ratio = framework_ratio(timings, target)
        if ratio is not None and ratio > bound:
            missed.append(f"{target.removeprefix('generated ')} {ratio:.2f}× {peer}, over {bound:g}")
    unjudged = [t for t in FRAMEWORK_GOALS if framework_ratio(timings, t) is None and config.optimizer == "sgd"]
    judgement = "goals met" if not missed else f"goal missed ({'; '.join(missed)})"
    return judgement + (f", {' and '.join(unjudged)} not run" if unjudged else "")


def print_table(results: list[tuple[Config, dict[str, float]]], judged: bool) -> None:
    print("Median µs per training step (forward, loss, backward, SGD or Adam update); every contender in the same")
    print("run on the same data, weights and dtype.\n")
    names = list(dict.fromkeys(name for _, timings in results for name in timings))
    ratios = [f"{target} / {peer}" for target, (peer, _) in FRAMEWORK_GOALS.items()]
    header = [
        "config",
        "optimizer",
        "batch",
        "dtype",
        *[f"{n} µs" for n in names],
        *ratios,
        "best generated / best peer",
        "goal",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for config, timings in results:
        numpy_step = timings[TARGETS["numpy"]]
        cells = [config.name, config.optimizer, str(config.batch), np.dtype(config.dtype).name]
        for name in names:
            if name not in timings:
                cells.append("–")
            elif name == TARGETS["numpy"]:
                cells.append(f"{numpy_step:,.1f}")
            else:
                # Above 1: the contender takes that many times as long as the generated NumPy step.
                cells.append(f"{timings[name]:,.1f} ({timings[name] / numpy_step:.2f}×)")
        for target in FRAMEWORK_GOALS:
            ratio = framework_ratio(timings, target)
            cells.append("–" if ratio is None else f"{ratio:.2f}")
        cells.append(best_ratio(timings))
        cells.append(verdict(config, timings) if judged else "not judged at a toy size")
        print("| " + " | ".join(cells) + " |")
    print(
        "\n(×) is the contender's time over the generated NumPy step's: above 1 the NumPy step is faster;"
        " for matmuls it is the share of the step the floor takes. A target / peer column is the"
        " generated step's time over that peer's: below 1 the generated step is faster."
    )


MEMORY_CODE = """
import resource, sys, numpy as np
from symbackprop import Network  # noqa: E402
from symbackprop.codegen import generate_module, load_module  # noqa: E402
rows = int(sys.argv[1])
module = load_module(generate_module(Network([100, 64, 1], ["relu", "sigmoid"], "bce")))
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
X = rng.standard_normal((rows, 100), dtype=np.float32)
Y = (X[:, :1] > 0).astype(np.float32)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
params, history = module.train(X, Y, epochs=2, lr=0.05, batch_size=256, shuffle=True)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert all(p.dtype == np.float32 for p in params.values()), "float32 data trained float64 parameters"
print(baseline, loaded, peak, X.nbytes + Y.nbytes, history["loss"][-1])
"""


def measure_memory(rows: int, judged: bool) -> bool:
    """Peak RSS of train() on rows × 100 float32 in a fresh process, against its budget (judged
    only at full size: at toy sizes the fixed costs dwarf 25% of a few megabytes)."""
    result = subprocess.run([sys.executable, "-c", MEMORY_CODE, str(rows)], capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return False
    print("Peak resident memory of train() with batch 256 and shuffling, in a fresh process:")
    baseline_kb, loaded_kb, peak_kb, data_bytes, last_loss = result.stdout.split()
    baseline, loaded, peak = (int(v) / 1024 for v in (baseline_kb, loaded_kb, peak_kb))
    data = int(data_bytes) / 2**20
    budget = baseline + 1.25 * data
    print(f"train on {rows:,} x 100 float32, batch 256, shuffled, 2 epochs (last loss {float(last_loss):.4f})")
    print(f"interpreter baseline {baseline:,.0f} MB; data {data:,.0f} MB; after making the data {loaded:,.0f} MB")
    within = peak <= budget
    judgement = ("within" if within else "OVER") if judged else "not judged at a toy size"
    print(
        f"peak during train {peak:,.0f} MB = baseline + data + {(peak - baseline - data) / data:.1%} of the data; "
        f"budget (baseline + data + 25%) {budget:,.0f} MB: {judgement}"
    )
    return within or not judged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300, help="timed steps per contender (default: 300)")
    parser.add_argument("--only", help="one configuration by name, e.g. 2-4-3-1")
    parser.add_argument("--memory", action="store_true", help="measure the peak memory of train instead")
    parser.add_argument("--threads", type=int, default=1, help="threads of every library (default: 1)")
    parser.add_argument("--smoke", action="store_true", help="toy sizes and few repeats: checks it runs, in seconds")
    arguments = parser.parse_args()
    print_machine()
    if arguments.memory:
        return 0 if measure_memory(20_000 if arguments.smoke else 1_000_000, judged=not arguments.smoke) else 1
    configs = [c for c in CONFIGS if not arguments.only or c.name == arguments.only]
    if not configs:
        parser.error(f"--only: no configuration named {arguments.only}; one of {', '.join(c.name for c in CONFIGS)}")
    repeats = 20 if arguments.smoke else arguments.repeats
    results = []
    for config in configs:
        if arguments.smoke:
            config = smoke_config(config)
        timings = run(config, repeats, arguments.smoke)
        results.append((config, timings))
        print(
            f"{config.name} {config.optimizer}: " + ", ".join(f"{n} {t:,.1f} µs" for n, t in timings.items()),
            file=sys.stderr,
        )
    print_table(results, judged=not arguments.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
