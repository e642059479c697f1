"""``symbackprop check module:name --spec ...``: exit 0 on a pass, 1 on a failure, 2 on bad input."""

from __future__ import annotations

import sys
import textwrap

import pytest

from symbackprop.cli import main

USER_MODULE = """
import numpy as np


def grads(params, X, Y, scale=1.0):
    m = X.shape[0]
    A1 = np.tanh(X @ params["W1"].T + params["b1"])
    A2 = 1 / (1 + np.exp(-(A1 @ params["W2"].T + params["b2"])))
    D2 = (A2 - Y) / m
    D1 = (D2 @ params["W2"]) * (1 - A1**2)
    return {"dW1": D1.T @ X, "db1": D1.sum(0), "dW2": scale * (D2.T @ A1), "db2": D2.sum(0)}


def doubled(params, X, Y):
    return grads(params, X, Y, scale=2.0)


def exits(params, X, Y):
    raise SystemExit(0)


def nan(params, X, Y):
    return {key: value * np.nan for key, value in grads(params, X, Y).items()}


def renamed(params, X, Y):
    ours = {"W1": params["w_hidden"], "b1": params["b1"], "W2": params["W2"], "b2": params["b2"]}
    gradients = grads(ours, X, Y)
    gradients["grad_hidden"] = gradients.pop("dW1")
    return gradients
"""

LABELS_MODULE = """
import numpy as np


def grads(params, X, y):
    m = X.shape[0]
    A1 = np.tanh(X @ params["W1"].T + params["b1"])
    scores = A1 @ params["W2"].T + params["b2"]
    D2 = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    D2[np.arange(m), y] -= 1
    D2 /= m
    D1 = (D2 @ params["W2"]) * (1 - A1**2)
    return {"dW1": D1.T @ X, "db1": D1.sum(0), "dW2": D2.T @ A1, "db2": D2.sum(0)}
"""

