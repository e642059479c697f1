"""Diagnosis: naming the mistake behind a row that does not pass.

Contract
--------
* :func:`diagnose_gradient` names a gradient's mistake by the closest mutant of :mod:`.mutants`
  that changes that parameter and explains it better than the correct gradient does (preferring
  the mistake that explains the most failing rows, then the catalogue's order); a mistake that
  sits in a layer above the row's is said to be inherited through δ. When the catalogue leaves a
  failing row unexplained, the derivatives fitted by :mod:`.fitting` (what a layer computes in
  place of f′) join the mutants. Before any mutant, a gradient that is not finite is described by
  how many NaN and infinities it holds and where the first is (:func:`describe_not_finite`, also
  for the forward pass and the loss), and one of integers or booleans by its dtype. A row no
  mutant explains is described by what it is: a wrong shape (with the option that reads that
  shape), zero (a missing gradient), another layer's correct gradient (swapped layers), close to
  correct, the correct one plus a constant, a factor the network's widths explain (n_L, another
  n_k), another constant factor, a factor that changes with the batch, or, when a catalogue
  mutant explains most of the difference, the closest known mistake; else that no known mistake
  explains it.
* :func:`broken_step` is the derivation step (BP1–BP4 at a layer) that the mistake of a row
  breaks, with the step the code's numbers fit where the mistake is a δ multiplied by something
  in place of f′.
* Two more entries of the catalogue that no mutant stands for are found by direct comparison: a
  forward pass that returns z⁽ᴸ⁾ (:func:`diagnose_forward`), and parameters the code changed
  while computing the gradients (:func:`changed_parameters_finding`).
* A wrong loss is described by its ratio to ours (:func:`describe_wrong_loss`); gradients m times
  too large, when nothing settled the reduction, get a note on how to say they are summed on
  purpose (:func:`summed_gradients_note`); keys returned as gradients of parameters the network
  lacks (dW3 of a two-layer network), a note that the code's network may not be the one checked
  (:func:`stray_gradients_note`).
* :class:`Evidence` is what a diagnosis weighs; :meth:`Evidence.gather` builds the catalogue of
  mutants only when a row does not pass, since building it costs most of a passing check.

A row's diagnosis is a pair: the kind of mistake (a key of :data:`~.mutants.CATALOGUE`, or "" when
no known kind fits) and the diagnosis in plain words; a row that passes gets ("", "").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy
import sympy as sp

from .. import naming
from ..printing.steps import step_text
from ..rules import LABELS
from .adapters import WEIGHT_LAYOUTS, Layout, Outcome, option_hint
from .fitting import fitted_derivatives
from .judging import Judgement, Losses, Run, Tolerance, gradient_label, relative_error
from .layout_detection import canonical_gradients
from .mutants import Mutant, build_mutants
from .reference import Array, Params, Probe, Reference
from .report import BrokenStep, ParameterRow

if TYPE_CHECKING:
    from ..derive import Derivation


@dataclass(frozen=True)
class Evidence:
    """What a diagnosis weighs: the user's gradients of every run in the canonical layout, the
    correct ones, the mutants, and how many failing rows each mutant explains."""

    runs: Sequence[Run]
    canonical: Sequence[Params]
    #: The network's widths n_0..n_L.
    sizes: Sequence[int]
    floors: Sequence[float]
    mutants: Sequence[Mutant]
    tolerance: Tolerance
    #: id of each mutant: how many of the failing rows it explains (see :meth:`with_failing`).
    explained: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def gather(
        cls,
        reference: Reference,
        probe: Probe,
        layout: Layout,
        runs: Sequence[Run],
        floors: Sequence[float],
        tolerance: Tolerance,
        failing: Sequence[str],
    ) -> Evidence:
        """The evidence on the ``failing`` rows (parameter names); no mutants when none fails."""
        mutants = _mutants_of(reference, probe, runs) if failing else []
        canonical = [canonical_gradients(layout, run.outcome.grads, reference.network) for run in runs]
        evidence = cls(runs, canonical, reference.network.sizes, floors, mutants, tolerance).with_failing(failing)
        unexplained = [name for name in failing if not evidence.explains(name)]
        if not unexplained:
            return evidence
        fitted = fitted_derivatives(reference, probe, runs, canonical)
        return replace(evidence, mutants=[*mutants, *fitted]).with_failing(failing)

    def explains(self, name: str) -> bool:
        """Whether some mutant is within ``tolerance.fails`` of the user's gradient of ``name``."""
        return any(distance <= self.tolerance.fails for distance, _ in self.scored(name))

    def distance(self, name: str, candidate: Sequence[Params]) -> float:
        """The user's gradient of ``name`` against ``candidate``'s, the worst over the runs."""
        return max(
            relative_error(user[name], grads[name], floor)[0]
            for user, grads, floor in zip(self.canonical, candidate, self.floors, strict=True)
        )

    def with_failing(self, failing: Sequence[str]) -> Evidence:
        """This evidence with the count of the ``failing`` rows that each mutant explains."""
        explained = {
            id(mutant): sum(
                name in mutant.changed and self.distance(name, mutant.grads) <= self.tolerance.fails for name in failing
            )
            for mutant in self.mutants
        }
        return replace(self, explained=explained)

    def scored(self, name: str) -> list[tuple[float, Mutant]]:
        """Each mutant that changes ``name``, with its distance to the user's gradient of it."""
        return [(self.distance(name, mutant.grads), mutant) for mutant in self.mutants if name in mutant.changed]

    def best_explanation(self, scored: Sequence[tuple[float, Mutant]], error: float) -> Mutant | None:
        """Of the ``scored`` mutants no farther than ``tolerance.fails`` and closer than the correct
        gradient (at ``error``): the one that explains the most failing rows, then one within
        ``tolerance.passes``, then the first in the catalogue; None when no mutant qualifies."""
        tolerance = self.tolerance
        matching = [(d, mutant) for d, mutant in scored if d <= tolerance.fails and d < error]
        if not matching:
            return None
        order = {id(mutant): position for position, mutant in enumerate(self.mutants)}
        _, best = min(
            matching, key=lambda item: (-self.explained[id(item[1])], item[0] > tolerance.passes, order[id(item[1])])
        )
        return best

    def scalar_ratios(self, name: str) -> list[float] | None:
        """c_r for each run r when the user's gradient is c_r times the correct one in every run."""
        ratios = []
        for run, user, floor in zip(self.runs, self.canonical, self.floors, strict=True):
            correct = run.correct[name]
            if user[name].shape != correct.shape:
                return None
            c = float(numpy.vdot(user[name], correct) / max(float(numpy.vdot(correct, correct)), 1e-300))
            # "not <=": an overflowing product (values near the float's limit) gives NaN, which fits no factor.
            if (
                not numpy.isfinite(c)
                or not relative_error(user[name], c * correct, floor)[0] <= self.tolerance.passes * 10
            ):
                return None
            ratios.append(c)
        return ratios


