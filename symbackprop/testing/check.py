"""The checker: run the user's code on the probe, judge what it returns, and report.

Contract
--------
:func:`check_gradients` (1) refuses options it cannot honour (each a :class:`CheckError` naming the
option and the values it takes, before any of the code runs), wraps the code in its adapter (see
:mod:`.adapters`), and builds the reference and the probe of the network (see :mod:`.reference`);
(2) settles the user's layout (see :mod:`.layout_detection`); (3) calls the code on both batches
(each call within ``timeout`` seconds, a ``sys.exit`` in it taken as a crash: see :mod:`.calls`),
judging its forward pass and loss first when it provides them (the loss also tells a summed
gradient from an averaged one, unless ``reduction`` is given); (4) judges every gradient against
the reference with the dtype's tolerance (see :mod:`.judging`), and names the mistake of each row
that does not pass (see :mod:`.diagnosis`); (5) reports the parameters the code changed. With
``finite_differences`` the reference itself is checked by central differences in float64. The
tolerances are those of the dtype handed to the code, or of the gradients it returns when their
precision is lower. :func:`assert_gradients` raises :class:`GradientMismatch` unless every row of
the report passes.

Code that returns no gradients to judge, because it does not return within ``timeout`` or calls
``sys.exit`` (under every layout tried, or on the second batch), fails: the report has one
failing row per parameter ("no gradient returned") and the reason as its finding. Code that
raises under every layout, like bad options, is a :class:`CheckError`. The warnings the code issues
are a note of the report, not printed; the checker's own arithmetic prints none (see :mod:`.calls`).

Code written with PyTorch or JAX (``framework``, else detected: see :mod:`.frameworks`) is
handed the framework's tensors of its precision on its device, or, for a ``torch.nn.Module``,
has the probe loaded into its parameters (see :mod:`.tensor_adapters`); the probe is rounded to
that precision (float16 and bfloat16 too), the reference stays float64, and the report names the
framework, precision and device. A function detected (not said) to be torch or JAX code that
cannot be checked on its tensors is checked on NumPy arrays, with a note.

Beyond checking the options and choosing the adapter, this module only runs the stages in order
and turns their judgements and diagnoses into the rows of the report; each decision is made in
the module named for it.
"""

from __future__ import annotations

import math
import numbers
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy

