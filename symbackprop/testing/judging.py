"""Judging: how far the user's numbers are from ours, and whether that is close enough.

Contract
--------
* :class:`Tolerance` fits the user's dtype: with ε its machine epsilon, a quantity passes when its
  relative error is at most 10·√ε (1.5e-7 in float64, 3.5e-3 in float32) and fails above ε^¼
  (1.2e-4, 1.9e-2); in between the verdict is ``inconclusive``, as it is when the
  finite-difference witness disagrees with the reference. The half precisions (float16,
  bfloat16), where 10·√ε would pass errors of order one, pass at most 32ε (3.1e-2, 0.25) and fail
  above 64ε (6.3e-2, 0.5). A verdict is one of :data:`VERDICTS`, never a bare bool.
  :func:`tolerance_for` takes the tolerances of the precision handed to the code, or of the
  gradients it returns when their precision is lower.
* :func:`relative_error` is the error of an array: its largest element error over its largest
  reference element, or over a floor when that is larger (for the gradients, 1/1000 of the
  network's largest gradient: :func:`scale_floors`), so that a near-zero gradient does not
  inflate the error.
* A gradient is judged on every :class:`Run` and keeps the worst (:func:`judge_gradient`); the
  forward pass is judged the same way by :func:`judge`. :class:`Losses` judges the loss under a
  reduction and tells a summed loss from an averaged one.
* :func:`with_finite_differences` checks the reference itself by central differences in float64;
  where they disagree a passing row becomes ``inconclusive``, with a note. The differences are
  taken of the float64 reference, never of the user's code, so their step never meets the
  resolution of a lower precision (the probe's values are exact in the code's precision and in
  float64 alike).

Nothing here names a mistake (that is :mod:`.diagnosis`) or builds the report (:mod:`.check`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy

from .adapters import Layout, Outcome
from .frameworks import precision_of
from .reference import Array, Batch, Params, Probe, Reference

if TYPE_CHECKING:  # report imports Tolerance from here: at run time the rows are only replaced
    from .report import ParameterRow

VERDICTS = ("pass", "fail", "inconclusive")
REDUCTIONS = ("mean", "sum")
#: Below this fraction of the largest gradient, an element's error is judged against that
#: fraction instead of its own size, so that a near-zero gradient does not inflate the error.
SCALE_FLOOR = 1e-3
#: The finite-difference witness's step (relative to max(1, |θ|)) and its agreement threshold.
FD_STEP = 1e-6
FD_TOLERANCE = 1e-5
#: Precisions with at least this machine epsilon (float16, bfloat16) pass below HALF_PASS·ε and
#: fail above HALF_FAIL·ε: a correct network's gradient in them carries a few dozen roundings.
HALF_EPSILON = 2.0**-10
HALF_PASS = 32
HALF_FAIL = 64


@dataclass(frozen=True)
class Tolerance:
    """Relative-error thresholds for one floating-point type."""

    dtype: str
    passes: float
    fails: float

    @classmethod
    def for_dtype(cls, dtype: numpy.typing.DTypeLike | str) -> Tolerance:
        """The tolerances of a NumPy dtype, or of a precision's name (float16, bfloat16)."""
        precision = precision_of(dtype)
        if precision is None:
            raise ValueError(f"no tolerances for {dtype!r}")
        epsilon = precision.epsilon
        if epsilon >= HALF_EPSILON:
            # 10·√ε would pass errors of order one: half precisions pass a few dozen roundings.
            return cls(dtype=precision.name, passes=HALF_PASS * epsilon, fails=HALF_FAIL * epsilon)
        return cls(dtype=precision.name, passes=10 * epsilon**0.5, fails=epsilon**0.25)

    def verdict(self, relative_error: float) -> str:
        if not numpy.isfinite(relative_error) or relative_error > self.fails:
            return "fail"
        return "pass" if relative_error <= self.passes else "inconclusive"


def tolerance_for(
    handed: numpy.dtype | str, grads: Mapping[str, Array], returned: Sequence[str] = ()
) -> tuple[Tolerance, list[str]]:
    """The tolerance of the precision ``handed`` to the code, or of the gradients it returned
    (their NumPy dtypes, or the precisions named in ``returned`` when a framework tells) when their
    precision is lower (code may compute in float32 whatever it is given), with a note saying so."""
    given = precision_of(handed)
    assert given is not None, handed
    kinds = [kind for kind in {numpy.asarray(grad).dtype for grad in grads.values()} if kind.kind == "f"]
    candidates = [precision_of(kind) for kind in (*(returned or kinds),)]
    lowest = max((c for c in candidates if c is not None), key=lambda c: c.epsilon, default=given)
    if lowest.epsilon > given.epsilon:
        note = f"your code returned {lowest.name} gradients from {given.name} inputs: judged with its tolerances"
        return Tolerance.for_dtype(lowest.name), [note]
    return Tolerance.for_dtype(given.name), []


def relative_error(got: Array, expected: Array, floor: float) -> tuple[float, tuple[int, ...]]:
    """max |got − expected| over max(max |expected|, floor), and the index of the worst element."""
    if got.shape != expected.shape:
        return numpy.inf, ()
    if not numpy.all(numpy.isfinite(got)):
        index = numpy.unravel_index(int(numpy.argmin(numpy.isfinite(got))), got.shape) if got.ndim else ()
        return numpy.inf, tuple(int(i) for i in index)
    difference = numpy.abs(got - expected)
    scale = max(float(numpy.max(numpy.abs(expected), initial=0.0)), floor, 1e-300)
    if difference.size == 0:
        return 0.0, ()
    index = numpy.unravel_index(int(numpy.argmax(difference)), difference.shape)
    return float(difference[index]) / scale, tuple(int(i) for i in index)


