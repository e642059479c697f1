"""The catalogue of known mistakes: each mutant is the correct gradient with one mistake in it.

Contract
--------
:data:`CATALOGUE` names every kind of mistake the checker can recognise, with a summary.
:func:`build_mutants` makes the mutants of one network on the probe's runs: a mistake inside
back-propagation (a missing f′, f′ taken at a, another layer's f′, the wrong weights or
activations, the bias summed over the wrong axis, the output δ without y) re-runs
:meth:`Reference.backprop` with that one step replaced, so the mistake flows down the layers as
it does in the user's code; a mistake in one parameter (a factor m, 1/m, 2, ½ or −1, a
transposed ∂L/∂W) changes that parameter only; and accumulation across calls adds the first
run's gradient to the second's. Mutants equal to the
correct gradient (f′(a) = f′(z) for ReLU) are dropped: they cannot be told apart; each mutant
knows the parameters it changes, and only their rows can be explained by it.
The entries after ``wrong_derivative`` are found by direct comparison, not by a mutant (see
:mod:`.diagnosis`); ``wrong_derivative`` mutants are fitted to the user's gradients (see
:mod:`.fitting`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy
import sympy as sp

from .. import naming
from ..printing.text import pretty
from .reference import Array, Cache, Params, Reference, Step

#: Every kind of mistake with its summary, in the order a tie between equal matches is broken.
CATALOGUE: Mapping[str, str] = {
    "missing_mean": "the 1/m of the batch mean is missing (m times too large)",
    "extra_mean": "divided by the batch size m once too often (m times too small)",
    "double": "a factor 2 too large",
    "half": "a factor 2 too small",
    "sign": "the sign is flipped",
    "transposed": "∂L/∂W is transposed",
    "missing_derivative": "a hidden δ was not multiplied by f′(z)",
    "derivative_of_output": "f′ was evaluated at a = f(z) instead of at z",
    "other_layer_derivative": "a δ was multiplied by the derivative of another layer's activation",
    "output_not_through_activation": "the output δ is ∂L/∂ŷ, not passed through the output activation",
    "extra_output_derivative": "the output δ ŷ − y was multiplied by f′(z) once more",
    "output_without_target": "the output δ is ŷ instead of ŷ − y (softmax/sigmoid + cross-entropy)",
    "this_layer_activation": "∂L/∂W⁽ᵏ⁾ uses a⁽ᵏ⁾ where a⁽ᵏ⁻¹⁾ belongs",
    "preactivation_input": "∂L/∂W⁽ᵏ⁾ uses z⁽ᵏ⁻¹⁾ where a⁽ᵏ⁻¹⁾ belongs",
    "neighbour_weights": "δ was passed back through the wrong layer's weights",
    "bias_over_units": "∂L/∂b was summed over the units instead of over the samples",
    "bias_over_everything": "∂L/∂b was summed over the samples and the units",
    "bias_not_summed": "∂L/∂b was not summed over the samples",
    "accumulating": "gradients accumulate across calls (not reset between batches)",
    "next_layer_delta": "∂L/∂W⁽ᵏ⁾ and ∂L/∂b⁽ᵏ⁾ were computed from δ⁽ᵏ⁺¹⁾, one layer off",
    "earlier_activation": "∂L/∂W⁽ᵏ⁾ uses a⁽ᵏ⁻²⁾ where a⁽ᵏ⁻¹⁾ belongs",
    "diagonal_jacobian": "a softmax layer was treated as elementwise: only its Jacobian's diagonal was used",
    "wrong_derivative": "a layer computes another f′: a slipped formula, another activation's, or another parameter's",
    "l2_missing": "∂L/∂W lacks the L2 term λW",
    "l2_double": "the L2 term is 2λW, the derivative of λ‖W‖² where (λ/2)‖W‖² is the term",
    "l2_over_m": "the L2 term is λW/m: divided by the batch size, which the term is not",
    "l2_on_bias": "the bias is regularised too (λb added to ∂L/∂b); biases carry no L2 term",
    # Found by direct comparison rather than by a mutant:
    "forward_without_output_activation": "the forward pass returns z⁽ᴸ⁾: the output activation is not applied",
    "changed_parameters": "the code changed the parameters while computing the gradients",
    "missing_gradient": "a gradient is zero: never computed, or left at 0",
    "wrong_layer": "a gradient is another layer's correct gradient (swapped layers)",
    "constant_offset": "a gradient is the correct one plus a constant in every element",
    "network_factor": "a gradient is off by a factor of the network's widths (n_L: mse's 1/n missing)",
}


@dataclass(frozen=True)
class Mutant:
    """The gradient of every run with one known mistake, and that mistake in plain words."""

    kind: str
    #: The layer where the mistake sits; layers below it inherit it through δ.
    layer: int
    #: What is wrong, in plain words; ``{name}`` stands for the parameter of the row.
    description: str
    grads: tuple[Params, ...]
    #: Whether the mistake flows down through δ to the layers below ``layer`` (False when it is
    #: confined to one parameter, or common to every parameter alike, as accumulation is).
    through_delta: bool = True
    #: The parameters whose gradient the mistake changes (set by :func:`build_mutants`): only
    #: their rows can be explained by it; on the others the mutant is the correct gradient.
    changed: frozenset[str] = frozenset()
    #: What the layer's δ multiplies ∂L/∂a by in place of f′ (in z and a), where the mistake is one.
    in_place_of_derivative: sp.Expr | None = None


def _scaled(grads: Params, scale: float) -> Params:
    return {name: value * scale for name, value in grads.items()}


def build_mutants(
    reference: Reference,
    params: Mapping[str, Array],
    caches: Sequence[Cache],
    corrects: Sequence[Params],
    scales: Sequence[float],
) -> list[Mutant]:
    """Every applicable mutant on the runs of ``caches``; ``corrects`` are the right gradients
    (``scales`` × the batch mean: 1 for averaged gradients, m for summed ones)."""
    mutants = (with_changes(mutant, corrects) for mutant in _all_mutants(reference, params, caches, corrects, scales))
    return [mutant for mutant in mutants if mutant is not None]


def with_changes(mutant: Mutant, corrects: Sequence[Params]) -> Mutant | None:
    """The mutant knowing the parameters it changes; None when it changes none (it cannot be told
    from the correct gradient)."""
    changed = _changed_parameters(mutant, corrects)
    return replace(mutant, changed=changed) if changed else None


def _changed_parameters(mutant: Mutant, corrects: Sequence[Params]) -> frozenset[str]:
    changed = set()
    for grads, correct in zip(mutant.grads, corrects, strict=True):
        for name, value in grads.items():
            right = correct[name]
            scale = max(float(numpy.max(numpy.abs(right), initial=0.0)), 1e-300)
            if value.shape != right.shape or float(numpy.max(numpy.abs(value - right), initial=0.0)) > 1e-9 * scale:
                changed.add(name)
    return frozenset(changed)


def _all_mutants(
    reference: Reference,
    params: Mapping[str, Array],
    caches: Sequence[Cache],
    corrects: Sequence[Params],
    scales: Sequence[float],
) -> Iterator[Mutant]:
    L = reference.depth
    derivation = reference.derivation

    def rerun(kind: str, layer: int, description: str, changes: Mapping[tuple[str, int], Step]) -> Mutant:
        # layer: the first layer whose gradients the change reaches.
        grads = tuple(
            _scaled(reference.backprop(params, cache, changes), scale)
            for cache, scale in zip(caches, scales, strict=True)
        )
        return Mutant(kind, layer, description, grads)

    def per_parameter(kind: str, name: str, description: str, change: Callable[[Array, int], Array]) -> Mutant:
        grads = tuple(
            {**correct, name: change(correct[name], cache.size)}
            for correct, cache in zip(corrects, caches, strict=True)
        )
        return Mutant(kind, int(name[1:]), description, grads, through_delta=False)

    for name in reference.parameter_names():
        yield per_parameter(
            "missing_mean", name, "{name} is m times too large: the batch mean (1/m) is missing", lambda g, m: g * m
        )
        yield per_parameter(
            "extra_mean", name, "{name} is m times too small: it was divided by m once too often", lambda g, m: g / m
        )
        yield per_parameter(
            "double", name, "{name} is twice the correct gradient: a factor 2 too many", lambda g, m: g * 2
        )
        yield per_parameter(
            "half", name, "{name} is half the correct gradient: a factor 2 is missing", lambda g, m: g / 2
        )
        yield per_parameter(
            "sign", name, "{name} has the wrong sign: y − ŷ where ŷ − y belongs, or ascent", lambda g, m: -g
        )
        if name.startswith("W"):
            yield per_parameter("transposed", name, "{name} is the transpose of the correct gradient", lambda g, m: g.T)

    yield from _l2_mutants(reference, params, corrects, caches)

    for k in range(1, L + 1):
        activation = derivation.layer(k).activation
        elementwise = activation.jacobian.diagonal
        if k < L:
            missing = rerun(
                "missing_derivative",
                k,
                f"layer {k} misses f′(z): δ{k} was not multiplied by the derivative of {activation.label}",
                {("delta", k): lambda r, c, p, k, correct, upstream: upstream},
            )
            yield replace(missing, in_place_of_derivative=sp.Integer(1))
        if elementwise and k < L:
            yield rerun(
                "derivative_of_output",
                k,
                f"layer {k}: f′ was applied to a{k} instead of z{k}"
                f" ({activation.label}′(a) for {activation.label}′(z))",
                {("delta", k): lambda r, c, p, k, correct, upstream: upstream * r.derivative(k, c.A[k])},
            )
        if elementwise:
            yield from _other_layer_derivatives(reference, k, rerun)
        yield rerun(
            "this_layer_activation",
            k,
            f"dW{k} uses a{k}, the layer's own activation, where a{k - 1} (its input) belongs",
            {("weight", k): lambda r, c, p, k, correct, upstream: upstream.T @ c.A[k]},
        )
        if k > 1 and reference.network.sizes[k - 2] == reference.network.sizes[k - 1]:
            yield rerun(
                "earlier_activation",
                k,
                f"dW{k} uses a{k - 2} where a{k - 1} belongs (the input of layer {k - 1}, not of layer {k})",
                {("weight", k): lambda r, c, p, k, correct, upstream: r.weight_gradient(k, upstream, c.A[k - 2], p)},
            )
        if k < L and reference.network.sizes[k] == reference.network.sizes[k + 1]:
            yield _next_layer_delta(k, rerun)
        if k > 1:
            yield rerun(
                "preactivation_input",
                k,
                f"dW{k} uses z{k - 1} (before the activation) where a{k - 1} = f(z{k - 1}) belongs",
                {("weight", k): lambda r, c, p, k, correct, upstream: upstream.T @ c.Z[k - 1]},
            )
            yield from _neighbour_weights(reference, k, rerun)
        yield rerun(
            "bias_over_units",
            k,
            f"db{k} was summed over the units (axis of the layer) instead of the samples",
            {("bias", k): lambda r, c, p, k, correct, upstream: upstream.sum(axis=1)},
        )
        yield rerun(
            "bias_over_everything",
            k,
            f"db{k} was summed over the samples and the units: one number",
            {("bias", k): lambda r, c, p, k, correct, upstream: numpy.asarray(upstream.sum())},
        )
        yield rerun(
            "bias_not_summed",
            k,
            f"db{k} was not summed over the samples: one row per sample",
            {("bias", k): lambda r, c, p, k, correct, upstream: upstream},
        )

    output = derivation.layer(L).activation
    yield rerun(
        "output_not_through_activation",
        L,
        f"δ{L} is ∂L/∂ŷ: it was not passed through the derivative of the output activation {output.label}",
        {("delta", L): lambda r, c, p, k, correct, upstream: upstream},
    )
    if output.jacobian.diagonal:
        yield rerun(
            "derivative_of_output",
            L,
            f"layer {L}: f′ was applied to a{L} instead of z{L} ({output.label}′(ŷ) for {output.label}′(z))",
            {("delta", L): lambda r, c, p, k, correct, upstream: upstream * r.derivative(k, c.A[k])},
        )
        yield rerun(
            "extra_output_derivative",
            L,
            f"δ{L} was multiplied by {output.label}′(z) once more: the fused δ already holds it",
            {("delta", L): lambda r, c, p, k, correct, upstream: correct * r.derivative(k, c.Z[k])},
        )
    if not output.jacobian.diagonal:
        diagonal = output.jacobian.diagonal_entry(output.at, naming.X, naming.A)
        yield replace(
            rerun(
                "diagonal_jacobian",
                L,
                f"δ{L} used only the diagonal of the {output.label} Jacobian, ∂aᵢ/∂zᵢ = {_literal(pretty(diagonal))}:"
                f" {output.label} is not elementwise, and δ{L} needs the full Jacobian",
                {("delta", L): lambda r, c, p, k, correct, upstream: upstream * r.elementwise(diagonal, k, c)},
            ),
            in_place_of_derivative=diagonal,
        )
    fused = naming.activation_output(L)[naming.P] - naming.target()[naming.P]
    if sp.expand(derivation.output_delta - fused) == 0:
        yield rerun(
            "output_without_target",
            L,
            f"δ{L} is ŷ where ŷ − y belongs: the target y was not subtracted"
            f" ({output.label} + {derivation.network.loss.name})",
            {("delta", L): lambda r, c, p, k, correct, upstream: correct + c.Y / c.size},
        )
    yield Mutant(
        "accumulating",
        L,
        "the gradients accumulate across calls: the second call returned the sum of both calls' gradients",
        (dict(corrects[0]), {name: corrects[0][name] + value for name, value in corrects[1].items()}),
        through_delta=False,
    )


def _l2_mutants(
    reference: Reference, params: Mapping[str, Array], corrects: Sequence[Params], caches: Sequence[Cache]
) -> Iterator[Mutant]:
    """The slips of an L2 term λ(W): left out, doubled, divided by m, and put on the biases too."""
    l2 = reference.network.l2
    if not l2:
        return
    slips: dict[str, tuple[str, Callable[[Array, int], Array]]] = {
        "l2_missing": ("{name} lacks the L2 term λ{weight}: the regularisation was left out", lambda term, m: -term),
        "l2_double": (
            "{name} has 2λ{weight} where λ{weight} belongs: the derivative of λ‖{weight}‖², not (λ/2)‖{weight}‖²",
            lambda term, m: term,
        ),
        "l2_over_m": (
            "{name} has λ{weight}/m where λ{weight} belongs: the L2 term is not divided by m",
            lambda term, m: term / m - term,
        ),
    }
    for name in reference.parameter_names():
        term = l2 * numpy.asarray(params[name], dtype=numpy.float64)
        kinds = (
            slips.items()
            if name.startswith("W")
            else [("l2_on_bias", ("{name} has λ{weight} added: biases carry no L2 term", lambda term, m: term))]
        )
        for kind, (description, change) in kinds:
            grads = tuple(
                {**correct, name: correct[name] + change(term, cache.size)}
                for correct, cache in zip(corrects, caches, strict=True)
            )
            text = description.replace("{weight}", name)
            yield Mutant(kind, int(name[1:]), text, grads, through_delta=False)


def _next_layer_delta(k: int, rerun: Callable[[str, int, str, Mapping[tuple[str, int], Step]], Mutant]) -> Mutant:
    """dW⁽ᵏ⁾ and db⁽ᵏ⁾ from δ⁽ᵏ⁺¹⁾ (a loop index one off), where the widths allow it."""
    above: dict[str, Array] = {}

    def remember(r: Reference, c: Cache, p: Mapping[str, Array], j: int, correct: Array, upstream: Array) -> Array:
        above["delta"] = upstream
        return correct

    return rerun(
        "next_layer_delta",
        k,
        f"dW{k} and db{k} were computed from δ{k + 1}, the next layer's δ, where δ{k} belongs (one layer off)",
        {
            ("weight", k + 1): remember,
            ("weight", k): lambda r, c, p, k, correct, upstream: r.weight_gradient(k, above["delta"], c.A[k - 1], p),
            ("bias", k): lambda r, c, p, k, correct, upstream: r.bias_gradient(k, above["delta"]),
        },
    )


def derivative_mutants(
    reference: Reference,
    params: Mapping[str, Array],
    caches: Sequence[Cache],
    scales: Sequence[float],
    layers: Sequence[int],
    derivative: sp.Expr,
    description: str,
) -> Mutant:
    """δ of each of ``layers`` multiplied by ``derivative`` (in z and a) where f′ belongs."""
    change: Step = lambda r, c, p, k, correct, upstream: upstream * r.elementwise(derivative, k, c)  # noqa: E731
    grads = tuple(
        _scaled(reference.backprop(params, cache, dict.fromkeys((("delta", k) for k in layers), change)), scale)
        for cache, scale in zip(caches, scales, strict=True)
    )
    # The description is a format string ({name}); a printed piecewise brings its own braces.
    return Mutant("wrong_derivative", max(layers), _literal(description), grads, in_place_of_derivative=derivative)


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _other_layer_derivatives(
    reference: Reference, k: int, rerun: Callable[[str, int, str, Mapping[tuple[str, int], Step]], Mutant]
) -> Iterator[Mutant]:
    """δ⁽ᵏ⁾ multiplied by the derivative of another layer's activation (a copied line: σ′ of the
    output used in a hidden tanh layer), once per other elementwise activation of the network."""
    own = reference.derivation.layer(k).activation
    seen = {own.label}
    for j in range(1, reference.depth + 1):
        other = reference.derivation.layer(j).activation
        # identity′ = 1: that mutant is the missing f′, which the catalogue names as such.
        if not other.jacobian.diagonal or other.label in seen or other.name == "identity":
            continue
        seen.add(other.label)

        def delta(
            r: Reference, c: Cache, p: Mapping[str, Array], k: int, correct: Array, upstream: Array, j: int = j
        ) -> Array:
            return upstream * r.derivative(j, c.Z[k])

        yield rerun(
            "other_layer_derivative",
            k,
            f"layer {k}: δ{k} was multiplied by {other.label}′ (layer {j}'s activation) where {own.label}′ belongs",
            {("delta", k): delta},
        )


def _neighbour_weights(
    reference: Reference, k: int, rerun: Callable[[str, int, str, Mapping[tuple[str, int], Step]], Mutant]
) -> Iterator[Mutant]:
    """δ⁽ᵏ⁾W⁽ᵏ⁾ (to layer k − 1) computed with another layer's weights, or with W⁽ᵏ⁾ untransposed,
    wherever the shapes allow it (only then can the user's code have run)."""
    sizes = reference.network.sizes
    for j in range(1, reference.depth + 1):
        for transposed in (False, True):
            rows, columns = (sizes[j - 1], sizes[j]) if transposed else (sizes[j], sizes[j - 1])
            if (j, transposed) == (k, False) or rows != sizes[k] or columns != sizes[k - 1]:
                continue
            used = f"W{j}ᵀ" if transposed else f"W{j}"

            def back(
                r: Reference,
                c: Cache,
                p: Mapping[str, Array],
                k: int,
                correct: Array,
                upstream: Array,
                j: int = j,
                transposed: bool = transposed,
            ) -> Array:
                weights = p[f"W{j}"].T if transposed else p[f"W{j}"]
                return upstream @ weights

            yield rerun(
                "neighbour_weights",
                k - 1,
                f"δ{k} was passed back to layer {k - 1} through {used} where W{k} belongs",
                {("back", k): back},
            )