def _mutants_of(reference: Reference, probe: Probe, runs: Sequence[Run]) -> list[Mutant]:
    return build_mutants(
        reference,
        probe.params,
        [reference.forward(probe.params, run.batch) for run in runs],
        [run.correct for run in runs],
        [run.scale for run in runs],
    )


def diagnose_gradient(name: str, judgement: Judgement, evidence: Evidence) -> tuple[str, str]:
    """The kind of mistake and the diagnosis of the gradient of parameter ``name`` (none when it
    passes); a mutant must beat the row's distance to the correct gradient (``judgement.error``)
    to explain it."""
    if judgement.verdict == "pass":
        return "", ""
    label = gradient_label(name)
    not_finite = describe_not_finite(label, judgement.got)
    if not_finite:
        return "", not_finite
    got = judgement.got
    if got.shape == judgement.expected.shape and not numpy.isfinite(judgement.error):
        # Finite, but so large that the difference from the correct gradient overflows.
        kind = got.dtype if got.dtype.kind == "f" else numpy.dtype(numpy.float64)
        largest, limit = float(numpy.max(numpy.abs(got))), float(numpy.finfo(kind).max)
        return "", f"{label} has elements up to {largest:.3g}, near the largest {kind} ({limit:.3g}): an overflow?"
    returned = evidence.runs[judgement.run].outcome.grads[name].dtype
    if returned.kind == "b":
        return "", f"{label} is an array of bool, not of real numbers (a comparison, as A > 0, in its place?)"
    if returned.kind in "iu":
        return "", (
            f"{label} is an array of {returned}, not of real numbers: its fractions are lost (was it made with"
            " an integer dtype, as np.zeros(shape, dtype=int)?)"
        )
    scored = evidence.scored(name)
    best = evidence.best_explanation(scored, judgement.error)
    if best is None:
        return _describe_unexplained(name, label, judgement, evidence, scored)
    text = best.description.format(name=label)
    if best.through_delta and best.layer > int(name[1:]):
        return best.kind, f"inherits layer {best.layer}'s mistake through δ: {text}"
    return best.kind, text


