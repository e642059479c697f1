"""The derive and verify commands: what they print, their exit status, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from symbackprop import ACTIVATIONS
from symbackprop.cli import COMMANDS, main
from symbackprop.version import __version__

CLASSIFIER = ["2-4-3-1", "--activations", "relu,relu,sigmoid", "--loss", "bce"]


def _run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_derive_prints_every_layer(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "derive", *CLASSIFIER)
    assert status == 0 and err == ""
    assert out.startswith("Network 2 -> 4 relu -> 3 relu -> 1 sigmoid : bce\n")
    for heading in (
        "Layer 1: relu, hidden layer, 4 units",
        "Layer 2: relu, hidden layer, 3 units",
        "Layer 3: sigmoid, output layer, 1 unit",
    ):
        assert heading in out
    for k in "¹²³":
        for quantity in (f"z⁽{k}⁾[i] =", f"a⁽{k}⁾[i] =", f"∂L/∂w⁽{k}⁾[p, q] =", f"∂L/∂b⁽{k}⁾[p] ="):
            assert quantity in out
    assert "δ⁽³⁾[p] = a⁽³⁾[p] - y[p]" in out
    assert "∂L/∂w⁽¹⁾[p, q] = x[q]⋅δ⁽¹⁾[p]" in out
    # One line an equation, in the notation rather than SymPy's internal form.
    assert "z⁽¹⁾[i] = Σⱼ w⁽¹⁾[i, j]⋅x[j] + b⁽¹⁾[i]\n" in out
    assert "a⁽¹⁾[i] = {0 if z⁽¹⁾[i] ≤ 0; z⁽¹⁾[i] otherwise}\n" in out
    assert "δ⁽¹⁾[p] = [a⁽¹⁾[p] > 0]⋅(Σᵢ w⁽²⁾[i, p]⋅δ⁽²⁾[i])\n" in out
    assert "Piecewise" not in out and "Sum(" not in out


def test_verify_prints_the_table_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "verify", *CLASSIFIER)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["layer", "quantity", "rule", "formula", "symbolic", "composed"]
    rows = lines[2 : lines.index("")]
    assert len(rows) == 10 and all(row.split()[-2:] == ["ok", "ok"] for row in rows)
    assert lines[-1] == "all rules verified"


def test_verify_exits_one_on_the_tutorial_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(
        capsys, "verify", "2-3-1", "--activations", "tanh,identity", "--loss", "sse", "--rules", "tutorial-mistakes"
    )
    assert status == 1 and err == ""
    assert "FAIL layer 2 ∂L/∂ŷ by ∇ₐL (sign slip) (composed)" in out
    assert "FAIL layer 1 ∂L/∂W⁽¹⁾ by BP4 (a_k for a_k-1) (symbolic)" in out
    assert out.rstrip().endswith("3 rule check(s) failed")


def test_derive_and_verify_read_a_toml_file_and_the_compact_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "net.toml"
    path.write_text('sizes = [2, 4, 3, 1]\nactivations = ["relu", "relu", "sigmoid"]\nloss = "bce"\n')
    expected = _run(capsys, "derive", *CLASSIFIER)
    assert _run(capsys, "derive", str(path)) == expected
    assert _run(capsys, "derive", "2 -> 4 relu -> 3 relu -> 1 sigmoid : bce") == expected
    status, out, _ = _run(capsys, "verify", str(path), "--seed", "3")
    assert status == 0 and "seed 3" in out


def test_custom_activation_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(
        capsys,
        "verify",
        "2-3-1",
        "--activations",
        "softsign,identity",
        "--loss",
        "mse",
        "--activation-def",
        "softsign=x/(1+abs(x))",
    )
    assert status == 0 and out.endswith("all rules verified\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["derive", "2-0-1", "--activations", "relu,sigmoid", "--loss", "bce"], "sizes[1] (layer 1): width must be"),
        (["verify", "2-3-1", "--activations", "relu,sigmoyd", "--loss", "bce"], "did you mean 'sigmoid'?"),
        (["verify", "2-3-1", "--activations", "relu", "--loss", "bce"], "'bce' needs predictions in (0, 1)"),
        (["derive", "2-3-1", "--activations", "relu,relu,relu", "--loss", "mse"], "3 given for 2 layer(s)"),
        (["derive", "2-3-3", "--activations", "softmax,softmax", "--loss", "cce"], "only allowed on the output"),
        (["derive", "2-3-1", "--activations", "relu,sigmoid"], "--loss: missing"),
        (["derive", "missing.toml"], "missing.toml: no such file"),
        (
            [
                "derive",
                "2-3-1",
                "--activations",
                "c,identity",
                "--loss",
                "mse",
                "--activation-def",
                "c=__import__('os')",
            ],
            "unknown name '__import__'",
        ),
        (
            ["derive", "2-3-1", "--activations", "c,identity", "--loss", "mse", "--activation-def", "c=x.real"],
            "attribute access is not allowed",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_status_two(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, *arguments)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("symbackprop: error: ")
    assert message in err and "Traceback" not in err


class _GoneReader:
    """Standard output whose reader has gone away, as with `symbackprop derive ... | head -1`."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self.descriptor


