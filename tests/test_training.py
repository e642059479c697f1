"""Training with the generated module: batch modes, the optimized step, save/load, and the
train/demo commands with their bad inputs."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import numpy as np
import pytest

from symbackprop import Network
from symbackprop.cli import main
from symbackprop.codegen import generate_module, load_module
from symbackprop.training import TrainingError, load_csv, loss_text, run_training, two_class_data


@pytest.fixture(scope="module")
def mlp():  # type: ignore[no-untyped-def]
    return load_module(generate_module(Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce")))


@pytest.fixture(scope="module")
def softmax():  # type: ignore[no-untyped-def]
    return load_module(generate_module(Network([2, 5, 3], ["tanh", "softmax"], "cce")))


def data(rows: int = 40):  # type: ignore[no-untyped-def]
    return two_class_data(rows, seed=1)


def test_training_lowers_the_loss(mlp):
    X, Y = data(200)
    params, history = mlp.train(X, Y, epochs=60, lr=0.5, batch_size=16, seed=0)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert mlp.accuracy(params, X, Y) > 0.9


def test_full_batch_step_equals_the_mean_of_per_sample_gradients(mlp):
    X, Y = data(12)
    start = mlp.init_params(seed=3)
    per_sample = [mlp.loss_and_grads(start, X[i : i + 1], Y[i : i + 1])[1] for i in range(12)]
    expected = {name: start[name] - 0.1 * np.mean([g[name] for g in per_sample], axis=0) for name in start}
    trained, _ = mlp.train(X, Y, epochs=1, lr=0.1, batch_size=None, params=start)
    for name in start:
        np.testing.assert_allclose(trained[name], expected[name], rtol=1e-12, atol=1e-14)


def test_per_sample_sgd_applies_one_update_per_row_in_order(mlp):
    X, Y = data(5)
    params = {name: value.copy() for name, value in mlp.init_params(seed=4).items()}
    for i in range(5):
        _, grads = mlp.loss_and_grads(params, X[i : i + 1], Y[i : i + 1])
        mlp.sgd_step(params, grads, 0.2)
    trained, _ = mlp.train(X, Y, epochs=1, lr=0.2, batch_size=1, shuffle=False, params=mlp.init_params(seed=4))
    for name in params:
        np.testing.assert_allclose(trained[name], params[name], rtol=1e-12, atol=1e-14)


def test_mini_batches_with_a_short_last_batch(softmax):
    X, labels = data(10)
    Y = np.eye(3)[labels.ravel().astype(int)]
    params = {name: value.copy() for name, value in softmax.init_params(seed=5).items()}
    for start in range(0, 10, 4):
        _, grads = softmax.loss_and_grads(params, X[start : start + 4], Y[start : start + 4])
        softmax.sgd_step(params, grads, 0.3)
    trained, _ = softmax.train(X, Y, epochs=1, lr=0.3, batch_size=4, shuffle=False, params=softmax.init_params(seed=5))
    for name in params:
        np.testing.assert_allclose(trained[name], params[name], rtol=1e-12, atol=1e-14)


def test_optimized_step_equals_readable_forward_backward(softmax):
    X, labels = data(8)
    Y = np.eye(3)[labels.ravel().astype(int)]
    params = softmax.init_params(seed=6)
    loss_value, grads = softmax.loss_and_grads(params, X, Y)
    step, packed = softmax.make_train_step(params, 8, 0.05)
    assert step(X, Y) == pytest.approx(loss_value, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(packed[name], params[name] - 0.05 * grads[name], rtol=1e-12, atol=1e-14)


def test_float32_data_trains_float32_parameters_without_copying(mlp):
    X, Y = data(64)
    X32 = X.astype(np.float32)
    params, history = mlp.train(X32, Y, epochs=3, lr=0.1, batch_size=16)
    assert all(value.dtype == np.float32 for value in params.values())
    assert np.isfinite(history["loss"]).all()


def test_divergence_names_the_epoch():
    regression = load_module(generate_module(Network([2, 4, 1], ["identity", "identity"], "mse")))
    X, Y = data(40)
    with pytest.raises(regression.TrainingDiverged, match=r"epoch \d+.*smaller learning rate"):
        regression.train(X * 10, Y, epochs=200, lr=10.0, batch_size=None)


def test_bad_shapes_and_batch_size(mlp):
    X, Y = data(10)
    with pytest.raises(mlp.DataError, match=r"shape \(samples, 2\)"):
        mlp.train(X[:, :1], Y, epochs=1, lr=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        mlp.train(X, Y, epochs=1, lr=0.1, batch_size=0)


def test_save_load_round_trip(mlp, tmp_path):
    params = mlp.init_params(seed=9)
    mlp.save(tmp_path / "w.npz", params)
    loaded = mlp.load(tmp_path / "w.npz")
    for name in params:
        np.testing.assert_array_equal(loaded[name], params[name])


def test_truncated_or_foreign_weights_file(mlp, softmax, tmp_path):
    mlp.save(tmp_path / "w.npz", mlp.init_params())
    whole = (tmp_path / "w.npz").read_bytes()
    for length in range(0, len(whole), max(1, len(whole) // 40)):
        (tmp_path / "cut.npz").write_bytes(whole[:length])
        with pytest.raises(mlp.WeightsFileError, match="cannot read"):
            mlp.load(tmp_path / "cut.npz")
    with pytest.raises(softmax.WeightsFileError, match="holds weights of '2 -> 4 relu"):
        softmax.load(tmp_path / "w.npz")
    np.savez(tmp_path / "plain.npz", W1=np.zeros((4, 2)))
    with pytest.raises(mlp.WeightsFileError, match="not a symbackprop weights file"):
        mlp.load(tmp_path / "plain.npz")
    np.save(tmp_path / "array.npy", np.zeros(31))
    with pytest.raises(mlp.WeightsFileError, match="one array, not an .npz archive"):
        mlp.load(tmp_path / "array.npy")
    (tmp_path / "notes.txt").write_text("W1 = 0.5\n", encoding="utf-8")
    with pytest.raises(mlp.WeightsFileError, match=r"not a symbackprop weights file \(not an .npz archive\)$"):
        mlp.load(tmp_path / "notes.txt")
    with pytest.raises(mlp.WeightsFileError, match="cannot read"):
        mlp.load(tmp_path / "missing.npz")
    text = {name: np.full(value.shape, "a") for name, value in mlp.init_params().items()}
    np.savez(tmp_path / "text.npz", spec=np.array(mlp.SPEC), **text)
    with pytest.raises(mlp.WeightsFileError, match="W1 holds <U1 values"):
        mlp.load(tmp_path / "text.npz")
    np.savez(tmp_path / "short.npz", spec=np.array(mlp.SPEC), W1=np.zeros((4, 2)))
    with pytest.raises(mlp.WeightsFileError, match="has no b1, W2, b2, W3, b3; the weights of this network are W1, b1"):
        mlp.load(tmp_path / "short.npz")


def _npz(path, arrays, header=None):  # type: ignore[no-untyped-def]
    """An .npz archive of arrays, the .npy header of one member replaced: header = (name, text)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in arrays.items():
            stream = io.BytesIO()
            np.save(stream, value)
            data = stream.getvalue()
            if header is not None and header[0] == name:
                # A version 1.0 header: magic, two length bytes, the dict padded to 128 bytes in all.
                length = int.from_bytes(data[8:10], "little")
                text = header[1].ljust(length - 1) + "\n"
                data = data[:10] + text.encode("latin1") + data[10 + length :]
            archive.writestr(f"{name}.npy", data)


