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

from collections.abc import Mapping
from dataclasses import dataclass

from .. import naming
from ..derive import Derivation
from ..printing.framework import FrameworkPrinter
from ..printing.numpy_snippets import classify_source, prediction_clip, target_classes_source
from ..verify import require_verified
from .module_facts import LayerFacts, ModuleFacts, fields_of, layer_facts, module_facts


@dataclass(frozen=True)
class FrameworkModule(ModuleFacts):
    """Everything a framework module's template inserts, printed from one derivation: what every
    target's module says (:class:`ModuleFacts`, :class:`LayerFacts`), translated snippets, imports."""

    layers: tuple[LayerFacts, ...]
    clip: str
    classify: str
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
    layers = tuple(layer_facts(derivation, k, printer) for k in range(1, network.depth + 1))
    facts = module_facts(derivation, command, printer, layers)
    targets = network.loss.targets
    clip = prediction_clip(network.loss.prediction_domain)
    return FrameworkModule(
        **fields_of(facts),
        layers=layers,
        clip=printer.translate(clip) if clip else "",
        classify=printer.translate(classify_source(targets, "predict(params, X)")) if targets.classifies else "",
        accuracy=(
            printer.translate(f"classify(params, X) == {target_classes_source(targets, naming.TARGETS, 'X.shape[0]')}")
            if targets.classifies
            else ""
        ),
        imports=dict(sorted(printer.imports.items())),
    )