from ..spec import Network, parse_compact
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
    check_timeout,
    describe_raised,
    describe_warnings,
)
from .calls import DEFAULT_TIMEOUT, Exited, watching_user_code
from .diagnosis import (
    Evidence,
    broken_step,
    changed_parameters_finding,
    describe_wrong_loss,
    diagnose_forward,
    diagnose_gradient,
    stray_gradients_note,
    summed_gradients_note,
)
from .frameworks import FRAMEWORKS, PRECISIONS, Precision, detect_framework, probe_in
from .judging import (
    REDUCTIONS,
    Judgement,
    Losses,
    Run,
    Tolerance,
    gradient_label,
    judge,
    judge_gradient,
    scale_floors,
    tolerance_for,
    with_finite_differences,
    worst,
)
from .layout_detection import UserCode, call_under, resolve_layout
from .reference import Array, Params, Probe, Reference, make_probe, reference_for
from .report import BrokenStep, GradientMismatch, GradientReport, ParameterRow
from .tensor_adapters import framework_adapter


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
    dtype: Any = None,
    framework: str | None = None,
    device: Any = None,
    finite_differences: bool = False,
    finite_difference_elements: int | None = None,
    seed: int = 0,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> GradientReport:
    """Judge hand-written gradients of ``network`` against the symbolic reference.

    ``code`` is ``grads(params, X, Y)`` (a dict of gradients, or ``(loss, grads)``), an object with
    ``forward``/``backward`` methods, or an :class:`ObjectAdapter`; for ``framework="torch"`` or
    ``"jax"`` (detected when not given), a function on tensors, ``grads(params, X, Y)`` or a loss
    ``loss_fn(params, X, Y)`` that the framework differentiates, or a ``torch.nn.Module`` (its
    parameters mapped by ``names``, ours to its parameter names, else by its ``nn.Linear`` order;
    ``loss(output, Y)`` replaces the network's loss). ``forward(params, X)`` and
    ``loss(params, X, Y)`` are judged first when given. ``names`` maps our parameter names (W1, b1)
    to the user's, ``grad_names`` to the user's gradient keys; ``params`` is an example of the
    user's parameters (its shapes and dtype tell the layout). ``samples`` ("rows"/"columns"),
    ``weight_layout`` ("out_in"/"in_out"), ``bias_shape`` ("flat"/"column"/"row"), ``targets``
    ("one-hot", or "indices": each sample's class (m,), tried when the code fails on one-hot
    targets) and ``reduction`` ("mean"/"sum") are detected when the shapes (or the loss) tell,
    else asked for.
    ``dtype`` (default: that of ``params``, of the object's weights or of the module's parameters,
    else float64; float32 for JAX without 64-bit mode; float16 and bfloat16 too for torch and JAX)
    is the precision of the parameters and data handed to the code, ``device`` the device of torch
    or JAX tensors (default: that of ``params``, or the module's), and sets the tolerances (those of the
    gradients' dtype, if the code returns a lower precision). ``finite_differences`` checks the
    reference by central differences of every element, or of ``finite_difference_elements``
    elements of each parameter, drawn at random. Each call of the code must return within
    ``timeout`` seconds (None: no limit); a ``sys.exit`` or ``os._exit`` in it counts as a crash.
    Code that does not return, or exits wherever it is called, gets a failing report saying so. The
    warnings it issues are listed in a note of the report instead of printed.
    """
    net = _network(network)
    kind = _framework(framework, code)
    reference = reference_for(net)
    options = {"forward": forward, "loss": loss, "names": names, "grad_names": grad_names, "params": params}
    asked = (samples, weight_layout, bias_shape, targets)
    settings = (asked, reduction, finite_differences, finite_difference_elements, seed, timeout)
    try:
        return _check_in(kind, reference, code, options, dtype, device, settings)
    except CheckError as error:
        if framework is not None or kind == "numpy" or not isinstance(code, types.FunctionType):
            raise
        # Detected, not given: a function that refers to torch or JAX may still compute on NumPy arrays.
        try:
            report = _check_in("numpy", reference, code, options, dtype, None, settings)
        except CheckError:
            raise error from None
        note = f"your code did not run on {kind} tensors; it was checked on NumPy arrays"
        return replace(report, notes=(*report.notes, note))


def _check_in(
    kind: str,
    reference: Reference,
    code: Any,
    options: Mapping[str, Any],
    dtype: Any,
    device: Any,
    settings: tuple[Any, ...],
) -> GradientReport:
    """The check of ``code`` as code of the framework ``kind``."""
    net = reference.network
    if kind == "numpy":
        if device is not None:
            raise CheckError(f"device: NumPy code runs on the CPU; device={device!r:.40} is for torch or JAX code")
        user: UserCode = _adapter(code, options)
        precision = PRECISIONS[_input_dtype(dtype, user.known_layout(net.sizes).dtype).name]
        described = ""
    else:
        user, precision = framework_adapter(code, kind, reference, options, dtype, device)
        described = user.tensors.describe()
    _check_names(user, reference.parameter_names())
    _check_options(*settings)
    with watching_user_code() as warned:
        report = _checked(reference, user, precision, *settings)
    return replace(report, framework=described, notes=(*report.notes, *describe_warnings(warned)))