def _loaded_error(module, path):  # type: ignore[no-untyped-def]
    with pytest.raises(module.WeightsFileError) as error:
        module.load(path)
    return str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda arrays: arrays.pop("b2"), "has no b2"),
        (lambda arrays: arrays.update(W1=np.zeros((3, 2))), "W1 has shape (3, 2), expected (4, 2)"),
        (lambda arrays: arrays.update(W1=np.zeros((2, 4))), "W1 has shape (2, 4), expected (4, 2)"),
        (lambda arrays: arrays.update(b3=np.zeros((1, 1))), "b3 has shape (1, 1), expected (1,)"),
        (lambda arrays: arrays.update(W2=np.zeros((3, 4), np.int64)), "W2 holds int64 values, not floating-point"),
        (lambda arrays: arrays.update(W2=np.zeros((3, 4), complex)), "W2 holds complex128 values"),
        (lambda arrays: arrays.update(spec=np.array(7)), "not a symbackprop weights file (its spec is not a string)"),
    ],
)
def test_every_load_error_names_the_file(mlp, tmp_path, change, message):
    arrays = {"spec": np.array(mlp.SPEC), **mlp.init_params()}
    change(arrays)
    _npz(tmp_path / "w.npz", arrays)
    text = _loaded_error(mlp, tmp_path / "w.npz")
    assert text.startswith(f"{tmp_path / 'w.npz'}: ") and message in text