@dataclass(frozen=True)
class Run:
    """One call of the user's code: its batch, what it gave, and the correct gradients at the
    code's reduction (``scale`` × the batch mean: 1 for averaged gradients, m for summed ones)."""

    batch: Batch
    outcome: Outcome
    correct: Params
    scale: float


@dataclass(frozen=True)
class Judgement:
    """One quantity judged on its worst run: the user's value and ours (in the user's layout),
    the relative error, its worst element, the verdict, and which run it was."""

    got: Array
    expected: Array
    error: float
    index: tuple[int, ...]
    verdict: str
    run: int


def judge(got: Array, expected: Array, floor: float, tolerance: Tolerance, run: int) -> Judgement:
    error, index = relative_error(got, expected, floor)
    return Judgement(got, expected, error, index, tolerance.verdict(error), run)


def worst(judgements: Sequence[Judgement]) -> Judgement:
    """The judgement with the largest error; the first of equal ones, and any after a NaN."""
    chosen = judgements[0]
    for judgement in judgements[1:]:
        if not judgement.error <= chosen.error:
            chosen = judgement
    return chosen


def gradient_label(name: str) -> str:
    """The row of parameter ``name`` (W1) in the report: its gradient (dW1)."""
    return f"d{name}"


def scale_floors(runs: Sequence[Run]) -> list[float]:
    """For each run, the :data:`SCALE_FLOOR` fraction of its largest correct gradient element."""
    return [SCALE_FLOOR * max(float(numpy.max(numpy.abs(g))) for g in run.correct.values()) for run in runs]


def judge_gradient(
    name: str, layout: Layout, runs: Sequence[Run], floors: Sequence[float], tolerance: Tolerance
) -> Judgement:
    """The user's gradient of ``name`` against the correct one, on its worst run."""
    return worst(
        [
            judge(
                numpy.asarray(run.outcome.grads[name], dtype=numpy.float64),
                layout.view(name, run.correct[name]),
                floor,
                tolerance,
                number,
            )
            for number, (run, floor) in enumerate(zip(runs, floors, strict=True))
        ]
    )


@dataclass(frozen=True)
class Losses:
    """Our batch-mean loss and the user's loss on each batch of the probe."""

    ours: Sequence[float]
    theirs: Sequence[float]
    sizes: Sequence[int]

    def expected(self, run: int, reduction: str) -> float:
        """Our loss of ``run`` under ``reduction``: the mean, or m times it for a sum."""
        return self.ours[run] * (self.sizes[run] if reduction == "sum" else 1)

    def error(self, reduction: str) -> float:
        """The user's loss against ours under ``reduction``, the worst over the runs (infinite
        where the user's loss is not a finite number)."""
        return max(
            abs(theirs - self.expected(run, reduction)) / max(abs(self.expected(run, reduction)), 1e-300)
            if numpy.isfinite(theirs)
            else numpy.inf
            for run, theirs in enumerate(self.theirs)
        )

    def reduction(self) -> str:
        """The reduction of :data:`REDUCTIONS` under which the user's loss is closest to ours."""
        return min(REDUCTIONS, key=self.error)

    def worst_run(self) -> int:
        """The run on which the user's loss is farthest from our batch mean (the first of equals)."""
        return 0 if abs(self.theirs[0] - self.ours[0]) >= abs(self.theirs[1] - self.ours[1]) else 1


def with_finite_differences(
    reference: Reference, probe: Probe, run: Run, rows: Sequence[ParameterRow], elements: int | None
) -> tuple[list[ParameterRow], list[str]]:
    """``rows`` with the finite-difference witness's error against the reference, taken by every
    element (or by ``elements`` elements of each parameter, drawn at random) on ``run``; and a
    note for each row whose pass the witness does not confirm."""
    params = {name: value.copy() for name, value in probe.params.items()}
    rng = numpy.random.default_rng(0)
    by_label = {gradient_label(name): name for name in params}
    updated: list[ParameterRow] = []
    notes: list[str] = []
    for row in rows:
        name = by_label[row.name]
        size = params[name].size
        chosen = numpy.arange(size) if elements is None else rng.choice(size, min(elements, size), False)
        estimate = _central_differences(reference, params, name, chosen, run)
        correct = run.correct[name].reshape(-1)
        error, _ = relative_error(estimate, correct[chosen], float(numpy.max(numpy.abs(correct), initial=0.0)))
        verdict = row.verdict
        if error > FD_TOLERANCE and verdict == "pass":
            verdict = "inconclusive"
            notes.append(f"finite differences disagree with the reference for {row.name} ({error:.1e})")
        updated.append(replace(row, finite_difference_error=error, verdict=verdict))
    return updated, notes


def _central_differences(reference: Reference, params: Params, name: str, chosen: Array, run: Run) -> Array:
    """∂L/∂θ by central differences of our float64 loss on ``run``, for the ``chosen`` elements θ
    of parameter ``name`` (each moved in place in ``params`` and put back)."""
    flat = params[name].reshape(-1)
    estimate = numpy.empty(chosen.size)
    for position, index in enumerate(chosen):
        original = float(flat[index])
        step = FD_STEP * max(1.0, abs(original))
        flat[index] = original + step
        up = reference.loss(params, run.batch)
        flat[index] = original - step
        down = reference.loss(params, run.batch)
        flat[index] = original
        estimate[position] = (up - down) / (2 * step) * run.scale
    return estimate