def test_a_reader_that_goes_away_ends_the_output_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    descriptor = os.open(tmp_path / "stdout", os.O_WRONLY | os.O_CREAT)
    try:
        monkeypatch.setattr(sys, "stdout", _GoneReader(descriptor))
        assert main(["derive", *CLASSIFIER]) == 141
    finally:
        os.close(descriptor)
    assert capsys.readouterr().err == ""


def test_python_dash_m_runs_the_command_line(tmp_path: Path) -> None:
    derive = subprocess.run(
        [sys.executable, "-m", "symbackprop", "derive", *CLASSIFIER],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert derive.returncode == 0 and "Layer 3: sigmoid, output layer, 1 unit" in derive.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "symbackprop", "verify", "2-3-1", "--activations", "relu", "--loss", "bce"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("symbackprop: error: loss: ") and "Traceback" not in bad.stderr


def test_version_prints_the_release_without_importing_sympy() -> None:
    program = (
        "import sys; from symbackprop.cli import main; status = main(['--version']);"
        " print('sympy' in sys.modules, status)"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert result.stdout == f"symbackprop {__version__}\nFalse 0\n" and result.stderr == ""


def test_a_bare_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys)
    assert status == 0 and err == ""
    assert out.startswith("usage: symbackprop [-h] [--version] COMMAND ...")
    assert all(f"    {command.name}" in out for command in COMMANDS)


def test_the_activations_help_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["derive", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    listed = text.split("one for all, of: ")[1]
    for entry in ACTIVATIONS.values():
        assert f" {entry.label}," in f" {listed}" or f" {entry.label};" in f" {listed}", entry.label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("activations = 5", "activations: expected an activation name or a list of one name per layer"),
        ("activations = true", "activations: expected an activation name or a list"),
        ("activations = {relu = 1}", "activations: expected an activation name or a list"),
        ('activations = [["relu"], "sigmoid"]', "activations[0] (layer 1): expected an activation name"),
        ("sizes = 3", "sizes: expected a list of layer widths like [2, 4, 1], got 3"),
        ("sizes = {a = 1}", "sizes: expected a list of layer widths"),
        ("sizes = [2, 3.0, 1]", "sizes[1] (layer 1): width 3.0 is not an integer"),
        ("sizes = [2, [3], 1]", "sizes[1] (layer 1): width [3] is not an integer"),
        ("sizes = [2, -3, 1]", "sizes[1] (layer 1): width must be positive, got -3"),
        ("sizes = [2, 9223372036854775807, 1]", "sizes[1] (layer 1): width 9223372036854775807 exceeds"),
        ("loss = 5", 'loss: expected a loss name like "bce", got 5'),
        ("loss = false", 'loss: expected a loss name like "bce", got False'),
        ("custom_activations = [1]", 'custom_activations: expected a table of name = "expression in x", got [1]'),
        ("custom_activations = {c = 1}", "custom activation 'c': expected an expression in x as a string"),
        ("custom_activations = {c = {x = 1}}", "custom activation 'c': expected an expression in x as a string"),
    ],
)
def test_a_toml_value_of_the_wrong_type_names_the_key_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    values = {"sizes": "[2, 3, 1]", "activations": '"sigmoid"', "loss": '"bce"'}
    key, _, value = text.partition(" = ")
    values[key] = value
    path = tmp_path / "net.toml"
    path.write_text("".join(f"{name} = {value}\n" for name, value in values.items()), encoding="utf-8")
    for command in ("derive", "generate"):
        extra = ["-o", str(tmp_path / "m.py")] if command == "generate" else []
        status, out, err = _run(capsys, command, str(path), *extra)
        assert status == 2 and out == ""
        assert err.startswith(f"symbackprop: error: {path}: {message}")
        assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.toml"]


