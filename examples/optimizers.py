"""SGD, momentum and Adam, each with and without an L2 term, on the two-class wheat seeds data.

A 7-8-1 network (tanh, then a sigmoid output, cross-entropy) is generated twice: once plain and
once with the L2 term (λ/2) Σₖ ‖W⁽ᵏ⁾‖² in its loss, derived into its gradients (BP4 reads δaᵀ + λW).
Each of the six configurations (SGD, momentum, Adam; λ = 0 or ``--l2``) runs the generated
``train(..., optimizer=..., validation=...)`` from the same initial weights, on mini-batches of 16
with the same seed, so they differ only in the optimizer and the loss. train() holds out the same
``--validation`` fraction of the rows in every run; the features are standardised with the
statistics of the rows it trains on (``validation_split`` gives them).

The script prints a table of each run's final validation cross-entropy (the data term alone, so
runs with and without L2 compare; train's own "val_loss" adds the L2 penalty for an L2 network)
and validation accuracy, and writes ``validation.png``, the validation cross-entropy after every
epoch, into ``--out`` (default ``optimizers-output``). The data are those of
``wheat_seeds.py``, passed the same way with ``--data PATH`` (not shipped; without it the script
says where to get them and exits with status 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy  # noqa: E402
from matplotlib import pyplot  # noqa: E402
from wheat_seeds import EXPECTED, WHERE_TO_GET_IT, load_seeds  # noqa: E402

from symbackprop import Network, SymbackpropError  # noqa: E402
from symbackprop.codegen import generate_module, load_module  # noqa: E402

SIZES, ACTIVATIONS, LOSS = [7, 8, 1], ["tanh", "sigmoid"], "bce"
#: Each optimizer's learning rate: PyTorch's other defaults (momentum 0.9, Adam's betas and eps).
RATES = {"sgd": 0.1, "momentum": 0.02, "adam": 0.01}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the two-class seeds CSV: " + EXPECTED)
    parser.add_argument("--out", default="optimizers-output", help="folder for validation.png")
    parser.add_argument("--epochs", type=int, default=60, help="passes over the training rows (default: 60)")
    parser.add_argument("--l2", type=float, default=0.05, help="λ of the L2 runs (default: 0.05)")
    parser.add_argument("--validation", type=float, default=0.3, help="fraction held out (default: 0.3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the order")
    arguments = parser.parse_args()
    if arguments.data is None:
        print(WHERE_TO_GET_IT.replace("wheat_seeds.py", "optimizers.py"), file=sys.stderr)
        return 2
    if arguments.epochs < 1 or not arguments.l2 > 0 or not 0 < arguments.validation < 1:
        parser.error("--epochs must be at least 1, --l2 positive and --validation between 0 and 1")
    try:
        X, Y, _ = load_seeds(arguments.data)
    except SymbackpropError as error:
        print(f"optimizers.py: error: {error}\nExpected: {EXPECTED}.", file=sys.stderr)
        return 2

    modules = {l2: load_module(generate_module(Network(SIZES, ACTIVATIONS, LOSS, l2=l2))) for l2 in (0.0, arguments.l2)}
    plain = modules[0.0]
    training, held = plain.validation_split(X.shape[0], arguments.validation, arguments.seed)
    mean, std = X[training].mean(axis=0), X[training].std(axis=0)
    if (std == 0).any():
        print(
            f"optimizers.py: error: {arguments.data}: a feature column is constant in the training rows",
            file=sys.stderr,
        )
        return 2
    X = (X - mean) / std
    start = plain.init_params(arguments.seed)
    print(f"{X.shape[0]} seeds from {arguments.data}: {len(training)} to train on, {len(held)} held out")
    print(f"network {Network(SIZES, ACTIVATIONS, LOSS).compact}, mini-batches of 16, {arguments.epochs} epochs")

    curves: dict[str, list[float]] = {}
    accuracies: dict[str, float] = {}
    for optimizer, rate in RATES.items():
        for l2, module in modules.items():
            losses: list[float] = []

            def record(epoch, loss, params, module=module, losses=losses):  # type: ignore[no-untyped-def]
                losses.append(module.loss(module.predict(params, X[held]), Y[held]))

            params, _ = module.train(
                X,
                Y,
                epochs=arguments.epochs,
                lr=rate,
                batch_size=16,
                seed=arguments.seed,
                params={name: value.copy() for name, value in start.items()},
                callback=record,
                optimizer=optimizer,
                validation=arguments.validation,
            )
            name = f"{optimizer}, lr {rate:g}" + (f", L2 λ={l2:g}" if l2 else "")
            curves[name], accuracies[name] = losses, module.accuracy(params, X[held], Y[held])

    print("\n| run | validation cross-entropy | validation accuracy |")
    print("|---|---|---|")
    for name, losses in curves.items():
        print(f"| {name} | {losses[-1]:.4f} | {accuracies[name]:.3f} |")

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    epochs = numpy.arange(1, arguments.epochs + 1)
    for name, losses in curves.items():
        axes.plot(epochs, losses, "--" if "L2" in name else "-", label=name)
    axes.set(xlabel="epoch", ylabel="validation cross-entropy", yscale="log", title="held-out loss (data term)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "validation.png", dpi=120)
    print(f"\ncurves: {out / 'validation.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
