"""Time to check a hand-written 784-128-64-10 network (109,386 parameters) with symbackprop's
checker, against peers measured in the same run on the same code, weights and batch.

Peers: a central finite-difference check of every parameter in float64 (two loss evaluations per
parameter; ``--fd-sample N`` times N parameters per array instead and extrapolates, which the
table then says), and ``torch.autograd.gradcheck`` (full and ``fast_mode``) when torch is
installed (``pip install -e .[bench]``; skipped with a message otherwise). The same network as a
``torch.nn.Module`` is checked warm by ours and by ``torch.autograd.gradcheck`` (full and
``fast_mode``) on the same module, weights and batch. Ours is timed three ways, each a full
check of every parameter with diagnosis, after the imports:

* first ever: the first check of the network in a fresh process with an empty cache folder
  (derivation, verification, code generation, probe, check);
* first in a process: a fresh process again, the reference now in the cache folder (what every
  later pytest process pays);
* warm: a further check in the same process (median of ``--repeats``).

BLAS runs on one thread for every contestant, so that a loaded machine does not decide the race.

    python benchmarks/check_bench.py [--repeats 5] [--fd-sample N] [--smoke]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from machine import print_machine  # noqa: E402

from symbackprop import Network  # noqa: E402
from symbackprop.testing import check_gradients  # noqa: E402
from symbackprop.testing.reference import make_probe  # noqa: E402

FULL = (784, 128, 64, 10)
SMOKE = (12, 8, 6, 3)
ACTIVATIONS = ("relu", "relu", "softmax")


# --- the hand-written network under test: rows, W (out, in), b (n,), mean over the batch ---------
def hand_forward(params, X):  # type: ignore[no-untyped-def]
    A1 = np.maximum(X @ params["W1"].T + params["b1"], 0.0)
    A2 = np.maximum(A1 @ params["W2"].T + params["b2"], 0.0)
    Z3 = A2 @ params["W3"].T + params["b3"]
    shifted = Z3 - Z3.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return A1, A2, log_probs


def hand_loss(params, X, Y):  # type: ignore[no-untyped-def]
    return -np.sum(Y * hand_forward(params, X)[2]) / X.shape[0]


def hand_grads(params, X, Y):  # type: ignore[no-untyped-def]
    A1, A2, log_probs = hand_forward(params, X)
    D3 = (np.exp(log_probs) - Y) / X.shape[0]
    D2 = (D3 @ params["W3"]) * (A2 > 0)
    D1 = (D2 @ params["W2"]) * (A1 > 0)
    return {"dW3": D3.T @ A2, "db3": D3.sum(0), "dW2": D2.T @ A1, "db2": D2.sum(0), "dW1": D1.T @ X, "db1": D1.sum(0)}


# --- contestants --------------------------------------------------------------------------------
def first_check_seconds(sizes: tuple[int, ...]) -> float:
    """The first check of the network in this process (run by :func:`ours_first` in a fresh one)."""
    network = Network(list(sizes), list(ACTIVATIONS), "cce")
    start = time.perf_counter()
    report = check_gradients(network, hand_grads)
    elapsed = time.perf_counter() - start
    assert report.ok, report.table()
    return elapsed


def ours_first(sizes: tuple[int, ...], cache_folder: str) -> float:
    """Seconds of a first check in a fresh Python process using ``cache_folder``."""
    environment = {**os.environ, "SYMBACKPROP_CACHE_DIR": cache_folder}
    environment.pop("SYMBACKPROP_CACHE", None)
    command = [sys.executable, __file__, "--first-check", "-".join(map(str, sizes))]
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    return float(output)


def ours_warm(network: Network, repeats: int) -> float:
    check_gradients(network, hand_grads)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        check_gradients(network, hand_grads)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def finite_differences(params, X, Y, sample: int | None) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    """Seconds for the central-difference check of every parameter (extrapolated from ``sample``
    parameters per array when given), the number of parameters timed, and the worst relative error."""
    grads = hand_grads(params, X, Y)
    rng = np.random.default_rng(0)
    elapsed, timed, worst = 0.0, 0, 0.0
    total = sum(value.size for value in params.values())
    for name, value in params.items():
        flat = value.reshape(-1)
        chosen = np.arange(flat.size) if sample is None else rng.choice(flat.size, min(sample, flat.size), False)
        estimate = np.empty(chosen.size)
        start = time.perf_counter()
        for position, index in enumerate(chosen):
            original = flat[index]
            step = 1e-6 * max(1.0, abs(original))
            flat[index] = original + step
            up = hand_loss(params, X, Y)
            flat[index] = original - step
            down = hand_loss(params, X, Y)
            flat[index] = original
            estimate[position] = (up - down) / (2 * step)
        elapsed += time.perf_counter() - start
        timed += chosen.size
        expected = grads[f"d{name}"].reshape(-1)[chosen]
        worst = max(worst, float(np.max(np.abs(estimate - expected)) / max(np.max(np.abs(expected)), 1e-12)))
    return elapsed * total / timed, timed, worst


def torch_gradcheck(params, X, Y, fast: bool) -> float | None:  # type: ignore[no-untyped-def]
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    names = list(params)
    tensors = [torch.tensor(params[name], dtype=torch.float64, requires_grad=True) for name in names]
    Xt, Yt = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)

    def loss(*values: torch.Tensor) -> torch.Tensor:
        p = dict(zip(names, values, strict=True))
        A1 = torch.relu(Xt @ p["W1"].T + p["b1"])
        A2 = torch.relu(A1 @ p["W2"].T + p["b2"])
        log_probs = torch.log_softmax(A2 @ p["W3"].T + p["b3"], dim=1)
        return -(Yt * log_probs).sum() / Xt.shape[0]

    start = time.perf_counter()
    assert torch.autograd.gradcheck(loss, tuple(tensors), eps=1e-6, atol=1e-5, fast_mode=fast)
    return time.perf_counter() - start


def torch_module(sizes: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """The same network as a ``torch.nn.Module`` (nn.Linear layers, ReLU, logits out), float64;
    None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    layers: list[torch.nn.Module] = []
    for k in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[k - 1], sizes[k], dtype=torch.float64))
        if k < len(sizes) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def ours_module(network: Network, module, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of a warm check of the torch module (its backward is autograd's)."""
    assert check_gradients(network, module).ok
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        check_gradients(network, module)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def module_gradcheck(module, params, X, Y, fast: bool) -> float:  # type: ignore[no-untyped-def]
    """Seconds of ``torch.autograd.gradcheck`` of the module's mean cross-entropy with respect to
    its parameters (loaded with the probe's), in float64."""
    import torch
    from torch.func import functional_call

    names = [name for name, _ in module.named_parameters()]
    ours = [f"{kind}{k}" for k in range(1, len(names) // 2 + 1) for kind in "Wb"]
    tensors = tuple(torch.tensor(params[name], dtype=torch.float64, requires_grad=True) for name in ours)
    Xt, Yt = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)

    def loss(*values: torch.Tensor) -> torch.Tensor:
        logits = functional_call(module, dict(zip(names, values, strict=True)), (Xt,))
        return -(Yt * torch.log_softmax(logits, dim=1)).sum() / Xt.shape[0]

    start = time.perf_counter()
    assert torch.autograd.gradcheck(loss, tensors, eps=1e-6, atol=1e-5, fast_mode=fast)
    return time.perf_counter() - start


def row(label: str, seconds: float, cold: float, warm: float, note: str = "") -> str:
    return f"{label:<44} {seconds:>9.3f} s {seconds / cold:>9.1f}x {seconds / warm:>9.1f}x  {note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm checks to take the median of (default 5)")
    parser.add_argument(
        "--fd-sample",
        type=int,
        default=None,
        metavar="N",
        help="time N parameters per array and extrapolate (default: every parameter)",
    )
    parser.add_argument("--smoke", action="store_true", help=f"a tiny {'-'.join(map(str, SMOKE))} network, fast")
    parser.add_argument("--first-check", metavar="SIZES", help=argparse.SUPPRESS)  # the fresh process's part
    arguments = parser.parse_args()
    if arguments.first_check:
        print(first_check_seconds(tuple(int(width) for width in arguments.first_check.split("-"))))
        return
    sizes = SMOKE if arguments.smoke else FULL
    network = Network(list(sizes), list(ACTIVATIONS), "cce")
    print_machine()
    count = sum(sizes[k] * sizes[k - 1] + sizes[k] for k in range(1, len(sizes)))
    print(f"checking a hand-written {network.compact} ({count:,} parameters)")
    with tempfile.TemporaryDirectory() as cache_folder:
        cold = ours_first(sizes, cache_folder)
        first = statistics.median(ours_first(sizes, cache_folder) for _ in range(arguments.repeats))
    warm = ours_warm(network, arguments.repeats)
    # The peers check the same code on the same weights and the same first batch as ours.
    probe = make_probe(network)
    params = {name: value.copy() for name, value in probe.params.items()}
    X, Y = probe.batches[0].X, probe.batches[0].Y
    fd_seconds, timed, fd_error = finite_differences(params, X, Y, arguments.fd_sample)
    print(f"{'method':<44} {'time':>11} {'/ cold':>10} {'/ warm':>10}")
    print(row("symbackprop check_gradients, first ever", cold, cold, warm, "empty cache: derivation + generation"))
    print(
        row(
            "symbackprop check_gradients, first in process",
            first,
            cold,
            warm,
            f"cache filled; median of {arguments.repeats}",
        )
    )
    print(row("symbackprop check_gradients, warm", warm, cold, warm, f"median of {arguments.repeats}"))
    fd_note = "measured" if timed == count else f"extrapolated from {timed:,} parameters"
    print(
        row("central differences, every parameter", fd_seconds, cold, warm, f"{fd_note}; max rel. error {fd_error:.1e}")
    )
    for fast in (False, True):
        seconds = torch_gradcheck(params, X, Y, fast)
        label = f"torch.autograd.gradcheck{' (fast_mode)' if fast else ''}"
        if seconds is None:
            print(f"{label:<44} skipped: torch is not installed")
        else:
            print(row(label, seconds, cold, warm))
    module = torch_module(sizes)
    if module is None:
        print(f"{'torch module rows':<44} skipped: torch is not installed")
    else:
        seconds = ours_module(network, module, arguments.repeats)
        print(row("symbackprop check_gradients, torch module", seconds, cold, warm, "warm; .backward() of nn.Linear"))
        for fast in (False, True):
            label = f"gradcheck on the same module{' (fast_mode)' if fast else ''}"
            print(row(label, module_gradcheck(module, params, X, Y, fast), cold, warm))
    print(
        f"goals: a first check ever at least 100x faster than every-parameter differences ({fd_seconds / cold:.0f}x);"
        f" a first check in a process with the cache filled under 30 ms ({first * 1000:.1f} ms);"
        f" warm {warm * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