@pytest.mark.parametrize(
    ("member", "header", "message"),
    [
        (
            "W1",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }",
            "W1 has shape (1000000000000,)",
        ),
        ("W1", "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000, 2000000), }", "W1 has shape (4000000, "),
        ("spec", "{'descr': '<U100000000000', 'fortran_order': False, 'shape': (), }", "cannot read weights"),
        ("spec", "{'descr': '<U1000000', 'fortran_order': False, 'shape': (), }", "its spec is not a string"),
        ("spec", "{'descr': '<U10', 'fortran_order': False, 'shape': (1000000000000,), }", "its spec is not a string"),
    ],
)
def test_an_absurd_header_is_refused_before_allocating(mlp, tmp_path, member, header, message):
    # Loading any of these would ask for terabytes (a MemoryError, or worse, an allocation that
    # succeeds on a system that overcommits): the header alone decides.
    _npz(tmp_path / "w.npz", {"spec": np.array(mlp.SPEC), **mlp.init_params()}, header=(member, header))
    text = _loaded_error(mlp, tmp_path / "w.npz")
    assert text.startswith(f"{tmp_path / 'w.npz'}: ") and message in text


def test_load_reads_compressed_and_float32_weights(mlp, tmp_path):
    params = {name: value.astype(np.float32) for name, value in mlp.init_params(seed=2).items()}
    np.savez_compressed(tmp_path / "w.npz", spec=np.array(mlp.SPEC), **params)
    loaded = mlp.load(tmp_path / "w.npz")
    for name in params:
        assert loaded[name].dtype == np.float32
        np.testing.assert_array_equal(loaded[name], params[name])


def test_damaged_weights_files_are_refused_with_the_file_named(mlp, tmp_path):
    mlp.save(tmp_path / "w.npz", mlp.init_params())
    whole = (tmp_path / "w.npz").read_bytes()
    rng = np.random.default_rng(0)
    for _ in range(300):
        damaged = bytearray(whole)
        for position in rng.integers(0, len(whole), 3):
            damaged[position] = int(rng.integers(0, 256))
        (tmp_path / "d.npz").write_bytes(bytes(damaged))
        try:
            mlp.load(tmp_path / "d.npz")
        except mlp.WeightsFileError as error:
            assert str(error).startswith(f"{tmp_path / 'd.npz'}: ")


# -- the train command ---------------------------------------------------------------------------


def write_csv(path, header: str, rows: list[str]) -> str:  # type: ignore[no-untyped-def]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def train_arguments(csv: str, out, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "train",
        "2-4-1",
        "--activations",
        "relu,sigmoid",
        "--loss",
        "bce",
        "--data",
        csv,
        "--target",
        "y",
        "--epochs",
        "5",
        "--lr",
        "0.1",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def test_train_command_writes_weights_history_and_plot(tmp_path, capsys):
    X, Y = data(30)
    rows = [f"{a:.6f},{b:.6f},{int(c)}" for (a, b), c in zip(X, Y.ravel(), strict=True)]
    csv = write_csv(tmp_path / "points.csv", "x1,x2,y", rows)
    assert main(train_arguments(csv, tmp_path / "run", "--batch-size", "8")) == 0
    output = capsys.readouterr().out
    assert "epoch 5/5" in output and "accuracy" in output
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"weights.npz", "history.csv", "history.png"}
    assert (tmp_path / "run" / "history.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "run" / "history.csv").read_text().splitlines()[0] == "epoch,loss,accuracy"


def test_train_command_writes_the_history_as_json(tmp_path, capsys):
    X, Y = data(20)
    rows = [f"{a:.6f},{b:.6f},{int(c)}" for (a, b), c in zip(X, Y.ravel(), strict=True)]
    csv = write_csv(tmp_path / "points.csv", "x1,x2,y", rows)
    assert main(train_arguments(csv, tmp_path / "run", "--history-format", "json")) == 0
    assert f"history: {tmp_path / 'run' / 'history.json'}" in capsys.readouterr().out
    history = json.loads((tmp_path / "run" / "history.json").read_text(encoding="utf-8"))
    assert set(history) == {"epoch", "loss", "accuracy"}
    assert history["epoch"] == [1.0, 2.0, 3.0, 4.0, 5.0] and len(history["loss"]) == len(history["accuracy"]) == 5
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"weights.npz", "history.json", "history.png"}


