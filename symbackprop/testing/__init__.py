"""Checking hand-written gradients against the symbolic derivation, and naming the mistake.

Contract
--------
``check_gradients(network, code, **options)`` returns a :class:`GradientReport`;
``assert_gradients`` raises :class:`GradientMismatch` (an ``AssertionError`` whose message is the
report's table: one row per parameter with its shape, relative error, worst element, verdict and
a diagnosis in plain words) unless every row passes. ``code`` is a function
``grads(params, X, Y)``, an object with forward/backward methods, or an :class:`ObjectAdapter`.

The stages, one module each: :mod:`.reference` (the generated module as the exact reference, and
the probe data chosen to make bugs identifiable), :mod:`.adapters` (the forms and layouts of user
code), :mod:`.layout_detection` (which layout the user's code is written for), :mod:`.judging`
(tolerances, relative errors and verdicts), :mod:`.mutants` (the catalogue of known mistakes,
built from our own back-propagation), :mod:`.diagnosis` (naming the mistake of a row that does
not pass), :mod:`.check` (the checker, which runs the stages in order), :mod:`.report` (the rows
and the table) and :mod:`.plugin` (the pytest plugin: the ``gradcheck`` fixture and
``--gradcheck-report``).
"""

from .adapters import CheckError, FunctionAdapter, Layout, ObjectAdapter, load_target
from .check import assert_gradients, check_gradients
from .judging import VERDICTS, Tolerance
from .mutants import CATALOGUE
from .report import GradientMismatch, GradientReport, ParameterRow

__all__ = [
    "CATALOGUE",
    "VERDICTS",
    "CheckError",
    "FunctionAdapter",
    "GradientMismatch",
    "GradientReport",
    "Layout",
    "ObjectAdapter",
    "ParameterRow",
    "Tolerance",
    "assert_gradients",
    "check_gradients",
    "load_target",
]
