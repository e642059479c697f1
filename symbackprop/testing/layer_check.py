"""One layer's hand-written backward: ``check_layer(activation, fn)``.

Contract
--------
:func:`check_layer` checks ``fn(x, W, b)``, which computes ``f(x Wᵀ + b)`` for a batch x (m, n_in),
W (n_out, n_in) and b (n_out,) with a backward of its own: an ``autograd.Function``'s ``apply``
or a function with a ``jax.custom_vjp`` (the framework is detected, or given). The layer is
checked as the output layer of the network ``n_in -> n_in identity -> n_out f`` (``half_sse``;
``cce`` for softmax, whose loss gradient has a shape of its own): its input x is the first
layer's output, so ∂L/∂x is that layer's δ, and the upstream gradient ∂L/∂ŷ is the reference's
at random targets. The first layer is the framework's own (its autograd, or ``jax.vjp`` of the
composition); only ``fn``'s backward is the user's. The report is that of
:func:`~.check.check_gradients` on this network (verdicts, diagnoses in the same words, the
derivation step), its rows renamed for the layer: the forward pass f(xWᵀ + b), dW, db (layer 2 of
the network) and dx, ∂L/∂x judged against the derivation's δ⁽¹⁾ with the diagnosis of the first
layer's rows (which carry dx and nothing else).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy

from ..errors import SymbackpropError
from ..spec import Network
from .adapters import CheckError
from .calls import DEFAULT_TIMEOUT
from .check import check_gradients
from .frameworks import PRECISIONS, Precision, detect_framework, probe_in
from .judging import SCALE_FLOOR, Judgement, Tolerance, judge, worst
from .reference import Array, Batch, Reference, make_probe, reference_for
from .report import GradientReport, ParameterRow
from .tensor_adapters import output_seed, run_backward


def _as_numpy(value: Any) -> Array:
    if hasattr(value, "detach"):  # torch
        return value.detach().cpu().double().numpy()  # type: ignore[no-any-return]
    return numpy.asarray(value).astype(numpy.float64)


def _layer_network(activation: str, inputs: int, outputs: int) -> Network:
    for option, value in (("inputs", inputs), ("outputs", outputs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise CheckError(f"{option}: expected a positive number of units, got {value!r:.60}")
    if not isinstance(activation, str):
        raise CheckError(f"activation: expected a name like 'sigmoid' or 'leaky_relu(0.1)', got {activation!r:.60}")
    loss = "cce" if activation.strip().startswith("softmax") else "half_sse"
    try:
        return Network([int(inputs), int(inputs), int(outputs)], ["identity", activation], loss)
    except SymbackpropError as error:
        raise CheckError(f"activation: {error}") from None


def _layer_code(fn: Callable[..., Any], framework: str, reference: Reference, seen: list[Array]) -> Any:
    """``grads(params, X, Y)`` of the network around the layer, on the framework's tensors, with
    the user's ``fn`` as its second layer; each call's ∂L/∂x appended to ``seen``."""
    owner = getattr(getattr(fn, "__self__", None), "__name__", None)  # an autograd.Function's apply
    label = f"{owner}.apply" if owner else getattr(fn, "__qualname__", None) or type(fn).__name__

    def seed_for(params: Any, X: Any, Y: Any, out: Any) -> Array:
        canonical = {name: _as_numpy(value) for name, value in params.items()}
        seed, _, _ = output_seed(reference, canonical, _as_numpy(X), numpy.asarray(Y), _as_numpy(out), label)
        return seed

    if framework == "torch":
        import torch

        def torch_grads(params: Any, X: Any, Y: Any) -> dict[str, Any]:
            leaves = {name: value.detach().clone().requires_grad_(True) for name, value in params.items()}
            x = X @ leaves["W1"].T + leaves["b1"]
            x.retain_grad()
            out = fn(x, leaves["W2"], leaves["b2"])
            seed = torch.as_tensor(seed_for(params, X, Y, out), dtype=out.dtype, device=out.device)
            run_backward(out.backward, (seed,), None, label)
            seen.append(_as_numpy(x.grad) if x.grad is not None else numpy.zeros(tuple(x.shape)))
            return {
                name: leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for name, leaf in leaves.items()
            }

        torch_grads.__qualname__ = label
        return torch_grads
    import jax
    import jax.numpy as jnp

    def jax_grads(params: Any, X: Any, Y: Any) -> Any:
        def network(q: Any) -> Any:
            return fn(X @ q["W1"].T + q["b1"], q["W2"], q["b2"])

        out, pullback = jax.vjp(network, dict(params))
        seed = jnp.asarray(seed_for(params, X, Y, out), dtype=out.dtype)
        (grads,) = run_backward(pullback, (seed,), None, label)
        _, layer_pullback = jax.vjp(fn, X @ params["W1"].T + params["b1"], params["W2"], params["b2"])
        seen.append(_as_numpy(run_backward(layer_pullback, (seed,), None, label)[0]))
        return grads

    jax_grads.__qualname__ = label
    return jax_grads


def _forward(fn: Callable[..., Any]) -> Callable[..., Any]:
    def forward(params: Any, X: Any) -> Any:
        return fn(X @ params["W1"].T + params["b1"], params["W2"], params["b2"])

    forward.__qualname__ = getattr(fn, "__qualname__", "forward")
    return forward


def check_layer(
    activation: str,
    fn: Callable[..., Any],
    *,
    inputs: int = 3,
    outputs: int = 4,
    framework: str | None = None,
    dtype: Any = None,
    device: Any = None,
    seed: int = 0,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> GradientReport:
    """Judge the backward of ``fn(x, W, b) = f(x Wᵀ + b)`` (``activation`` names f) for a layer of
    ``inputs`` → ``outputs`` units: ∂L/∂W, ∂L/∂b and ∂L/∂x at a random upstream gradient, each
    row diagnosed as for a network (see the module's docstring)."""
    if not callable(fn):
        raise CheckError(f"{fn!r:.60} is not a function fn(x, W, b) (an autograd.Function's apply, or a custom_vjp)")
    net = _layer_network(activation, inputs, outputs)
    kind = framework if framework is not None else detect_framework(fn)
    if kind not in ("torch", "jax"):
        raise CheckError(
            f"check_layer checks a backward of torch or JAX ({fn!r:.40} looks like {kind} code);"
            ' say which with framework="torch"|"jax"'
        )
    reference = reference_for(net)
    seen: list[Array] = []
    report = check_gradients(
        net,
        _layer_code(fn, kind, reference, seen),
        forward=_forward(fn),
        framework=kind,
        dtype=dtype,
        device=device,
        samples="rows",
        weight_layout="out_in",
        bias_shape="flat",
        targets="one-hot",
        seed=seed,
        timeout=timeout,
    )
    precision = PRECISIONS[report.framework.split()[1]]
    return _layer_report(report, reference, seed, precision, seen, activation, net)


def _correct_input_gradients(reference: Reference, seed: int, precision: Precision) -> list[Array]:
    """∂L/∂x on each batch of the probe: δ⁽¹⁾ of the network around the layer (f′ = 1 there)."""
    probe = probe_in(reference, make_probe(reference.network, seed=seed, dtype=precision.carrier), precision)
    correct = []
    for batch in probe.batches:
        captured: list[Array] = []

        def keep(
            r: Reference, c: Any, p: Any, k: int, right: Array, upstream: Array, into: list[Array] = captured
        ) -> Array:
            into.append(right)
            return right

        reference.backprop(probe.params, reference.forward(probe.params, Batch(batch.X, batch.Y)), {("delta", 1): keep})
        correct.append(captured[0])
    return correct


def _layer_report(
    report: GradientReport,
    reference: Reference,
    seed: int,
    precision: Precision,
    seen: list[Array],
    activation: str,
    net: Network,
) -> GradientReport:
    """The network's report in the layer's terms (see the module's docstring)."""
    title = f"layer {activation}: {net.sizes[1]} -> {net.sizes[2]} (layer 2 of {net.compact}; x = a1)"
    rows = {row.name: row for row in report.rows}
    renamed = {"forward ŷ": "forward f(xWᵀ + b)", "dW2": "dW", "db2": "db"}
    if len(seen) < 2:  # no gradients returned: the first layer's rows stand for dx
        kept = [replace(row, name=renamed.get(row.name, "dx")) for row in report.rows if row.name != "db1"]
        return replace(report, network=title, rows=tuple(kept))
    expected = _correct_input_gradients(reference, seed, precision)
    got = seen[-2:]
    floor = SCALE_FLOOR * max(float(numpy.max(numpy.abs(value))) for value in expected)
    judged = worst(
        [
            judge(mine, right, floor, report.tolerance, run)
            for run, (mine, right) in enumerate(zip(got, expected, strict=True))
        ]
    )
    first = rows["dW1"]
    dx = _dx_row(judged, first, report.tolerance)
    kept = [replace(row, name=renamed[row.name]) for row in report.rows if row.name in renamed]
    return replace(report, network=title, rows=(*kept, dx))


def _dx_row(judged: Judgement, first: ParameterRow, tolerance: Tolerance) -> ParameterRow:
    index = judged.index
    fits = judged.got.shape == judged.expected.shape and bool(index)
    verdict = judged.verdict
    return ParameterRow(
        name="dx",
        shape=tuple(judged.got.shape),
        relative_error=judged.error,
        worst_index=index if fits else (),
        expected=float(judged.expected[index]) if fits else float("nan"),
        got=float(judged.got[index]) if fits else float("nan"),
        verdict=verdict,
        diagnosis=first.diagnosis if verdict != "pass" else "",
        mistake=first.mistake if verdict != "pass" else "",
        layer=1,
        expected_shape=tuple(judged.expected.shape),
    )
