"""The context shared by the framework targets (PyTorch, JAX): a derivation's printed expressions.

Contract
--------
:func:`framework_module_context` prints, with a
:class:`~symbackprop.printing.framework.FrameworkPrinter` subclass, the same expressions the
NumPy target's readable ``forward``/``backward`` insert, chosen the same way: f of each layer,
δ⁽ᵏ⁾ with f′ in the output form (the output δ in its fused form, the softmax + cce δ = a − y,
times 1/m for the batch mean; a hidden δ reads ∂L/∂a⁽ᵏ⁾ as its own array), ∂L/∂a⁽ᵏ⁾, the batch
sums ∂L/∂W⁽ᵏ⁾ and ∂L/∂b⁽ᵏ⁾, ∂L/∂ŷ, the loss from the predictions (after the clip into its domain)
and from the output pre-activation (its stable form, which training reports). Each comes with the
per-sample equation it implements, for the comment above its block. There are no buffers: a
framework allocates and fuses itself. Each layer's initial weights follow its activation's
:class:`~symbackprop.kinds.InitRule`; classify and accuracy follow the loss's
:class:`~symbackprop.kinds.TargetKind`, translated from the NumPy snippets. The result is a
:class:`FrameworkModule`, which ``templates/torch_module.py.j2`` and ``jax_module.py.j2`` fill in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from .. import naming
from ..derive import Derivation
from ..printing.framework import FrameworkPrinter
from ..printing.numpy_snippets import classify_source, prediction_clip, target_classes_source
from ..printing.text import equation_text, interval_text, plain
from ..rules import LABELS
from ..verify import require_verified
from ..version import __version__
from .batch_math import batch_loss, loss_from_preactivation, substitute_widths
from .numpy_module import GENERATED_MARKER


@dataclass(frozen=True)
class FrameworkLayer:
    """The printed code of layer k, for a framework template."""

    k: int
    #: The identifiers of the layer's arrays (naming.layer_arrays).
    names: naming.LayerArrays
    size: int
    fan_in: int
    label: str
    init: str
    init_std: str
    z_equation: str
    a_equation: str
    z: str
    a: str
    is_output: bool
    #: The textbook name of the rule δ⁽ᵏ⁾ follows: BP1 on the output layer, BP2 below it.
    delta_label: str
    delta_equation: str
    delta: str
    output_gradient_equation: str
    output_gradient: str
    weight_gradient_equation: str
    weight_gradient: str
    bias_gradient_equation: str
    bias_gradient: str


def _layer(derivation: Derivation, k: int, printer: FrameworkPrinter) -> FrameworkLayer:
    network = derivation.network
    layer = derivation.layer(k)
    equations = derivation.equations.layer(k)
    size, fan_in = network.sizes[k], network.sizes[k - 1]

    def code(expr: sp.Expr) -> str:
        return printer.doprint(substitute_widths(expr, network))

    if layer.is_output:
        delta = layer.delta_output_form
        delta_code = code(delta * (1 / naming.BATCH_SIZE))
        output_gradient_code = ""
    else:
        # A hidden δ reads ∂L/∂a⁽ᵏ⁾, computed the line before, by name.
        delta = layer.delta_output_form.xreplace({layer.output_gradient: naming.output_gradient(k)[naming.P]})
        delta_code = code(delta)
        output_gradient_code = code(layer.output_gradient)
    return FrameworkLayer(
        k=k,
        names=naming.layer_arrays(k),
        size=size,
        fan_in=fan_in,
        label=layer.activation.label,
        init=layer.activation.init.name,
        init_std=repr(layer.activation.init.std(fan_in, size)),
        z_equation=equation_text(equations.z.lhs, equations.z.rhs),
        a_equation=equation_text(equations.a.lhs, equations.a.rhs),
        z=code(equations.z.rhs),
        a=code(equations.a.rhs),
        is_output=layer.is_output,
        delta_label=LABELS["output_delta" if layer.is_output else "hidden_delta"],
        delta_equation=equation_text(f"δ{k}[p]", delta),
        delta=delta_code,
        output_gradient_equation=equation_text(f"∂L/∂a{k}[p]", layer.output_gradient),
        output_gradient=output_gradient_code,
        weight_gradient_equation=equation_text(f"∂L/∂w{k}[p, q]", layer.weight_gradient),
        weight_gradient=printer.batch_sum(layer.weight_gradient),
        bias_gradient_equation=equation_text(f"∂L/∂b{k}[p]", layer.bias_gradient),
        bias_gradient=printer.batch_sum(layer.bias_gradient),
    )


def _used(names: Sequence[str], code: Sequence[str]) -> tuple[str, ...]:
    text = "\n".join(code)
    return tuple(name for name in names if re.search(rf"\b{name}\b", text))


@dataclass(frozen=True)
class FrameworkModule:
    """Everything a framework module's template inserts, printed from one derivation."""

    marker: str
    version: str
    spec: str
    command: str
    sizes: tuple[int, ...]
    activation_labels: tuple[str, ...]
    depth: int
    layers: tuple[FrameworkLayer, ...]
    #: The identifiers of the output layer's arrays, of the input batch and of the predictions.
    output_names: naming.LayerArrays
    inputs: str
    predictions: str
    parameter_names: tuple[str, ...]
    #: The textbook names of the rules, by what they give (rules.LABELS).
    labels: Mapping[str, str]
    #: Each init rule the layers use, with its variance: "He, variance 2/fan_in".
    init_rules: tuple[str, ...]
    loss_name: str
    loss_description: str
    loss_equation: str
    loss_from_z_equation: str
    loss_domain: str
    #: The statement clipping the predictions into the loss's domain ("" for any real).
    clip: str
    batch_loss: str
    batch_loss_from_z: str
    loss_gradient_equation: str
    loss_gradient: str
    #: The parameters and cached arrays the backward pass reads (what a custom backward saves).
    backward_parameters: tuple[str, ...]
    backward_cache: tuple[str, ...]
    classifier: bool
    classify_doc: str
    classify: str
    accuracy_doc: str
    accuracy: str
    #: Modules beyond the framework's main one that the printouts call: name → why.
    imports: Mapping[str, str]


