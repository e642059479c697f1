"""From one neuron to a deep network, each trained by the module symbackprop generates.

Reproduces the experiments of the second reference tutorial ("Backpropagation in Neural
Networks: from scratch including math and python code"):

1. a single linear neuron with 3 inputs and the mean squared error, on data whose target is the
   first feature, so the weights should go to (1, 0, 0) and the bias to 0; trained full-batch,
   by per-sample SGD and by mini-batches, with the weights, the bias and the loss plotted over
   training (PNG);
2. the learning rate at which full-batch descent on that neuron stops converging, computed from
   the data (2 / the largest eigenvalue of the loss's Hessian), and the generated ``train()``
   stopping with its ``TrainingDiverged`` error above it;
3. the same neuron with tanh, sigmoid and relu;
4. a deep network (3-8-4-1 tanh, tanh, identity) on the same task, with the output layer's
   weights and bias plotted.

Run ``python examples/one_neuron_to_deep.py [--out FOLDER]``; the plots go into FOLDER (default
``one-neuron-output``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy
from matplotlib import pyplot

from symbackprop import Network
from symbackprop.codegen import generate_module, load_module

SEED = 0
SAMPLES = 200
#: A sample the networks never see in training; its target is its first feature.
TEST_SAMPLE = numpy.array([[0.8, 0.3, 0.6]])
#: batch size (None: the whole data set), learning rate and epochs of each way of training.
MODES = {
    "full-batch": (None, 0.5, 200),
    "per-sample SGD": (1, 0.05, 30),
    "mini-batch (16 rows)": (16, 0.2, 60),
}


def first_feature_data(samples: int, seed: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """X uniform in [0, 1]³ and Y = its first column, shape (samples, 1)."""
    X = numpy.random.default_rng(seed).uniform(0.0, 1.0, (samples, 3))
    return X, X[:, :1].copy()


def train_recording(module, X, Y, *, batch_size, lr, epochs):
    """Train from the module's own initial weights; the last layer's weights and bias after every epoch."""
    last = module.PARAMETER_NAMES[-2:]
    trace: dict[str, list[numpy.ndarray]] = {name: [] for name in last}

    def record(epoch, loss, params):
        for name in last:
            trace[name].append(params[name].ravel().copy())

    params, history = module.train(
        X, Y, epochs=epochs, lr=lr, batch_size=batch_size, seed=SEED, params=module.init_params(SEED), callback=record
    )
    return params, history["loss"], {name: numpy.array(values) for name, values in trace.items()}


def plot_runs(path: Path, title: str, runs: dict[str, tuple[list[float], dict[str, numpy.ndarray]]]) -> None:
    """One row per run: the output layer's weights, its bias and the loss, per epoch."""
    height = 2.7 * len(runs) + 0.9
    figure, axes = pyplot.subplots(len(runs), 3, figsize=(13, height), squeeze=False)
    for row, (label, (losses, trace)) in zip(axes, runs.items(), strict=True):
        weight_name, bias_name = list(trace)
        epochs = numpy.arange(1, len(losses) + 1)
        for column in range(trace[weight_name].shape[1]):
            row[0].plot(epochs, trace[weight_name][:, column], label=f"w{column + 1}")
        row[0].set_title(f"{label}: weights ({weight_name})", fontsize=10)
        row[0].legend(fontsize=8)
        row[1].plot(epochs, trace[bias_name][:, 0])
        row[1].set_title(f"bias ({bias_name})", fontsize=10)
        row[2].plot(epochs, losses)
        row[2].set_yscale("log")
        row[2].set_title("loss (mean squared error)", fontsize=10)
        for axis in row:
            axis.set_xlabel("epoch")
            axis.grid(alpha=0.3)
    figure.suptitle(title)
    # Fixed margins: tight_layout would measure every label and take most of the run time.
    figure.subplots_adjust(left=0.06, right=0.98, bottom=0.5 / height, top=1 - 0.75 / height, hspace=0.55)
    figure.savefig(path, dpi=80)
    pyplot.close(figure)


