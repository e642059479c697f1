"""Total derivatives through a network, then a 2-4-3-1 classifier trained with a fixed step.

Reproduces the experiment of the first reference tutorial (the total derivative in neural
networks: a 3-4-2-2 MLP in index notation, back-propagation layer by layer, and a NumPy MLP
trained full-batch on a 2-D two-class data set):

1. derives back-propagation for the 3-4-2-2 network (relu, relu, sigmoid; sum of squared errors)
   and prints it layer by layer, then checks it against the textbook matrix rules and against
   the two slips of the tutorial's text (the sign of ∂L/∂ŷ and aₖ written for aₖ₋₁);
2. generates the NumPy module of the 2-4-3-1 classifier (relu, relu, sigmoid; binary
   cross-entropy) and trains it full-batch with a small fixed learning rate on two concentric
   noisy circles made with NumPy: 50% accuracy before training, above 99% after, the loss
   falling at every epoch;
3. trains it again from the same weights with learning rates that are far too large: one where
   the loss jumps a thousandfold within a few epochs and stays there (the ReLUs of layer 2 are
   dead for every point, so accuracy sits at 50%), and one where the weights overflow, which the
   generated ``train()`` stops with its ``TrainingDiverged`` error.

Every learning rate is far from the edge of stability (the loss first rises at some epoch from a
step of about 1), and the seed gives initial weights that leave no point at a ReLU's kink or at
the output's threshold of 1/2, so the outcomes do not hinge on rounding: perturbing the initial
weights by 1e-12, or running BLAS with other threads or kernels, gives the same figures.

Run ``python examples/total_derivative.py [--out FOLDER]``; it writes the generated module, the
derivation and a plot of loss and accuracy per epoch into FOLDER (default
``total-derivative-output``).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy
from matplotlib import pyplot

from symbackprop import TUTORIAL_MISTAKES, Network
from symbackprop.codegen import generate_module, load_module, write_module
from symbackprop.files import write_atomic

#: Full-batch epochs of every run.
EPOCHS = 1000
#: The step that trains well: ten times smaller than the step (about 1) from which the loss
#: starts to rise at some epochs, so that it falls at every one.
GOOD_LR = 0.1
#: A hundred thousand times the good step: the first updates push the pre-activations of layer 2
#: thousands below zero, its ReLUs die for every point and the loss stays a thousandfold up.
DIVERGING_LR = 1e4
#: Large enough that the weights overflow float64 within a few updates.
OVERFLOW_LR = 1e80
#: The seed of the data and of the initial weights: with it, every hidden unit is alive for some
#: point, none sits at its kink (z = 0) and no output sits at the threshold 1/2, with a margin
#: far beyond rounding (zero biases put points exactly at the kink for many other seeds).
SEED = 15


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
    """Full-batch training from the same initial weights: the parameters it ends with, the loss
    and accuracy of every epoch, and the ``TrainingDiverged`` error that stopped it (parameters
    None), or None when it ran every epoch."""
    losses: list[float] = []
    accuracies: list[float] = []

    def watch(epoch: int, loss: float, current) -> None:
        losses.append(loss)
        accuracies.append(module.accuracy(current, X, Y))

    try:
        params, _ = module.train(
            X, Y, epochs=EPOCHS, lr=lr, batch_size=None, params=module.init_params(SEED), callback=watch
        )
    except module.TrainingDiverged as error:
        return None, losses, accuracies, error
    return params, losses, accuracies, None


def print_progress(losses: list[float], accuracies: list[float], epochs) -> None:
    for epoch in epochs:
        print(f"  epoch {epoch:>4}  loss {losses[epoch - 1]:<10.4g}  accuracy {accuracies[epoch - 1]:.3f}")


def plot_runs(path: Path, runs: dict[str, tuple[list[float], list[float]]]) -> None:
    figure, (loss_axis, accuracy_axis) = pyplot.subplots(1, 2, figsize=(10, 3.5))
    for label, (losses, accuracies) in runs.items():
        epochs = range(1, len(losses) + 1)
        loss_axis.plot(epochs, losses, label=label)
        accuracy_axis.plot(epochs, accuracies, label=label)
    loss_axis.set_yscale("log")
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
    print(f"training {classifier.compact}, {EPOCHS} epochs, learning rate {GOOD_LR:g}")
    _, losses, accuracies, _ = train_and_watch(module, X, Y, GOOD_LR)
    print_progress(losses, accuracies, [1, *range(200, EPOCHS + 1, 200)])
    print(f"accuracy after training: {accuracies[-1]:.3f}")
    rises = sum(later > earlier for earlier, later in itertools.pairwise(losses))
    print(f"epochs where the loss rose: {rises} of {EPOCHS}")
    runs = {f"lr {GOOD_LR:g}": (losses, accuracies)}

    print("\n== 3. Learning rates that are far too large ==\n")
    print(f"learning rate {DIVERGING_LR:g}, {DIVERGING_LR / GOOD_LR:,.0f} times larger:")
    params, losses, accuracies, _ = train_and_watch(module, X, Y, DIVERGING_LR)
    print_progress(losses, accuracies, [1, 2, 3, 4, 5, *range(200, EPOCHS + 1, 200)])
    print(
        f"loss growth: the loss of every epoch from the 10th on is at least"
        f" {min(losses[9:]) / losses[0]:.0f} times that of the first"
    )
    _, cache = module.forward(params, X)
    print(
        f"largest pre-activation of layer 2 over all points: {cache['Z2'].max():.0f}, so its ReLUs output zero"
        f" for every point and the network one constant: final accuracy {accuracies[-1]:.3f}"
    )
    print(
        "The loss stays finite, because the generated module computes cross-entropy from the logits;"
        " so train() has nothing to stop."
    )
    runs[f"lr {DIVERGING_LR:g}"] = (losses, accuracies)
    print(f"\nlearning rate {OVERFLOW_LR:g}, where the weights overflow float64:")
    _, losses, accuracies, error = train_and_watch(module, X, Y, OVERFLOW_LR)
    print_progress(losses, accuracies, range(1, len(losses) + 1))
    if error is None:
        print("  train() finished without diverging")
        return 1
    print(f"  train() stopped: {type(error).__name__}: {error}")

    plot_runs(out / "training.png", runs)
    print(f"\nfiles in {out}/: derivation_3_4_2_2.txt, mlp_2_4_3_1_bce.py, training.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
