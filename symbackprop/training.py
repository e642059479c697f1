"""Training a generated module from the command line: data, validation, progress and outputs.

Contract
--------
* :func:`load_csv` reads a CSV file with a header into features X and targets Y (the ``target``
  columns: a list of names, or one name as a str), refusing what is not a regular file (a device
  or a FIFO would be read forever), an empty file, a wrong column count, non-numeric cells and
  NaN or infinity, and target names that are missing, repeated, absent from the header or all of
  its columns.
* :func:`prepare_targets` checks the targets against the loss: labels in {0, 1} for bce; one-hot
  rows for cce, or class indices 0..n-1, which are one-hot encoded; numbers for the others. A bad
  value is reported with its data row (1-based, the header not counted).
* :func:`run_training` generates the module in memory, trains it and writes ``weights.npz`` (with
  the optimizer's state), ``history.csv`` (or ``history.json``) and ``history.png`` (loss and
  accuracy per epoch, and the held-out rows' with ``validation``; the learning rate with a
  schedule) into the output folder, each atomically. ``validation`` and ``patience`` and the
  other options of the generated ``train()`` (optimizer, momentum, betas, eps, weight_decay,
  schedule, step_size, gamma) pass through to it; with ``validation`` the accuracy is the
  training rows', and a run that patience stops says so, naming the epoch whose weights it kept.
  Files are written a Ctrl-C leaves each of them whole or absent, and a run that
  fails removes the output folder again when it made it and it is still empty. Data whose loss
  is not finite at the initial weights (values too large) is refused before training, naming the
  data; NumPy's floating-point warnings never reach stderr (divergence is detected from the
  loss, and reported as an error). It draws a
  progress bar only when stderr is a terminal, and otherwise prints the report lines alone. A
  batch larger than the data is an error, not a silent switch to full-batch descent.
* Every bad input raises :class:`TrainingError` naming the command-line option it came from
  (``--data``, ``--target``, ``--epochs``, ...), which the Python arguments of the same names mirror.
* :func:`two_class_data` makes the demo's data set at run time: two interleaved half-moons in 2-D.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from .codegen import generate_module, load_module
from .errors import SymbackpropError
from .files import interrupts_deferred, outputs_folder, special_kind, write_atomic
from .kinds import TargetsError
from .spec import Network


class TrainingError(SymbackpropError):
    """Training data, options or the training run itself are not usable."""


def load_csv(path: str | Path, targets: str | Sequence[str]) -> tuple[numpy.ndarray, numpy.ndarray, list[str]]:
    """(X, Y, feature names) from a CSV file whose header names the columns; ``targets`` names the
    target columns (a str is one column's name)."""
    if isinstance(targets, str):
        targets = [targets]
    elif not isinstance(targets, Sequence) or not all(isinstance(name, str) for name in targets):
        raise TrainingError(f"--target: expected column names (a list of str), got {targets!r:.60}")
    path = Path(path)
    kind = special_kind(path)
    if kind is not None:
        raise TrainingError(f"--data: {path} is {kind}, not a CSV file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrainingError(f"--data: {path}: no such file") from None
    except OSError as error:
        raise TrainingError(f"--data: {path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise TrainingError(f"--data: {path}: cannot read it as UTF-8 text ({error.reason})") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise TrainingError(f"--data: {path}: not a CSV file ({error})") from None
    if not rows:
        raise TrainingError(f"--data: {path}: the file is empty; expected a header line and rows of numbers")
    header = [name.strip() for name in rows[0]]
    # The targets first: a file without a header line has numbers there, often repeated.
    _check_target_names(targets, header, path)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise TrainingError(f"--data: {path}: the header names {', '.join(map(repr, repeated))} more than once")
    if len(rows) == 1:
        raise TrainingError(f"--data: {path}: the file has a header but no data rows")
    values = numpy.empty((len(rows) - 1, len(header)))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise TrainingError(
                f"--data: {path}, line {line}: {len(row)} values, but the header has {len(header)} columns"
            )
        for column, cell in enumerate(row):
            where = f"--data: {path}, line {line}, column '{header[column]}'"
            try:
                value = float(cell)
            except ValueError:
                raise TrainingError(f"{where}: {cell.strip()!r} is not a number") from None
            if not math.isfinite(value):
                raise TrainingError(f"{where}: {cell.strip()} is not finite")
            values[line - 2, column] = value
    target_columns = [header.index(name) for name in targets]
    feature_columns = [c for c in range(len(header)) if c not in target_columns]
    return values[:, feature_columns], values[:, target_columns], [header[c] for c in feature_columns]


def _check_target_names(targets: Sequence[str], header: list[str], path: Path) -> None:
    """The --target names: at least one, each once, each a column, and not every column."""
    if not targets:
        raise TrainingError(f"--target: no column given; name the column(s) of {path} to predict, like {header[-1]}")
    repeated = sorted({name for name in targets if list(targets).count(name) > 1})
    if repeated:
        raise TrainingError(f"--target: {', '.join(repeated)} named twice; name each target column once")
    missing = [name for name in targets if name not in header]
    if missing:
        raise TrainingError(
            f"--target: {path} has no column named {', '.join(missing)} (its columns: {', '.join(header)})"
        )
    if len(set(header) - set(targets)) == 0:
        raise TrainingError(f"--target: names every column of {path}; none is left for the features")


def prepare_targets(Y: numpy.ndarray, network: Network, where: str = "targets") -> numpy.ndarray:
    """Y checked against the loss's kind of targets, class indices one-hot encoded for cce;
    ``where`` names them in errors (the command line says which --target columns of which file)."""
    try:
        return _prepare(Y, network)
    except TargetsError as error:
        raise TrainingError(f"{where}: {error}{_bad_row(Y, network, str(error))}") from None


def _prepare(Y: numpy.ndarray, network: Network) -> numpy.ndarray:
    return network.loss.targets.prepare(Y, network.sizes[-1], network.loss.name)


def _bad_row(Y: numpy.ndarray, network: Network, message: str) -> str:
    """ " (data row N)" for the first row whose targets alone are refused, when the error is about
    values (no rows at all pass the same checks) and does not name its row already."""
    if "row" in message:
        return ""
    try:
        _prepare(Y[:0], network)
    except TargetsError:  # refused without a single value: the columns, not a row
        return ""
    for index in range(Y.shape[0]):
        try:
            _prepare(Y[index : index + 1], network)
        except TargetsError:
            return f" (data row {index + 1})"
    return ""


def check_features(X: numpy.ndarray, network: Network, where: str = "X", columns: Sequence[str] = ()) -> None:
    """X has one column per input of the network; ``where`` and the ``columns``' names go in the error."""
    if X.shape[1] != network.sizes[0]:
        named = f" ({', '.join(columns)}: the columns --target does not name)" if columns else ""
        raise TrainingError(
            f"{where}: {X.shape[1]} feature column(s){named}, but the network has {network.sizes[0]} input(s)"
        )


@dataclass(frozen=True)
class TrainingResult:
    params: dict[str, numpy.ndarray]
    history: dict[str, list[float]]
    files: dict[str, Path]
    accuracy_before: float | None
    accuracy_after: float | None
    #: The epoch whose weights a run with ``patience`` kept (the lowest validation loss), else None.
    best_epoch: int | None = None


def write_history_csv(path: Path, history: dict[str, list[float]]) -> None:
    columns = list(history)
    lines = [",".join(columns)]
    lines += [",".join(f"{history[c][row]:.10g}" for c in columns) for row in range(len(history["epoch"]))]
    write_atomic(path, "\n".join(lines) + "\n")


def write_history_json(path: Path, history: dict[str, list[float]]) -> None:
    """The history as one JSON object of columns, {"epoch": [...], "loss": [...], ...}."""
    write_atomic(path, json.dumps(history, indent=1) + "\n")


#: How each history format is written, by its name (the file's extension).
HISTORY_WRITERS: dict[str, Callable[[Path, dict[str, list[float]]], None]] = {
    "csv": write_history_csv,
    "json": write_history_json,
}


def write_plot(path: Path, history: dict[str, list[float]], title: str) -> None:
    """Loss, and accuracy and learning rate when known, per epoch as a PNG, written atomically: the
    held-out rows' beside the training rows', and the epoch whose weights were kept marked."""
    # An interrupt in the middle of matplotlib's C extensions' initialisation crashes the
    # interpreter at exit ("Fatal Python error: PyThreadState_Get"): it waits for the import.
    with interrupts_deferred():
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

    panels = [name for name in ("loss", "accuracy", "lr") if name in history]
    figure, axes = pyplot.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    kept = [epoch for epoch, best in zip(history["epoch"], history.get("best", []), strict=False) if best]
    for axis, name in zip(axes[0], panels, strict=True):
        held_out = f"val_{name}" in history
        axis.plot(history["epoch"], history[name], label="training" if held_out else None)
        if held_out:
            axis.plot(history["epoch"], history[f"val_{name}"], label="validation")
            axis.legend()
        for epoch in kept:
            axis.axvline(epoch, color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel("epoch")
        axis.set_ylabel("learning rate" if name == "lr" else name)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    pyplot.close(figure)
    write_atomic(path, buffer.getvalue())


def loss_text(loss: float) -> str:
    """A loss as the progress lines show it: six decimals, or six digits and an exponent when it
    is so large (a run on its way to diverging) that fixed decimals would print hundreds of digits."""
    return f"{loss:.6f}" if abs(loss) < 1e6 else f"{loss:.6e}"


def run_training(
    network: Network,
    X: numpy.ndarray,
    Y: numpy.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int | None,
    out: str | Path,
    seed: int = 0,
    report_every: int = 1,
    history_format: str = "csv",
    progress: bool = True,
    echo: Callable[[str], None] = print,
    data: str = "",
    validation: float | None = None,
    patience: int | None = None,
    **train_options: Any,
) -> TrainingResult:
    """Train the generated module of ``network`` on (X, Y) and write its outputs into ``out``;
    ``data`` names X and Y in errors (the command line: ``--data FILE``). ``validation``,
    ``patience`` and ``train_options`` (optimizer, momentum, betas, eps, weight_decay, schedule,
    step_size, gamma) are the generated train()'s; an error in one names its option (--momentum)."""
    if epochs < 1:
        raise TrainingError(f"--epochs: must be at least 1, got {epochs}")
    if batch_size is not None and batch_size < 1:
        raise TrainingError(f"--batch-size: must be at least 1 (omit it for full-batch descent), got {batch_size}")
    if batch_size is not None and batch_size > X.shape[0]:
        raise TrainingError(
            f"--batch-size: {batch_size} is more than the {X.shape[0]} rows of the data;"
            f" give at most {X.shape[0]}, or omit it for full-batch descent"
        )
    if not (lr > 0 and math.isfinite(lr)):
        raise TrainingError(f"--lr: must be a positive number, got {lr}")
    if report_every < 1:
        raise TrainingError(f"--report-every: must be at least 1, got {report_every}")
    if seed < 0:
        raise TrainingError(f"--seed: must be a non-negative integer, got {seed}")
    if history_format not in HISTORY_WRITERS:
        raise TrainingError(f"--history-format: one of {', '.join(HISTORY_WRITERS)}, got {history_format!r}")
    check_features(X, network, where=data or "X")
    Y = prepare_targets(Y, network, where=data or "Y")
    # NumPy's overflow warnings would land on stderr: a loss that is not finite is the signal, and
    # it becomes an error naming its cause.
    with outputs_folder(out) as folder, numpy.errstate(all="ignore"):
        module = load_module(generate_module(network))
        classifier = hasattr(module, "accuracy")
        params = module.init_params(seed, X.dtype if numpy.issubdtype(X.dtype, numpy.floating) else numpy.float64)
        initial_loss = module.loss_and_grads(params, X, Y)[0]
        if not math.isfinite(initial_loss):
            raise TrainingError(
                f"{data or 'X'}: the loss at the initial weights is already {initial_loss}, before any step: values too"
                f" large for {X.dtype} arithmetic (the largest |x| is {numpy.max(numpy.abs(X)):.3g});"
                " scale the features, for instance to mean 0 and standard deviation 1"
            )
        accuracy_before = module.accuracy(params, X, Y) if classifier else None
        accuracies: list[float] = []
        bar = _progress(epochs, progress, echo)
        # The rows train() trains on and holds out: the same split, from the same function and seed.
        kept, held = (
            module.validation_split(X.shape[0], validation, seed)
            if isinstance(validation, float) and 0 < validation < 1 and X.shape[0] > 1
            else (slice(None), None)
        )

        def report(epoch: int, loss: float, current: dict[str, Any]) -> None:
            line = f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {loss_text(loss)}"
            if classifier:
                accuracies.append(module.accuracy(current, X[kept], Y[kept]))
                line += f"  accuracy {accuracies[-1]:.3f}"
            if held is not None:
                # What train() records as val_loss: the loss loss_and_grads gives (its L2 term included).
                line += f"  val_loss {loss_text(module.loss_and_grads(current, X[held], Y[held])[0])}"
                if classifier:
                    line += f"  val_accuracy {module.accuracy(current, X[held], Y[held]):.3f}"
            bar.update(1)
            bar.set_postfix_str(line.split("  ", 1)[1])
            if epoch % report_every == 0 or epoch == epochs:
                bar.write(line)

        state: dict[str, Any] = {}
        try:
            params, trained = module.train(
                X,
                Y,
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                seed=seed,
                params=params,
                callback=report,
                validation=validation,
                patience=patience,
                state=state,
                **train_options,
            )
        except module.TrainingDiverged as error:
            raise TrainingError(f"{error} (--lr)") from None
        except ValueError as error:
            raise TrainingError(f"{_option_of(str(error)) or data or 'data'}: {error}") from None
        finally:
            bar.close()
        # The training rows' columns first, then the held-out rows', the learning rate and the best epoch.
        history = {
            "epoch": trained["epoch"],
            "loss": trained["loss"],
            **({"accuracy": accuracies} if classifier else {}),
        }
        history.update(trained)
        best = history.get("best", [])
        best_epoch = next((int(epoch) for epoch, flag in zip(history["epoch"], best, strict=False) if flag), None)
        if patience is not None:
            echo(_stopping_line(history, epochs, patience, best_epoch))
        files = {
            "weights": folder / "weights.npz",
            "history": folder / f"history.{history_format}",
            "plot": folder / "history.png",
        }
        _save_weights(module, files["weights"], params, state)
        HISTORY_WRITERS[history_format](files["history"], history)
        write_plot(files["plot"], history, network.compact)
        return TrainingResult(
            params=params,
            history=history,
            files=files,
            accuracy_before=accuracy_before,
            accuracy_after=module.accuracy(params, X[kept], Y[kept]) if classifier else None,
            best_epoch=best_epoch,
        )


#: The generated train()'s arguments that are command-line options of ``train`` (--batch-size).
_TRAIN_OPTIONS = frozenset(
    ("epochs", "lr", "batch_size", "seed", "optimizer", "momentum", "betas", "eps", "weight_decay")
    + ("schedule", "step_size", "gamma", "validation", "patience")
)


def _option_of(message: str) -> str:
    """The option behind a message of the generated train() that starts with its argument's name."""
    name = re.match(r"\w+", message)
    return f"--{name[0].replace('_', '-')}" if name and name[0] in _TRAIN_OPTIONS else ""


def _stopping_line(history: dict[str, list[float]], epochs: int, patience: int, best_epoch: int | None) -> str:
    """What a run with patience did: stopped early or ran every epoch, and which weights it kept."""
    last = int(history["epoch"][-1])
    if best_epoch is None:
        kept = "kept the initial weights: the validation loss was never finite"
    else:
        best = history["val_loss"][history["epoch"].index(best_epoch)]
        kept = f"kept the weights of epoch {best_epoch} (validation loss {loss_text(best)})"
    if last < epochs:
        return f"stopped early after epoch {last}: the validation loss did not improve for {patience} epochs; {kept}"
    return f"ran all {epochs} epochs; {kept}"


def _save_weights(module: Any, path: Path, params: dict[str, numpy.ndarray], state: dict[str, Any]) -> None:
    try:
        # The module's save() writes a temporary file and renames it: an interrupt waits for it.
        with interrupts_deferred():
            module.save(path, params, state=state)
    except module.WeightsFileError as error:
        raise TrainingError(str(error)) from None


class _Lines:
    """The progress bar's interface without a bar: report lines only (--quiet, a log, tests)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.write = echo

    def update(self, _: int) -> None: ...
    def set_postfix_str(self, _: str) -> None: ...
    def close(self) -> None: ...


def _progress(epochs: int, enabled: bool, echo: Callable[[str], None]) -> Any:
    # A bar redraws itself in place: into a log or a pipe it would write hundreds of lines.
    if not enabled or sys.stderr is None or not sys.stderr.isatty():
        return _Lines(echo)
    from tqdm import tqdm

    return tqdm(total=epochs, unit="epoch", leave=False, dynamic_ncols=True)


def two_class_data(samples: int = 400, *, noise: float = 0.15, seed: int = 0) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Two interleaved half-moons in 2-D (like scikit-learn's make_moons), classes 0 and 1,
    standardised; Y has shape (samples, 1)."""
    rng = numpy.random.default_rng(seed)
    first = samples // 2
    angles = numpy.concatenate([rng.uniform(0, numpy.pi, first), rng.uniform(0, numpy.pi, samples - first)])
    upper = numpy.stack([numpy.cos(angles[:first]), numpy.sin(angles[:first])], axis=1)
    lower = numpy.stack([1 - numpy.cos(angles[first:]), 0.5 - numpy.sin(angles[first:])], axis=1)
    X = numpy.concatenate([upper, lower]) + rng.normal(0, noise, (samples, 2))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = numpy.concatenate([numpy.zeros(first), numpy.ones(samples - first)]).reshape(-1, 1)
    order = rng.permutation(samples)
    return X[order], Y[order]
