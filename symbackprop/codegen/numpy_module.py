"""The NumPy target: a module with forward, backward and a trainer, printed from a derivation.

Contract
--------
:func:`numpy_module_context` prints, with :class:`~symbackprop.printing.numpy.BatchNumPyPrinter`,
every expression ``templates/module.py.j2`` inserts: what every target's module says
(:mod:`.module_facts`: f of each layer, δ⁽ᵏ⁾ with f′ in the output form, ∂L/∂ŷ, the loss) and the
training step's statements into buffers, and returns them as a :class:`NumpyModule`. The
same printed expressions feed both the readable ``forward``/``backward`` and the buffer-reusing
training step, so the two cannot disagree on the math. Each layer's initial weights follow its
activation's :class:`~symbackprop.kinds.InitRule`; classify and accuracy follow the loss's
:class:`~symbackprop.kinds.TargetKind`. :data:`NUMPY` is the target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import sympy as sp

from .. import naming
from ..derive import Derivation
from ..printing.numpy import BatchNumPyPrinter
from ..printing.numpy_snippets import (
    OPTIMIZER_SOURCE,
    SUPPORT_SOURCE,
    classify_source,
    prediction_clip,
    target_classes_source,
    target_rows_check,
)
from ..verify import require_verified
from .batch_math import (
    batch_loss,
    batch_penalty,
    in_code,
    loss_from_preactivation,
    numbers_out_of_sums,
    substitute_widths,
)
from .module_facts import (
    LayerFacts,
    ModuleFacts,
    fields_of,
    layer_facts,
    module_facts,
    printed_delta,
)
from .target import CodeTarget


@dataclass(frozen=True)
class LayerCode(LayerFacts):
    """Layer k for the NumPy template: its readable code (:class:`LayerFacts`) and the training
    step's statements into buffers."""

    a_into: tuple[str, ...]
    z_into: tuple[str, ...]
    delta_into: tuple[str, ...]
    output_gradient_into: tuple[str, ...]
    weight_gradient_into: str
    bias_gradient_into: str
    weight_offset: int
    bias_offset: int
    #: W is kept in the flat array as Wᵀ (a contiguous (n_{k-1}, n_k) block): only the first layer,
    #: whose W is multiplied only transposed (Z = A W^T; there is no δ⁽⁰⁾ = Δ W), which BLAS then
    #: runs as a plain product, faster than one with a transposed operand.
    weight_transposed: bool
    #: The training step's Z⁽ᵏ⁾ and A⁽ᵏ⁾ share one buffer (the activation runs in place) because
    #: nothing after the activation reads Z⁽ᵏ⁾; set by :func:`_share_buffers`.
    z_shares_a: bool = False


def _layer_code(
    derivation: Derivation, k: int, offset: int, printer: BatchNumPyPrinter, step_printer: BatchNumPyPrinter
) -> LayerCode:
    """Layer k printed twice from the same expressions: as expressions for forward/backward
    (``printer``, :func:`~.module_facts.layer_facts`) and as statements into buffers for the
    training step (``step_printer``, which computes each shared part of the stable forms once per
    step; its definitions come first)."""
    network = derivation.network
    layer = derivation.layer(k)
    equations = derivation.equations.layer(k)

    def into(expr: sp.Expr, out: str, in_place: bool = False) -> list[str]:
        statements = step_printer.print_into(substitute_widths(expr, network), out, in_place=in_place)
        return [*step_printer.take_pending(), *statements]

    # The activation first: the loss, printed after the layers, may reuse what it shares.
    a_into = into(equations.a.rhs, naming.array("a", k))
    facts = layer_facts(derivation, k, printer)
    delta = printed_delta(layer)
    if layer.is_output:
        delta_into = into(numbers_out_of_sums(delta * naming.STEP_SCALE), naming.array("delta", k), in_place=True)
        output_gradient_into = []
    else:
        delta_into = into(delta, naming.array("delta", k), in_place=True)
        output_gradient_into = into(layer.output_gradient, naming.array("dLda", k))
    # Only the first layer's W is never multiplied untransposed (there is no δ⁽⁰⁾), so only it is
    # kept transposed; see LayerCode.weight_transposed.
    transposed = k == 1
    return LayerCode(
        **fields_of(facts),
        a_into=tuple(a_into),
        z_into=tuple(into(equations.z.rhs, naming.array("z", k))),
        delta_into=tuple(delta_into),
        output_gradient_into=tuple(output_gradient_into),
        weight_gradient_into=step_printer.batch_sum_into(
            in_code(layer.weight_gradient),
            naming.gradient_array("w", k),
            "ones",
            transposed_out=transposed,
            # The step's Δ carries `scale`; the L2 term, not summed over the batch, carries scale·m.
            once_scale=naming.STEP_SCALE * naming.BATCH_SIZE,
        ),
        bias_gradient_into=step_printer.batch_sum_into(layer.bias_gradient, naming.gradient_array("b", k), "ones"),
        weight_offset=offset,
        bias_offset=offset + facts.size * facts.fan_in,
        weight_transposed=transposed,
    )


