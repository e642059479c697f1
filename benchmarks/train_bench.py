"""Median time of one training step (forward, loss, backward, SGD update) of the generated module,
against peers measured in the same run on the same data, weights and dtype.

Peers: the matrix multiplications alone (the floor a NumPy step cannot beat), a hand-tuned NumPy
step written here, PyTorch eager, JAX jit and scikit-learn's MLPClassifier.partial_fit (the last
three only when installed: ``pip install -e .[bench]``; missing ones are skipped with a message).
``--memory`` instead measures the peak resident memory of ``train`` on a 1,000,000 × 100 float32
data set with batch 256 and shuffling, in a fresh process.

    python benchmarks/train_bench.py [--repeats 200] [--only 2-4-3-1] [--memory]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from symbackprop import Network
from symbackprop.codegen import generate_module, load_module


@dataclass(frozen=True)
class Config:
    name: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    batch: int
    dtype: type


CONFIGS = (
    Config("2-4-3-1", (2, 4, 3, 1), ("relu", "relu", "sigmoid"), "bce", 1000, np.float64),
    Config("3-4-2-2", (3, 4, 2, 2), ("relu", "relu", "sigmoid"), "mse", 32, np.float64),
    Config("784-128-64-10", (784, 128, 64, 10), ("relu", "relu", "softmax"), "cce", 128, np.float32),
    Config("1024-1024-1024-10", (1024, 1024, 1024, 10), ("tanh", "tanh", "softmax"), "cce", 256, np.float32),
    Config("64-(64x8)-1", (64, *([64] * 8), 1), ("relu",) * 8 + ("sigmoid",), "bce", 64, np.float32),
)


def median_us(step: Callable[[], object], repeats: int) -> float:
    for _ in range(max(3, repeats // 10)):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def problem(config: Config):  # type: ignore[no-untyped-def]
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


def matmuls_only(config: Config, params, X):  # type: ignore[no-untyped-def]
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

    return step


def hand_tuned(config: Config, params, X, Y, lr: float):  # type: ignore[no-untyped-def]
    """The step a careful person writes by hand: buffers, in-place ufuncs, fused δ with −lr/m,
    the bias gradient as a product with ones, one flat update."""
    depth = len(config.sizes) - 1
    names = [f"{kind}{k}" for k in range(1, depth + 1) for kind in ("W", "b")]
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

    return step


def torch_step(config: Config, params, X, Y, lr: float):  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    depth = len(config.sizes) - 1
    tensors = [torch.tensor(params[f"{kind}{k}"], requires_grad=True)
               for k in range(1, depth + 1) for kind in ("W", "b")]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    hidden = torch.relu if config.activations[0] == "relu" else torch.tanh

    def step() -> None:
        h = Xt
        for k in range(depth):
            h = torch.nn.functional.linear(h, tensors[2 * k], tensors[2 * k + 1])
            if k < depth - 1:
                h = hidden(h)
        if config.loss == "cce":
            loss = -(Yt * torch.log_softmax(h, dim=1)).sum(dim=1).mean()
        elif config.loss == "bce":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(h, Yt, reduction="sum") / h.shape[0]
        else:
            loss = ((torch.sigmoid(h) - Yt) ** 2).mean()
        for t in tensors:
            t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in tensors:
                t -= lr * t.grad

    return step


def jax_step(config: Config, params, X, Y, lr: float):  # type: ignore[no-untyped-def]
    import jax
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
    def update(ps, X, Y):  # type: ignore[no-untyped-def]
        value, grads = jax.value_and_grad(loss)(ps, X, Y)
        return [p - lr * g for p, g in zip(ps, grads, strict=True)], value

    state = {"ps": [jnp.asarray(params[f"{kind}{k}"]) for k in range(1, depth + 1) for kind in ("W", "b")]}
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def step() -> None:
        state["ps"], value = update(state["ps"], Xj, Yj)
        value.block_until_ready()

    return step


def sklearn_step(config: Config, X, Y, lr: float):  # type: ignore[no-untyped-def]
    if config.loss == "mse":
        return None
    from sklearn.neural_network import MLPClassifier

    hidden = config.sizes[1:-1]
    model = MLPClassifier(hidden_layer_sizes=hidden, activation="relu" if config.activations[0] == "relu" else "tanh",
                          solver="sgd", learning_rate_init=lr, momentum=0.0, batch_size=config.batch, alpha=0.0)
    labels = Y.argmax(axis=1) if config.loss == "cce" else Y[:, 0]
    classes = np.arange(config.sizes[-1]) if config.loss == "cce" else np.array([0.0, 1.0])
    model.partial_fit(X, labels, classes=classes)
    return lambda: model.partial_fit(X, labels)


def run(repeats: int, only: str | None) -> None:
    rows = []
    for config in CONFIGS:
        if only and config.name != only:
            continue
        module = load_module(generate_module(Network(list(config.sizes), list(config.activations), config.loss)))
        X, Y = problem(config)
        lr = 1e-3
        params = module.init_params(seed=0, dtype=config.dtype)
        generated, _ = module.make_train_step(params, config.batch, lr)
        timings = {
            "generated": median_us(partial(generated, X, Y), repeats),
            "matmuls": median_us(matmuls_only(config, params, X), repeats),
            "hand-tuned": median_us(hand_tuned(config, params, X, Y, lr), repeats),
        }
        peers: list[tuple[str, Callable[[], Callable[[], object] | None]]] = [
            ("torch", partial(torch_step, config, params, X, Y, lr)),
            ("jax", partial(jax_step, config, params, X, Y, lr)),
            ("sklearn", partial(sklearn_step, config, X, Y, lr)),
        ]
        for name, make in peers:
            try:
                step = make()
            except ImportError as error:
                print(f"[{config.name}] {name} skipped: {error}", file=sys.stderr)
                continue
            if step is not None:
                timings[name] = median_us(step, repeats)
        rows.append((config, timings))
        print_row(config, timings)


def print_row(config: Config, timings: dict[str, float]) -> None:
    generated = timings["generated"]
    cells = [f"{name} {value:,.0f}" + ("" if name == "generated" else f" ({value / generated:.2f}x)")
             for name, value in timings.items()]
    dtype = np.dtype(config.dtype).name
    print(f"{config.name} batch {config.batch} {dtype}: " + " | ".join(cells), flush=True)


def measure_memory() -> None:
    """Peak RSS of train() on 1,000,000 × 100 float32 in a fresh process, against its baseline."""
    code = """