SPEC = 'sizes = [3, 5, 2]\nactivations = ["tanh", "sigmoid"]\nloss = "bce"\n'


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "my_backprop.py").write_text(textwrap.dedent(USER_MODULE), encoding="utf-8")
    (tmp_path / "net.toml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_correct_module_passes(workdir, capsys):
    assert main(["check", "my_backprop:grads", "--spec", "net.toml"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("verdict: pass")


def test_a_failing_module_prints_the_diagnosis_and_exits_1(workdir, capsys):
    arguments = ["--spec", "3-5-2", "--activations", "tanh,sigmoid", "--loss", "bce"]
    status = main(["check", "my_backprop.py:doubled", *arguments])
    out = capsys.readouterr().out
    assert status == 1
    assert "dW2 is twice the correct gradient: a factor 2 too many" in out


def test_the_compact_form_is_accepted(workdir):
    assert main(["check", "my_backprop:grads", "--spec", "3 -> 5 tanh -> 2 sigmoid : bce", "--dtype", "float32"]) == 0


def test_nan_gradients_fail_with_exit_1_naming_them(workdir, capsys):
    assert main(["check", "my_backprop:nan", "--spec", "net.toml"]) == 1
    out = capsys.readouterr().out
    assert "dW1 holds NaN in 15 of its 15 elements, the first at [0, 0]" in out
    assert out.rstrip().endswith("verdict: fail")


def test_code_that_exits_fails_with_exit_1_and_the_report(workdir, capsys):
    assert main(["check", "my_backprop:exits", "--spec", "net.toml"]) == 1
    captured = capsys.readouterr()
    assert "! exits called sys.exit(0) (at my_backprop.py:" in captured.out
    assert "dW1        (5, 3)  -" in captured.out
    assert captured.out.rstrip().endswith("verdict: fail")
    assert captured.err == ""


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module:grads", "cannot import 'no_such_module'"),
        ("exits_at_import.py:grads", "exits_at_import.py called sys.exit(0) (at exits_at_import.py:2, in <module>)"),
        ("syntax_error:grads", "importing syntax_error raised SyntaxError: expected ':' (at syntax_error.py:1)"),
        ("my_backprop:missing", "my_backprop has no 'missing'; it has doubled, exits, grads, nan, renamed"),
        ("broken.py:grads", "importing broken.py raised NameError: name 'undefined' is not defined (at broken.py:3,"),
        ("missing.py:grads", "missing.py: no such file"),
        ("my_backprop", "is not module:attribute"),
        ("my_backprop:SPEC_NOT_THERE", "my_backprop has no 'SPEC_NOT_THERE'"),
        ("settings.py:SPEC", "settings.py:SPEC is a str, not a function grads(params, X, Y)"),
    ],
)
def test_bad_targets_exit_2_with_one_line(workdir, capsys, target, message):
    (workdir / "broken.py").write_text("import numpy\n\nundefined + 1\n", encoding="utf-8")
    (workdir / "settings.py").write_text('SPEC = "3 -> 5 tanh -> 2 sigmoid : bce"\n', encoding="utf-8")
    (workdir / "exits_at_import.py").write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    (workdir / "syntax_error.py").write_text("def grads(params, X, Y)\n    pass\n", encoding="utf-8")
    assert main(["check", target, "--spec", "net.toml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbackprop: error: ") and message in err and "Traceback" not in err


def test_a_bad_spec_exits_2(workdir, capsys):
    assert main(["check", "my_backprop:grads", "--spec", "3-5-2"]) == 2
    assert "--activations: missing" in capsys.readouterr().err


def test_parameter_and_gradient_keys_are_given_by_name(workdir, capsys):
    keys = ["--names", "W1=w_hidden", "--grad-names", "W1=grad_hidden"]
    assert main(["check", "my_backprop:renamed", "--spec", "net.toml", *keys]) == 0
    assert main(["check", "my_backprop:renamed", "--spec", "net.toml"]) == 2
    assert "KeyError: 'w_hidden'" in capsys.readouterr().err
    assert main(["check", "my_backprop:renamed", "--spec", "net.toml", "--names", "W1=w_hidden"]) == 2
    assert "--grad-names W1=your_key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["--names", "W1"], "--names: 'W1' is not NAME=KEY"),
        (["--grad-names", "W1=g,=b"], "--grad-names: '=b' is not NAME=KEY"),
        (["--names", "W3=w"], "names: 'W3' is no parameter of the network; its parameters are W1, b1, W2, b2"),
    ],
)
def test_bad_key_names_exit_2_with_one_line(workdir, capsys, keys, message):
    assert main(["check", "my_backprop:renamed", "--spec", "net.toml", *keys]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbackprop: error: ") and message in err and len(err.splitlines()) == 1


def test_class_index_targets_on_the_command_line(workdir, capsys):
    (workdir / "labels.py").write_text(textwrap.dedent(LABELS_MODULE), encoding="utf-8")
    spec = ["--spec", "3 -> 5 tanh -> 2 softmax : cce"]
    assert main(["check", "labels:grads", *spec, "--targets", "indices"]) == 0
    assert "y as class indices (m,)" in capsys.readouterr().out
    assert main(["check", "labels:grads", *spec, "--targets", "one-hot"]) == 2
    assert "IndexError" in capsys.readouterr().err


def test_a_file_named_like_a_loaded_module_does_not_replace_it(workdir):
    import json

    (workdir / "json.py").write_text(textwrap.dedent(USER_MODULE), encoding="utf-8")
    assert main(["check", "json.py:grads", "--spec", "net.toml"]) == 0
    assert sys.modules["json"] is json


def test_a_negative_seed_exits_2_with_one_line(workdir, capsys):
    assert main(["check", "my_backprop:grads", "--spec", "net.toml", "--seed", "-1"]) == 2
    assert capsys.readouterr().err == "symbackprop: error: seed: must be a non-negative integer, got -1\n"
