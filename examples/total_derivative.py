"""Total derivatives through a network, then a 2-4-3-1 classifier trained with a fixed step.

Reproduces the experiment of the first reference tutorial (the total derivative in neural
networks: a 3-4-2-2 MLP in index notation, back-propagation layer by layer, and a NumPy MLP
trained full-batch on a 2-D two-class data set):

1. derives back-propagation for the 3-4-2-2 network (relu, relu, sigmoid; sum of squared errors)
   and prints it layer by layer, then checks it against the textbook matrix rules and against
   the two slips of the tutorial's text (the sign of ∂L/∂ŷ and aₖ written for aₖ₋₁);
2. generates the NumPy module of the 2-4-3-1 classifier (relu, relu, sigmoid; binary
   cross-entropy) and trains it full-batch with a fixed learning rate on two concentric noisy
   circles made with NumPy: about 50% accuracy before training, above 80% after;
3. trains it again with learning rates that are too large: one where, as in the tutorial,
   accuracy climbs past 80% and then falls apart (one step too far leaves ReLUs dead for every
   point), and one where the weights overflow, which the generated ``train()`` stops with its
   ``TrainingDiverged`` error.

Run ``python examples/total_derivative.py [--out FOLDER]``; it writes the generated module, the
derivation and a plot of loss and accuracy per epoch into FOLDER (default
``total-derivative-output``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy
from matplotlib import pyplot

from symbackprop import TUTORIAL_MISTAKES, Network
from symbackprop.codegen import generate_module, load_module, write_atomic, write_module

#: Full-batch epochs of every run, and the step that trains well.
EPOCHS = 1000
GOOD_LR = 0.5
#: Three times the good step: like the tutorial's run, accuracy climbs past 80%, then falls apart.
UNSTABLE_LR = 1.5
#: Large enough that one update pushes the weights past what float64 can multiply.
OVERFLOW_LR = 1e80
SEED = 0


def concentric_circles(samples: int, *, noise: float = 0.1, factor: float = 0.5, seed: int = 0):
    """Two noisy concentric circles (radius 1: class 0, radius ``factor``: class 1), like
    scikit-learn's make_circles; X has shape (samples, 2), Y has shape (samples, 1)."""
    rng = numpy.random.default_rng(seed)
    labels = numpy.arange(samples) >= samples // 2
    angles = rng.uniform(0.0, 2.0 * numpy.pi, samples)
    radii = numpy.where(labels, factor, 1.0)
    X = numpy.stack([radii * numpy.cos(angles), radii * numpy.sin(angles)], axis=1)
    X += rng.normal(0.0, noise, X.shape)
    order = rng.permutation(samples)
    return X[order], labels[order].astype(numpy.float64).reshape(-1, 1)


def train_and_watch(module, X, Y, lr: float):
    """Full-batch training from the same initial weights; the loss and accuracy of every epoch."""
    accuracies: list[float] = []
    params, history = module.train(
        X,
        Y,
        epochs=EPOCHS,
        lr=lr,
        batch_size=None,
        params=module.init_params(SEED),
        callback=lambda epoch, loss, current: accuracies.append(module.accuracy(current, X, Y)),
    )
    return params, history["loss"], accuracies


def dead_units(module, params, X) -> str:
    """How many units of each hidden layer output zero for every row of X."""
    _, cache = module.forward(params, X)
    counts = [
        f"{int((~cache[f'A{k}'].any(axis=0)).sum())} of {size} units of layer {k}"
        for k, size in enumerate(module.SIZES[1:-1], start=1)
    ]
    return ", ".join(counts)


def print_progress(losses: list[float], accuracies: list[float], every: int = 200) -> None:
    for epoch in [1, *range(every, EPOCHS + 1, every)]:
        print(f"  epoch {epoch:>4}  loss {losses[epoch - 1]:.4f}  accuracy {accuracies[epoch - 1]:.3f}")


def plot_runs(path: Path, runs: dict[str, tuple[list[float], list[float]]]) -> None:
    figure, (loss_axis, accuracy_axis) = pyplot.subplots(1, 2, figsize=(10, 3.5))
    for label, (losses, accuracies) in runs.items():
        epochs = range(1, len(losses) + 1)
        loss_axis.plot(epochs, losses, label=label)
        accuracy_axis.plot(epochs, accuracies, label=label)
    for axis, name in ((loss_axis, "mean cross-entropy"), (accuracy_axis, "accuracy")):
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle("2-4-3-1 relu, relu, sigmoid, full-batch gradient descent")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="total-derivative-output", help="folder for the files written")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    print("== 1. The total derivative, layer by layer, for a 3-4-2-2 network ==\n")
    derivation = Network([3, 4, 2, 2], ["relu", "relu", "sigmoid"], "sse").derive()
    print(derivation.pretty())
    write_atomic(out / "derivation_3_4_2_2.txt", derivation.pretty() + "\n")
    print("\nChecked against the textbook matrix rules:\n")
    print(derivation.verify().table())
    print("\nChecked against the matrix rules as the tutorial's text states them:\n")
    print(derivation.verify(TUTORIAL_MISTAKES).table())

    print("\n== 2. The 2-4-3-1 classifier, trained full-batch with a fixed learning rate ==\n")
    classifier = Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce")
    source = generate_module(classifier, output_name="mlp_2_4_3_1_bce.py")
    write_module(out / "mlp_2_4_3_1_bce.py", source, force=True)
    module = load_module(source)
    X, Y = concentric_circles(1000, seed=SEED)
    print(f"data: {X.shape[0]} points on two noisy concentric circles, {int(Y.sum())} of them in class 1")
    print(f"accuracy before training: {module.accuracy(module.init_params(SEED), X, Y):.3f}")
    print(f"training {classifier.compact}, {EPOCHS} epochs, learning rate {GOOD_LR}")
    params, losses, accuracies = train_and_watch(module, X, Y, GOOD_LR)
    print_progress(losses, accuracies)
    print(f"accuracy after training: {accuracies[-1]:.3f}")
    print(f"dead ReLUs after training (zero for every point): {dead_units(module, params, X)}")
    runs = {f"lr {GOOD_LR:g}": (losses, accuracies)}

    print("\n== 3. Learning rates that are too large ==\n")
    print(f"learning rate {UNSTABLE_LR:g}, three times larger:")
    unstable, losses, accuracies = train_and_watch(module, X, Y, UNSTABLE_LR)
    print_progress(losses, accuracies, every=100)
    best = max(range(EPOCHS), key=accuracies.__getitem__)
    print(f"best accuracy {accuracies[best]:.3f} at epoch {best + 1}, final accuracy {accuracies[-1]:.3f}")
    print(f"dead ReLUs after training (zero for every point): {dead_units(module, unstable, X)}")
    print(
        "The loss stays finite, because the generated module computes cross-entropy from the logits;"
        " so train() has nothing to stop."
    )
    runs[f"lr {UNSTABLE_LR:g}"] = (losses, accuracies)
    print(f"\nlearning rate {OVERFLOW_LR:g}, where the weights overflow float64:")
    try:
        train_and_watch(module, X, Y, OVERFLOW_LR)
    except module.TrainingDiverged as error:
        print(f"  train() stopped: {type(error).__name__}: {error}")
    else:
        print("  train() finished without diverging")
        return 1

    plot_runs(out / "training.png", runs)
    print(f"\nfiles in {out}/: derivation_3_4_2_2.txt, mlp_2_4_3_1_bce.py, training.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
