"""Ctrl-C at the risky moments of the commands that write files: status 130 and one line, every
output whole or absent, and no temporary file left.

Each case runs the command line in a fresh interpreter, through a small wrapper that sends the
process SIGINT at one chosen moment: just after a temporary file is created, just after a file is
renamed into place, when a module (matplotlib's C extensions, SymPy) starts to import, or on a
chosen call of a function. Only the wrapper knows about it; the product has no test hook.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from symbackprop import Network
from symbackprop.codegen import generate_module, load_module
from symbackprop.files import interrupts_deferred, write_atomic
from symbackprop.training import two_class_data

#: Runs ``symbackprop ARGS`` and interrupts it at MOMENT (KIND:WHAT:COUNT, see below).
WRAPPER = r"""
import importlib, os, signal, sys

kind, what, count = sys.argv[1].split(":")
count = int(count)
# As in a terminal, whatever the test runner's parent did with SIGINT.
signal.signal(signal.SIGINT, signal.default_int_handler)


def interrupt():
    os.kill(os.getpid(), signal.SIGINT)


calls = 0


def counted():
    global calls
    calls += 1
    return calls == count


def ours(path):
    # Files in the test's folder only, not those of a cache in the user's home.
    return os.path.abspath(path).startswith(os.getcwd() + os.sep)


if kind == "created":  # just after the COUNT-th temporary file is created
    real_open = os.open

    def opening(path, flags, mode=0o777, *args, **kwargs):
        handle = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_EXCL and ours(path) and counted():
            interrupt()
        return handle

    os.open = opening
elif kind == "renamed":  # just after the COUNT-th rename into place
    real_replace = os.replace

    def replacing(source, target, *args, **kwargs):
        real_replace(source, target, *args, **kwargs)
        if ours(target) and counted():
            interrupt()

    os.replace = replacing
elif kind == "import":  # when the module WHAT starts to import

    class Finder:
        def find_spec(self, name, path=None, target=None):
            if name == what and counted():
                interrupt()
            return None

    sys.meta_path.insert(0, Finder())
elif kind == "call":  # on the COUNT-th call of the function WHAT, module.function

    module_name, _, function = what.rpartition(".")
    module = importlib.import_module(module_name)
    real_function = getattr(module, function)

    def calling(*args, **kwargs):
        if counted():
            interrupt()
        return real_function(*args, **kwargs)

    setattr(module, function, calling)

sys.argv = ["symbackprop", *sys.argv[2:]]
from symbackprop.cli import main