@pytest.mark.parametrize(
    ("header", "rows", "extra", "message"),
    [
        (
            "x1,x2,x3,y",
            ["1,2,3,0"],
            [],
            "bad.csv: 3 feature column(s) (x1, x2, x3: the columns --target does not name), but the network has 2",
        ),
        ("x1,x2,y", ["1,oops,0"], [], "'oops' is not a number"),
        ("x1,x2,y", ["1,nan,0"], [], "nan is not finite"),
        ("x1,x2,y", ["1,2,0", "1,2"], [], "line 3: 2 values"),
        ("x1,x2,y", ["1,2,2"], [], "label 2 is not 0 or 1"),
        ("x1,x2,y", ["1,2,1"], ["--batch-size", "0"], "--batch-size: must be at least 1"),
        ("x1,x2,label", ["1,2,1"], [], "no column named y"),
    ],
)
def test_train_command_rejects_bad_input(tmp_path, capsys, header, rows, extra, message):
    csv = write_csv(tmp_path / "bad.csv", header, rows)
    assert main(train_arguments(csv, tmp_path / "run", *extra)) == 2
    error = capsys.readouterr().err
    assert error.startswith("symbackprop: error: ") and message in error
    assert not (tmp_path / "run" / "weights.npz").exists()


def test_train_command_rejects_an_empty_file(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    assert main(train_arguments(str(tmp_path / "empty.csv"), tmp_path / "run")) == 2
    assert "the file is empty" in capsys.readouterr().err


def test_cce_accepts_class_indices_and_rejects_bad_one_hot(tmp_path, capsys):
    base = [
        "train",
        "2-3-3",
        "--activations",
        "tanh,softmax",
        "--loss",
        "cce",
        "--epochs",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    ]
    indices = write_csv(tmp_path / "i.csv", "a,b,c", ["0,1,2", "1,0,0", "2,2,1"])
    assert main([*base, "--data", indices, "--target", "c"]) == 0
    out_of_range = write_csv(tmp_path / "r.csv", "a,b,c", ["0,1,3"])
    assert main([*base, "--data", out_of_range, "--target", "c"]) == 2
    assert "class index 3 is not one of 0..2" in capsys.readouterr().err
    not_one_hot = write_csv(tmp_path / "h.csv", "a,b,p,q,r", ["0,1,1,1,0"])
    assert main([*base, "--data", not_one_hot, "--target", "p,q,r"]) == 2
    assert "is not one-hot" in capsys.readouterr().err


def test_train_command_reports_divergence(tmp_path, capsys):
    X, Y = data(30)
    rows = [f"{a * 10:.6f},{b * 10:.6f},{int(c)}" for (a, b), c in zip(X, Y.ravel(), strict=True)]
    csv = write_csv(tmp_path / "points.csv", "x1,x2,y", rows)
    arguments = train_arguments(csv, tmp_path / "run")
    arguments[arguments.index("relu,sigmoid")] = "identity,identity"
    arguments[arguments.index("bce")] = "mse"
    arguments[arguments.index("--lr") + 1] = "10"
    arguments[arguments.index("--epochs") + 1] = "200"
    assert main(arguments) == 2
    assert "diverged at epoch" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_trains_well_above_chance(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    output = capsys.readouterr().out
    before = float(output.split("accuracy before training:")[1].split()[0])
    after = float(output.split("accuracy after training:")[1].split()[0])
    assert 0.25 < before < 0.75 and after > 0.9
    expected = {"mlp.py", "derivation.txt", "derivation.tex", "weights.npz", "history.csv", "history.png"}
    assert {p.name for p in out.iterdir()} == expected
    listing = output.split(f"files in {out}/:")[1]
    assert all(str(out / name) in listing for name in expected)
    document = (out / "derivation.tex").read_text(encoding="utf-8")
    assert document.startswith("\\documentclass") and "All rules verified" in document
    assert f"-o {out / 'derivation.tex'} --pdf" in listing


def test_train_command_rejects_a_negative_seed(tmp_path, capsys):
    X, Y = data(10)
    rows = [f"{a:.6f},{b:.6f},{int(c)}" for (a, b), c in zip(X, Y.ravel(), strict=True)]
    csv = write_csv(tmp_path / "points.csv", "x1,x2,y", rows)
    assert main(train_arguments(csv, tmp_path / "run", "--seed", "-1")) == 2
    assert capsys.readouterr().err == "symbackprop: error: --seed: must be a non-negative integer, got -1\n"


@pytest.mark.parametrize("command", ["train", "demo", "regenerate"])
def test_an_output_folder_that_is_a_file_is_a_clear_error(tmp_path, capsys, command):
    taken = tmp_path / "taken"
    taken.write_text("mine\n", encoding="utf-8")
    arguments = {
        "train": train_arguments(write_csv(tmp_path / "p.csv", "x1,x2,y", ["1,2,1"]), taken),
        "demo": ["demo", "--out", str(taken), "--quiet"],
        "regenerate": ["regenerate", "--out", str(taken)],
    }[command]
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.err == f"symbackprop: error: --out: {taken} exists and is not a folder\n"
    assert captured.out == "" and taken.read_text(encoding="utf-8") == "mine\n"


def test_a_growing_loss_is_printed_with_an_exponent_not_hundreds_of_digits():
    assert loss_text(0.0533091234) == "0.053309"
    assert loss_text(123456.7) == "123456.700000"
    assert loss_text(1.042689163e125) == "1.042689e+125"


def points_csv(tmp_path, rows: int = 40, header: str = "x1,x2,y") -> str:  # type: ignore[no-untyped-def]
    X, Y = data(rows)
    lines = [f"{a:.6f},{b:.6f},{int(c)}" for (a, b), c in zip(X, Y.ravel(), strict=True)]
    return write_csv(tmp_path / "points.csv", header, lines)


@pytest.mark.parametrize(
    ("target", "extra", "message"),
    [
        ("", [], "--target: no column given; name the column(s) of {csv} to predict, like y"),
        (" , ,", [], "--target: no column given"),
        ("nope", [], "--target: {csv} has no column named nope (its columns: x1, x2, y)"),
        ("y,y", [], "--target: y named twice"),
        ("x1,x2,y", [], "--target: names every column of {csv}; none is left for the features"),
        ("x1", [], "--target x1 of {csv}: label -0.70164 is not 0 or 1, which 'bce' needs (data row 1)"),
        ("y", ["--batch-size", "41"], "--batch-size: 41 is more than the 40 rows of the data; give at most 40"),
        ("y", ["--epochs", "0"], "--epochs: must be at least 1, got 0"),
        ("y", ["--lr", "nan"], "--lr: must be a positive number, got nan"),
        ("y", ["--lr=-inf"], "--lr: must be a positive number, got -inf"),
        ("y", ["--report-every", "0"], "--report-every: must be at least 1, got 0"),
        ("y", ["--data", "."], "--data: . is a folder, not a CSV file"),
        ("y", ["--data", "/dev/zero"], "--data: /dev/zero is a character device, not a CSV file"),
        ("y", ["--data", "absent.csv"], "--data: absent.csv: no such file"),
        ("y", ["--optimizer", "adam", "--momentum", "0.5"], "--momentum: momentum applies to the optimizer 'momentum'"),
        ("y", ["--optimizer", "nesterov", "--momentum", "1"], "--momentum: momentum must be a finite number above 0"),
        ("y", ["--optimizer", "adamw", "--betas", "0.9,1"], "--betas: betas[1] must be a finite number at least 0"),
        ("y", ["--betas", "0.9"], "train: argument --betas: expected two numbers like 0.9,0.999, got '0.9'"),
        ("y", ["--optimizer", "adam", "--eps", "0"], "--eps: eps must be a finite number above 0"),
        ("y", ["--weight-decay", "-1"], "--weight-decay: weight_decay must be a finite number at least 0"),
        ("y", ["--schedule", "step"], "--schedule: schedule='step' needs step_size"),
        ("y", ["--gamma", "0.5"], "--gamma: gamma applies to schedule='step'"),
        ("y", ["--validation", "1.5"], "--validation: validation must be a finite number above 0 and below 1"),
        ("y", ["--patience", "3"], "--patience: patience needs validation=FRACTION"),
        (
            "y",
            ["--validation", "0.5", "--patience", "0"],
            "--patience: patience must be None or an integer of at least 1",
        ),
        (
            "y",
            ["--validation", "0.5", "--batch-size", "30"],
            "--batch-size: batch_size must be None (full batch) or an",
        ),
    ],
)
def test_train_errors_name_the_option(tmp_path, capsys, target, extra, message):
    csv = points_csv(tmp_path)
    arguments = train_arguments(csv, tmp_path / "run", *extra)
    arguments[arguments.index("--target") + 1] = target
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"symbackprop: error: {message.format(csv=csv)}")
    assert captured.err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_a_repeated_column_name_is_refused(tmp_path, capsys):
    csv = write_csv(tmp_path / "points.csv", "x,x,y", ["1,2,1"])
    assert main(train_arguments(csv, tmp_path / "run")) == 2
    assert capsys.readouterr().err == f"symbackprop: error: --data: {csv}: the header names 'x' more than once\n"


def test_a_batch_larger_than_the_data_is_an_error_from_python_too(tmp_path):
    X, Y = data(10)
    network = Network([2, 3, 1], ["relu", "sigmoid"], "bce")
    with pytest.raises(TrainingError, match="--batch-size: 11 is more than the 10 rows"):
        run_training(network, X, Y, epochs=1, lr=0.1, batch_size=11, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    result = run_training(network, X, Y, epochs=1, lr=0.1, batch_size=10, out=tmp_path / "run", progress=False)
    assert len(result.history["loss"]) == 1


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    # pytest's captured stderr is not a terminal, as a log file or a pipe is not.
    X, Y = data(40)
    network = Network([2, 3, 1], ["relu", "sigmoid"], "bce")
    run_training(network, X, Y, epochs=30, lr=0.1, batch_size=4, out=tmp_path, report_every=10, progress=True)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert [line.split()[1] for line in captured.out.splitlines()] == ["10/30", "20/30", "30/30"]


@pytest.fixture
def umask():  # type: ignore[no-untyped-def]
    """Sets the process's umask for one test and puts the previous one back."""
    previous = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_usual_permissions(tmp_path, capsys, umask, mask, mode):
    umask(mask)
    assert main(train_arguments(points_csv(tmp_path), tmp_path / "run")) == 0
    assert (
        main(["generate", "2-4-1", "--activations", "relu,sigmoid", "--loss", "bce", "-o", str(tmp_path / "m.py")]) == 0
    )
    written = [tmp_path / "m.py", *(tmp_path / "run").iterdir()]
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in written} == {
        name: mode for name in ("m.py", "weights.npz", "history.csv", "history.png")
    }


def test_a_replaced_output_keeps_its_permissions(tmp_path, capsys, umask, mlp):
    csv = points_csv(tmp_path)
    assert main(train_arguments(csv, tmp_path / "run")) == 0
    for path in (tmp_path / "run").iterdir():
        path.chmod(0o640)
    mlp.save(tmp_path / "own.npz", mlp.init_params())
    (tmp_path / "own.npz").chmod(0o604)
    assert main(train_arguments(csv, tmp_path / "run")) == 0
    mlp.save(tmp_path / "own.npz", mlp.init_params(seed=1))
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "run").iterdir()}
    assert modes == {"weights.npz": 0o640, "history.csv": 0o640, "history.png": 0o640}
    assert stat.S_IMODE((tmp_path / "own.npz").stat().st_mode) == 0o604
    assert not [path.name for path in tmp_path.rglob(".*")]


