"""PyTorch code from registry expressions and derivation results, for a batch with samples as rows.

Contract
--------
:class:`TorchPrinter` prints what :class:`~symbackprop.printing.numpy.BatchNumPyPrinter` prints,
with the same batch forms and stable forms, in ``torch`` calls (see
:mod:`.framework`). Where PyTorch differs from NumPy:

* a minimum or maximum with a number (the clips of the stable forms, ReLU) is
  ``torch.clamp_max``/``torch.clamp_min``, which take a Python number; ``torch.minimum`` needs two
  tensors;
* ``axis``/``keepdims`` are ``dim``/``keepdim``;
* a cast ``x.astype(T.dtype)`` is ``x.to(T.dtype)``; a ``torch.where`` of two numbers would be made
  in torch's default dtype (float32) before the cast, so that one number is first made a scalar
  tensor of T's dtype and device (``T.new_tensor(0.01)``): a slope of 0.01 is not rounded to
  float32 in a float64 network, and nothing is made on another device;
* log Σⱼ exp(uⱼ) is ``torch.logsumexp(U, dim=1, keepdim=True)``, which shifts by the maximum;
* erf and erfc are ``torch.special.erf``/``torch.special.erfc``; the limits of a dtype are
  ``torch.finfo``, whose largest number below one is ``1 - eps/2`` (it has no ``epsneg``);
* a product plus a bias, ``A @ W.T + b``, is ``torch.addmm(b, A, W.T)``, one fused call as in
  ``nn.Linear`` (no temporary for the product), and the square of an array, ``A**2``, is ``A * A``
  (``torch.pow`` is slower for it; NumPy squares ``**2`` itself).

Numbers print as Python floats, which torch treats as weak scalars: they keep the tensors' dtype
and device, so the same printout runs in float32 and float64, on the CPU and on CUDA devices.
"""

from __future__ import annotations

import ast

from .framework import SHARED_FUNCTIONS, FrameworkPrinter, call, is_number

_RENAMED = {
    "arccos": "acos",
    "arccosh": "acosh",
    "arcsin": "asin",
    "arcsinh": "asinh",
    "arctan": "atan",
    "arctan2": "atan2",
    "arctanh": "atanh",
    "asarray": "as_tensor",
    "clip": "clamp",
}


class TorchPrinter(FrameworkPrinter):
    """Prints index-form expressions as PyTorch code over a batch (see the module docstring)."""

    framework = "PyTorch"
    names = {
        **{f"numpy.{name}": f"torch.{name}" for name in SHARED_FUNCTIONS},
        **{f"numpy.{name}": f"torch.{renamed}" for name, renamed in _RENAMED.items()},
        "numpy.int64": "torch.int64",
        "scipy.special.erf": "torch.special.erf",
        "scipy.special.erfc": "torch.special.erfc",
    }
    keywords = {"axis": "dim", "keepdims": "keepdim"}

    def function(self, name: str, args: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr:
        clamps = {"numpy.minimum": "torch.clamp_max", "numpy.maximum": "torch.clamp_min"}
        if name in clamps and len(args) == 2 and is_number(args[1]):
            return call(clamps[name], args)
        return super().function(name, args, keywords)

    def cast(self, value: ast.expr, dtype: ast.expr) -> ast.expr:
        if isinstance(dtype, ast.Attribute) and dtype.attr == "dtype":  # an array's dtype
            value = _NumbersInDtype(dtype.value).visit(value)
        return ast.Call(func=ast.Attribute(value=value, attr="to", ctx=ast.Load()), args=[dtype], keywords=[])

    def logsumexp(self, argument: ast.expr) -> ast.expr:
        keywords = [
            ast.keyword(arg="dim", value=ast.Constant(1)),
            ast.keyword(arg="keepdim", value=ast.Constant(True)),
        ]
        return call("torch.logsumexp", [argument], keywords)

    def operation(self, node: ast.BinOp) -> ast.expr:
        product, bias = node.left, node.right
        if (
            isinstance(node.op, ast.Add)
            and isinstance(product, ast.BinOp)
            and isinstance(product.op, ast.MatMult)
            and isinstance(bias, ast.Name)
        ):
            return call("torch.addmm", [bias, product.left, product.right])
        squared = isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) and node.right.value == 2
        if squared and isinstance(node.left, ast.Name | ast.Attribute):  # an array read twice, nothing recomputed
            return ast.BinOp(left=node.left, op=ast.Mult(), right=node.left)
        return node

    def finfo_attribute(self, finfo: ast.expr, attribute: str) -> ast.expr:
        if attribute == "epsneg":  # the gap below one, half the gap above it
            eps = ast.Attribute(value=finfo, attr="eps", ctx=ast.Load())
            return ast.BinOp(left=eps, op=ast.Div(), right=ast.Constant(2))
        return super().finfo_attribute(finfo, attribute)


class _NumbersInDtype(ast.NodeTransformer):
    """Each ``torch.where`` of two numbers with its first number a scalar tensor like ``like``."""

    def __init__(self, like: ast.expr) -> None:
        self.like = like

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if ast.unparse(node.func) == "torch.where" and all(is_number(branch) for branch in node.args[1:]):
            new_tensor = ast.Attribute(value=self.like, attr="new_tensor", ctx=ast.Load())
            node.args[1] = ast.Call(func=new_tensor, args=[node.args[1]], keywords=[])
        return node