def _share_buffers(layers: list[LayerCode], step_loss: Sequence[str]) -> list[LayerCode]:
    """The layers with ``z_shares_a`` set where no step statement after the activation reads Z⁽ᵏ⁾."""
    later = [*step_loss]
    for layer in layers:
        later += [*layer.delta_into, *layer.output_gradient_into, layer.weight_gradient_into, layer.bias_gradient_into]
    text = "\n".join(later)
    return [replace(layer, z_shares_a=not re.search(rf"\b{layer.names.z}\b", text)) for layer in layers]


@dataclass(frozen=True)
class NumpyModule(ModuleFacts):
    """Everything ``module.py.j2`` inserts, printed from one derivation: what every target's
    module says (:class:`ModuleFacts`), the layers with their buffers, and the training step."""

    layers: tuple[LayerCode, ...]
    parameter_count: int
    clip: str
    step_loss: str
    step_loss_setup: tuple[str, ...]
    classify: str
    accuracy: str
    #: A boolean per row of Y, true where it holds targets the loss takes ("" for any reals), and
    #: that rule in words, for train()'s check of its data.
    target_rows_valid: str
    target_rule: str
    #: Support helpers the printouts call: name → source.
    support: Mapping[str, str]
    #: Modules beyond NumPy the printouts use: name → why.
    imports: Mapping[str, str]
    #: The modules the generated file needs, in words.
    needs: str
    #: Source of train()'s optimizers and learning-rate schedules (not the network's math: torch.optim's).
    optimizer_source: str = OPTIMIZER_SOURCE


def numpy_module_context(
    derivation: Derivation, command: str, printer_class: type[BatchNumPyPrinter] = BatchNumPyPrinter
) -> NumpyModule:
    """Everything the module template inserts, printed from the derivation, which must verify
    (:func:`~symbackprop.verify.require_verified`), by ``printer_class``: one printer for the
    readable functions, one that shares buffers for the training step."""
    require_verified(derivation)
    network = derivation.network
    printer, step_printer = printer_class(), printer_class(share=True)
    layers, offset = [], 0
    for k in range(1, network.depth + 1):
        layer = _layer_code(derivation, k, offset, printer, step_printer)
        layers.append(layer)
        offset = layer.bias_offset + layer.size
    loss = substitute_widths(derivation.equations.loss.rhs, network)
    from_z = substitute_widths(loss_from_preactivation(derivation), network)
    step_loss = from_z if loss.has(sp.log) else loss
    # The step reports the loss it descends: the mean data loss and the L2 term (0 without one).
    step_loss_code = step_printer.doprint(batch_loss(step_loss) + substitute_widths(batch_penalty(derivation), network))
    step_loss_setup = tuple(step_printer.take_pending())
    layers = _share_buffers(layers, [*step_loss_setup, step_loss_code])
    facts = module_facts(derivation, command, printer, layers)
    targets = network.loss.targets
    rows = "X.shape[0]"
    imports = dict(sorted({**printer.modules, **step_printer.modules}.items()))
    target_rows_valid, target_rule = target_rows_check(targets, naming.TARGETS)
    return NumpyModule(
        **fields_of(facts),
        layers=tuple(layers),
        parameter_count=offset,
        clip=prediction_clip(network.loss.prediction_domain),
        step_loss=step_loss_code,
        step_loss_setup=step_loss_setup,
        classify=classify_source(targets, "predict(params, X)") if targets.classifies else "",
        accuracy=(
            f"classify(params, X) == {target_classes_source(targets, naming.TARGETS, rows)}"
            if targets.classifies
            else ""
        ),
        target_rows_valid=target_rows_valid,
        target_rule=target_rule,
        support={name: SUPPORT_SOURCE[name] for name in sorted(printer.support | step_printer.support)},
        imports=imports,
        needs=f"NumPy and {', '.join(imports)}" if imports else "only NumPy",
    )


#: Today's code-generation target.
NUMPY = CodeTarget(
    name="numpy",
    printer=BatchNumPyPrinter,
    template="module.py.j2",
    context=numpy_module_context,
)
