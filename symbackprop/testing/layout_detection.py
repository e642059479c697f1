"""Layout detection: which :class:`~.adapters.Layout` the user's code is written for.

Contract
--------
:func:`resolve_layout` settles the layout in this order: options given win, then what the user's own
parameters reveal (``code.known_layout``), then trial calls on the probe's first batch under each
remaining layout, at most one call per layout (and fewer: see below). The layout is chosen by what
the code returns, never by its merely running: for each sample layout and weight layout, the
remaining bias shapes are tried in the order natural to that sample layout until the code returns
gradients of the parameters' shapes under one (a (n,) bias broadcasts where (1, n) or (n, 1) was
meant, so code that runs under it may still return gradients of another shape). The candidates are
the layouts whose gradients fit (or, if none fits, the first under which the code ran, per sample
and weight layout). The first candidate is kept when every other gives the same gradients. When they
differ, the one whose gradients agree with the reference on the first batch (up to a positive factor
common to all parameters: summed gradients are m times the averaged ones) is kept, provided it is
the only such gradient (so correct code on square layers needs no weight layout given). Otherwise
:class:`~.adapters.CheckError` lists the options that would tell the candidates apart. One-hot
targets are tried first, and class indices only when the code runs under no layout with one-hot
ones. A crash under every layout is reported with the user's line that raised, and, for a
``KeyError`` on a parameter's name, how to map the user's names to ours.

Candidates whose gradients hold NaN or infinity are set aside while any other fits; when none is
finite, the first is kept with a note that the layout is a guess (the rows fail in any layout).

The trials stop at the first candidate when it settles the layout: its gradients are finite and
agree with the reference, and every layout still to try hands the code arrays of other shapes
(no square layer where both weight layouts are tried; the probe's batch size is no layer's
width, so the sample layouts always differ). Why this is safe: with such a first candidate, the
rules above keep it whatever the later trials find, except when a later layout gives other
gradients that agree with the reference too, which ends in a CheckError asking for the layout. To
get there, the code would have to run on arrays of other shapes, return gradients of those
shapes, and be right in both layouts though not by the same numbers; code that reads its layout
from the shapes computes the same gradients in each. So correct code written for the first sample
and weight layout tried (rows and W (out, in), unless options or its parameters say otherwise) is
called once per batch, and buggy code, or code on square layers, under every layout as before.

The user's exceptions, and its calls of ``sys.exit``, end a trial, never the check; they are
described (their traceback read) only when reported. Code that raises under every layout is a
:class:`~.adapters.CheckError` (the options may not describe it); code that calls ``sys.exit``
under every layout, or does not return within the time limit at any call, is
:class:`~.adapters.DidNotReturn` (the check fails with that reason). A
:class:`~.adapters.CheckError` (code that runs but returns what the checker cannot read) ends
the check at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy

from ..spec import Network
from .adapters import (
    BIAS_SHAPES,
    SAMPLES,
    TARGETS,
    WEIGHT_LAYOUTS,
    CheckError,
    DidNotReturn,
    FunctionAdapter,
    Layout,
    ObjectAdapter,
    Outcome,
    describe_raised,
    option_hint,
)
from .calls import Exited
from .reference import Array, Batch, Params, Probe
from .tensor_adapters import ModuleAdapter

UserCode = FunctionAdapter | ObjectAdapter | ModuleAdapter
#: The bias shapes in the order tried for each sample layout when neither the options nor the
#: user's parameters tell: the shape that broadcasts against Z of that layout first.
NATURAL_BIAS_SHAPES = {"rows": ("flat", "row", "column"), "columns": ("column", "flat", "row")}
#: How far (relative, per parameter) a candidate's gradients may be from the reference's, times a
#: common factor, and still agree with it: loose, since a wrong layout is off by order one, and
#: float32 code or a slightly wrong gradient should still point at the layout it was written for.
AGREEMENT_RTOL = 1e-2


def call_under(code: UserCode, layout: Layout, probe: Probe, batch: Batch, timeout: float | None) -> Outcome:
    """The user's code called on ``batch`` with the probe's parameters and data in ``layout``,
    each of its functions given ``timeout`` seconds."""
    params = {name: layout.to_user(name, value, probe.dtype) for name, value in probe.params.items()}
    return code.run(params, layout.data(batch.X, probe.dtype), layout.target_data(batch.Y, probe.dtype), timeout)


def canonical_gradients(layout: Layout, grads: Mapping[str, Array], network: Network) -> Params:
    """The user's gradients (returned in ``layout``) in the canonical layout, as far as their
    shapes allow."""
    units = {f"{kind}{k}": network.sizes[k] for k in range(1, network.depth + 1) for kind in "Wb"}
    return {name: layout.from_user(name, value, units[name]) for name, value in grads.items()}


def resolve_layout(
    code: UserCode,
    network: Network,
    probe: Probe,
    correct: Params,
    samples: str | None,
    weights: str | None,
    biases: str | None,
    targets: str | None,
    timeout: float | None,
) -> tuple[Layout, Outcome, list[str]]:
    """The user's layout, the code's outcome on the probe's first batch under it, and a note when
    the layout is a guess (gradients that are not finite under every layout tell none apart).
    ``correct`` is the reference's gradients on the first batch."""
    trials = _try_layouts(code, network, probe, correct, samples, weights, biases, targets, timeout)
    candidates = trials.fitting or trials.running
    if not candidates:
        raise _crashed_under_every_layout(code, trials, list(probe.params))
    return _the_only_layout(code, network, correct, candidates)