def describe_not_finite(label: str, array: Array) -> str:
    """``dW1 holds NaN in 2 and infinity in 1 of its 6 elements, the first at [1, 0]`` (``db2 is
    NaN`` for one element), or "" when every element of ``array`` is finite."""
    nan, infinite = int(numpy.count_nonzero(numpy.isnan(array))), int(numpy.count_nonzero(numpy.isinf(array)))
    if not nan and not infinite:
        return ""
    if array.size == 1:
        return f"{label} is {_not_finite_number(float(array.reshape(-1)[0]))}"
    kinds = " and ".join(
        text for count, text in ((nan, f"NaN in {nan}"), (infinite, f"infinity in {infinite}")) if count
    )
    first = ", ".join(str(int(i)) for i in numpy.argwhere(~numpy.isfinite(array))[0])
    return f"{label} holds {kinds} of its {array.size} elements, the first at [{first}]"


def _not_finite_number(value: float) -> str:
    return "NaN" if numpy.isnan(value) else f"{value} (infinite)"


def _describe_unexplained(
    name: str, label: str, judgement: Judgement, evidence: Evidence, scored: Sequence[tuple[float, Mutant]]
) -> tuple[str, str]:
    """What a gradient no mutant explains is: a wrong shape, zero, another parameter's gradient,
    close, off by a constant, a factor off (told in the network's numbers where it is one), or
    unknown."""
    got, expected, error = judgement.got, judgement.expected, judgement.error
    tolerance = evidence.tolerance
    if got.shape != expected.shape:
        return "", f"{label} has shape {got.shape}; the parameter has shape {expected.shape}{_shape_hint(name, got)}"
    if not numpy.any(evidence.canonical[0][name]) and not numpy.any(evidence.canonical[1][name]):
        return "missing_gradient", f"{label} is zero: the gradient is missing (never computed, or left at 0)"
    elsewhere = _gradient_of_another_parameter(name, evidence)
    if elsewhere:
        return "wrong_layer", elsewhere
    if error <= tolerance.fails:
        return "", (
            f"{label} is close to the correct gradient but off by {error:.1e}, more than {tolerance.dtype}"
            " rounding explains (is part of it computed in lower precision, or by finite differences?)"
        )
    offset = _constant_offset(name, evidence)
    if offset is not None:
        return (
            "constant_offset",
            f"{label} is the correct gradient plus {offset:.3g} in every element: a constant was added",
        )
    ratios = evidence.scalar_ratios(name)
    if ratios is not None:
        return _describe_factor(label, ratios, evidence)
    return "", _describe_closest(label, scored, error)


def _shape_hint(name: str, got: Array) -> str:
    """The option that would read a gradient of this shape, for a row that fails on shape alone."""
    if name.startswith("W") and got.ndim == 2:
        return (
            f"; if your weights are stored the other way round, say so: {option_hint('weight_layout', WEIGHT_LAYOUTS)}"
        )
    shapes = {1: "flat", 2: "row" if got.shape[:1] == (1,) else "column"}
    if name.startswith("b") and got.ndim in shapes:
        return f"; if your biases have this shape, say so: {option_hint('bias_shape', (shapes[got.ndim],))}"
    return ""