@pytest.mark.parametrize("command", ["generate", "latex"])
def test_an_empty_output_file_name_is_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(capsys, command, *CLASSIFIER, "-o", "")
    assert (status, out) == (2, "")
    assert err == "symbackprop: error: -o/--output: the file name is empty; give one like mlp.py or derivation.tex\n"
    assert list(tmp_path.iterdir()) == []


NETWORK = ["2-1", "--activations", "sigmoid", "--loss", "bce"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train", *NETWORK, "--epochs", "1e3"], "train: argument --epochs: invalid int value: '1e3'"),
        (["train", *NETWORK, "--lr", "abc"], "train: argument --lr: invalid float value: 'abc'"),
        (["train", *NETWORK, "--batch-size", "2.5"], "train: argument --batch-size: invalid int value: '2.5'"),
        (["train", *NETWORK, "--seed", "x"], "train: argument --seed: invalid int value: 'x'"),
        (["train", *NETWORK, "--history-format", "xml"], "train: argument --history-format: invalid choice: 'xml'"),
        (["verify", *NETWORK, "--seed", "abc"], "verify: argument --seed: invalid int value: 'abc'"),
        (["verify", *NETWORK, "--rules", "nope"], "verify: argument --rules: invalid choice: 'nope'"),
        (["check", "m:f", "--spec", "2-1", "--dtype", "float8"], "check: argument --dtype: invalid choice"),
        (["latex", *NETWORK, "--fragment", "--standalone"], "latex: argument --standalone: not allowed with"),
        (["derive", *NETWORK, "--frobnicate"], "derive: unrecognized arguments: --frobnicate"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
        (["derive", "-2-1", "--activations", "sigmoid"], "'-2-1' starts with '-', so it is read as an option;"),
        (["train", *NETWORK, "--lr", "-1e-3"], "'-1e-3' starts with '-', so it is read as an option; write --lr=-1e-3"),
    ],
)
def test_a_malformed_command_line_is_one_line_naming_the_option(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, *arguments)
    assert (status, out) == (2, "")
    assert err.startswith(f"symbackprop: error: {message}") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda path: path.mkdir(), "is a folder"),
        (lambda path: os.mkfifo(path), "is a FIFO (named pipe)"),
    ],
    ids=["folder", "fifo"],
)
@pytest.mark.parametrize("command", ["latex", "generate"])
def test_an_output_that_is_no_regular_file_is_refused_and_kept(
    command: str, make: Any, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.tex"
    make(output)
    before = output.lstat().st_mode
    force = ["--force"] if command == "generate" else []
    status, out, err = _run(capsys, command, *NETWORK, "-o", str(output), *force)
    assert (status, out) == (2, "")
    assert err == f"symbackprop: error: -o/--output: {output} {kind}, not a regular file; give a file name\n"
    assert output.lstat().st_mode == before and sorted(tmp_path.iterdir()) == [output]


def test_an_output_through_a_symbolic_link_writes_the_file_it_leads_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.tex"
    real.write_text("old\n")
    link = tmp_path / "link.tex"
    link.symlink_to("real.tex")
    status, out, _ = _run(capsys, "latex", *NETWORK, "-o", str(link))
    assert (status, out) == (0, f"wrote {link}\n")
    assert link.is_symlink() and real.read_text().startswith("\\documentclass")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.tex", "real.tex"]


def test_a_symbolic_link_loop_as_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.tex").symlink_to("b.tex")
    (tmp_path / "b.tex").symlink_to("a.tex")
    status, _, err = _run(capsys, "latex", *NETWORK, "-o", str(tmp_path / "a.tex"))
    assert status == 2 and err.endswith("a.tex is a symbolic link that leads to itself\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["demo", "--out", "", "--quiet"], "--out: the folder name is empty"),
        (["regenerate", "--out", " "], "--out: the folder name is empty"),
        (["latex", *NETWORK, "--sections", "nope"], "--sections: unknown section(s) nope"),
        (["latex", *NETWORK, "--sections", ""], "--sections: no section chosen"),
        (["latex", *NETWORK, "--sections", ",,"], "--sections: no section chosen"),
        (["latex", *NETWORK, "-o", "absent/d.tex"], "-o/--output: absent/d.tex: absent does not exist"),
        (["check", "m:f", "--spec", "2 -> x"], "--spec: compact spec: '2 -> x' has no ': loss'"),
    ],
)
def test_errors_name_the_option_and_write_nothing(
    arguments: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(capsys, *arguments)
    assert (status, out) == (2, "")
    assert err.startswith(f"symbackprop: error: {message}") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


GRADIENTS = """
def grads(params, X, Y):
    return {"d" + name: 0 * value for name, value in params.items()}
"""


@pytest.mark.parametrize("option", ["--names", "--grad-names"])
@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ("W1", "'W1' is not NAME=KEY"),
        ("W1=", "'W1=' is not NAME=KEY"),
        ("=w", "'=w' is not NAME=KEY"),
        ("W1=a=b", "'W1=a=b' is not NAME=KEY"),
        (",", "'' is not NAME=KEY"),
        ("W1=a,W1=b", "W1 is given twice"),
        ("W1=a,b1=a", "both W1 and b1 are given the key 'a'"),
        ("W9=w", "'W9' is no parameter of the network"),
        ("dW1=x", "'dW1' is no parameter of the network"),
    ],
)
def test_names_pairs_are_checked_and_errors_name_the_option(
    option: str,
    pairs: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.py").write_text(GRADIENTS)
    status, out, err = _run(capsys, "check", "mine.py:grads", "--spec", "2 -> 1 sigmoid : bce", option, pairs)
    assert (status, out) == (2, "")
    assert err.startswith(f"symbackprop: error: {option}: {message}") and err.count("\n") == 1


@pytest.mark.parametrize(("target", "framework_line"), [("numpy", "numpy"), ("torch", "PyTorch"), ("jax", "JAX")])
def test_generate_writes_the_module_of_the_chosen_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, framework_line: str
) -> None:
    output = tmp_path / f"net_{target}.py"
    arguments = ["generate", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce", "-o", str(output)]
    status, _, _ = _run(capsys, *arguments, "--target", target)
    assert status == 0
    source = output.read_text()
    rebuild = source.splitlines()[1]
    # The rebuild command names the target only where it is not the default.
    assert ("--target" in rebuild) == (target != "numpy")
    assert f"import {'torch' if target == 'torch' else 'jax' if target == 'jax' else 'numpy'}" in source
    assert framework_line in source.splitlines()[0] or target == "numpy"
    compile(source, str(output), "exec")


def test_check_stops_code_that_does_not_return_within_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "looping.py").write_text("def grads(params, X, Y):\n    while True:\n        pass\n")
    monkeypatch.chdir(tmp_path)
    spec = ["--spec", "2-3-1", "--activations", "tanh,sigmoid", "--loss", "bce"]
    status, out, _ = _run(capsys, "check", "looping.py:grads", *spec, "--timeout", "0.3")
    assert status == 1
    assert "grads did not return within 0.3 s (stopped at looping.py:" in out
    for bad, message in (("0", "not a positive, finite number"), ("abc", "'abc' is not a number of seconds")):
        status, _, err = _run(capsys, "check", "looping.py:grads", *spec, "--timeout", bad)
        assert status == 2
        assert err.startswith("symbackprop: error: check: argument --timeout:") and message in err
