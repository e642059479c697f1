"""What a gradient check found: verdicts per parameter, their diagnoses, and the table of them.

Contract
--------
* :class:`GradientReport` holds one :class:`ParameterRow` per parameter (and rows for the forward
  pass and the loss when the user gave them), the findings that concern the whole code (parameters
  changed by it), and the layer nearest the output that fails. Every verdict is one of
  :data:`VERDICTS`, never a bare bool; the rows were judged with the :class:`Tolerance` the report
  holds and prints (both are defined in :mod:`.judging`, and still importable from here).
  :meth:`GradientReport.table` is the text of :class:`GradientMismatch`, the ``AssertionError``
  that :func:`assert_gradients` raises.
* Each :class:`BrokenStep` is shown beside the diagnosis it explains: two lines under the table's
  first failure (the derived equation, the one the code fits), display math in
  :meth:`GradientReport.markdown` (also Jupyter's ``_repr_markdown_``) and in the LaTeX fragment
  of :meth:`GradientReport.latex`. The three formats lay out the strings the report holds and
  compute nothing; their text cells are escaped for their format.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..printing.latex import text_with_symbols
from .judging import VERDICTS, Tolerance

__all__ = ["VERDICTS", "BrokenStep", "GradientMismatch", "GradientReport", "ParameterRow", "Tolerance"]


@dataclass(frozen=True)
class ParameterRow:
    """One row of the report: a parameter (or the forward pass, or the loss)."""

    name: str
    shape: tuple[int, ...]
    #: NaN when there was nothing to judge (the code returned no gradient): shown as "-".
    relative_error: float
    #: The element with the largest error: its index (in the user's layout), expected and got.
    worst_index: tuple[int, ...]
    expected: float
    got: float
    verdict: str
    diagnosis: str = ""
    #: The kind of mistake recognised (a key of :data:`~symbackprop.testing.mutants.CATALOGUE`), or "".
    mistake: str = ""
    #: The layer the row belongs to (0 for the forward pass and the loss).
    layer: int = 0
    #: The finite-difference witness's relative error against the reference, when it ran.
    finite_difference_error: float | None = None
    #: The shape the row should have, in the user's layout.
    expected_shape: tuple[int, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "pass"


#: The table's columns, in every format.
HEADER = ("parameter", "shape", "rel. error", "worst element: expected, got", "verdict", "diagnosis")
NO_FIT = "your code fits no equation tried"


@dataclass(frozen=True)
class BrokenStep:
    """The step of the derivation that a diagnosed mistake breaks, beside the step the code's
    numbers fit: the rule (BP1–BP4, or f′ for a layer's activation derivative) at one layer, each
    side as one readable line and as LaTeX. ``fitted`` is empty when no equation fits the code."""

    layer: int
    rule: str
    derived: str
    fitted: str
    derived_latex: str
    fitted_latex: str

    @property
    def label(self) -> str:
        return f"derived ({self.rule}, layer {self.layer}):"

    def lines(self) -> list[str]:
        """The two lines of the text table: the derived equation, then the one the code fits."""
        label = self.label
        fitted = f"{'your code fits:'.ljust(len(label))} {self.fitted}" if self.fitted else NO_FIT
        return [f"{label} {self.derived}", fitted]


@dataclass(frozen=True)
class GradientReport:
    """The outcome of one check; ``ok`` only when every row passes and nothing else was found."""

    network: str
    layout: str
    tolerance: Tolerance
    batch_sizes: tuple[int, ...]
    margin: float
    rows: tuple[ParameterRow, ...]
    findings: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    #: The derivation steps the diagnosed mistakes break, nearest the output first.
    broken_steps: tuple[BrokenStep, ...] = ()
    #: The framework, precision and device of code written with torch or JAX ("torch float32",
    #: "torch float32 on cuda:0"); "" for NumPy code.
    framework: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings and all(row.ok for row in self.rows)

    @property
    def verdict(self) -> str:
        if self.findings or any(row.verdict == "fail" for row in self.rows):
            return "fail"
        return "pass" if self.ok else "inconclusive"

    @property
    def first_failure(self) -> ParameterRow | None:
        """The failing row nearest the output (the forward pass and the loss come first)."""
        failing = [row for row in self.rows if not row.ok]
        if not failing:
            return None
        return max(failing, key=lambda row: (row.layer == 0, row.layer, row.name.lstrip("d").startswith("W")))

    def row(self, name: str) -> ParameterRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no row '{name}'; rows: {', '.join(row.name for row in self.rows)}")

    def table(self) -> str:
        lines = [tuple(_cells(row)) for row in self.rows]
        widths = [max(len(line[c]) for line in [HEADER, *lines]) for c in range(len(HEADER) - 1)]

        def joined(cells: tuple[str, ...]) -> str:
            return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "  " + cells[-1]

        text = [
            f"gradient check of {self.network}",
            *(f"  {line}" for line in self._settings()),
            "",
            joined(HEADER).rstrip(),
            *(joined(line).rstrip() for line in lines),
        ]
        if (agreement := self._finite_differences()) is not None:
            text.append(agreement)
        text += [f"! {finding}" for finding in self.findings]
        if (first := self._first_failure_line()) is not None:
            text.append(first)
        text += [f"  {line}" for step in self.broken_steps for line in step.lines()]
        text += [f"note: {note}" for note in self.notes]
        text.append(f"verdict: {self.verdict}")
        return "\n".join(text)

    def markdown(self) -> str:
        """The report as Markdown: the rows as a table, each broken step as ``$$...$$`` display math."""

        def row(cells: tuple[str, ...] | list[str]) -> str:
            return "| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |"

        text = [
            f"### gradient check of {_markdown_text(self.network)}",
            "",
            "  \n".join(_markdown_text(line) for line in self._settings()),
            "",
            row(HEADER),
            "|" + "|".join("---" for _ in HEADER) + "|",
            *(row(_cells(parameter)) for parameter in self.rows),
            "",
        ]
        if (agreement := self._finite_differences()) is not None:
            text += [_markdown_text(agreement), ""]
        text += [line for finding in self.findings for line in (f"**!** {_markdown_text(finding)}", "")]
        if (first := self._first_failure_line()) is not None:
            text += [_markdown_text(first), ""]
        for step in self.broken_steps:
            text += [f"{_markdown_text(step.label)}", "", *_markdown_math(step.derived_latex, step.derived)]
            if step.fitted:
                text += ["your code fits:", "", *_markdown_math(step.fitted_latex, step.fitted)]
            else:
                text += [NO_FIT, ""]
        text += [line for note in self.notes for line in (f"note: {_markdown_text(note)}", "")]
        text.append(f"**verdict: {self.verdict}**")
        return "\n".join(text) + "\n"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def latex(self) -> str:
        """The report as a LaTeX fragment (no preamble, no floating ``table``): the rows in a
        ``tabular``, each broken step as ``\\[...\\]`` display math. Needs amsmath for ``\\text``."""
        text = [
            f"% gradient check of {self.network}, written by symbackprop",
            r"\begin{flushleft}",
            rf"gradient check of {text_with_symbols(self.network)}\\",
            *(rf"{text_with_symbols(line)}\\" for line in self._settings()),
            r"\end{flushleft}",
            "",
            r"\begin{tabular}{lllllp{0.35\linewidth}}",
            r"\hline",
            " & ".join(text_with_symbols(cell) for cell in HEADER) + r" \\",
            r"\hline",
            *(" & ".join(text_with_symbols(cell) for cell in _cells(row)) + r" \\" for row in self.rows),
            r"\hline",
            r"\end{tabular}",
            "",
        ]
        paragraphs = [self._finite_differences(), *(f"! {finding}" for finding in self.findings)]
        paragraphs.append(self._first_failure_line())
        text += [
            line for paragraph in paragraphs if paragraph is not None for line in (text_with_symbols(paragraph), "")
        ]
        for step in self.broken_steps:
            text += [text_with_symbols(step.label), *_latex_math(step.derived_latex, step.derived)]
            if step.fitted:
                text += ["your code fits:", *_latex_math(step.fitted_latex, step.fitted)]
            else:
                text += [text_with_symbols(NO_FIT), ""]
        text += [line for note in self.notes for line in (text_with_symbols(f"note: {note}"), "")]
        text.append(rf"verdict: \textbf{{{self.verdict}}}")
        return "\n".join(text) + "\n"

    def _settings(self) -> list[str]:
        """The lines under the title: the dtype and layout, then the batches and the tolerances."""
        sizes = " and ".join(str(size) for size in self.batch_sizes)
        judged = (
            self.tolerance.dtype if not self.framework else f"{self.framework} code, judged in {self.tolerance.dtype}"
        )
        return [
            f"{judged}; {self.layout}",
            f"batches of {sizes} samples, every |z| ≥ {self.margin:.2g};"
            f" pass ≤ {self.tolerance.passes:.1e} < inconclusive ≤ {self.tolerance.fails:.1e} < fail",
        ]

    def _finite_differences(self) -> str | None:
        fd = [row for row in self.rows if row.finite_difference_error is not None]
        if not fd:
            return None
        worst = max(row.finite_difference_error or 0.0 for row in fd)
        return f"finite differences (central, float64) agree with the reference to {worst:.1e}"

    def _first_failure_line(self) -> str | None:
        first = self.first_failure
        if first is None or first.layer <= 0:
            return None
        return f"nearest the output, layer {first.layer} fails: {first.diagnosis or first.verdict}"

    def __str__(self) -> str:
        return self.table()


def _number(value: float) -> str:
    return f"{value:.4g}"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + (",)" if len(shape) == 1 else ")")


def _cells(row: ParameterRow) -> list[str]:
    index = "[" + ", ".join(str(i) for i in row.worst_index) + "]: " if row.worst_index else ""
    error = "-" if math.isnan(row.relative_error) else f"{row.relative_error:.1e}"  # NaN: nothing was judged
    if row.expected_shape is not None and row.expected_shape != row.shape:
        error, worst = "-", f"shape should be {_shape(row.expected_shape)}"
    elif not row.worst_index and row.shape:
        worst = "-"
    else:
        worst = f"{index}{_number(row.expected)}, {_number(row.got)}"
    return [row.name, _shape(row.shape), error, worst, row.verdict, row.diagnosis]


_MARKDOWN_SPECIAL = re.compile(r"[\\|*_`$]")


def _markdown_text(text: str) -> str:
    """Plain text for Markdown, each of its special characters behind a backslash: ``|`` would end
    a table cell, ``*`` and ``_`` emphasise, a backquote starts code, ``$`` math (in Jupyter)."""
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), text)


def _markdown_cell(text: str) -> str:
    return _markdown_text(text).replace("\n", " ")


def _markdown_math(latex: str, text: str) -> list[str]:
    """A display (``$$...$$``), or the plain line as code where no LaTeX was given."""
    if not latex:
        return [f"`{text}`", ""]
    return ["$$", latex, "$$", ""]


def _latex_math(latex: str, text: str) -> list[str]:
    """A display (``\\[...\\]``), or the plain line, escaped, where no LaTeX was given."""
    if not latex:
        return [r"\begin{center}", text_with_symbols(text), r"\end{center}", ""]
    return [r"\[", latex, r"\]", ""]


class GradientMismatch(AssertionError):
    """A hand-written gradient disagrees with the reference; the message is the report's table."""

    def __init__(self, report: GradientReport) -> None:
        super().__init__(report.table())
        self.report = report