def _choice(value: str | None, allowed: Sequence[str], option: str) -> tuple[str, ...]:
    """The values of an option to try: the one given (if allowed), else every allowed one."""
    if value is None:
        return tuple(allowed)
    if value not in allowed:
        raise CheckError(f"{option}: '{value}' is not one of {', '.join(allowed)}")
    return (value,)


def _target_choices(network: Network, targets: str | None) -> tuple[str, ...]:
    """One-hot targets first; class indices only for a one-hot loss, tried when one-hot ones fail."""
    choices = _choice(targets, TARGETS, "targets")
    if not network.loss.targets.by_largest:
        if targets == "indices":
            raise CheckError(
                f"targets='indices' (--targets indices) needs one-hot targets; those of"
                f" {network.loss.name} are {network.loss.targets.name}"
            )
        return ("one-hot",)
    return choices


@dataclass
class _Trials:
    """What the trial calls found so far: per sample and weight layout, the first bias shape under
    which the code ran and the one under which it returned gradients of the parameters' shapes;
    and the layouts under which it raised, with what it raised."""

    fitting: list[tuple[Layout, Outcome]] = field(default_factory=list)
    running: list[tuple[Layout, Outcome]] = field(default_factory=list)
    failures: list[tuple[Layout, Exception]] = field(default_factory=list)

    def try_bias_shapes(self, code: UserCode, probe: Probe, layouts: Sequence[Layout], timeout: float | None) -> None:
        """Call the code under each of ``layouts`` (one per bias shape) until its gradients have
        the parameters' shapes: code that merely runs may have had a (n,) bias broadcast where it
        meant (1, n) or (n, 1)."""
        ran = False
        for layout in layouts:
            try:
                outcome = call_under(code, layout, probe, probe.batches[0], timeout)
            except (CheckError, DidNotReturn):
                raise
            except Exception as error:  # the user's code, under a layout it was not written for
                self.failures.append((layout, error))
                continue
            if not ran:
                self.running.append((layout, outcome))
                ran = True
            if _shapes_fit(layout, outcome, dict(probe.params)):
                self.fitting.append((layout, outcome))
                return