@pytest.mark.parametrize("command", ["train", "demo", "regenerate"])
def test_an_empty_output_folder_name_is_refused(tmp_path, capsys, monkeypatch, command):
    # Path("") is the current folder: an empty --out would write there.
    monkeypatch.chdir(tmp_path)
    arguments = {
        "train": train_arguments(points_csv(tmp_path), ""),
        "demo": ["demo", "--out", "", "--quiet"],
        "regenerate": ["regenerate", "--out", " "],
    }[command]
    assert main(arguments) == 2
    assert capsys.readouterr().err == "symbackprop: error: --out: the folder name is empty\n"
    assert [path.name for path in tmp_path.iterdir()] == ["points.csv"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"epochs": -1}, r"epochs must be an integer of at least 0, got -1"),
        ({"epochs": 1.5}, r"epochs must be an integer of at least 0, got 1.5"),
        ({"epochs": "3"}, r"epochs must be an integer of at least 0, got '3'"),
        ({"lr": float("nan")}, r"lr must be a positive, finite number, got nan"),
        ({"lr": float("inf")}, r"lr must be a positive, finite number, got inf"),
        ({"lr": "a"}, r"lr must be a positive, finite number, got 'a'"),
        ({"lr": 0}, r"lr must be a positive, finite number, got 0"),
        ({"batch_size": 0}, r"batch_size must be None \(full batch\) or an integer from 1 to the 10 rows of X, got 0"),
        ({"batch_size": -1}, r"batch_size must be .* got -1"),
        ({"batch_size": 11}, r"batch_size must be .* from 1 to the 10 rows of X, got 11"),
        ({"batch_size": 2.5}, r"batch_size must be .* got 2.5"),
        ({"seed": "x"}, r"seed must be an integer of at least 0, got 'x'"),
        ({"seed": -1}, r"seed must be an integer of at least 0, got -1"),
    ],
)
def test_generated_train_names_the_argument_it_refuses(mlp, arguments, message):
    X, Y = data(10)
    with pytest.raises(mlp.DataError, match=message):
        mlp.train(X, Y, **{"epochs": 1, "lr": 0.1, **arguments})


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda X, Y: (np.where(np.arange(10)[:, None] == 3, np.nan, X), Y), r"X\[3\] \(row 3, counting from 0\)"),
        (lambda X, Y: (np.where(np.arange(10)[:, None] == 0, np.inf, X), Y), r"X\[0\] .*NaN or infinity"),
        (lambda X, Y: (X, np.where(np.arange(10)[:, None] == 9, np.nan, Y)), r"Y\[9\] \(row 9"),
        (lambda X, Y: (X.astype(object), Y), "X holds object values, not real numbers"),
        (lambda X, Y: (X + 1j, Y), "X holds complex128 values, not real numbers"),
    ],
)
def test_generated_train_refuses_data_that_is_no_finite_numbers(mlp, spoil, message):
    with pytest.raises(mlp.DataError, match=message):
        mlp.train(*spoil(*data(10)), epochs=1, lr=0.1)


