"""Checking hand-written gradients against the symbolic derivation, and naming the mistake.

Contract
--------
``check_gradients(network, code, **options)`` returns a :class:`GradientReport`;
``assert_gradients`` raises :class:`GradientMismatch` (an ``AssertionError`` whose message is the
report's table: one row per parameter with its shape, relative error, worst element, verdict and
a diagnosis in plain words) unless every row passes. Code that exits or does not return fails
the same way, the reason in the report; bad input is a :class:`CheckError`. ``code`` is a function
``grads(params, X, Y)``, an object with forward/backward methods, or an :class:`ObjectAdapter`; in
PyTorch or JAX, a function on tensors (gradients, or a loss the framework differentiates) or a
``torch.nn.Module``. :func:`check_layer` checks one layer's custom backward.

The stages, one module each: :mod:`.reference` (the generated module as the exact reference, and
the probe data chosen to make bugs identifiable; kept across processes by
:mod:`.reference_cache`), :mod:`.calls` (each call of the user's code under a time limit, a
``sys.exit`` in it made an ordinary exception), :mod:`.loading` (importing ``module:attribute``),
:mod:`.frameworks` (which framework the code is written for, its precisions, and conversions to
and from its tensors), :mod:`.adapters` and :mod:`.tensor_adapters` (the forms and layouts of user
code: NumPy, and functions on torch or JAX tensors and torch modules), :mod:`.layout_detection`
(which layout the user's code is written for), :mod:`.judging` (tolerances, relative errors and
verdicts), :mod:`.mutants` (the catalogue of known mistakes, built from our own
back-propagation), :mod:`.diagnosis` (naming the mistake of a row that does not pass),
:mod:`.check` (the checker, which runs the stages in order), :mod:`.layer_check` (one layer's
backward, checked as a network around it), :mod:`.report` (the rows and the table) and
:mod:`.plugin` (the pytest plugin: the ``gradcheck`` fixture and ``--gradcheck-report``).

The names below are imported on first use (PEP 562): pytest imports :mod:`.plugin` at start-up in
every environment where symbackprop is installed, and must not pay for NumPy and SymPy there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:  # the names for type checkers; __getattr__ imports them at run time
    from .adapters import CheckError, FunctionAdapter, Layout, ObjectAdapter  # noqa: F401
    from .check import assert_gradients, check_gradients  # noqa: F401
    from .judging import VERDICTS, Tolerance  # noqa: F401
    from .layer_check import check_layer  # noqa: F401
    from .loading import load_target  # noqa: F401
    from .mutants import CATALOGUE  # noqa: F401
    from .report import GradientMismatch, GradientReport, ParameterRow  # noqa: F401

#: The public name → the module that defines it.
_PUBLIC = {
    "CATALOGUE": "mutants",
    "VERDICTS": "judging",
    "CheckError": "adapters",
    "FunctionAdapter": "adapters",
    "GradientMismatch": "report",
    "GradientReport": "report",
    "Layout": "adapters",
    "ObjectAdapter": "adapters",
    "ParameterRow": "report",
    "Tolerance": "judging",
    "assert_gradients": "check",
    "check_gradients": "check",
    "check_layer": "layer_check",
    "load_target": "loading",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
