"""The checker: run the user's code on the probe, judge each gradient, and name the mistake.

Contract
--------
:func:`check_gradients` (1) builds the reference and the probe of the network (see
:mod:`.reference`); (2) settles the user's layout: options given win, then what the user's own
parameters reveal, then trial calls under each remaining layout, keeping the one under which the
code runs and returns gradients of the parameters' shapes, or raising :class:`CheckError` that
lists the options when several layouts fit and disagree (one-hot targets are handed over as
class indices only when the code runs under no layout with one-hot ones); a crash under every
layout is reported with the user's line that raised; (3) calls the code on both batches,
judging its forward pass and loss first when it provides them (the loss also tells a summed
gradient from an averaged one, unless ``reduction`` is given); (4) judges every gradient against
the reference with the dtype's :class:`Tolerance`, and diagnoses each row that does not pass
by the closest mutant of :mod:`.mutants` that changes that parameter and explains it better than
the correct gradient does (preferring the mistake that explains the most failing rows, then the
catalogue's order); a row no mutant explains is described by what it is (close to correct, a
constant factor, a factor that changes with the batch, a wrong shape); (5) reports the
parameters the code changed.
With ``finite_differences`` the reference itself is checked by central differences in float64.
The tolerances are those of the dtype handed to the code, or of the gradients it returns when
their precision is lower.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy

from ..spec import Network, parse_compact
from .adapters import (
    BIAS_SHAPES,
    SAMPLES,
    TARGETS,
    WEIGHT_LAYOUTS,
    CheckError,
    FunctionAdapter,
    Layout,
    ObjectAdapter,
    Outcome,
    describe_raised,
    option_hint,
)
from .mutants import Mutant, build_mutants
from .reference import Array, Batch, Params, Probe, Reference, make_probe, reference_for
from .report import GradientMismatch, GradientReport, ParameterRow, Tolerance

REDUCTIONS = ("mean", "sum")
#: Below this fraction of the largest gradient, an element's error is judged against that
#: fraction instead of its own size, so that a near-zero gradient does not inflate the error.
SCALE_FLOOR = 1e-3
#: The finite-difference witness's step (relative to max(1, |θ|)) and its agreement threshold.
FD_STEP = 1e-6
FD_TOLERANCE = 1e-5

UserCode = FunctionAdapter | ObjectAdapter


@dataclass(frozen=True)
class _Run:
    batch: Batch
    outcome: Outcome
    correct: Params
    scale: float


def _network(network: Network | str) -> Network:
    if isinstance(network, Network):
        return network
    if isinstance(network, str):
        return parse_compact(network)
    raise CheckError(f"expected a Network or a compact spec like '2 -> 1 sigmoid : bce', got {network!r}")


def _adapter(code: Any, options: Mapping[str, Any]) -> UserCode:
    given = {key: value for key, value in options.items() if value is not None}
    if isinstance(code, (FunctionAdapter, ObjectAdapter)):
        if given:
            raise CheckError(f"{', '.join(given)}: give these to the adapter, not beside it")
        return code
    has_methods = callable(getattr(code, "forward", None)) and callable(getattr(code, "backward", None))
    if has_methods and not isinstance(code, type):
        if given:
            raise CheckError(
                f"{', '.join(given)}: these are for a function grads(params, X, Y); for an object, say where its"
                " methods and arrays are with ObjectAdapter(model, forward='method', backward='method', loss='method',"
                " weights='W{k}', biases='b{k}', weight_grads=..., bias_grads=...)"
            )
        return ObjectAdapter(code)
    if isinstance(code, type):
        raise CheckError(f"{code.__name__} is a class; give an instance of it, or a function grads(params, X, Y)")
    return FunctionAdapter(code, **options)


def _choice(value: str | None, allowed: Sequence[str], option: str) -> tuple[str, ...]:
    if value is None:
        return tuple(allowed)
    if value not in allowed:
        raise CheckError(f"{option}: '{value}' is not one of {', '.join(allowed)}")
    return (value,)


def _check_names(code: UserCode, parameters: Sequence[str]) -> None:
    """The keys of ``names`` and ``grad_names`` must be parameters: a typo would be ignored."""
    if not isinstance(code, FunctionAdapter):
        return
    for option, mapping in (("names", code.names), ("grad_names", code.grad_names)):
        unknown = [key for key in mapping if key not in parameters]
        if unknown:
            raise CheckError(f"{option}: {', '.join(map(repr, unknown))} is no parameter of the network;"
                             f" its parameters are {', '.join(parameters)}")


def _shapes_fit(layout: Layout, outcome: Outcome, params: Params) -> bool:
    return all(
        numpy.shape(outcome.grads[name]) == layout.to_user(name, value).shape for name, value in params.items()
    )


def _call(code: UserCode, layout: Layout, probe: Probe, batch: Batch) -> Outcome:
    params = {name: layout.to_user(name, value, probe.dtype) for name, value in probe.params.items()}
    return code.run(params, layout.data(batch.X, probe.dtype), layout.target_data(batch.Y, probe.dtype))


def _target_choices(network: Network, targets: str | None) -> tuple[str, ...]:
    """One-hot targets first; class indices only for a one-hot loss, tried when one-hot ones fail."""
    choices = _choice(targets, TARGETS, "targets")
    if network.loss.targets != "one-hot":
        if targets == "indices":
            raise CheckError(f"targets='indices' (--targets indices) needs one-hot targets; those of"
                             f" {network.loss.name} are {network.loss.targets}")
        return ("one-hot",)
    return choices


def _resolve_layout(
    code: UserCode,
    network: Network,
    probe: Probe,
    samples: str | None,
    weights: str | None,
    biases: str | None,
    targets: str | None,
) -> tuple[Layout, Outcome]:
    known = code.known_layout(network.sizes)
    sample_choices = _choice(samples, SAMPLES, "samples")
    weight_choices = _choice(weights or known.weights, WEIGHT_LAYOUTS, "weight_layout")
    fitting: list[tuple[Layout, Outcome]] = []
    running: list[tuple[Layout, Outcome]] = []
    failures: list[tuple[Layout, str]] = []
    errors: list[Exception] = []
    trials = [
        (target, sample_layout)
        for target in _target_choices(network, targets)
        for sample_layout in sample_choices
    ]
    for target, sample_layout in trials:
        if running and target != "one-hot":
            break  # the code runs on one-hot targets: it does not take class indices
        natural = ("flat", "row", "column") if sample_layout == "rows" else ("column", "flat", "row")
        told = biases or known.biases
        bias_choices = _choice(told, BIAS_SHAPES, "bias_shape") if told else natural
        for weight_layout in weight_choices:
            for bias_shape in bias_choices:
                layout = Layout(sample_layout, weight_layout, bias_shape, target)
                try:
                    outcome = _call(code, layout, probe, probe.batches[0])
                except CheckError:
                    raise
                except Exception as error:  # the user's code, under a layout it was not written for
                    failures.append((layout, describe_raised(error)))
                    errors.append(error)
                    continue
                running.append((layout, outcome))
                if _shapes_fit(layout, outcome, dict(probe.params)):
                    fitting.append((layout, outcome))
                break
    candidates = fitting or running
    if not candidates:
        raised = {text for _, text in failures}
        if len(raised) == 1:
            raise CheckError(f"{code.label} raised {raised.pop()} under every layout tried"
                             + _missing_key_hint(code, errors[0], list(probe.params)))
        raise CheckError(f"{code.label} raised under every layout tried:\n  "
                         + "\n  ".join(f"{layout.describe()}: {text}" for layout, text in failures))
    first_layout, first_outcome = candidates[0]
    distinct = [
        (layout, outcome)
        for layout, outcome in candidates[1:]
        if not _same_gradients(first_layout, first_outcome, layout, outcome, network)
    ]
    if distinct:
        options = _differing_options([first_layout, *(layout for layout, _ in distinct)])
        raise CheckError(
            f"{code.label} runs under several layouts that give different gradients ("
            + "; ".join(layout.describe() for layout in [first_layout, *(lay for lay, _ in distinct)])
            + f"); say which one it uses: {options}"
        )
    return first_layout, first_outcome


def _missing_key_hint(code: UserCode, error: Exception, parameters: Sequence[str]) -> str:
    """For a function that looked up a parameter under its own name: how to say which of ours it is."""
    if not isinstance(code, FunctionAdapter) or not isinstance(error, KeyError) or len(error.args) != 1:
        return ""
    key = error.args[0]
    if isinstance(key, int):
        return (f"; the parameters come as a dict keyed {', '.join(parameters)}, not as a list:"
                " wrap your function, e.g. lambda params, X, Y: mine([params['W1'], params['b1'], ...], X, Y)")
    if not isinstance(key, str) or key in parameters:
        return ""
    return (f"; if '{key}' is one of your parameters, say which of {', '.join(parameters)} it is:"
            f" names={{'W1': '{key}'}} (--names W1={key})")


def _same_gradients(first: Layout, a: Outcome, second: Layout, b: Outcome, network: Network) -> bool:
    sizes = {f"{kind}{k}": network.sizes[k] for k in range(1, network.depth + 1) for kind in "Wb"}
    for name in a.grads:
        left = first.from_user(name, a.grads[name], sizes[name])
        right = second.from_user(name, b.grads[name], sizes[name])
        if left.shape != right.shape or not numpy.allclose(left, right, rtol=1e-6, atol=0.0):
            return False
    return True


def _differing_options(layouts: Sequence[Layout]) -> str:
    texts = []
    if len({layout.samples for layout in layouts}) > 1:
        texts.append(option_hint("samples", SAMPLES))
    if len({layout.weights for layout in layouts}) > 1:
        texts.append(option_hint("weight_layout", WEIGHT_LAYOUTS))
    if len({layout.biases for layout in layouts}) > 1:
        texts.append(option_hint("bias_shape", BIAS_SHAPES))
    return ", ".join(texts)


def _relative(got: Array, expected: Array, floor: float) -> tuple[float, tuple[int, ...]]:
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


def check_gradients(
    network: Network | str,
    code: Any,
    *,
    forward: Callable[..., Any] | None = None,
    loss: Callable[..., Any] | None = None,
    names: Mapping[str, str] | None = None,
    grad_names: Mapping[str, str] | None = None,
    params: Mapping[str, Array] | None = None,
    samples: str | None = None,
    weight_layout: str | None = None,
    bias_shape: str | None = None,
    targets: str | None = None,
    reduction: str | None = None,
    dtype: numpy.typing.DTypeLike | None = None,
    finite_differences: bool = False,
    finite_difference_elements: int | None = None,
    seed: int = 0,
) -> GradientReport:
    """Judge hand-written gradients of ``network`` against the symbolic reference.

    ``code`` is ``grads(params, X, Y)`` (a dict of gradients, or ``(loss, grads)``), an object with
    ``forward``/``backward`` methods, or an :class:`ObjectAdapter`. ``forward(params, X)`` and
    ``loss(params, X, Y)`` are judged first when given. ``names`` maps our parameter names (W1, b1)
    to the user's, ``grad_names`` to the user's gradient keys; ``params`` is an example of the
    user's parameters (its shapes and dtype tell the layout). ``samples`` ("rows"/"columns"),
    ``weight_layout`` ("out_in"/"in_out"), ``bias_shape`` ("flat"/"column"/"row"), ``targets``
    ("one-hot", or "indices": each sample's class (m,), tried when the code fails on one-hot
    targets) and ``reduction`` ("mean"/"sum") are detected when the shapes (or the loss) tell,
    else asked for.
    ``dtype`` (default: that of ``params`` or of the object's weights, else float64) is the
    precision of the parameters and data handed to the code, and sets the tolerances (those of the
    gradients' dtype, if the code returns a lower precision). ``finite_differences`` checks the
    reference by central differences of every element, or of ``finite_difference_elements``
    elements of each parameter, drawn at random.
    """
    net = _network(network)
    options = {"forward": forward, "loss": loss, "names": names, "grad_names": grad_names, "params": params}
    user = _adapter(code, options)
    reference = reference_for(net)
    _check_names(user, reference.parameter_names())
    known = user.known_layout(net.sizes)
    try:
        chosen_dtype = numpy.dtype(dtype if dtype is not None else (known.dtype or numpy.float64))
    except TypeError:
        chosen_dtype = None
    if chosen_dtype is None or chosen_dtype not in (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)):
        raise CheckError(f"dtype: {dtype!r} is not float32 or float64")
    if reduction is not None and reduction not in REDUCTIONS:
        raise CheckError(f"reduction: '{reduction}' is not one of {', '.join(REDUCTIONS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        # NumPy's generators refuse negative seeds with a message that names neither the option nor its value.
        raise CheckError(f"seed: must be a non-negative integer, got {seed!r}")
    probe = make_probe(net, seed=seed, dtype=chosen_dtype)
    layout, first = _resolve_layout(user, net, probe, samples, weight_layout, bias_shape, targets)
    try:
        outcomes = [first, _call(user, layout, probe, probe.batches[1])]
    except CheckError:
        raise
    except Exception as error:  # the user's code, on the second batch
        raise CheckError(
            f"{user.label} ran on the first batch but raised on the second ({probe.batches[1].size} samples,"
            f" {layout.describe()}): {describe_raised(error)}"
        ) from error
    tolerance = Tolerance.for_dtype(chosen_dtype)
    rows: list[ParameterRow] = []
    notes: list[str] = []
    returned = [kind for kind in {numpy.asarray(grad).dtype for grad in first.grads.values()} if kind.kind == "f"]
    lowest = max(returned, key=lambda kind: numpy.finfo(kind).eps, default=chosen_dtype)
    if numpy.finfo(lowest).eps > numpy.finfo(chosen_dtype).eps:
        tolerance = Tolerance.for_dtype(lowest)
        notes.append(f"your code returned {lowest} gradients from {chosen_dtype} inputs: judged with its tolerances")
    rows += _forward_rows(reference, probe, layout, outcomes, tolerance)
    loss_rows, detected = _loss_rows(reference, probe, outcomes, tolerance, reduction)
    rows += loss_rows
    chosen_reduction = reduction or detected or "mean"
    runs = []
    for batch, outcome in zip(probe.batches, outcomes, strict=True):
        scale = float(batch.size) if chosen_reduction == "sum" else 1.0
        correct = {name: value * scale for name, value in reference.gradients(probe.params, batch).items()}
        runs.append(_Run(batch, outcome, correct, scale))

    def mutants() -> list[Mutant]:
        return build_mutants(
            reference,
            probe.params,
            [reference.forward(probe.params, run.batch) for run in runs],
            [run.correct for run in runs],
            [run.scale for run in runs],
        )

    gradient_rows = _gradient_rows(net, layout, runs, mutants, tolerance)
    if finite_differences:
        gradient_rows = _with_finite_differences(
            reference, probe, runs[0], gradient_rows, notes, finite_difference_elements
        )
    rows += gradient_rows
    if reduction is None and detected is None and any(row.mistake == "missing_mean" for row in gradient_rows):
        notes.append("gradients are taken as averaged over the batch; if yours are summed on purpose, pass "
                     + option_hint("reduction", ("sum",)))
    findings = _changed_parameters(layout, probe, outcomes)
    summed = "summed" if chosen_reduction == "sum" else "averaged"
    description = f"{layout.describe()}; gradients {summed} over the batch"
    return GradientReport(
        network=net.compact,
        layout=description,
        tolerance=tolerance,
        batch_sizes=tuple(batch.size for batch in probe.batches),
        margin=probe.margin,
        rows=tuple(rows),
        findings=tuple(findings),
        notes=tuple(notes),
    )


def assert_gradients(network: Network | str, code: Any, **options: Any) -> GradientReport:
    """:func:`check_gradients`, raising :class:`GradientMismatch` (an AssertionError whose message
    is the report's table) unless every row passes; returns the report when it does."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this function
    report = check_gradients(network, code, **options)
    if not report.ok:
        raise GradientMismatch(report)
    return report


def _forward_rows(
    reference: Reference, probe: Probe, layout: Layout, outcomes: Sequence[Outcome], tolerance: Tolerance
) -> list[ParameterRow]:
    if outcomes[0].prediction is None:
        return []
    worst: ParameterRow | None = None
    for batch, outcome in zip(probe.batches, outcomes, strict=True):
        cache = reference.forward(probe.params, batch)
        expected = cache.A[-1]
        got = layout.output(numpy.asarray(outcome.prediction))
        if got.size == expected.size and got.ndim != expected.ndim:  # (m,) for one output
            got = got.reshape(expected.shape)
        error, index = _relative(got, expected, 0.0)
        mistake, diagnosis = "", ""
        verdict = tolerance.verdict(error)
        if verdict != "pass":
            L = reference.depth
            output = reference.derivation.layer(L).activation.label
            if _relative(got, cache.Z[L], 0.0)[0] <= tolerance.fails:
                diagnosis = f"ŷ is z{L}: the output activation {output} was not applied"
                mistake = "forward_without_output_activation"
            elif got.shape != expected.shape:
                diagnosis = f"ŷ has shape {got.shape}, the network's output has {expected.shape}"
            else:
                diagnosis = "the forward pass differs from the network's: check each layer's activation and bias"
        row = ParameterRow(
            name="forward ŷ",
            shape=tuple(got.shape),
            relative_error=error,
            worst_index=index,
            expected=float(expected[index]) if index and got.shape == expected.shape else float("nan"),
            got=float(got[index]) if index and got.shape == expected.shape else float("nan"),
            verdict=verdict,
            diagnosis=diagnosis,
            mistake=mistake,
            expected_shape=tuple(expected.shape),
        )
        if worst is None or not error <= worst.relative_error:
            worst = row
    return [worst] if worst is not None else []


def _loss_rows(
    reference: Reference, probe: Probe, outcomes: Sequence[Outcome], tolerance: Tolerance, reduction: str | None
) -> tuple[list[ParameterRow], str | None]:
    """The loss row (when the code gives its loss), and the reduction the loss reveals."""
    if any(outcome.loss is None for outcome in outcomes):
        return [], None
    ours = [reference.loss(probe.params, batch) for batch in probe.batches]
    theirs = [float(outcome.loss) for outcome in outcomes]  # type: ignore[arg-type]
    sizes = [batch.size for batch in probe.batches]

    def error_for(kind: str) -> float:
        return max(
            abs(t - o * (m if kind == "sum" else 1)) / max(abs(o * (m if kind == "sum" else 1)), 1e-300)
            for t, o, m in zip(theirs, ours, sizes, strict=True)
        )

    detected = None
    if reduction is None:
        detected = min(REDUCTIONS, key=error_for)
    kind = reduction or detected or "mean"
    error = error_for(kind)
    verdict = tolerance.verdict(error)
    diagnosis = ""
    if verdict != "pass":
        detected = None
        ratios = [t / o if o else numpy.inf for t, o in zip(theirs, ours, strict=True)]
        diagnosis = f"the loss is {ratios[0]:.4g} times ours (network's loss: {reference.network.loss.name})"
    run = 0 if abs(theirs[0] - ours[0]) >= abs(theirs[1] - ours[1]) else 1
    expected = ours[run] * (sizes[run] if kind == "sum" else 1)
    row = ParameterRow("loss", (), error, (), expected, theirs[run], verdict, diagnosis)
    return [row], detected


def _gradient_rows(
    network: Network,
    layout: Layout,
    runs: Sequence[_Run],
    build_catalogue: Callable[[], Sequence[Mutant]],
    tolerance: Tolerance,
) -> list[ParameterRow]:
    """One row per parameter; the catalogue of mutants is built only when a row needs a diagnosis,
    since building it costs most of a passing check."""
    sizes = {f"{kind}{k}": network.sizes[k] for k in range(1, network.depth + 1) for kind in "Wb"}
    floors = [SCALE_FLOOR * max(float(numpy.max(numpy.abs(g))) for g in run.correct.values()) for run in runs]
    canonical = [
        {name: layout.from_user(name, run.outcome.grads[name], sizes[name]) for name in run.correct} for run in runs
    ]
    user_names = {name: _gradient_label(name) for name in runs[0].correct}
    rows = []
    judged = {}
    for name in runs[0].correct:
        worst: tuple[float, int, tuple[int, ...]] = (-1.0, 0, ())
        for number, run in enumerate(runs):
            expected = layout.to_user(name, run.correct[name])
            error, index = _relative(numpy.asarray(run.outcome.grads[name], dtype=numpy.float64), expected,
                                     floors[number])
            if not error <= worst[0]:
                worst = (error, number, index)
        judged[name] = worst
    failing = [name for name, (error, _, _) in judged.items() if tolerance.verdict(error) != "pass"]
    catalogue = build_catalogue() if failing else []
    evidence = _Evidence(runs, canonical, floors, catalogue, tolerance).with_failing(failing)
    for name, (error, number, index) in judged.items():
        run = runs[number]
        got = numpy.asarray(run.outcome.grads[name], dtype=numpy.float64)
        expected = layout.to_user(name, run.correct[name])
        verdict = tolerance.verdict(error)
        mistake, diagnosis = "", ""
        if verdict != "pass":
            mistake, diagnosis = _diagnose(name, user_names[name], got, expected, error, evidence)
        fits = got.shape == expected.shape and index
        rows.append(
            ParameterRow(
                name=user_names[name],
                shape=tuple(got.shape),
                relative_error=error,
                worst_index=index if fits else (),
                expected=float(expected[index]) if fits else float("nan"),
                got=float(got[index]) if fits else float("nan"),
                verdict=verdict,
                diagnosis=diagnosis,
                mistake=mistake,
                layer=int(name[1:]),
                expected_shape=tuple(expected.shape),
            )
        )
    return rows


def _gradient_label(name: str) -> str:
    return f"d{name}"


@dataclass(frozen=True)
class _Evidence:
    """What a diagnosis weighs: the user's gradients of every run in the canonical layout, the
    correct ones, the mutants, and how many failing rows each mutant explains."""

    runs: Sequence[_Run]
    canonical: Sequence[Params]
    floors: Sequence[float]
    mutants: Sequence[Mutant]
    tolerance: Tolerance
    #: id of each mutant: how many of the failing rows it explains (see :meth:`with_failing`).
    explained: Mapping[int, int] = field(default_factory=dict)

    def distance(self, name: str, candidate: Sequence[Params]) -> float:
        """The user's gradient of ``name`` against ``candidate``'s, the worst over the runs."""
        return max(
            _relative(user[name], grads[name], floor)[0]
            for user, grads, floor in zip(self.canonical, candidate, self.floors, strict=True)
        )

    def with_failing(self, failing: Sequence[str]) -> _Evidence:
        """This evidence with the count of the ``failing`` rows that each mutant explains."""
        explained = {
            id(mutant): sum(
                name in mutant.changed and self.distance(name, mutant.grads) <= self.tolerance.fails for name in failing
            )
            for mutant in self.mutants
        }
        return replace(self, explained=explained)

    def scalar_ratios(self, name: str) -> list[float] | None:
        """c_r for each run r when the user's gradient is c_r times the correct one in every run."""
        ratios = []
        for run, user, floor in zip(self.runs, self.canonical, self.floors, strict=True):
            correct = run.correct[name]
            if user[name].shape != correct.shape:
                return None
            c = float(numpy.vdot(user[name], correct) / max(float(numpy.vdot(correct, correct)), 1e-300))
            if _relative(user[name], c * correct, floor)[0] > self.tolerance.passes * 10:
                return None
            ratios.append(c)
        return ratios


def _diagnose(
    name: str, label: str, got: Array, expected: Array, error: float, evidence: _Evidence
) -> tuple[str, str]:
    """The kind of the mistake (a key of CATALOGUE, or "") and the diagnosis in words; ``error`` is
    the row's distance to the correct gradient, which a mutant must beat to explain the row."""
    tolerance = evidence.tolerance
    if not numpy.all(numpy.isfinite(got)):
        return "", f"{label} holds NaN or infinity"
    scored = [(evidence.distance(name, mutant.grads), mutant) for mutant in evidence.mutants if name in mutant.changed]
    matching = [(d, mutant) for d, mutant in scored if d <= tolerance.fails and d < error]
    if matching:
        order = {id(mutant): position for position, mutant in enumerate(evidence.mutants)}
        _, best = min(matching, key=lambda item: (-evidence.explained[id(item[1])], item[0] > tolerance.passes,
                                                   order[id(item[1])]))
        text = best.description.format(name=label)
        if best.through_delta and best.layer > int(name[1:]):
            return best.kind, f"inherits layer {best.layer}'s mistake through δ: {text}"
        return best.kind, text
    if got.shape != expected.shape:
        return "", f"{label} has shape {got.shape}; the parameter has shape {expected.shape}"
    if error <= tolerance.fails:
        return "", (f"{label} is close to the correct gradient but off by {error:.1e}, more than {tolerance.dtype}"
                    " rounding explains (is part of it computed in lower precision, or by finite differences?)")
    ratios = evidence.scalar_ratios(name)
    if ratios is not None and max(ratios) - min(ratios) <= tolerance.fails * max(abs(r) for r in ratios):
        return "", f"{label} is {ratios[0]:.4g} times the correct gradient (no known mistake gives that factor)"
    if ratios is not None:
        factors = " and ".join(f"{ratio:.4g} times on the batch of {run.batch.size}"
                               for ratio, run in zip(ratios, evidence.runs, strict=True))
        return "", (f"{label} is {factors}: a factor that depends on the batch (is the batch size fixed in the"
                    " code, rather than read from X?)")
    distance_to_closest, closest = min(scored, key=lambda item: item[0]) if scored else (numpy.inf, None)
    # A mutant is worth naming only when it explains most of the difference (the mistake plus a
    # little noise); a far one misleads (a mistake of the output layer, for a row of layer 1).
    if closest is None or not distance_to_closest < error / 10:
        return "", "no known mistake explains it"
    return "", (f"no known mistake explains it; the closest is: {closest.description.format(name=label)}"
                f" (off by {distance_to_closest:.1e})")


def _changed_parameters(layout: Layout, probe: Probe, outcomes: Sequence[Outcome]) -> list[str]:
    """One finding naming every parameter the code changed, with the largest change."""
    changed = {}
    for name, value in probe.params.items():
        given = layout.to_user(name, value)
        changes = [
            float(numpy.max(numpy.abs(numpy.asarray(outcome.params_after[name], dtype=numpy.float64) - given)))
            if numpy.shape(outcome.params_after[name]) == given.shape else numpy.inf
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


def _with_finite_differences(
    reference: Reference, probe: Probe, run: _Run, rows: list[ParameterRow], notes: list[str], elements: int | None
) -> list[ParameterRow]:
    """Central differences of our float64 loss by every element (or by ``elements`` elements of
    each parameter, drawn at random), compared with the reference."""
    params = {name: value.copy() for name, value in probe.params.items()}
    rng = numpy.random.default_rng(0)
    updated = []
    by_label = {_gradient_label(name): name for name in params}
    for row in rows:
        name = by_label[row.name]
        flat = params[name].reshape(-1)
        chosen = numpy.arange(flat.size) if elements is None else rng.choice(flat.size, min(elements, flat.size), False)
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
        correct = run.correct[name].reshape(-1)
        error, _ = _relative(estimate, correct[chosen], float(numpy.max(numpy.abs(correct), initial=0.0)))
        verdict = row.verdict
        if error > FD_TOLERANCE and verdict == "pass":
            verdict = "inconclusive"
            notes.append(f"finite differences disagree with the reference for {row.name} ({error:.1e})")
        updated.append(replace(row, finite_difference_error=error, verdict=verdict))
    return updated
