"""JAX code from registry expressions and derivation results, for a batch with samples as rows.

Contract
--------
:class:`JaxPrinter` prints what :class:`~symbackprop.printing.numpy.BatchNumPyPrinter` prints,
with the same batch forms and stable forms, in ``jax.numpy`` calls imported as ``jnp`` (see
:mod:`.framework`). ``jax.numpy`` names its functions, keywords and casts as NumPy does; what
differs: log Σⱼ exp(uⱼ) is ``jax.nn.logsumexp(U, axis=1, keepdims=True)`` (shifted by the
maximum), and erf and erfc are ``jax.scipy.special.erf``/``erfc`` (a module the generated file
imports, :attr:`JaxPrinter.imports`); a dtype's limits are NumPy's ``numpy.finfo`` (static, and
typed). Python numbers are weakly typed in JAX as in NumPy, so a
printout keeps its arrays' dtype: float32, or float64 where ``jax_enable_x64`` is on. Every
printout is a pure function of its arrays, so it traces under ``jit``, ``vmap`` and sharding.
"""

from __future__ import annotations

import ast

from .framework import SHARED_FUNCTIONS, FrameworkPrinter, call

_SPECIAL = "jax.scipy.special"


class JaxPrinter(FrameworkPrinter):
    """Prints index-form expressions as jax.numpy code over a batch (see the module docstring)."""

    framework = "JAX"
    names = {
        **{f"numpy.{name}": f"jnp.{name}" for name in SHARED_FUNCTIONS},
        **{
            f"numpy.{name}": f"jnp.{name}"
            for name in ("arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asarray", "clip")
        },
        "numpy.int64": "jnp.int64",
        # A dtype's limits are static, and NumPy's finfo (typed, unlike jnp.finfo) reads JAX's dtypes.
        "numpy.finfo": "numpy.finfo",
        "scipy.special.erf": f"{_SPECIAL}.erf",
        "scipy.special.erfc": f"{_SPECIAL}.erfc",
    }
    extra_modules = {_SPECIAL: "the error function erf and erfc = 1 - erf"}

    def logsumexp(self, argument: ast.expr) -> ast.expr:
        keywords = [
            ast.keyword(arg="axis", value=ast.Constant(1)),
            ast.keyword(arg="keepdims", value=ast.Constant(True)),
        ]
        return call("jax.nn.logsumexp", [argument], keywords)