import resource, numpy as np
from symbackprop import Network
from symbackprop.codegen import generate_module, load_module
module = load_module(generate_module(Network([100, 64, 1], ["relu", "sigmoid"], "bce")))
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
X = rng.standard_normal((1_000_000, 100), dtype=np.float32)
Y = (X[:, :1] > 0).astype(np.float32)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
params, history = module.train(X, Y, epochs=2, lr=0.05, batch_size=256, shuffle=True)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert all(p.dtype == np.float32 for p in params.values())
print(baseline, loaded, peak, X.nbytes + Y.nbytes)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    baseline, loaded, peak, data = (int(v) for v in result.stdout.split())
    data_mb = data / 2**20
    budget = baseline / 1024 + 1.25 * data_mb
    print(f"interpreter baseline {baseline / 1024:,.0f} MB; data {data_mb:,.0f} MB;"
          f" after loading {loaded / 1024:,.0f} MB")
    print(f"peak during train {peak / 1024:,.0f} MB; budget (baseline + data + 25%) {budget:,.0f} MB: "
          + ("within" if peak / 1024 <= budget else "OVER"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--only", help="one configuration by name, e.g. 2-4-3-1")
    parser.add_argument("--memory", action="store_true", help="measure the peak memory of train instead")
    arguments = parser.parse_args()
    if arguments.memory:
        measure_memory()
    else:
        run(arguments.repeats, arguments.only)
