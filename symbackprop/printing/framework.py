"""Framework code (PyTorch, JAX) printed from the same expressions, by the same rules, as NumPy code.

Contract
--------
:class:`FrameworkPrinter` prints an index-form expression exactly as
:class:`~symbackprop.printing.numpy.BatchNumPyPrinter` does (the batch forms and every stable
form: the logistic function, softplus, the log-sum-exp softmax, Piecewise branches clipped to
their side of each kink, masks and casts that keep the operands' dtype), then translates the
printout's NumPy calls into the framework's. The translation reads the printout as a Python
expression (:mod:`ast`), so it replaces names and keywords, never text: each ``numpy.f(...)``
becomes the framework's function of the subclass's tables, keywords are renamed
(``axis`` → ``dim`` for torch), ``numpy.logical_and.reduce([a, b, c])`` becomes nested binary
calls, ``x.astype(T.dtype)`` the framework's cast, and the NumPy module's ``_logsumexp`` helper the
framework's own log-sum-exp. A NumPy name the tables do not know raises ``NotImplementedError``
naming it, so a new stable form cannot reach a framework untranslated.

:meth:`FrameworkPrinter.translate` also translates the NumPy source the snippets of
:mod:`.numpy_snippets` write (the clip of predictions into a loss's domain, classes of outputs), so
that every framework source in a generated module comes from one NumPy form. Modules the
printouts call beyond the framework's own namespace are listed in :attr:`FrameworkPrinter.imports`.
Subclasses: :class:`~symbackprop.printing.torch.TorchPrinter`,
:class:`~symbackprop.printing.jax.JaxPrinter`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import sympy as sp

from .numpy import BatchNumPyPrinter

#: The prefixes of the names a NumPy printout (or snippet) calls that a framework must translate.
_NUMPY_PREFIXES = ("numpy.", "scipy.")
#: The support helper the NumPy printer calls for log Σⱼ exp(uⱼ) of each row.
_LOGSUMEXP = "_logsumexp"


def dotted(node: ast.expr) -> str | None:
    """``"numpy.logical_and.reduce"`` for the attribute chain ``numpy.logical_and.reduce``, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def reference(name: str) -> ast.expr:
    """The expression node of a dotted name, ``torch.special.erf``."""
    return ast.parse(name, mode="eval").body


def call(name: str, args: list[ast.expr], keywords: list[ast.keyword] | None = None) -> ast.Call:
    """The node of the call ``name(*args, **keywords)``."""
    return ast.Call(func=reference(name), args=args, keywords=keywords or [])