sys.exit(main())
"""

CLASSIFIER = ["2-4-3-1", "--activations", "relu,relu,sigmoid", "--loss", "bce"]
EPOCHS = 3


def interrupted(moment: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, moment, *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )


def assert_interrupted(result: subprocess.CompletedProcess[str], folder: Path) -> None:
    assert (result.returncode, result.stderr) == (130, "symbackprop: interrupted\n"), result.stderr[-2000:]
    left = [path.name for path in folder.rglob(".*")] if folder.exists() else []
    assert not left, f"temporary files left behind: {left}"


@pytest.fixture(scope="module")
def mlp():  # type: ignore[no-untyped-def]
    return load_module(generate_module(Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce")))


def assert_whole_or_absent(folder: Path, mlp) -> set[str]:  # type: ignore[no-untyped-def]
    """Each output of a training run in folder is whole (it loads) or absent; returns the present."""
    present = {path.name for path in folder.iterdir()} if folder.exists() else set()
    if "weights.npz" in present:
        assert set(mlp.load(folder / "weights.npz")) == set(mlp.PARAMETER_NAMES)
    if "history.csv" in present:
        lines = (folder / "history.csv").read_text(encoding="utf-8").splitlines()
        assert lines[0] == "epoch,loss,accuracy" and len(lines) in (EPOCHS + 1, 300 + 1)
    if "history.png" in present:
        png = (folder / "history.png").read_bytes()
        assert png.startswith(b"\x89PNG") and png.endswith(b"IEND\xaeB`\x82")
    if "mlp.py" in present:
        module = load_module((folder / "mlp.py").read_text(encoding="utf-8"))
        assert tuple(module.SIZES) == (2, 4, 3, 1)
    for name in ("derivation.tex", "d.tex"):
        if name in present:
            assert (folder / name).read_text(encoding="utf-8").rstrip().endswith("\\end{document}")
    return present


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, Y = two_class_data(30, seed=1)
    path = tmp_path_factory.mktemp("data") / "points.csv"
    rows = [f"{a:.6f},{b:.6f},{int(c)}" for (a, b), c in zip(X, Y.ravel(), strict=True)]
    path.write_text("\n".join(["x1,x2,y", *rows]) + "\n", encoding="utf-8")
    return path


def train_arguments(points: Path) -> list[str]:
    return ["train", *CLASSIFIER, "--data", str(points), "--target", "y", "--epochs", str(EPOCHS), "--out", "run"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # The rename of weights.npz once said "cannot write the weights (No such file or directory)".
        ("renamed::1", {"weights.npz"}),
        # A temporary file, once left behind as .weights-XXXX.npz or .history.csv.XXXX.tmp: the
        # interrupt now waits for the rename, and the file is whole.
        ("created::1", {"weights.npz"}),
        ("created::3", {"weights.npz", "history.csv", "history.png"}),
        # matplotlib's import (a C extension of it), once a "Fatal Python error" with status -6.
        ("import:matplotlib._path:1", {"weights.npz", "history.csv"}),
        # Training (the second epoch's report), and SymPy's import before the command starts.
        ("call:symbackprop.training.loss_text:2", set()),
        ("import:sympy:1", None),
    ],
)
def test_train_interrupted(moment: str, expected: set[str] | None, points: Path, tmp_path: Path, mlp) -> None:  # type: ignore[no-untyped-def]
    result = interrupted(moment, *train_arguments(points), cwd=tmp_path)
    assert_interrupted(result, tmp_path)
    run = tmp_path / "run"
    if expected is None:
        assert not run.exists()
    else:
        assert assert_whole_or_absent(run, mlp) == expected


@pytest.mark.parametrize("moment", ["created::1", "call:symbackprop.codegen.formatting.format_source:1"])
def test_generate_interrupted(moment: str, tmp_path: Path) -> None:
    result = interrupted(moment, "generate", *CLASSIFIER, "-o", "mlp.py", cwd=tmp_path)
    assert_interrupted(result, tmp_path)
    present = {path.name for path in tmp_path.iterdir()}
    assert present == (set() if moment.startswith("call") else {"mlp.py"})
    assert_whole_or_absent(tmp_path, None)


def test_latex_interrupted(tmp_path: Path) -> None:
    result = interrupted("renamed::1", "latex", *CLASSIFIER, "-o", "d.tex", cwd=tmp_path)
    assert_interrupted(result, tmp_path)
    assert assert_whole_or_absent(tmp_path, None) == {"d.tex"}


def test_regenerate_interrupted_keeps_each_module_whole(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    result = interrupted("renamed::3", "regenerate", "--out", str(out), cwd=tmp_path)
    assert_interrupted(result, out)
    written = sorted(path.name for path in out.iterdir())
    assert len(written) == 3
    for path in out.iterdir():
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("renamed::1", {"mlp.py"}),
        ("created::3", {"mlp.py", "derivation.txt", "derivation.tex"}),
        ("renamed::4", {"mlp.py", "derivation.txt", "derivation.tex", "weights.npz"}),
        ("import:matplotlib._path:1", {"mlp.py", "derivation.txt", "derivation.tex", "weights.npz", "history.csv"}),
    ],
)
def test_demo_interrupted(moment: str, expected: set[str], tmp_path: Path, mlp) -> None:  # type: ignore[no-untyped-def]
    result = interrupted(moment, "demo", "--out", "demo", cwd=tmp_path)
    assert_interrupted(result, tmp_path)
    assert assert_whole_or_absent(tmp_path / "demo", mlp) == expected


def test_an_interrupt_after_the_command_changes_nothing(points: Path, tmp_path: Path, mlp) -> None:  # type: ignore[no-untyped-def]
    """Once the command returns, the interpreter's shutdown ignores SIGINT: the files are whole
    and the status is the command's, not a silent -2."""
    wrapper = WRAPPER.replace("sys.exit(main())", "status = main()\ninterrupt()\nsys.exit(status)")
    result = subprocess.run(
        [sys.executable, "-c", wrapper, "none::0", *train_arguments(points), "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert assert_whole_or_absent(tmp_path / "run", mlp) == {"weights.npz", "history.csv", "history.png"}
    np.testing.assert_equal(len(mlp.load(tmp_path / "run" / "weights.npz")), 6)


# -- in this process: the deferral itself, and the writers with an interrupt after their rename --

needs_the_main_thread = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="Python handles signals in the main thread"
)


@needs_the_main_thread
def test_an_interrupt_waits_for_the_end_of_the_deferred_block() -> None:
    handler = signal.getsignal(signal.SIGINT)
    steps = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        steps.append("the body went on")
    assert steps == ["the body went on"] and signal.getsignal(signal.SIGINT) is handler
    with interrupts_deferred():
        steps.append("no interrupt, no KeyboardInterrupt")
    assert len(steps) == 2


def _interrupt_after_renaming(monkeypatch: pytest.MonkeyPatch) -> None:
    rename = os.replace

    def renaming(source: str, target: str) -> None:
        rename(source, target)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", renaming)


@needs_the_main_thread
def test_write_atomic_interrupted_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _interrupt_after_renaming(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "out.txt", "whole\n")
    assert [path.name for path in tmp_path.iterdir()] == ["out.txt"]
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "whole\n"


@needs_the_main_thread
def test_the_generated_save_interrupted_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlp) -> None:  # type: ignore[no-untyped-def]
    # Once "cannot write the weights (No such file or directory)": save() removed a temporary
    # file that the rename had already moved into place, hiding the interrupt.
    params = mlp.init_params(seed=4)
    _interrupt_after_renaming(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        mlp.save(tmp_path / "weights.npz", params)
    monkeypatch.undo()
    assert [path.name for path in tmp_path.iterdir()] == ["weights.npz"]
    loaded = mlp.load(tmp_path / "weights.npz")
    for name in params:
        np.testing.assert_array_equal(loaded[name], params[name])
