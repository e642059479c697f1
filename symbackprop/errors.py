"""The exceptions symbackprop raises on bad input.

Every error a user can cause is a :class:`SymbackpropError`; the command line prints its message
and exits with status 2 instead of showing a traceback. Messages name what is wrong and where.
"""

from __future__ import annotations


class SymbackpropError(Exception):
    """Base class of the errors caused by bad input."""


class SpecError(SymbackpropError, ValueError):
    """A network specification, a name or a user expression is invalid."""


class ExpressionError(SpecError):
    """A user-written expression was rejected by the safe expression parser."""


class GenerationError(SymbackpropError):
    """An output (a generated module, a document, a history) cannot be made or written where it
    was asked for."""