def _gradient_of_another_parameter(name: str, evidence: Evidence) -> str:
    """The text for a gradient that is another parameter's correct gradient (swapped layers)."""
    for other in evidence.runs[0].correct:
        if other == name or evidence.runs[0].correct[other].shape != evidence.runs[0].correct[name].shape:
            continue
        if evidence.distance(name, [{name: run.correct[other]} for run in evidence.runs]) > evidence.tolerance.passes:
            continue
        there = gradient_label(other)
        layer, other_layer = int(name[1:]), int(other[1:])
        swapped = evidence.distance(other, [{other: run.correct[name]} for run in evidence.runs])
        if swapped <= evidence.tolerance.passes:
            return (
                f"{gradient_label(name)} is the correct {there}: the gradients of layers"
                f" {min(layer, other_layer)} and {max(layer, other_layer)} are swapped"
            )
        return (
            f"{gradient_label(name)} is the correct {there}: layer {other_layer}'s gradient, in layer {layer}'s place"
        )
    return ""


def _constant_offset(name: str, evidence: Evidence) -> float | None:
    """c when the user's gradient is the correct one plus the same c in every element and run."""
    offsets = []
    for run, user, floor in zip(evidence.runs, evidence.canonical, evidence.floors, strict=True):
        difference = user[name] - run.correct[name]
        c = float(numpy.mean(difference))
        if relative_error(user[name], run.correct[name] + c, floor)[0] > evidence.tolerance.passes * 10:
            return None
        offsets.append(c)
    if abs(offsets[0] - offsets[1]) > 1e-6 * max(abs(offsets[0]), 1e-300) or offsets[0] == 0:
        return None
    return offsets[0]


def _describe_factor(label: str, ratios: Sequence[float], evidence: Evidence) -> tuple[str, str]:
    """A gradient that is c_r times the correct one on run r: a factor the network's numbers
    explain (a width), one factor, or one per batch."""
    explained = _network_factor(ratios, evidence)
    if explained:
        return "network_factor", f"{label} is {ratios[0]:.4g} times the correct gradient: {explained}"
    if max(ratios) - min(ratios) <= evidence.tolerance.fails * max(abs(r) for r in ratios):
        return "", f"{label} is {ratios[0]:.4g} times the correct gradient (no known mistake gives that factor)"
    factors = " and ".join(
        f"{ratio:.4g} times on the batch of {run.batch.size}" for ratio, run in zip(ratios, evidence.runs, strict=True)
    )
    return "", (
        f"{label} is {factors}: a factor that depends on the batch (is the batch size fixed in the"
        " code, rather than read from X?)"
    )


def _network_factor(ratios: Sequence[float], evidence: Evidence) -> str:
    """The ratios as a width of the network or its inverse, in words (a factor m, 1/m, 2 or ½ is
    a mutant of the catalogue, which explains the row before it gets here)."""
    sizes = evidence.sizes
    L = len(sizes) - 1
    widths = [
        (f"n_L = n{L} = {sizes[L]}, the number of outputs (is a 1/n_L, the mean over the outputs, missing?)", sizes[L])
    ]
    widths += [(f"n{k} = {sizes[k]}, the width of layer {k}", sizes[k]) for k in range(L)]
    tolerance = evidence.tolerance.fails
    for text, width in widths:
        for factor, words in ((float(width), "{}"), (1.0 / width, "1/({})")):
            if all(abs(ratio - factor) <= tolerance * factor for ratio in ratios):
                return words.format(text)
    return ""