def test_generated_train_refuses_targets_its_loss_does_not_take(mlp, softmax):
    X, Y = data(10)
    with pytest.raises(mlp.DataError, match=r"Y\[4\] \(row 4, counting from 0\) .* labels between 0 and 1 for bce"):
        mlp.train(X, np.where(np.arange(10)[:, None] == 4, 5.0, Y), epochs=1, lr=0.1)
    one_hot = np.eye(3)[np.arange(10) % 3]
    with pytest.raises(softmax.DataError, match=r"Y\[2\] .* one-hot \(or probabilities summing to 1\) for cce"):
        softmax.train(X, np.where(np.arange(10)[:, None] == 2, 0.5, one_hot), epochs=1, lr=0.1)
    # Soft labels and probability rows are targets these losses take.
    mlp.train(X, np.full((10, 1), 0.25), epochs=1, lr=0.1)
    softmax.train(X, np.full((10, 3), 1 / 3, dtype=np.float32), epochs=1, lr=0.1)


def test_generated_save_and_load_refuse_bad_paths_and_values(mlp, tmp_path):
    params = mlp.init_params(0)
    with pytest.raises(mlp.WeightsFileError, match=r"nope/w.npz: the folder .*nope does not exist"):
        mlp.save(tmp_path / "nope" / "w.npz", params)
    (tmp_path / "d").mkdir()
    with pytest.raises(mlp.WeightsFileError, match="d: is a folder"):
        mlp.save(tmp_path / "d", params)
    with pytest.raises(mlp.WeightsFileError, match="params: expected a dict of the arrays W1, b1"):
        mlp.save(tmp_path / "w.npz", None)
    with pytest.raises(mlp.WeightsFileError, match="W1 holds int64 values"):
        mlp.save(tmp_path / "w.npz", {**params, "W1": np.zeros((4, 2), np.int64)})
    with pytest.raises(mlp.WeightsFileError, match="save: expected the path of a weights file"):
        mlp.save(None, params)
    with pytest.raises(mlp.WeightsFileError, match="load: expected the path of a weights file .* got None"):
        mlp.load(None)
    os.mkfifo(tmp_path / "fifo.npz")
    with pytest.raises(mlp.WeightsFileError, match="fifo.npz: not a symbackprop weights file .not a regular file"):
        mlp.load(tmp_path / "fifo.npz")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d", "fifo.npz"]
    spoiled = {**params, "W2": np.full_like(params["W2"], np.nan)}
    arrays = {"spec": np.array(mlp.SPEC), **spoiled}
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(mlp.WeightsFileError, match="nan.npz: W2 holds NaN or infinite values"):
        mlp.load(tmp_path / "nan.npz")


