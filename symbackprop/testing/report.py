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
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .judging import VERDICTS, Tolerance

__all__ = ["VERDICTS", "BrokenStep", "GradientMismatch", "GradientReport", "ParameterRow", "Tolerance"]


@dataclass(frozen=True)
class ParameterRow:
    """One row of the report: a parameter (or the forward pass, or the loss)."""

    name: str
    shape: tuple[int, ...]
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
        header = ("parameter", "shape", "rel. error", "worst element: expected, got", "verdict", "diagnosis")
        lines = [tuple(_cells(row)) for row in self.rows]
        widths = [max(len(line[c]) for line in [header, *lines]) for c in range(len(header) - 1)]

        def joined(cells: tuple[str, ...]) -> str:
            return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "  " + cells[-1]

        sizes = " and ".join(str(size) for size in self.batch_sizes)
        text = [
            f"gradient check of {self.network}",
            f"  {self.tolerance.dtype}; {self.layout}",
            f"  batches of {sizes} samples, every |z| ≥ {self.margin:.2g};"
            f" pass ≤ {self.tolerance.passes:.1e} < inconclusive ≤ {self.tolerance.fails:.1e} < fail",
            "",
            joined(header).rstrip(),
            *(joined(line).rstrip() for line in lines),
        ]
        fd = [row for row in self.rows if row.finite_difference_error is not None]
        if fd:
            worst = max(row.finite_difference_error or 0.0 for row in fd)
            text.append(f"finite differences (central, float64) agree with the reference to {worst:.1e}")
        text += [f"! {finding}" for finding in self.findings]
        first = self.first_failure
        if first is not None and first.layer > 0:
            text.append(f"nearest the output, layer {first.layer} fails: {first.diagnosis or first.verdict}")
        text += [f"note: {note}" for note in self.notes]
        text.append(f"verdict: {self.verdict}")
        return "\n".join(text)

    def __str__(self) -> str:
        return self.table()


def _number(value: float) -> str:
    return f"{value:.4g}"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + (",)" if len(shape) == 1 else ")")


def _cells(row: ParameterRow) -> list[str]:
    index = "[" + ", ".join(str(i) for i in row.worst_index) + "]: " if row.worst_index else ""
    error = f"{row.relative_error:.1e}"
    if row.expected_shape is not None and row.expected_shape != row.shape:
        error, worst = "-", f"shape should be {_shape(row.expected_shape)}"
    elif not row.worst_index and row.shape:
        worst = "-"
    else:
        worst = f"{index}{_number(row.expected)}, {_number(row.got)}"
    return [row.name, _shape(row.shape), error, worst, row.verdict, row.diagnosis]


class GradientMismatch(AssertionError):
    """A hand-written gradient disagrees with the reference; the message is the report's table."""

    def __init__(self, report: GradientReport) -> None:
        super().__init__(report.table())
        self.report = report
