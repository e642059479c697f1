"""The PyTorch target: a module of tensor functions and a ``torch.nn.Module`` with the derived backward.

Contract: :data:`TORCH` prints the derivation with
:class:`~symbackprop.printing.torch.TorchPrinter` into the shared framework context
(:func:`~symbackprop.codegen.framework_module.framework_module_context`) and fills
``templates/torch_module.py.j2``: the NumPy module's functions on tensors (``backward`` and
``loss_and_grads`` derived, under ``torch.no_grad()``), a ``torch.autograd.Function`` whose
backward is the derived one, and the ``MLP`` module built on it. Generating needs no PyTorch; the
generated module imports only ``torch``.
"""

from __future__ import annotations

from ..printing.torch import TorchPrinter
from .framework_module import framework_module_context
from .target import CodeTarget

TORCH = CodeTarget(
    name="torch",
    printer=TorchPrinter,
    template="torch_module.py.j2",
    context=framework_module_context,
)