def test_generated_save_through_a_symbolic_link_writes_its_file(mlp, tmp_path):
    (tmp_path / "link.npz").symlink_to("real.npz")
    mlp.save(tmp_path / "link.npz", mlp.init_params(0))
    assert (tmp_path / "link.npz").is_symlink() and mlp.load(tmp_path / "real.npz")["W1"].shape == (4, 2)


@pytest.mark.parametrize(
    ("network", "rows", "message"),
    [
        (["2-4-1", "--activations", "relu,sigmoid", "--loss", "bce"], ["1,2,0", "2,3,2"], "label 2 is not 0 or 1"),
        (["2-3", "--activations", "softmax", "--loss", "cce"], ["1,2,0", "1,1,1", "2,3,5"], "class index 5 is not"),
        (["2-3", "--activations", "softmax", "--loss", "cce"], ["1,2,0", "2,3,-1"], "class index -1 is not"),
    ],
)
def test_a_bad_label_names_the_file_and_its_data_row(tmp_path, capsys, network, rows, message):
    csv = write_csv(tmp_path / "labels.csv", "x1,x2,y", rows)
    arguments = ["train", *network, "--data", csv, "--target", "y", "--out", str(tmp_path / "run"), "--quiet"]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"symbackprop: error: --target y of {csv}: {message}")
    assert err.endswith(f"(data row {len(rows)})\n") and not (tmp_path / "run").exists()