def _checked(
    reference: Reference,
    user: UserCode,
    precision: Precision,
    asked: tuple[str | None, str | None, str | None, str | None],
    reduction: str | None,
    finite_differences: bool,
    finite_difference_elements: int | None,
    seed: int,
    timeout: float | None,
) -> GradientReport:
    """Steps (2) to (5) of the check, on options already checked."""
    net = reference.network
    probe = probe_in(reference, make_probe(net, seed=seed, dtype=precision.carrier), precision)
    correct = [reference.gradients(probe.params, batch) for batch in probe.batches]  # the batch means
    layout: Layout | None = None
    try:
        layout, first, guessed = resolve_layout(user, net, probe, correct[0], *asked, timeout)
        outcomes = [first, _outcome_on_second_batch(user, layout, probe, timeout)]
    except DidNotReturn as error:
        return _no_gradients_report(net, probe, precision, layout, error.reason)
    returned = [outcome.precision for outcome in outcomes if outcome.precision is not None]
    tolerance, notes = tolerance_for(precision.name, first.grads, returned)
    notes += list(dict.fromkeys(note for outcome in outcomes for note in outcome.notes))
    notes += guessed + stray_gradients_note(outcomes, reference.parameter_names())
    notes += _hidden_l2_note(net, probe, correct[0], tolerance)
    forward_rows = _forward_rows(reference, probe, layout, outcomes, tolerance)
    loss_rows, detected = _loss_rows(reference, probe, outcomes, tolerance, reduction)
    reduction_used = reduction or detected or "mean"
    runs = _runs(probe, correct, outcomes, reduction_used)
    gradient_rows, broken_steps = _gradient_rows(reference, probe, layout, runs, tolerance)
    if finite_differences:
        gradient_rows, disagreements = with_finite_differences(
            reference, probe, runs[0], gradient_rows, finite_difference_elements
        )
        notes += disagreements
    if reduction is None and detected is None:  # neither the option nor the loss settled it
        notes += summed_gradients_note(gradient_rows)
    summed = "summed" if reduction_used == "sum" else "averaged"
    return GradientReport(
        network=net.compact,
        layout=f"{layout.describe()}; gradients {summed} over the batch",
        tolerance=tolerance,
        batch_sizes=tuple(batch.size for batch in probe.batches),
        margin=probe.margin,
        rows=(*forward_rows, *loss_rows, *gradient_rows),
        findings=tuple(changed_parameters_finding(layout, probe, outcomes)),
        notes=tuple(notes),
        broken_steps=broken_steps,
    )


def assert_gradients(network: Network | str, code: Any, **options: Any) -> GradientReport:
    """:func:`check_gradients`, raising :class:`GradientMismatch` (an AssertionError whose message
    is the report's table) unless every row passes; returns the report when it does."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this function
    report = check_gradients(network, code, **options)
    if not report.ok:
        raise GradientMismatch(report)
    return report


def _network(network: Network | str) -> Network:
    if isinstance(network, Network):
        return network
    if isinstance(network, str):
        return parse_compact(network)
    raise CheckError(f"expected a Network or a compact spec like '2 -> 1 sigmoid : bce', got {network!r}")


def _framework(framework: str | None, code: Any) -> str:
    """The framework given (one of :data:`FRAMEWORKS`), else the one the code is written for."""
    if framework is None:
        return detect_framework(code)
    if not isinstance(framework, str) or framework not in FRAMEWORKS:
        raise CheckError(f"framework: {framework!r:.60} is not one of {', '.join(FRAMEWORKS)} (or None: detected)")
    return framework


def _adapter(code: Any, options: Mapping[str, Any]) -> UserCode:
    """The adapter that calls ``code``: the one given, one for an object with forward/backward
    methods, or one for a function; the function's ``options`` are refused for the others."""
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


def _check_names(code: UserCode, parameters: Sequence[str]) -> None:
    """The keys of ``names`` and ``grad_names`` must be parameters: a typo would be ignored."""
    if not isinstance(code, FunctionAdapter):
        return
    for option, mapping in (("names", code.names), ("grad_names", code.grad_names)):
        unknown = [key for key in mapping if key not in parameters]
        if unknown:
            raise CheckError(
                f"{option}: {', '.join(map(repr, unknown))} is no parameter of the network;"
                f" its parameters are {', '.join(parameters)}"
            )


def _input_dtype(dtype: numpy.typing.DTypeLike | None, known: numpy.dtype | None) -> numpy.dtype:
    """The dtype of the parameters and data handed to the code: the one given, else that of the
    user's own parameters (``known``), else float64."""
    try:
        chosen = numpy.dtype(dtype if dtype is not None else (known or numpy.float64))
    except TypeError:
        chosen = None
    if chosen is None or chosen not in (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)):
        raise CheckError(f"dtype: {dtype!r} is not float32 or float64")
    return chosen


