"""Time of derive + verify for depths 2, 5, 10, 20 and widths 4, 64, 4096, against the naive
approach measured in the same run.

Ours differentiates the index-notation equations with symbolic widths, so its time should not
grow with the width; verification adds the symbolic witness and the composed witness on a copy
with widths capped at 3. The naive approach expands every weight and bias into a scalar symbol
at the real width, composes the per-sample loss into one expression and calls ``sympy.diff`` by
every parameter; it runs in a subprocess with a time budget (``> 60 s`` when it does not finish)
and is not attempted where a smaller network of the same width or depth already ran out of time.

Every network has ``depth`` layers of ``width`` units, hidden layers alternating relu and tanh,
a sigmoid output and the bce loss. SymPy's cache is cleared before each measurement, so no
network profits from the one measured before it.

First it prints the machine, NumPy's BLAS library with the kernel it chose and its threads, and a
warning for every environment variable that forces a kernel (``machine.py``).

    python benchmarks/derive_bench.py [--repeats 3] [--budget 60] [--smoke]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass

import sympy as sp
from machine import print_machine
from sympy.core.cache import clear_cache

from symbackprop import Network
from symbackprop.registry import N_OUT, YHAT, Y

DEPTHS = (2, 5, 10, 20)
WIDTHS = (4, 64, 4096)
#: The goals of the issue, in seconds, by depth.
GOALS = {10: 2.0, 20: 5.0}


def network(depth: int, width: int) -> Network:
    hidden = (["relu", "tanh"] * depth)[: depth - 1]
    return Network([width] * (depth + 1), [*hidden, "sigmoid"], "bce")


@dataclass(frozen=True)
class Timing:
    derive: float
    verify: float

    @property
    def total(self) -> float:
        return self.derive + self.verify


def time_ours(depth: int, width: int, repeats: int) -> Timing:
    """The best of ``repeats`` runs of derive and verify, each from a cleared cache."""
    best: Timing | None = None
    for _ in range(repeats):
        clear_cache()
        start = time.perf_counter()
        derivation = network(depth, width).derive()
        derived = time.perf_counter()
        report = derivation.verify()
        verified = time.perf_counter()
        if not report.ok:
            raise SystemExit(f"verification failed for depth {depth}, width {width}:\n{report.table()}")
        timing = Timing(derived - start, verified - derived)
        if best is None or timing.total < best.total:
            best = timing
    assert best is not None
    return best


def naive_gradient(net: Network) -> list[sp.Expr]:
    """∂L/∂θ for every weight and bias θ, from the loss composed over scalar symbols."""
    sizes = net.sizes
    activations = sp.Matrix([sp.Symbol(f"x_{j}", real=True) for j in range(sizes[0])])
    parameters: list[sp.Symbol] = []
    for k, activation in enumerate(net.activations, start=1):
        weights = sp.Matrix(sizes[k], sizes[k - 1], lambda i, j, k=k: sp.Symbol(f"w{k}_{i}_{j}", real=True))
        biases = sp.Matrix(sizes[k], 1, lambda i, j, k=k: sp.Symbol(f"b{k}_{i}", real=True))
        parameters += [*weights, *biases]
        activations = (weights * activations + biases).applyfunc(activation.at)
    targets = [sp.Symbol(f"y_{i}", real=True) for i in range(sizes[-1])]
    terms = [net.loss.term.xreplace({YHAT: activations[i], Y: targets[i]}) for i in range(sizes[-1])]
    loss = net.loss.scale.xreplace({N_OUT: sizes[-1]}) * sp.Add(*terms)
    return [sp.diff(loss, parameter) for parameter in parameters]


def time_naive(depth: int, width: int, budget: float) -> float | None:
    """Seconds of :func:`naive_gradient` in a fresh process, or ``None`` past the budget."""
    command = [sys.executable, __file__, "--naive-only", str(depth), str(width)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=budget, check=True)
    except subprocess.TimeoutExpired:
        return None
    return float(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours per network; the best counts")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds the naive approach may take")
    parser.add_argument("--smoke", action="store_true", help="depth 2 and 3, widths 2 and 3, a 1 s budget")
    parser.add_argument("--naive-only", nargs=2, type=int, metavar=("DEPTH", "WIDTH"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.naive_only:
        start = time.perf_counter()
        naive_gradient(network(*arguments.naive_only))
        print(time.perf_counter() - start)
        return

    print_machine()
    depths, widths, budget, repeats = DEPTHS, WIDTHS, arguments.budget, arguments.repeats
    if arguments.smoke:
        depths, widths, budget, repeats = (2, 3), (2, 3), 1.0, 1
    print(f"derive + verify (best of {repeats}) vs naive scalar expansion + sympy.diff (budget {budget:g} s)")
    print("hidden layers relu/tanh alternating, sigmoid output, bce; every layer `width` units\n")
    header = f"{'depth':>5}  {'width':>5}  {'derive s':>9}  {'verify s':>9}  {'total s':>8}  {'naive s':>9}  naive/ours"
    print(header)
    print("-" * len(header))
    time_ours(2, 4, 1)  # warm-up: the first run pays for SymPy's lazy imports
    out_of_time: set[tuple[int, int]] = set()
    totals: dict[tuple[int, int], float] = {}
    for depth in depths:
        for width in widths:
            ours = time_ours(depth, width, repeats)
            totals[depth, width] = ours.total
            smaller = any(d <= depth and w <= width for d, w in out_of_time)
            naive = None if smaller else time_naive(depth, width, budget)
            if naive is None:
                out_of_time.add((depth, width))
                naive_text, ratio = f"> {budget:g}", f"> {budget / ours.total:.0f}x"
                if smaller:
                    ratio += " (a smaller one ran out of time)"
            else:
                naive_text, ratio = f"{naive:.2f}", f"{naive / ours.total:.1f}x"
            print(
                f"{depth:>5}  {width:>5}  {ours.derive:>9.2f}  {ours.verify:>9.2f}  {ours.total:>8.2f}"
                f"  {naive_text:>9}  {ratio}",
                flush=True,
            )

    print()
    for depth in depths:
        row = [totals[depth, width] for width in widths]
        print(f"depth {depth:>2}: widest / narrowest = {row[-1] / row[0]:.2f} (width {widths[-1]} vs {widths[0]})")
    for depth, goal in GOALS.items():
        if depth in depths:
            worst = max(totals[depth, width] for width in widths)
            verdict = "met" if worst < goal else "MISSED"
            print(f"goal depth {depth} under {goal:g} s: {verdict} (slowest {worst:.2f} s)")


if __name__ == "__main__":
    main()