def test_data_too_large_for_the_arithmetic_is_refused_without_warnings(tmp_path, capsys):
    csv = write_csv(tmp_path / "huge.csv", "x1,x2,y", ["1e308,1e308,0", "-1e308,1e308,1", "1e308,-1e308,1"])
    assert main(train_arguments(csv, tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"symbackprop: error: --data: {csv}: the loss at the initial weights is already nan")
    assert err.count("\n") == 1 and "Warning" not in err and not (tmp_path / "run").exists()


def test_a_diverged_run_removes_the_folders_it_made(tmp_path):
    X, Y = data(40)
    network = Network([2, 4, 1], ["identity", "identity"], "mse")
    out = tmp_path / "made" / "run"
    with pytest.raises(TrainingError, match=r"training diverged at epoch \d+"):
        run_training(network, X * 10, Y, epochs=200, lr=10.0, batch_size=None, out=out, progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    with pytest.raises(TrainingError, match="diverged"):
        run_training(network, X * 10, Y, epochs=200, lr=10.0, batch_size=None, out=tmp_path / "kept", progress=False)
    assert [path.name for path in tmp_path.iterdir()] == ["kept"]


def test_a_fifo_as_data_is_refused_without_reading_it(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.csv")
    assert main(train_arguments(str(tmp_path / "pipe.csv"), tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert err == f"symbackprop: error: --data: {tmp_path / 'pipe.csv'} is a FIFO (named pipe), not a CSV file\n"


@pytest.mark.parametrize(("targets", "columns"), [("y", 1), (["y"], 1), (("x2", "y"), 2)])
def test_load_csv_takes_one_target_name_as_a_str(tmp_path, targets, columns):
    X, Y, features = load_csv(points_csv(tmp_path), targets)
    assert Y.shape == (40, columns) and X.shape == (40, 3 - columns) and len(features) == 3 - columns


@pytest.mark.parametrize("targets", [5, None, ["y", 3]])
def test_load_csv_refuses_targets_that_are_no_names(tmp_path, targets):
    with pytest.raises(TrainingError, match="--target: expected column names"):
        load_csv(points_csv(tmp_path), targets)


def test_train_command_with_an_optimizer_validation_and_patience(tmp_path, capsys):
    """--optimizer adam --validation --patience: held-out columns in the history, the stop said and
    marked, the weights of the best epoch kept, the optimizer's state saved with them."""
    rng = np.random.default_rng(1)
    noise = [f"{a:.6f},{b:.6f},{c}" for a, b, c in zip(*rng.normal(size=(2, 60)), rng.integers(0, 2, 60), strict=True)]
    csv = write_csv(tmp_path / "noise.csv", "x1,x2,y", noise)  # random labels: held-out loss soon stops improving
    extra = ["--optimizer", "adam", "--validation", "0.25", "--patience", "3", "--epochs", "400", "--lr", "0.05"]
    extra += ["--schedule", "step", "--step-size", "50", "--history-format", "json"]
    assert main(train_arguments(csv, tmp_path / "run", *extra)) == 0
    output = capsys.readouterr().out
    assert "val_loss" in output and "val_accuracy" in output
    history = json.loads((tmp_path / "run" / "history.json").read_text(encoding="utf-8"))
    assert list(history) == ["epoch", "loss", "accuracy", "lr", "val_loss", "val_accuracy", "best"]
    last, best = int(history["epoch"][-1]), int(history["epoch"][history["best"].index(1.0)])
    assert last == best + 3 < 400
    assert f"stopped early after epoch {last}: the validation loss did not improve for 3 epochs;" in output
    assert f"kept the weights of epoch {best}" in output
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    module = load_module(generate_module(Network([2, 4, 1], ["relu", "sigmoid"], "bce")))
    params, state = module.load(tmp_path / "run" / "weights.npz", with_state=True)
    assert state["optimizer"] == "adam" and state["epoch"] == state["step"] == last  # full batch: a step an epoch
    X, Y, _ = load_csv(csv, "y")
    _, held = module.validation_split(60, 0.25, 0)
    assert module.loss_and_grads(params, X[held], Y[held])[0] == pytest.approx(history["val_loss"][best - 1], rel=1e-9)