def _describe_closest(label: str, scored: Sequence[tuple[float, Mutant]], error: float) -> str:
    # A fitted derivative is a guess at what the code computes: named when it fits, never as a hint.
    scored = [(distance, mutant) for distance, mutant in scored if mutant.kind != "wrong_derivative"]
    distance_to_closest, closest = min(scored, key=lambda item: item[0]) if scored else (numpy.inf, None)
    # A mutant is worth naming only when it explains most of the difference (the mistake plus a
    # little noise); a far one misleads (a mistake of the output layer, for a row of layer 1).
    if closest is None or not distance_to_closest < error / 10:
        return "no known mistake explains it"
    return (
        f"no known mistake explains it; the closest is: {closest.description.format(name=label)}"
        f" (off by {distance_to_closest:.1e})"
    )


#: The quantity each kind of mistake gets wrong (factors and shapes: the row's own parameter).
_TARGET_OF_KIND = {
    "missing_derivative": "delta",
    "derivative_of_output": "delta",
    "other_layer_derivative": "delta",
    "wrong_derivative": "delta",
    "neighbour_weights": "delta",
    "output_not_through_activation": "delta",
    "extra_output_derivative": "delta",
    "output_without_target": "delta",
    "diagonal_jacobian": "delta",
    "this_layer_activation": "weight",
    "preactivation_input": "weight",
    "earlier_activation": "weight",
    "transposed": "weight",
    "next_layer_delta": "weight",
    "bias_over_units": "bias",
    "bias_over_everything": "bias",
    "bias_not_summed": "bias",
}


def broken_step(name: str, judgement: Judgement, evidence: Evidence, derivation: Derivation) -> BrokenStep | None:
    """The derivation step that the mistake explaining the row of parameter ``name`` breaks,
    beside the step the code's numbers fit where the mistake is a δ multiplied by something in
    place of f′ (None when no mutant explains the row)."""
    best = evidence.best_explanation(evidence.scored(name), judgement.error)
    if best is None:
        return None
    k = best.layer if best.through_delta else int(name[1:])
    layer = derivation.layer(k)
    target = _TARGET_OF_KIND.get(best.kind, "weight" if name.startswith("W") else "bias")
    if target == "delta":
        rule = LABELS["output_delta" if layer.is_output else "hidden_delta"]
        lhs, derived = naming.delta(k)[naming.P], layer.delta_local
    elif target == "weight":
        rule, lhs, derived = LABELS["weight"], naming.weight(k)[naming.P, naming.Q], layer.weight_gradient
    else:
        rule, lhs, derived = LABELS["bias"], naming.bias(k)[naming.P], layer.bias_gradient
    fitted = _fitted_step(best, k, derived)
    if target == "delta" and best.in_place_of_derivative is not None:
        at_layer = {naming.X: naming.preactivation(k)[naming.P], naming.A: naming.activation_output(k)[naming.P]}
        fitted = best.in_place_of_derivative.xreplace(at_layer) * naming.output_gradient(k)[naming.P]
    derived_text, derived_latex = step_text(lhs, derived, gradient=target != "delta")
    fitted_text, fitted_latex = step_text(lhs, fitted, gradient=target != "delta") if fitted is not None else ("", "")
    return BrokenStep(k, rule, derived_text, fitted_text, derived_latex, fitted_latex)


def _fitted_step(mutant: Mutant, k: int, derived: sp.Expr) -> sp.Expr | None:
    """The right side of the step the code computes, for a mistake that changes the derived
    right side by a factor or a substitution (None for the others)."""
    m = naming.BATCH_SIZE
    factors = {"missing_mean": m, "extra_mean": 1 / m, "double": sp.Integer(2), "half": sp.Rational(1, 2)}
    if mutant.kind in factors:
        return factors[mutant.kind] * derived
    if mutant.kind == "sign":
        return -derived
    substitutions = {
        "transposed": {naming.P: naming.Q, naming.Q: naming.P},
        "this_layer_activation": {naming.activation_output(k - 1): naming.activation_output(k)},
        "preactivation_input": {naming.activation_output(k - 1): naming.preactivation(k - 1)},
        "earlier_activation": {naming.activation_output(k - 1): naming.activation_output(k - 2)},
        "next_layer_delta": {naming.delta(k): naming.delta(k + 1)},
    }
    if mutant.kind in substitutions:
        return derived.xreplace(substitutions[mutant.kind])
    return None


