"""Binary classification of wheat seeds with a 7-2-1 sigmoid network and per-sample SGD.

Reproduces the experiment of the fourth reference tutorial ("A beginner's guide to deriving and
implementing backpropagation"): a 7-2-1 network with sigmoid units and the cross-entropy cost,
trained by stochastic gradient descent one sample at a time on the two-class subset of the UCI
"seeds" data set (Kama and Rosa wheat kernels, 70 of each, seven geometric measurements).

The data are public (Charytanowicz et al., 2010, CC BY 4.0) but not ours to ship: pass the CSV
with ``--data PATH``. It needs a header line, the 7 feature columns (area, perimeter,
compactness, kernel length, kernel width, asymmetry coefficient, groove length) and then a
``Class`` column holding 1 (Kama) or 2 (Rosa). The script splits the rows 70/30 with a fixed
seed, standardises the features with the training rows' mean and standard deviation, trains the
generated module and reports the test accuracy. It writes the trained weights into ``--out``
(default ``wheat-seeds-output``). Without ``--data``, or with a file it cannot use, it says what
is wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy

from symbackprop import Network, SymbackpropError
from symbackprop.codegen import generate_module, load_module
from symbackprop.training import load_csv

NETWORK = Network([7, 2, 1], ["sigmoid", "sigmoid"], "bce")
TARGET = "Class"
CLASSES = {1.0: "Kama", 2.0: "Rosa"}
TRAIN_FRACTION = 0.7
EXPECTED = f"a CSV file with a header line, 7 feature columns, then a '{TARGET}' column of 1 (Kama) or 2 (Rosa)"
WHERE_TO_GET_IT = f"""\
wheat_seeds.py: error: no data given (--data PATH).
This example trains on the two-class subset of the UCI "seeds" data set (Charytanowicz et al., 2010,
CC BY 4.0), which symbackprop does not ship. To make the file:
  1. download seeds_dataset.txt from https://archive.ics.uci.edu/dataset/236/seeds
     (210 rows, 7 whitespace-separated measurements, then the class 1, 2 or 3);
  2. keep the rows of classes 1 (Kama) and 2 (Rosa) and save them as CSV with a header line, e.g.
     Area,Perimeter,Compactness,Length of Kernel,Width of Kernel,Asymmetry Coefficient,Length of Kernel Groove,Class
  3. run: python examples/wheat_seeds.py --data wheat-seeds-binary.csv
Expected: {EXPECTED}."""


class DataFileError(SymbackpropError):
    """The CSV file does not hold the seeds data in the expected form."""


def load_seeds(path: str) -> tuple[numpy.ndarray, numpy.ndarray, list[str]]:
    """Features X (rows, 7), labels Y (rows, 1) in {0 (Kama), 1 (Rosa)} and the feature names."""
    X, classes, names = load_csv(path, [TARGET])
    if X.shape[1] != NETWORK.sizes[0]:
        raise DataFileError(
            f"{path}: {X.shape[1]} feature column(s) besides '{TARGET}' ({', '.join(names)}), expected 7"
        )
    unknown = ~numpy.isin(classes[:, 0], list(CLASSES))
    if unknown.any():
        row = int(numpy.flatnonzero(unknown)[0])
        raise DataFileError(
            f"{path}, line {row + 2}, column '{TARGET}': {classes[row, 0]:g} is not 1 (Kama) or 2 (Rosa)"
        )
    for value, name in CLASSES.items():
        if not (classes[:, 0] == value).any():
            raise DataFileError(f"{path}: no row of class {value:g} ({name}); a binary classifier needs both")
    if X.shape[0] < 10:
        raise DataFileError(f"{path}: {X.shape[0]} data rows; a 70/30 split needs at least 10")
    return X, (classes == 2.0).astype(numpy.float64), names


def split_and_standardise(X, Y, names, seed):
    """A 70/30 split of shuffled rows; features standardised with the training rows' statistics."""
    order = numpy.random.default_rng(seed).permutation(X.shape[0])
    cut = int(round(TRAIN_FRACTION * X.shape[0]))
    train, test = order[:cut], order[cut:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    if (std == 0).any():
        column = names[int(numpy.flatnonzero(std == 0)[0])]
        raise DataFileError(f"column '{column}' has the same value in every training row; it cannot be standardised")
    standardised = (X - mean) / std
    return standardised[train], Y[train], standardised[test], Y[test]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the two-class seeds CSV: " + EXPECTED)
    parser.add_argument("--out", default="wheat-seeds-output", help="folder for the trained weights")
    parser.add_argument("--epochs", type=int, default=100, help="passes over the training rows (default: 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the order")
    arguments = parser.parse_args()
    if arguments.data is None:
        print(WHERE_TO_GET_IT, file=sys.stderr)
        return 2
    if arguments.epochs < 1 or not arguments.lr > 0:
        parser.error("--epochs must be at least 1 and --lr positive")
    try:
        X, Y, names = load_seeds(arguments.data)
        X_train, Y_train, X_test, Y_test = split_and_standardise(X, Y, names, arguments.seed)
    except SymbackpropError as error:
        print(f"wheat_seeds.py: error: {error}\nExpected: {EXPECTED}.", file=sys.stderr)
        return 2

    print(
        f"{X.shape[0]} seeds from {arguments.data}: {int((Y == 0).sum())} Kama (class 1 -> 0),"
        f" {int((Y == 1).sum())} Rosa (class 2 -> 1)"
    )
    print(
        f"split 70/30 with seed {arguments.seed}: {len(X_train)} training rows, {len(X_test)} test rows;"
        " features standardised with the training rows' mean and standard deviation"
    )
    module = load_module(generate_module(NETWORK))
    params = module.init_params(arguments.seed)
    print(f"network {NETWORK.compact}, {module.PARAMETER_COUNT} parameters")
    print(f"test accuracy before training: {module.accuracy(params, X_test, Y_test):.3f}")
    print(f"per-sample SGD: {arguments.epochs} epochs of {len(X_train)} steps, learning rate {arguments.lr:g}")
    params, history = module.train(
        X_train, Y_train, epochs=arguments.epochs, lr=arguments.lr, batch_size=1, seed=arguments.seed, params=params
    )
    for epoch in sorted({1, *range(0, arguments.epochs + 1, max(arguments.epochs // 5, 1))} - {0}):
        print(f"  epoch {epoch:>4}  mean cross-entropy {history['loss'][epoch - 1]:.4f}")
    predicted = module.classify(params, X_test)
    correct = int((predicted == Y_test).sum())
    print(f"training accuracy: {module.accuracy(params, X_train, Y_train):.3f}")
    print(f"test accuracy: {correct / len(Y_test):.3f} ({correct} of {len(Y_test)} test seeds)")
    print("confusion on the test rows (rows: true class, columns: predicted):")
    print("          Kama  Rosa")
    for label, name in enumerate(CLASSES.values()):
        counts = [int(((Y_test[:, 0] == label) & (predicted[:, 0] == guess)).sum()) for guess in (0, 1)]
        print(f"  {name:<6}  {counts[0]:>4}  {counts[1]:>4}")
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    module.save(out / "weights.npz", params)
    print(f"\nweights: {out / 'weights.npz'} (load with the generated module's load())")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