def framework_module_context(
    derivation: Derivation, command: str, printer_class: type[FrameworkPrinter]
) -> FrameworkModule:
    """Everything a framework template inserts, printed from the derivation (which must verify,
    :func:`~symbackprop.verify.require_verified`) by ``printer_class``."""
    require_verified(derivation)
    network = derivation.network
    printer = printer_class()
    depth = network.depth
    layers = [_layer(derivation, k, printer) for k in range(1, depth + 1)]
    loss = substitute_widths(derivation.equations.loss.rhs, network)
    from_z = substitute_widths(loss_from_preactivation(derivation), network)
    # A loss printed from predictions reads Ŷ, the argument of loss() and loss_gradient().
    as_prediction = {naming.activation_output(depth): naming.predictions()}
    parameter_names = tuple(naming.array(kind, layer.k) for layer in layers for kind in ("w", "b"))
    backward_code = [line for layer in layers for line in (layer.delta, layer.output_gradient)]
    backward_code += [f"{layer.weight_gradient} {layer.bias_gradient}" for layer in layers]
    cache_names = [naming.array("a", 0), *(naming.array(kind, k) for k in range(1, depth + 1) for kind in ("z", "a"))]
    targets = network.loss.targets
    clip = prediction_clip(network.loss.prediction_domain)
    return FrameworkModule(
        marker=GENERATED_MARKER,
        version=__version__,
        spec=network.compact,
        command=command,
        sizes=tuple(network.sizes),
        activation_labels=tuple(f.label for f in network.activations),
        depth=depth,
        layers=tuple(layers),
        output_names=naming.layer_arrays(depth),
        inputs=naming.array("a", 0),
        predictions=naming.PREDICTIONS,
        parameter_names=parameter_names,
        labels=LABELS,
        init_rules=tuple(
            dict.fromkeys(
                f"{rule.name}, variance {plain(rule.variance)}" for rule in (f.init for f in network.activations)
            )
        ),
        loss_name=network.loss.name,
        loss_description=network.loss.description,
        loss_equation=equation_text("L", loss),
        loss_from_z_equation=equation_text("L", from_z),
        loss_domain=interval_text(network.loss.prediction_domain),
        clip=printer.translate(clip) if clip else "",
        batch_loss=printer.doprint(batch_loss(loss.xreplace(as_prediction))),
        batch_loss_from_z=printer.doprint(batch_loss(from_z)),
        loss_gradient_equation=equation_text("∂L/∂ŷ[p]", derivation.loss_gradient),
        loss_gradient=printer.doprint(substitute_widths(derivation.loss_gradient, network).xreplace(as_prediction)),
        backward_parameters=_used(parameter_names, backward_code),
        backward_cache=_used(cache_names, backward_code),
        classifier=targets.classifies,
        classify_doc=targets.classify_doc,
        classify=printer.translate(classify_source(targets, "predict(params, X)")) if targets.classifies else "",
        accuracy_doc=targets.accuracy_doc,
        accuracy=(
            printer.translate(f"classify(params, X) == {target_classes_source(targets, naming.TARGETS, 'X.shape[0]')}")
            if targets.classifies
            else ""
        ),
        imports=dict(sorted(printer.imports.items())),
    )
