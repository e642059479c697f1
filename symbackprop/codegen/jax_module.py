"""The JAX target: a module of jax.numpy functions with a ``jax.custom_vjp`` loss and a jitted step.

Contract: :data:`JAX` prints the derivation with :class:`~symbackprop.printing.jax.JaxPrinter`
into the shared framework context
(:func:`~symbackprop.codegen.framework_module.framework_module_context`) and fills
``templates/jax_module.py.j2``: the NumPy module's functions on ``jax.numpy`` arrays (pure, so
they trace under ``jit``, ``vmap`` and sharding), ``loss_fn`` whose VJP is the derived backward,
and ``train_step``, jitted with its parameters donated. Generating needs no JAX; the generated
module imports ``jax`` (and NumPy, for the .npz weights files that the NumPy module reads too).
"""

from __future__ import annotations

from ..printing.jax import JaxPrinter
from .framework_module import framework_module_context
from .target import CodeTarget

JAX = CodeTarget(
    name="jax",
    printer=JaxPrinter,
    template="jax_module.py.j2",
    context=framework_module_context,
)