def report(name: str, module, params, losses) -> None:
    weights = ", ".join(f"{value:+.3f}" for value in params[module.PARAMETER_NAMES[-2]].ravel())
    bias = float(params[module.PARAMETER_NAMES[-1]][0])
    prediction = float(module.predict(params, TEST_SAMPLE)[0, 0])
    print(f"  {name}")
    print(
        f"    weights ({weights})  bias {bias:+.3f}  loss {losses[-1]:.2e}"
        f"  predicts {prediction:.3f} for {TEST_SAMPLE[0].tolist()} (true {TEST_SAMPLE[0, 0]})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="one-neuron-output", help="folder for the plots")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    X, Y = first_feature_data(SAMPLES, SEED)
    runs: dict[str, tuple[list[float], dict[str, numpy.ndarray]]] = {}

    print("== 1. One linear neuron, three ways of descending ==\n")
    neuron = Network([3, 1], "identity", "mse")
    derivation = neuron.derive()
    print(derivation.pretty())
    module = load_module(generate_module(derivation))
    print(f"\n{SAMPLES} samples, 3 features uniform in [0, 1], target = the first feature")
    for mode, (batch_size, lr, epochs) in MODES.items():
        params, losses, trace = train_recording(module, X, Y, batch_size=batch_size, lr=lr, epochs=epochs)
        label = f"{mode}, lr {lr:g}, {epochs} epochs"
        report(label, module, params, losses)
        runs[label] = (losses, trace)
    plot_runs(out / "neuron_descent.png", "a linear neuron, target = the first feature", runs)

    print("\n== 2. The largest stable learning rate of full-batch descent ==\n")
    inputs = numpy.hstack([X, numpy.ones((SAMPLES, 1))])
    # The mean squared error of a linear neuron is quadratic in (w, b) with Hessian 2 XᵀX / m.
    curvature = numpy.linalg.eigvalsh(2.0 * inputs.T @ inputs / SAMPLES).max()
    limit = 2.0 / curvature
    print(f"largest eigenvalue of the Hessian {curvature:.3f}: descent converges for lr < 2/λ = {limit:.3f}")
    for lr in (0.5, 1.0):
        try:
            _, history = module.train(X, Y, epochs=500, lr=lr, seed=SEED)
        except module.TrainingDiverged as error:
            print(f"  lr {lr:g}: train() stopped: {type(error).__name__}: {error}")
        else:
            print(f"  lr {lr:g}: converged, loss {history['loss'][-1]:.2e} after 500 epochs")

    print("\n== 3. One neuron with an activation ==\n")
    batch_size, lr, epochs = 16, 0.5, 200
    runs = {}
    for activation in ("tanh", "sigmoid", "relu"):
        module = load_module(generate_module(Network([3, 1], activation, "mse")))
        params, losses, trace = train_recording(module, X, Y, batch_size=batch_size, lr=lr, epochs=epochs)
        report(activation, module, params, losses)
        runs[activation] = (losses, trace)
    plot_runs(out / "neuron_activations.png", f"one neuron, mini-batch {batch_size}, lr {lr:g}, {epochs} epochs", runs)

    print("\n== 4. A deep network ==\n")
    deep = Network([3, 8, 4, 1], ["tanh", "tanh", "identity"], "mse")
    module = load_module(generate_module(deep))
    params, losses, trace = train_recording(module, X, Y, batch_size=batch_size, lr=0.1, epochs=epochs)
    print(f"  {deep.compact}, {module.PARAMETER_COUNT} parameters, mini-batch {batch_size}, lr 0.1")
    report("deep network", module, params, losses)
    plot_runs(out / "deep_network.png", deep.compact, {"output layer": (losses, trace)})

    print(f"\nplots in {out}/: neuron_descent.png, neuron_activations.png, deep_network.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