def diagnose_forward(
    judgement: Judgement, reference: Reference, output_preactivation: Array, tolerance: Tolerance
) -> tuple[str, str]:
    """The kind of mistake and the diagnosis of a forward pass ŷ that does not pass (none for one
    that does); ``output_preactivation`` is z⁽ᴸ⁾ on the judged batch."""
    if judgement.verdict == "pass":
        return "", ""
    L = reference.depth
    output = reference.derivation.layer(L).activation.label
    got, expected = judgement.got, judgement.expected
    if not_finite := describe_not_finite("ŷ", got):
        return "", not_finite
    if relative_error(got, output_preactivation, 0.0)[0] <= tolerance.fails:
        return "forward_without_output_activation", f"ŷ is z{L}: the output activation {output} was not applied"
    if got.shape != expected.shape:
        return "", f"ŷ has shape {got.shape}, the network's output has {expected.shape}"
    return "", "the forward pass differs from the network's: check each layer's activation and bias"


def describe_wrong_loss(losses: Losses, loss_name: str) -> str:
    """A loss that does not match ours, by its ratio to ours on the first batch; one that is not
    a finite number, by what it is."""
    for theirs, size in zip(losses.theirs, losses.sizes, strict=True):
        if not numpy.isfinite(theirs):
            number = _not_finite_number(theirs)
            return f"your loss is {number} on the batch of {size} samples (network's loss: {loss_name})"
    ratio = losses.theirs[0] / losses.ours[0] if losses.ours[0] else numpy.inf
    return f"the loss is {ratio:.4g} times ours (network's loss: {loss_name})"


def summed_gradients_note(gradient_rows: Sequence[ParameterRow]) -> list[str]:
    """When the reduction was neither given nor revealed by the loss, a gradient m times too
    large may be summed on purpose: a note on how to say so."""
    if not any(row.mistake == "missing_mean" for row in gradient_rows):
        return []
    return [
        "gradients are taken as averaged over the batch; if yours are summed on purpose, pass "
        + option_hint("reduction", ("sum",))
    ]


def stray_gradients_note(outcomes: Sequence[Outcome], parameters: Sequence[str]) -> list[str]:
    """A note naming the keys the code returned as gradients of parameters the network lacks."""
    strays = list(dict.fromkeys(key for outcome in outcomes for key in outcome.strays))
    if not strays:
        return []
    return [
        f"your code also returned {', '.join(strays)}, which the checker did not read: this network's parameters"
        f" are {', '.join(parameters)} (is your network the one checked?)"
    ]


def changed_parameters_finding(layout: Layout, probe: Probe, outcomes: Sequence[Outcome]) -> list[str]:
    """One finding naming every parameter the code changed, with the largest change."""
    changed = {}
    for name, value in probe.params.items():
        given = layout.view(name, value)
        changes = [
            _change(numpy.asarray(outcome.params_after[name], dtype=numpy.float64), given) for outcome in outcomes
        ]
        if any(change != 0 for change in changes):  # NaN, a parameter set to NaN, counts
            changed[name] = numpy.nan if any(numpy.isnan(changes)) else max(changes)
    if not changed:
        return []
    finite = [change for change in changed.values() if not numpy.isnan(change)]
    how = [f"by up to {max(finite):.3g}"] if finite else []
    how += ["setting elements to NaN"] if len(finite) < len(changed) else []
    return [
        f"your code changed {', '.join(changed)} ({'; '.join(how)}) while computing the gradients: it must leave the"
        " parameters as they were (is there an update step inside, or an in-place operation?)"
    ]


def _change(after: Array, given: Array) -> float:
    """The largest change of a parameter from ``given`` to ``after``: infinite for another shape,
    NaN when an element became NaN; compared first, which is cheaper when, as in most code, nothing
    changed."""
    if after.shape != given.shape:
        return numpy.inf
    if numpy.array_equal(after, given):
        return 0.0
    return float(numpy.max(numpy.abs(after - given)))  # NaN if any difference is NaN
