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
code), :mod:`.mutants` (the catalogue of known mistakes, built from our own back-propagation),
:mod:`.check` (judging and diagnosing), :mod:`.report` (verdicts and the table) and
:mod:`.plugin` (the pytest plugin: the ``gradcheck`` fixture and ``--gradcheck-report``).
"""

from .adapters import CheckError, FunctionAdapter, Layout, ObjectAdapter, load_target
from .check import assert_gradients, check_gradients
from .mutants import CATALOGUE
from .report import VERDICTS, GradientMismatch, GradientReport, ParameterRow, Tolerance

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
