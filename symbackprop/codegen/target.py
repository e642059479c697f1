"""A code-generation target: a printer, a template and a typed context object.

Contract: a :class:`CodeTarget` turns a verified :class:`~symbackprop.derive.Derivation` into the
source of one module. :meth:`CodeTarget.make_context` hands the target's ``printer`` (a printer
class of :mod:`symbackprop.printing`) to its ``context`` function, which prints every expression
the template inserts with it and returns a frozen dataclass (the template's only input, so a typo
fails when the template renders); :meth:`CodeTarget.render` fills the template and lays the source
out.
Targets never touch the derivation: a new framework (PyTorch, JAX) is a new printer in
:mod:`symbackprop.printing`, a template, a context dataclass and an entry in :data:`TARGETS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..templating import render
from .formatting import format_source, wrap_long_comments

if TYPE_CHECKING:
    from sympy.printing.codeprinter import CodePrinter

    from ..derive import Derivation


@dataclass(frozen=True)
class CodeTarget:
    """One language or framework that code is generated for."""

    name: str
    #: The printer class that turns the derivation's SymPy expressions into this target's code.
    printer: type[CodePrinter]
    #: The Jinja template of a whole module, in templates/.
    template: str
    #: (derivation, rebuild command, printer class) → the template's context, a frozen
    #: dataclass; it verifies the derivation first (:func:`~symbackprop.verify.require_verified`).
    context: Callable[[Derivation, str, type[CodePrinter]], Any]

    def make_context(self, derivation: Derivation, command: str) -> Any:
        """The template's context for ``derivation``, printed with this target's printer."""
        return self.context(derivation, command, self.printer)

    def render(self, context: Any) -> str:
        """The module's source from a context this target's ``context`` made."""
        fields = {field.name: getattr(context, field.name) for field in dataclasses.fields(context)}
        return format_source(wrap_long_comments(render(self.template, **fields)))
