"""The derive and verify commands: what they print, their exit status, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