def _try_layouts(
    code: UserCode,
    network: Network,
    probe: Probe,
    correct: Params,
    samples: str | None,
    weights: str | None,
    biases: str | None,
    targets: str | None,
    timeout: float | None,
) -> _Trials:
    known = code.known_layout(network.sizes)
    sample_choices = _choice(samples or known.samples, SAMPLES, "samples")
    weight_choices = _choice(weights or known.weights, WEIGHT_LAYOUTS, "weight_layout")
    trials = _Trials()
    # Both weight layouts hand a square layer's W in one shape: its trials cannot be skipped.
    shapes_differ = len(weight_choices) == 1 or all(n_in != n_out for n_in, n_out in pairwise(network.sizes))
    for target in _target_choices(network, targets):
        for sample_layout in sample_choices:
            if trials.running and target != "one-hot":
                return trials  # the code runs on one-hot targets: it does not take class indices
            told = biases or known.biases
            bias_choices = _choice(told, BIAS_SHAPES, "bias_shape") if told else NATURAL_BIAS_SHAPES[sample_layout]
            for weight_layout in weight_choices:
                layouts = [Layout(sample_layout, weight_layout, bias, target) for bias in bias_choices]
                fitted = len(trials.fitting)
                trials.try_bias_shapes(code, probe, layouts, timeout)
                if shapes_differ and fitted == 0 and trials.fitting and _settles(network, correct, *trials.fitting[0]):
                    return trials
    return trials


def _settles(network: Network, correct: Params, layout: Layout, outcome: Outcome) -> bool:
    """Whether the first candidate's gradients are finite and agree with the reference: then no
    later trial can change the layout chosen, when every later layout hands other shapes (see the
    module's docstring)."""
    return _finite(outcome) and _agrees(canonical_gradients(layout, outcome.grads, network), correct)


def _shapes_fit(layout: Layout, outcome: Outcome, params: Params) -> bool:
    return all(numpy.shape(outcome.grads[name]) == layout.view(name, value).shape for name, value in params.items())


def _crashed_under_every_layout(
    code: UserCode, trials: _Trials, parameters: Sequence[str]
) -> CheckError | DidNotReturn:
    """The error for code that raised under every layout: what it raised, once if always the same;
    :class:`DidNotReturn` when it called ``sys.exit`` every time."""
    texts = [(layout, describe_raised(error)) for layout, error in trials.failures]
    raised = {text for _, text in texts}
    if all(isinstance(error, Exited) for _, error in trials.failures):
        called = (
            raised.pop()
            if len(raised) == 1
            else "sys.exit (" + "; ".join(f"{layout.describe()}: {text}" for layout, text in texts) + ")"
        )
        return DidNotReturn(
            f"{code.label} called {called} while computing gradients, under every layout tried:"
            " the checker needs the gradients returned, not the process ended"
        )
    if len(raised) == 1:
        return CheckError(
            f"{code.label} raised {raised.pop()} under every layout tried"
            + _missing_key_hint(code, trials.failures[0][1], parameters)
        )
    return CheckError(
        f"{code.label} raised under every layout tried:\n  "
        + "\n  ".join(f"{layout.describe()}: {text}" for layout, text in texts)
    )


def _missing_key_hint(code: UserCode, error: Exception, parameters: Sequence[str]) -> str:
    """For a function that looked up a parameter under its own name: how to say which of ours it is."""
    if not isinstance(code, FunctionAdapter) or not isinstance(error, KeyError) or len(error.args) != 1:
        return ""
    key = error.args[0]
    if isinstance(key, int):
        return (
            f"; the parameters come as a dict keyed {', '.join(parameters)}, not as a list:"
            " wrap your function, e.g. lambda params, X, Y: mine([params['W1'], params['b1'], ...], X, Y)"
        )
    if isinstance(key, str) and code.names.get(key, key) != key:
        return (
            f"; names (--names) hands {key} to the code as '{code.names[key]}', but the code looks up '{key}'"
            f" (leave {key} out of names if the code calls it {key})"
        )
    if not isinstance(key, str) or key in parameters:
        return ""
    return (
        f"; if '{key}' is one of your parameters, say which of {', '.join(parameters)} it is:"
        f" names={{'W1': '{key}'}} (--names W1={key})"
    )