def _check_options(
    asked: tuple[str | None, str | None, str | None, str | None],
    reduction: str | None,
    finite_differences: bool,
    elements: int | None,
    seed: int,
    timeout: float | None,
) -> None:
    """The options that are not the adapter's (which checks its own) nor ``dtype``, each refused
    with its name and the values it takes."""
    choices = zip(
        ("samples", "weight_layout", "bias_shape", "targets", "reduction"),
        (*asked, reduction),
        (SAMPLES, WEIGHT_LAYOUTS, BIAS_SHAPES, TARGETS, REDUCTIONS),
        strict=True,
    )
    for option, value, allowed in choices:
        if value is not None and (not isinstance(value, str) or value not in allowed):
            raise CheckError(f"{option}: {value!r:.60} is not one of {', '.join(allowed)} (or None: detected)")
    if not isinstance(finite_differences, bool):
        raise CheckError(f"finite_differences: expected True or False, got {finite_differences!r:.60}")
    if elements is not None:
        if isinstance(elements, bool) or not isinstance(elements, numbers.Integral) or elements < 1:
            raise CheckError(
                f"finite_difference_elements: expected a positive integer or None (every element), got {elements!r:.60}"
            )
        if not finite_differences:
            raise CheckError("finite_difference_elements: given without finite_differences=True, it would do nothing")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        # NumPy's generators refuse negative seeds with a message that names neither the option nor its value.
        raise CheckError(f"seed: must be a non-negative integer, got {seed!r:.60}")
    check_timeout(timeout)


def _outcome_on_second_batch(code: UserCode, layout: Layout, probe: Probe, timeout: float | None) -> Outcome:
    """The code's outcome on the second batch, under the layout the first one settled."""
    where = f"the second ({probe.batches[1].size} samples, {layout.describe()})"
    try:
        return call_under(code, layout, probe, probe.batches[1], timeout)
    except (CheckError, DidNotReturn):
        raise
    except Exited as error:
        raise DidNotReturn(
            f"{code.label} ran on the first batch but called {describe_raised(error)} on {where}:"
            " the checker needs the gradients returned, not the process ended"
        ) from None
    except Exception as error:  # the user's code, on the second batch
        raise CheckError(
            f"{code.label} ran on the first batch but raised on {where}: {describe_raised(error)}"
        ) from error


def _no_gradients_report(
    net: Network, probe: Probe, precision: Precision, layout: Layout | None, reason: str
) -> GradientReport:
    """The failing report of code that returned no gradients: a row per parameter (its shape in
    ``layout``, when that was settled) and ``reason`` as the finding."""
    shown = layout or Layout()  # not settled: the shapes in the canonical layout
    rows = []
    for name, value in probe.params.items():
        shape = tuple(shown.view(name, value).shape)
        rows.append(
            ParameterRow(
                name=gradient_label(name),
                shape=shape,
                relative_error=math.nan,
                worst_index=(),
                expected=math.nan,
                got=math.nan,
                verdict="fail",
                diagnosis="no gradient returned",
                layer=int(name[1:]),
                expected_shape=shape,
            )
        )
    return GradientReport(
        network=net.compact,
        layout=layout.describe() if layout is not None else "layout not settled (no gradients returned)",
        tolerance=Tolerance.for_dtype(precision.name),
        batch_sizes=tuple(batch.size for batch in probe.batches),
        margin=probe.margin,
        rows=tuple(rows),
        findings=(reason,),
    )


def _hidden_l2_note(network: Network, probe: Probe, correct: Params, tolerance: Tolerance) -> list[str]:
    """A note where the network's λ is so small against its gradients that a missing (or wrong)
    L2 term λW would pass: the weights' gradients cannot tell it."""
    if not network.l2:
        return []
    hidden = []
    for name, gradient in correct.items():
        if name.startswith("W"):
            term = network.l2 * float(numpy.max(numpy.abs(probe.params[name])))
            if term <= tolerance.passes * float(numpy.max(numpy.abs(gradient))):
                hidden.append(name)
    if not hidden:
        return []
    return [
        f"λ = {network.l2:g} is too small against the gradients of {', '.join(hidden)} for a missing or wrong L2"
        f" term to show (λ|W| is within the pass tolerance {tolerance.passes:.1e}): check with a larger λ to test it"
    ]


def _runs(probe: Probe, correct: Sequence[Params], outcomes: Sequence[Outcome], reduction: str) -> list[Run]:
    """Each batch's call, with the ``correct`` gradients (the batch means) under the code's ``reduction``."""
    if reduction != "sum":
        return [
            Run(batch, outcome, means, 1.0)
            for batch, outcome, means in zip(probe.batches, outcomes, correct, strict=True)
        ]
    runs = []
    for batch, outcome, means in zip(probe.batches, outcomes, correct, strict=True):
        scale = float(batch.size)
        runs.append(Run(batch, outcome, {name: value * scale for name, value in means.items()}, scale))
    return runs


