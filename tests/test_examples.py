"""The examples run as a user runs them (a fresh process, in an empty folder) and show what they claim.

Each script is run with ``python examples/<name>.py`` in a temporary directory; the tests read
its printed figures (accuracies, weights, gradients), its error messages and the files it writes.
The notebook is executed with nbclient in a temporary directory, and the commands that open and
run it are provided by the install the examples' README gives (the ``notebook`` extra). The wheat seeds data set is not
in the repository: its test runs when the development copy lies at ``../shared/data/`` beside
the repository, and is skipped otherwise.
"""

from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from symbackprop.codegen import GENERATED_MARKER

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "examples"
PYPROJECT = REPOSITORY / "pyproject.toml"
#: The notebook commands the examples' README gives, and the distribution that provides each.
NOTEBOOK_COMMANDS = {"jupyter notebook": "notebook", "jupyter execute": "nbclient"}
NOTEBOOK_INSTALL = 'pip install -e ".[notebook]"'
SEEDS_DATA = REPOSITORY.parent / "shared" / "data" / "wheat-seeds-binary.csv"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SEEDS_HEADER = (
    "Area,Perimeter,Compactness,Length of Kernel,Width of Kernel,Asymmetry Coefficient,Length of Kernel Groove,Class"
)


def run_example(name: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_example_here(
    name: str, *arguments: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """The example run as ``__main__`` in this process (exit status, stdout, stderr): for the
    checks of its input, where a fresh interpreter would spend its time importing SymPy. The
    examples' ability to start on their own is what the subprocess runs above check."""
    path = EXAMPLES / name
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [str(path), *arguments])
    try:
        runpy.run_path(str(path), run_name="__main__")
        status = 0
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def number_after(label: str, text: str) -> float:
    """The number printed right after ``label`` (the first occurrence)."""
    match = re.search(re.escape(label) + r"\s*([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)", text)
    assert match is not None, f"'{label}' followed by a number is not in the output:\n{text}"
    return float(match.group(1))


def assert_png(path: Path) -> None:
    assert path.read_bytes().startswith(PNG_SIGNATURE), f"{path} is not a PNG file"


@pytest.mark.slow
def test_total_derivative_derives_verifies_and_trains_the_classifier(tmp_path):
    output = succeeded(run_example("total_derivative.py", cwd=tmp_path))
    assert "Network 3 -> 4 relu -> 2 relu -> 2 sigmoid : sse" in output
    assert "δ⁽³⁾[p] = 2⋅a⁽³⁾[p]⋅(1 - a⁽³⁾[p])⋅(a⁽³⁾[p] - y[p])" in output
    assert "all rules verified" in output
    assert "4 rule check(s) failed" in output
    assert number_after("accuracy before training:", output) == pytest.approx(0.5, abs=0.05)
    assert number_after("accuracy after training:", output) > 0.9
    assert "epochs where the loss rose: 0 of 1000" in output, "the small step is far below the edge of stability"
    diverging = output[output.index("learning rate 10000,") : output.index("learning rate 1e+80")]
    assert number_after("is at least", diverging) > 100, "the loss stays orders of magnitude above the first epoch's"
    assert number_after("largest pre-activation of layer 2 over all points:", diverging) < 0
    assert number_after("final accuracy", diverging) == pytest.approx(0.5, abs=0.05)
    overflow = output[output.index("learning rate 1e+80") :]
    assert number_after("epoch    2  loss", overflow) > 1e100
    assert "train() stopped: TrainingDiverged: training diverged at epoch" in overflow
    folder = tmp_path / "total-derivative-output"
    assert (folder / "derivation_3_4_2_2.txt").read_text(encoding="utf-8").startswith("Network 3 -> 4 relu")
    assert (folder / "mlp_2_4_3_1_bce.py").read_text(encoding="utf-8").startswith(GENERATED_MARKER)
    assert_png(folder / "training.png")


@pytest.mark.slow
def test_one_neuron_learns_the_first_feature_then_activations_and_a_deep_network(tmp_path):
    output = succeeded(run_example("one_neuron_to_deep.py", "--out", "plots", cwd=tmp_path))
    linear = output[output.index("== 1.") : output.index("== 2.")]
    assert "Layer 1: identity, output layer, 1 unit\n" in linear
    for mode in ("full-batch", "per-sample SGD", "mini-batch"):
        assert mode in linear
    assert linear.count("weights (+1.000, -0.000, -0.000)  bias +0.000") == 3
    stability = output[output.index("== 2.") : output.index("== 3.")]
    limit = number_after("converges for lr < 2/λ =", stability)
    assert 0.5 < limit < 1.0
    assert "lr 0.5: converged" in stability
    assert "lr 1: train() stopped: TrainingDiverged: training diverged at epoch" in stability
    activations = output[output.index("== 3.") : output.index("== 4.")]
    for activation in ("tanh", "sigmoid", "relu"):
        assert f"  {activation}\n" in activations
    for prediction in re.findall(r"predicts (\d\.\d+) for \[0\.8, 0\.3, 0\.6\]", output):
        assert float(prediction) == pytest.approx(0.8, abs=0.05)
    deep = output[output.index("== 4.") :]
    assert "3 -> 8 tanh -> 4 tanh -> 1 identity : mse, 73 parameters" in deep
    for name in ("neuron_descent.png", "neuron_activations.png", "deep_network.png"):
        assert_png(tmp_path / "plots" / name)


def test_chain_rule_products_equal_the_generated_gradient_and_finite_differences(tmp_path):
    output = succeeded(run_example("chain_rule_paths.py", cwd=tmp_path))
    assert "∂C/∂θ₁ = ∂z¹/∂θ₁ · ∂a¹/∂z¹ · ∂z²/∂a¹ · ∂a²/∂z² · ∂z³/∂a² · ∂ŷ/∂z³ · ∂C/∂ŷ" in output
    assert "∂C/∂θ₂ = ∂z²/∂θ₂ · ∂a²/∂z² · ∂z³/∂a² · ∂ŷ/∂z³ · ∂C/∂ŷ" in output
    assert "∂C/∂b₃ = ∂z³/∂b₃ · ∂ŷ/∂z³ · ∂C/∂ŷ" in output
    # The tutorial's factors, as the derivation gives them: θ₃ for ∂z³/∂a², ŷ(1 − ŷ) for the sigmoid.
    assert "= a²⋅ŷ⋅(1 - ŷ)⋅(-2⋅y + 2⋅ŷ)" in output
    rows = re.findall(r"^(∂C/∂\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", output, flags=re.MULTILINE)
    assert [row[0] for row in rows] == ["∂C/∂θ₁", "∂C/∂b₁", "∂C/∂θ₂", "∂C/∂b₂", "∂C/∂θ₃", "∂C/∂b₃"]
    for _, product, generated, difference in rows:
        assert float(product) != 0.0
        assert float(product) == pytest.approx(float(generated), rel=1e-11)
        assert float(product) == pytest.approx(float(difference), rel=1e-7)
    folder = tmp_path / "chain-rule-output"
    assert (folder / "chain_1_1_1_1_sse.py").read_text(encoding="utf-8").startswith(GENERATED_MARKER)
    document = (folder / "chain_derivation.md").read_text(encoding="utf-8")
    assert "## The paths of one deep weight" in document
    assert r"&\left(2 \hat{y}_{1} - 2 y_{1}\right) \cdot f'_{3}(z^{(3)}_{1}) \cdot" in document


def test_wheat_seeds_without_data_says_where_to_get_it(tmp_path):
    result = run_example("wheat_seeds.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "wheat_seeds.py: error: no data given (--data PATH)" in result.stderr
    assert "https://archive.ics.uci.edu/dataset/236/seeds" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def _seeds_rows(classes: list[int]) -> list[str]:
    return [f"{14 + i % 5},{14.5 + i % 3},0.88,5.5,3.3,{1 + i % 4},5.1,{label}" for i, label in enumerate(classes)]


BAD_SEEDS_FILES = {
    "missing": (None, "missing.csv: no such file"),
    "not a number": (
        [SEEDS_HEADER, *_seeds_rows([1, 2] * 6)[:5], "15.26,14.84,0.871,5.763,3.312,n/a,5.22,1"],
        "line 7, column 'Asymmetry Coefficient': 'n/a' is not a number",
    ),
    "six features": (
        [SEEDS_HEADER.replace("Compactness,", ""), *(row.replace(",0.88", "") for row in _seeds_rows([1, 2] * 6))],
        "6 feature column(s) besides 'Class'",
    ),
    "third class": (
        [SEEDS_HEADER, *_seeds_rows([1, 2, 3] * 4)],
        "line 4, column 'Class': 3 is not 1 (Kama) or 2 (Rosa)",
    ),
    "one class": ([SEEDS_HEADER, *_seeds_rows([1] * 12)], "no row of class 2 (Rosa)"),
    "no header": (_seeds_rows([1, 2] * 6), "no column named Class"),
    "too few rows": ([SEEDS_HEADER, *_seeds_rows([1, 2, 1])], "3 data rows; a 70/30 split needs at least 10"),
}


@pytest.mark.parametrize("case", sorted(BAD_SEEDS_FILES))
def test_wheat_seeds_refuses_a_bad_file_with_a_clear_error(tmp_path, case, monkeypatch, capsys):
    lines, message = BAD_SEEDS_FILES[case]
    path = tmp_path / "missing.csv" if lines is None else tmp_path / "seeds.csv"
    if lines is not None:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, _, stderr = run_example_here(
        "wheat_seeds.py", "--data", path.name, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
    )
    assert status == 2
    assert "Traceback" not in stderr
    assert stderr.startswith("wheat_seeds.py: error: ")
    assert message in stderr
    assert "Expected: a CSV file with a header line, 7 feature columns" in stderr
    assert not (tmp_path / "wheat-seeds-output").exists()


@pytest.mark.skipif(not SEEDS_DATA.exists(), reason=f"the seeds data set is not at {SEEDS_DATA} (not shipped)")
def test_wheat_seeds_classifier_reaches_high_test_accuracy(tmp_path):
    output = succeeded(run_example("wheat_seeds.py", "--data", str(SEEDS_DATA), cwd=tmp_path))
    assert "140 seeds" in output
    assert "98 training rows, 42 test rows" in output
    assert number_after("test accuracy before training:", output) == pytest.approx(0.5, abs=0.15)
    assert number_after("test accuracy:", output) >= 0.9
    assert (tmp_path / "wheat-seeds-output" / "weights.npz").is_file()


def test_optimizers_without_data_says_where_to_get_it(tmp_path):
    result = run_example("optimizers.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "optimizers.py: error: no data given (--data PATH)" in result.stderr
    assert "run: python examples/optimizers.py --data" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(not SEEDS_DATA.exists(), reason=f"the seeds data set is not at {SEEDS_DATA} (not shipped)")
def test_optimizers_tabulates_six_runs_and_plots_their_validation_curves(tmp_path):
    output = succeeded(run_example("optimizers.py", "--data", str(SEEDS_DATA), "--epochs", "10", cwd=tmp_path))
    assert "98 to train on, 42 held out" in output
    rows = [line for line in output.splitlines() if line.startswith("| ") and not line.startswith("| run ")]
    names = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert names == [
        f"{optimizer}{l2}"
        for optimizer in ("sgd, lr 0.1", "momentum, lr 0.02", "adam, lr 0.01")
        for l2 in ("", ", L2 λ=0.05")
    ]
    for row in rows:  # a finite loss and an accuracy, whatever their values
        loss, accuracy = (float(cell) for cell in row.strip("| ").split(" | ")[1:])
        assert loss > 0 and 0 <= accuracy <= 1
    assert (tmp_path / "optimizers-output" / "validation.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.slow
def test_tour_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")
    pytest.importorskip("ipykernel", reason="the test extra installs ipykernel")
    notebook_path = tmp_path / "tour.ipynb"
    shutil.copy(EXAMPLES / "tour.ipynb", notebook_path)
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, "the notebook is committed without outputs"
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    rich = [output.data for output in outputs if "data" in output]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert any("$$" in data.get("text/markdown", "") for data in rich), "the derivation shows as Markdown math"
    assert any(r"\hat{y}" in data.get("text/latex", "") for data in rich), "a layer shows as LaTeX"
    assert r"\begin{document}" in text
    assert "all rules verified" in text
    assert "4 rule check(s) fail" in text
    assert "def backward(" in text
    assert number_after("accuracy before training:", text) < 0.7
    assert number_after("accuracy after 200 epochs:", text) > 0.9
    assert any("image/png" in data for data in rich), "the notebook plots"


def test_the_notebook_commands_work_after_the_install_the_readme_gives():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    first_cell = "".join(json.loads((EXAMPLES / "tour.ipynb").read_text(encoding="utf-8"))["cells"][0]["source"])
    extra = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["notebook"]
    provided = {re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower() for requirement in extra}  # type: ignore[union-attr]
    assert "ipykernel" in provided, "the notebook extra brings no Python kernel"
    for text in (readme, first_cell):
        assert NOTEBOOK_INSTALL in text
        for command, distribution in NOTEBOOK_COMMANDS.items():
            assert f"`{command} examples/tour.ipynb`" in text
            assert distribution in provided, f"`{command}` comes with {distribution}, which the extra lacks"