def _the_only_layout(
    code: UserCode, network: Network, correct: Params, candidates: Sequence[tuple[Layout, Outcome]]
) -> tuple[Layout, Outcome, list[str]]:
    """Of the candidates whose gradients are finite, if any: the first, unless another one gives
    different gradients; then the one whose gradients agree with the reference, if that settles
    it. Else the user must say, unless no gradients were finite: then the first, with a note (its
    rows fail, whichever the layout)."""
    finite = [(layout, outcome) for layout, outcome in candidates if _finite(outcome)]
    candidates = finite or candidates
    first_layout, first_outcome = candidates[0]
    distinct = [
        layout
        for layout, outcome in candidates[1:]
        if not _same_gradients(first_layout, first_outcome, layout, outcome, network)
    ]
    if not distinct:
        return first_layout, first_outcome, []
    agreeing = _agreeing_with_reference(network, correct, candidates)
    if agreeing is not None:
        return (*agreeing, [])
    if not finite:
        note = (
            f"the layout is a guess: the gradients of {code.label} hold NaN or infinity under every layout tried"
            f" ({'; '.join(layout.describe() for layout in [first_layout, *distinct])}), which tells none apart"
        )
        return first_layout, first_outcome, [note]
    raise CheckError(
        f"{code.label} runs under several layouts that give different gradients ("
        + "; ".join(layout.describe() for layout in [first_layout, *distinct])
        + f"); say which one it uses: {_differing_options([first_layout, *distinct])}"
    )


def _agreeing_with_reference(
    network: Network, correct: Params, candidates: Sequence[tuple[Layout, Outcome]]
) -> tuple[Layout, Outcome] | None:
    """The first candidate whose gradients agree with the reference (``correct``), when that
    settles the layout: no candidate with other gradients agrees too."""
    agreeing = [
        index
        for index, (layout, outcome) in enumerate(candidates)
        if _agrees(canonical_gradients(layout, outcome.grads, network), correct)
    ]
    if not agreeing:
        return None
    chosen_layout, chosen_outcome = candidates[agreeing[0]]
    for index, (layout, outcome) in enumerate(candidates):
        if index in agreeing and not _same_gradients(chosen_layout, chosen_outcome, layout, outcome, network):
            return None
    return chosen_layout, chosen_outcome


def _agrees(got: Params, correct: Params) -> bool:
    """Whether ``got`` is ``correct`` times one positive factor (1 for averaged gradients, m for
    summed ones), each parameter within :data:`AGREEMENT_RTOL`."""
    if any(
        name not in got or got[name].shape != value.shape or not numpy.all(numpy.isfinite(got[name]))
        for name, value in correct.items()
    ):
        return False
    squares = {name: float(numpy.vdot(value, value)) for name, value in correct.items()}
    norm = sum(squares.values())
    if norm == 0.0:
        return False
    factor = sum(float(numpy.vdot(got[name], value)) for name, value in correct.items()) / norm
    if not factor > 0.0:
        return False
    # A parameter whose gradient is tiny beside the others is judged against a floor of the whole.
    floor = 1e-3 * factor * numpy.sqrt(norm)
    return all(
        numpy.linalg.norm(got[name] - factor * value) <= AGREEMENT_RTOL * (factor * numpy.sqrt(squares[name]) + floor)
        for name, value in correct.items()
    )


def _finite(outcome: Outcome) -> bool:
    return all(numpy.all(numpy.isfinite(grad)) for grad in outcome.grads.values())


def _same_gradients(first: Layout, a: Outcome, second: Layout, b: Outcome, network: Network) -> bool:
    """Whether two layouts' gradients are the same in the canonical layout (NaN where NaN is)."""
    left, right = canonical_gradients(first, a.grads, network), canonical_gradients(second, b.grads, network)
    return all(
        left[name].shape == right[name].shape
        and numpy.allclose(left[name], right[name], rtol=1e-6, atol=0.0, equal_nan=True)
        for name in a.grads
    )


def _differing_options(layouts: Sequence[Layout]) -> str:
    """The options, with their values, in which ``layouts`` differ (the targets are never asked:
    the code that runs on one-hot targets is not tried on class indices)."""
    texts = []
    if len({layout.samples for layout in layouts}) > 1:
        texts.append(option_hint("samples", SAMPLES))
    if len({layout.weights for layout in layouts}) > 1:
        texts.append(option_hint("weight_layout", WEIGHT_LAYOUTS))
    if len({layout.biases for layout in layouts}) > 1:
        texts.append(option_hint("bias_shape", BIAS_SHAPES))
    return ", ".join(texts)