def is_number(node: ast.expr) -> bool:
    """Whether the node is a number literal, possibly negated (``-20.0``)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


class FrameworkPrinter(BatchNumPyPrinter):
    """Prints index-form expressions as a framework's batch code (see the module docstring)."""

    #: The framework's name, for messages.
    framework = ""
    #: NumPy (or SciPy) name → the framework's name of the same function or constant.
    names: Mapping[str, str] = {}
    #: NumPy keyword → the framework's keyword of the same meaning.
    keywords: Mapping[str, str] = {}
    #: The module each framework name of :attr:`names` needs imported, when the framework's main
    #: import does not bring it: name prefix → why the module is imported.
    extra_modules: Mapping[str, str] = {}

    def __init__(self, settings: dict[str, object] | None = None) -> None:
        super().__init__(settings)
        #: Modules beyond the framework's main one that the printouts so far call, with why.
        self.imports: dict[str, str] = {}

    def doprint(self, expr: sp.Expr, assign_to: object = None) -> str:
        return self.translate(super().doprint(expr, assign_to))

    def batch_sum(self, expr: sp.Expr) -> str:
        return self.translate(super().batch_sum(expr))

    def translate(self, source: str) -> str:
        """NumPy source (an expression or one statement) in the framework's names."""
        tree = ast.parse(source, mode="exec")
        if len(tree.body) != 1:
            raise NotImplementedError(f"only one expression or statement translates at a time: {source}")
        return ast.unparse(ast.fix_missing_locations(_Translation(self).visit(tree)))

    # -- the hooks the subclasses give -----------------------------------------------------
    def function(self, name: str, args: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr:
        """The framework's call of the NumPy function ``name``: by :attr:`names` and :attr:`keywords`
        unless a subclass writes it otherwise."""
        renamed = [ast.keyword(arg=self.keywords.get(k.arg or "", k.arg), value=k.value) for k in keywords]
        return call(self.name(name), args, renamed)

    def name(self, name: str) -> str:
        """The framework's name for a NumPy name (a function or a constant such as ``numpy.int64``)."""
        if name not in self.names:
            raise NotImplementedError(f"no {self.framework} form is known for {name}")
        translated = self.names[name]
        for prefix, why in self.extra_modules.items():
            if translated.startswith(f"{prefix}."):
                self.imports[prefix] = why
        return translated

    def cast(self, value: ast.expr, dtype: ast.expr) -> ast.expr:
        """``value`` cast to ``dtype`` (translated already): an array's ``T.dtype`` or a constant
        such as ``torch.int64`` (NumPy: ``value.astype(dtype)``)."""
        return ast.Call(func=ast.Attribute(value=value, attr="astype", ctx=ast.Load()), args=[dtype], keywords=[])

    def logsumexp(self, argument: ast.expr) -> ast.expr:
        """log Σⱼ exp(uⱼ) of each row of ``argument``, kept as a column, computed stably."""
        raise NotImplementedError(f"no {self.framework} form is known for log-sum-exp")

    def finfo_attribute(self, finfo: ast.expr, attribute: str) -> ast.expr:
        """The attribute of a floating-point type's limits (``numpy.finfo(d).epsneg``)."""
        return ast.Attribute(value=finfo, attr=attribute, ctx=ast.Load())

    def operation(self, node: ast.BinOp) -> ast.expr:
        """A binary operation whose operands are translated already, in the framework's fastest
        form of the same arithmetic (NumPy's, ``a @ b + c``, unless a subclass fuses it)."""
        return node


class _Translation(ast.NodeTransformer):
    """Rewrites a NumPy printout's names into a framework's, innermost calls first."""

    def __init__(self, printer: FrameworkPrinter) -> None:
        self.printer = printer

    def visit_Call(self, node: ast.Call) -> ast.expr:
        args = [self.visit(argument) for argument in node.args]
        keywords = [ast.keyword(arg=k.arg, value=self.visit(k.value)) for k in node.keywords]
        name = dotted(node.func)
        if name == _LOGSUMEXP:
            return self.printer.logsumexp(args[0])
        if name is not None and name.endswith(".reduce") and name.startswith(_NUMPY_PREFIXES):
            return self._reduce(name.removesuffix(".reduce"), args)
        if name is not None and name.startswith(_NUMPY_PREFIXES):
            return self.printer.function(name, args, keywords)
        func = self.visit(node.func)
        if isinstance(func, ast.Attribute) and func.attr == "astype":
            return self.printer.cast(func.value, args[0])
        return ast.Call(func=func, args=args, keywords=keywords)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        node.left, node.right = self.visit(node.left), self.visit(node.right)
        return self.printer.operation(node)

    def _reduce(self, name: str, args: list[ast.expr]) -> ast.expr:
        """``numpy.f.reduce([a, b, c])`` as ``f(f(a, b), c)``."""
        if len(args) != 1 or not isinstance(args[0], ast.List) or len(args[0].elts) < 2:
            raise NotImplementedError(f"{name}.reduce translates only over a list of two arrays or more")
        parts = args[0].elts
        result = parts[0]
        for part in parts[1:]:
            result = self.printer.function(name, [result, part], [])
        return result

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        name = dotted(node)
        if name is not None and name.startswith(_NUMPY_PREFIXES):
            return reference(self.printer.name(name))
        value = self.visit(node.value)
        if isinstance(node.value, ast.Call) and dotted(node.value.func) == "numpy.finfo":
            return self.printer.finfo_attribute(value, node.attr)
        return ast.Attribute(value=value, attr=node.attr, ctx=node.ctx)


#: NumPy functions that PyTorch and jax.numpy both name as NumPy does.
SHARED_FUNCTIONS = (
    "abs",
    "add",
    "argmax",
    "cos",
    "cosh",
    "divide",
    "exp",
    "expm1",
    "finfo",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "maximum",
    "minimum",
    "multiply",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "subtract",
    "sum",
    "tan",
    "tanh",
    "where",
)
