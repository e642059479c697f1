"""Diagnosis: naming the mistake behind a row that does not pass.

Contract
--------
* :func:`diagnose_gradient` names a gradient's mistake by the closest mutant of :mod:`.mutants`
  that changes that parameter and explains it better than the correct gradient does (preferring
  the mistake that explains the most failing rows, then the catalogue's order); a mistake that
  sits in a layer above the row's is said to be inherited through δ. A row no mutant explains is
  described by what it is: not finite, a wrong shape, close to correct, a constant factor, a
  factor that changes with the batch, or, when one mutant explains most of the difference, the
  closest known mistake.
* The two entries of the catalogue that no mutant stands for are found by direct comparison: a
  forward pass that returns z⁽ᴸ⁾ (:func:`diagnose_forward`), and parameters the code changed
  while computing the gradients (:func:`changed_parameters_finding`).
* A wrong loss is described by its ratio to ours (:func:`describe_wrong_loss`); gradients m times
  too large, when nothing settled the reduction, get a note on how to say they are summed on
  purpose (:func:`summed_gradients_note`).
* :class:`Evidence` is what a diagnosis weighs; :meth:`Evidence.gather` builds the catalogue of
  mutants only when a row does not pass, since building it costs most of a passing check.

A row's diagnosis is a pair: the kind of mistake (a key of :data:`~.mutants.CATALOGUE`, or "" when
no known kind fits) and the diagnosis in plain words; a row that passes gets ("", "").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy

from .adapters import Layout, Outcome, option_hint
from .judging import Judgement, Losses, Run, Tolerance, gradient_label, relative_error
from .layout_detection import canonical_gradients
from .mutants import Mutant, build_mutants
from .reference import Array, Params, Probe, Reference
from .report import ParameterRow


@dataclass(frozen=True)
class Evidence:
    """What a diagnosis weighs: the user's gradients of every run in the canonical layout, the
    correct ones, the mutants, and how many failing rows each mutant explains."""

    runs: Sequence[Run]
    canonical: Sequence[Params]
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
        return cls(runs, canonical, floors, mutants, tolerance).with_failing(failing)

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
            if relative_error(user[name], c * correct, floor)[0] > self.tolerance.passes * 10:
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
    if not numpy.all(numpy.isfinite(judgement.got)):
        return "", f"{label} holds NaN or infinity"
    scored = evidence.scored(name)
    best = evidence.best_explanation(scored, judgement.error)
    if best is None:
        return "", _describe_unexplained(name, label, judgement, evidence, scored)
    text = best.description.format(name=label)
    if best.through_delta and best.layer > int(name[1:]):
        return best.kind, f"inherits layer {best.layer}'s mistake through δ: {text}"
    return best.kind, text


def _describe_unexplained(
    name: str, label: str, judgement: Judgement, evidence: Evidence, scored: Sequence[tuple[float, Mutant]]
) -> str:
    """What a gradient no mutant explains is: a wrong shape, close, a factor off, or unknown."""
    got, expected, error = judgement.got, judgement.expected, judgement.error
    tolerance = evidence.tolerance
    if got.shape != expected.shape:
        return f"{label} has shape {got.shape}; the parameter has shape {expected.shape}"
    if error <= tolerance.fails:
        return (
            f"{label} is close to the correct gradient but off by {error:.1e}, more than {tolerance.dtype}"
            " rounding explains (is part of it computed in lower precision, or by finite differences?)"
        )
    ratios = evidence.scalar_ratios(name)
    if ratios is not None:
        return _describe_factor(label, ratios, evidence)
    return _describe_closest(label, scored, error)


def _describe_factor(label: str, ratios: Sequence[float], evidence: Evidence) -> str:
    """A gradient that is c_r times the correct one on run r: one factor, or one per batch."""
    if max(ratios) - min(ratios) <= evidence.tolerance.fails * max(abs(r) for r in ratios):
        return f"{label} is {ratios[0]:.4g} times the correct gradient (no known mistake gives that factor)"
    factors = " and ".join(
        f"{ratio:.4g} times on the batch of {run.batch.size}" for ratio, run in zip(ratios, evidence.runs, strict=True)
    )
    return (
        f"{label} is {factors}: a factor that depends on the batch (is the batch size fixed in the"
        " code, rather than read from X?)"
    )


def _describe_closest(label: str, scored: Sequence[tuple[float, Mutant]], error: float) -> str:
    distance_to_closest, closest = min(scored, key=lambda item: item[0]) if scored else (numpy.inf, None)
    # A mutant is worth naming only when it explains most of the difference (the mistake plus a
    # little noise); a far one misleads (a mistake of the output layer, for a row of layer 1).
    if closest is None or not distance_to_closest < error / 10:
        return "no known mistake explains it"
    return (
        f"no known mistake explains it; the closest is: {closest.description.format(name=label)}"
        f" (off by {distance_to_closest:.1e})"
    )


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
    if relative_error(got, output_preactivation, 0.0)[0] <= tolerance.fails:
        return "forward_without_output_activation", f"ŷ is z{L}: the output activation {output} was not applied"
    if got.shape != expected.shape:
        return "", f"ŷ has shape {got.shape}, the network's output has {expected.shape}"
    return "", "the forward pass differs from the network's: check each layer's activation and bias"


def describe_wrong_loss(losses: Losses, loss_name: str) -> str:
    """A loss that does not match ours, by its ratio to ours on the first batch."""
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


def changed_parameters_finding(layout: Layout, probe: Probe, outcomes: Sequence[Outcome]) -> list[str]:
    """One finding naming every parameter the code changed, with the largest change."""
    changed = {}
    for name, value in probe.params.items():
        given = layout.to_user(name, value)
        changes = [
            float(numpy.max(numpy.abs(numpy.asarray(outcome.params_after[name], dtype=numpy.float64) - given)))
            if numpy.shape(outcome.params_after[name]) == given.shape
            else numpy.inf
            for outcome in outcomes
        ]
        if max(changes) > 0:
            changed[name] = max(changes)
    if not changed:
        return []
    return [
        f"your code changed {', '.join(changed)} (by up to {max(changed.values()):.3g}) while computing the"
        " gradients: it must leave the parameters as they were (is there an update step inside, or an in-place"
        " operation?)"
    ]