def _row(name: str, judged: Judgement, mistake: str, diagnosis: str, layer: int = 0) -> ParameterRow:
    """The report's row of a judged array; its worst element only when the shapes agree."""
    got, expected, index = judged.got, judged.expected, judged.index
    fits = got.shape == expected.shape and index
    return ParameterRow(
        name=name,
        shape=tuple(got.shape),
        relative_error=judged.error,
        worst_index=index if fits else (),
        expected=float(expected[index]) if fits else float("nan"),
        got=float(got[index]) if fits else float("nan"),
        verdict=judged.verdict,
        diagnosis=diagnosis,
        mistake=mistake,
        layer=layer,
        expected_shape=tuple(expected.shape),
    )


def _forward_rows(
    reference: Reference, probe: Probe, layout: Layout, outcomes: Sequence[Outcome], tolerance: Tolerance
) -> list[ParameterRow]:
    """The row of the forward pass ŷ on its worst batch, when the code gives its forward pass."""
    if outcomes[0].prediction is None:
        return []
    caches = [reference.forward(probe.params, batch) for batch in probe.batches]
    judgements = []
    for number, (outcome, cache) in enumerate(zip(outcomes, caches, strict=True)):
        expected = cache.A[-1]
        got = layout.output(numpy.asarray(outcome.prediction))
        if got.size == expected.size and got.ndim != expected.ndim:  # (m,) for one output
            got = got.reshape(expected.shape)
        judgements.append(judge(got, expected, 0.0, tolerance, number))
    judged = worst(judgements)
    output_preactivation = caches[judged.run].Z[reference.depth]
    return [_row("forward ŷ", judged, *diagnose_forward(judged, reference, output_preactivation, tolerance))]


def _loss_rows(
    reference: Reference, probe: Probe, outcomes: Sequence[Outcome], tolerance: Tolerance, reduction: str | None
) -> tuple[list[ParameterRow], str | None]:
    """The loss row (when the code gives its loss), and the reduction the loss reveals (None when
    ``reduction`` was given, or when the loss does not match ours under any reduction)."""
    if any(outcome.loss is None for outcome in outcomes):
        return [], None
    losses = Losses(
        ours=[reference.loss(probe.params, batch) for batch in probe.batches],
        theirs=[float(outcome.loss) for outcome in outcomes],  # type: ignore[arg-type]
        sizes=[batch.size for batch in probe.batches],
    )
    detected = losses.reduction() if reduction is None else None
    kind = reduction or detected or "mean"
    error = losses.error(kind)
    verdict = tolerance.verdict(error)
    diagnosis = ""
    if verdict != "pass":
        detected = None  # a loss that does not match ours reveals no reduction
        diagnosis = describe_wrong_loss(losses, reference.network.loss.name)
    run = losses.worst_run()
    row = ParameterRow("loss", (), error, (), losses.expected(run, kind), losses.theirs[run], verdict, diagnosis)
    return [row], detected


def _gradient_rows(
    reference: Reference, probe: Probe, layout: Layout, runs: Sequence[Run], tolerance: Tolerance
) -> tuple[list[ParameterRow], tuple[BrokenStep, ...]]:
    """One row per parameter, judged on its worst run and diagnosed when it does not pass; and the
    derivation step broken by the mistake of the failing row nearest the output."""
    floors = scale_floors(runs)
    judged = {name: judge_gradient(name, layout, runs, floors, tolerance) for name in runs[0].correct}
    failing = [name for name, judgement in judged.items() if judgement.verdict != "pass"]
    evidence = Evidence.gather(reference, probe, layout, runs, floors, tolerance, failing)
    rows = [
        _row(gradient_label(name), judgement, *diagnose_gradient(name, judgement, evidence), layer=int(name[1:]))
        for name, judgement in judged.items()
    ]
    nearest = max(failing, key=lambda name: (int(name[1:]), name.startswith("W")), default=None)
    step = None if nearest is None else broken_step(nearest, judged[nearest], evidence, reference.derivation)
    return rows, () if step is None else (step,)
