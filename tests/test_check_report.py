"""The gradient check's report in its three forms: the text table with each broken derivation step
under the first failure, Markdown (also Jupyter's ``_repr_markdown_``) with ``$$`` displays, a
LaTeX fragment with escaped text and ``\\[`` displays; and ``symbackprop check --format``/``--latex``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.testing import GradientReport, ParameterRow, Tolerance
from symbackprop.testing.report import BrokenStep

REPOSITORY = Path(__file__).resolve().parent.parent
SPEC = "3 -> 5 tanh -> 4 relu -> 2 sigmoid : bce"
MISSING = "layer 2 misses f′(z): δ2 was not multiplied by the derivative of tanh"

TANH_STEP = BrokenStep(
    layer=2,
    rule="BP2",
    derived="δ2[p] = (1 − tanh(z2[p])²)⋅∂L/∂a2[p]",
    fitted="δ2[p] = (1 − tanh(z2[p]))⋅∂L/∂a2[p]",
    derived_latex=r"\delta^{(2)}_p = \left(1 - \tanh^{2}(z^{(2)}_p)\right) \frac{\partial L}{\partial a^{(2)}_p}",
    fitted_latex=r"\delta^{(2)}_p = \left(1 - \tanh(z^{(2)}_p)\right) \frac{\partial L}{\partial a^{(2)}_p}",
)
UNFITTED_STEP = BrokenStep(
    layer=1,
    rule="f′",
    derived="f′1(z1[p]) = 1 − tanh(z1[p])²",
    fitted="",
    derived_latex=r"f'_1(z^{(1)}_p) = 1 - \tanh^{2}(z^{(1)}_p)",
    fitted_latex="",
)


def row(name: str, layer: int, verdict: str = "pass", diagnosis: str = "", shape=(2, 3)) -> ParameterRow:
    error = 1e-16 if verdict == "pass" else 0.8
    return ParameterRow(
        name, shape, error, (0, 1), 0.25, 0.25 if verdict == "pass" else 0.5, verdict, diagnosis, "", layer
    )


def report(*, steps=(TANH_STEP,), findings=(), notes=(), rows=None, network=SPEC) -> GradientReport:
    return GradientReport(
        network=network,
        layout="samples as rows, W (out, in), b (n,); gradients averaged over the batch",
        tolerance=Tolerance.for_dtype("float64"),
        batch_sizes=(7, 14),
        margin=0.037,
        rows=tuple(
            rows
            or [
                row("dW1", 1, "fail", "inherits layer 2's mistake through δ: " + MISSING),
                row("dW2", 2, "fail", MISSING),
                row("db2", 2, "fail", MISSING, shape=(2,)),
                row("dW3", 3),
            ]
        ),
        findings=tuple(findings),
        notes=tuple(notes),
        broken_steps=tuple(steps),
    )


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def balanced(latex: str) -> bool:
    """Braces nest properly, ``\\{`` and ``\\}`` (escaped, so literal) aside."""
    depth = 0
    for brace in re.sub(r"\\[{}]", "", latex.replace("\\\\", "")):
        depth += {"{": 1, "}": -1}.get(brace, 0)
        if depth < 0:
            return False
    return depth == 0


# -- the text table ---------------------------------------------------------------------------


def test_the_table_shows_each_broken_step_under_the_first_failure():
    lines = report(steps=(TANH_STEP, UNFITTED_STEP), notes=("a note",)).table().splitlines()
    first = lines.index(f"nearest the output, layer 2 fails: {MISSING}")
    assert lines[first + 1 : first + 6] == [
        "  derived (BP2, layer 2): δ2[p] = (1 − tanh(z2[p])²)⋅∂L/∂a2[p]",
        "  your code fits:         δ2[p] = (1 − tanh(z2[p]))⋅∂L/∂a2[p]",
        "  derived (f′, layer 1): f′1(z1[p]) = 1 − tanh(z1[p])²",
        "  your code fits no equation tried",
        "note: a note",
    ]
    assert lines[-1] == "verdict: fail"


def test_without_broken_steps_the_table_is_unchanged():
    with_steps, without = report().table().splitlines(), report(steps=()).table().splitlines()
    assert [line for line in with_steps if not line.startswith(("  derived", "  your code"))] == without
    assert without[:2] == [
        f"gradient check of {SPEC}",
        "  float64; samples as rows, W (out, in), b (n,); gradients averaged over the batch",
    ]
    assert without[2].startswith("  batches of 7 and 14 samples, every |z| ≥ 0.037; pass ≤ ")
    assert without[4].split() == [
        "parameter",
        "shape",
        "rel.",
        "error",
        "worst",
        "element:",
        "expected,",
        "got",
        "verdict",
        "diagnosis",
    ]
    assert str(report(steps=())) == report(steps=()).table()


def test_a_row_with_nothing_judged_shows_a_dash_for_its_error_and_worst_element():
    nothing = ParameterRow("dW1", (2, 3), float("nan"), (), float("nan"), float("nan"), "fail", "no gradient returned")
    given = report(steps=(), rows=[nothing], findings=("grads did not return within 60 s (stopped at mine.py:3)",))
    assert given.table().splitlines()[5].split() == ["dW1", "(2,", "3)", "-", "-", "fail", "no", "gradient", "returned"]
    assert "| dW1 | (2, 3) | - | - | fail | no gradient returned |" in given.markdown()
    assert r"dW1 & (2, 3) & - & - & fail & no gradient returned \\" in given.latex()
    assert given.verdict == "fail"


# -- Markdown -----------------------------------------------------------------------------------


def test_markdown_is_a_heading_a_well_formed_table_and_display_math():
    text = report(steps=(TANH_STEP, UNFITTED_STEP), findings=("your code changed W1",), notes=("a note",)).markdown()
    lines = text.splitlines()
    assert lines[0] == f"### gradient check of {SPEC}"
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 4
    assert {unescaped_pipes(line) for line in table} == {7}
    assert table[0] == "| parameter | shape | rel. error | worst element: expected, got | verdict | diagnosis |"
    assert re.fullmatch(r"\|(---\|){6}", table[1])
    assert table[-1].startswith("| dW3 | (2, 3) | 1.0e-16 | [0, 1]: 0.25, 0.25 | pass |")
    # Everything in order: findings, the first failure, the steps as displays, notes, the verdict.
    expected = [
        "**!** your code changed W1",
        f"nearest the output, layer 2 fails: {MISSING}",
        "derived (BP2, layer 2):",
        "$$",
        TANH_STEP.derived_latex,
        "$$",
        "your code fits:",
        "$$",
        TANH_STEP.fitted_latex,
        "$$",
        "derived (f′, layer 1):",
        "$$",
        UNFITTED_STEP.derived_latex,
        "$$",
        "your code fits no equation tried",
        "note: a note",
        "**verdict: fail**",
    ]
    remaining = iter(lines)
    assert all(any(line == wanted for line in remaining) for wanted in expected)
    assert text.count("$$") == 6
    assert report().markdown() == report()._repr_markdown_()


def test_markdown_escapes_what_would_break_the_table():
    diagnosis = "a | b * c_d `e` $f$ \\g"
    text = report(rows=[row("dW1", 1, "fail", diagnosis), row("db1", 1)], steps=()).markdown()
    cells = [line for line in text.splitlines() if line.startswith("| dW1")]
    assert cells == ["| dW1 | (2, 3) | 8.0e-01 | [0, 1]: 0.25, 0.5 | fail | a \\| b \\* c\\_d \\`e\\` \\$f\\$ \\\\g |"]
    assert unescaped_pipes(cells[0]) == 7
    assert "every \\|z\\| ≥ 0.037" in text


def test_a_step_without_latex_is_shown_as_its_line():
    step = BrokenStep(2, "BP2", "δ2 = e", "δ2 = f", "", "")
    text = report(steps=(step,)).markdown()
    assert "`δ2 = e`" in text and "`δ2 = f`" in text and "$$" not in text


# -- LaTeX -------------------------------------------------------------------------------------


def test_latex_is_a_tabular_of_the_rows_and_the_steps_as_displays():
    text = report(steps=(TANH_STEP, UNFITTED_STEP), notes=("a note",)).latex()
    assert r"\begin{table}" not in text and r"\documentclass" not in text
    assert text.count(r"\begin{tabular}") == 1 and text.count(r"\end{tabular}") == 1
    body = text[text.index(r"\begin{tabular}") : text.index(r"\end{tabular}")]
    rows = [line for line in body.splitlines() if line.endswith(r"\\")]
    assert len(rows) == 1 + 4 and {line.count(" & ") for line in rows} == {5}
    assert rows[0] == r"parameter & shape & rel. error & worst element: expected, got & verdict & diagnosis \\"
    assert f"\\[\n{TANH_STEP.derived_latex}\n\\]" in text and f"\\[\n{TANH_STEP.fitted_latex}\n\\]" in text
    assert f"\\[\n{UNFITTED_STEP.derived_latex}\n\\]" in text and "your code fits no equation tried" in text
    assert text.count(r"\[") == 3 == text.count(r"\]")
    assert "3 $\\rightarrow$ 5 tanh" in text
    assert text.rstrip().endswith(r"verdict: \textbf{fail}")
    assert balanced(text)


def test_latex_escapes_the_special_characters_of_text_cells():
    diagnosis = r"50% of W_1 & b#2 cost $3 {x} ~y^2 \z"
    text = report(rows=[row("dW_1", 1, "fail", diagnosis), row("db1", 1)], steps=(), network="a_b & c").latex()
    cells = [line for line in text.splitlines() if line.startswith("dW")]
    assert cells == [
        r"dW\_1 & (2, 3) & 8.0e-01 & [0, 1]: 0.25, 0.5 & fail & 50\% of W\_1 \& b\#2 cost \$3 \{x\}"
        r" \textasciitilde{}y\textasciicircum{}2 \textbackslash{}z \\"
    ]
    assert r"gradient check of a\_b \& c\\" in text
    assert balanced(text)
    # Outside the comment line and the displays, no character is left unescaped.
    prose = [line for line in text.splitlines() if not line.startswith("%")]
    for line in prose:
        assert not re.search(r"(?<!\\)[&%#_]", line.replace(" & ", "")), line


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_the_latex_fragment_compiles(tmp_path):
    fragment = report(steps=(TANH_STEP, UNFITTED_STEP), findings=("your code changed W1",)).latex()
    document = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n" + fragment + "\\end{document}\n"
    (tmp_path / "report.tex").write_text(document, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def examples(monkeypatch):
    """The README's check, run from the checkout; the path and the module it imports are undone
    after, so that another test's my_backprop.py is not shadowed by the example's."""
    monkeypatch.chdir(REPOSITORY)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield ["check", "examples/my_backprop.py:my_grads", "--spec", SPEC]
    folder = REPOSITORY / "examples"
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").parent == folder:
            del sys.modules[name]


def test_check_prints_markdown_for_a_failing_check(examples, capsys):
    assert main([*examples, "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"### gradient check of {SPEC}"
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| parameter | shape | rel. error | worst element: expected, got | verdict | diagnosis |"
    assert [line.split(" | ")[0] for line in table[2:]] == ["| dW1", "| db1", "| dW2", "| db2", "| dW3", "| db3"]
    assert {unescaped_pipes(line) for line in table} == {7}
    assert out.count("$$") % 2 == 0
    assert lines[-1] == "**verdict: fail**"


def test_check_prints_latex_with_format_latex_or_the_shorthand(examples, capsys):
    assert main([*examples, "--latex"]) == 1
    shorthand = capsys.readouterr().out
    assert main([*examples, "--format", "latex"]) == 1
    assert capsys.readouterr().out == shorthand
    assert shorthand.count(r"\begin{tabular}") == 1 and shorthand.rstrip().endswith(r"verdict: \textbf{fail}")
    assert balanced(shorthand)


def test_check_prints_text_by_default_and_refuses_two_formats(examples, capsys):
    assert main(examples) == 1
    assert capsys.readouterr().out.startswith(f"gradient check of {SPEC}\n  float64;")
    assert main([*examples, "--format", "markdown", "--latex"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("symbackprop: error: check: argument --latex: not allowed with argument --format")
    assert error.count("\n") == 1
