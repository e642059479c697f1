"""What a document can be asked for: its sections, its formats, its notation, and the error otherwise.

Contract
--------
:data:`SECTIONS` are the parts of the document in their order and :data:`FORMATS` the formats it
is rendered in; the command line offers exactly these. :func:`resolve_sections` and
:func:`resolve_notation` turn what a caller gives (names, a comma-separated string) into the
chosen sections in document order and a :class:`~symbackprop.printing.latex.Notation`, or raise
:class:`LatexError` naming the choices. :class:`LatexError` is also the error of a failed compile
(:mod:`.pdf`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import SymbackpropError
from ..printing.latex import NOTATIONS, Notation

#: The parts of the document, in order; ``--sections`` takes a comma-separated subset.
SECTIONS = ("network", "forward", "activations", "backward", "matrix", "paths", "verification")
FORMATS = ("latex", "markdown")


class LatexError(SymbackpropError):
    """The document cannot be made as asked (an unknown section or notation, a failed compile)."""


def resolve_sections(sections: str | Iterable[str] | None) -> tuple[str, ...]:
    """The sections asked for, in document order; a comma-separated string is accepted."""
    if sections is None:
        return SECTIONS
    names = [s.strip() for s in sections.split(",")] if isinstance(sections, str) else [s.strip() for s in sections]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise LatexError(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if not names:
        raise LatexError(f"no section chosen; choose from {', '.join(SECTIONS)}")
    return tuple(name for name in SECTIONS if name in names)


def resolve_notation(notation: str | Notation) -> Notation:
    """A notation by its name in :data:`~symbackprop.printing.latex.NOTATIONS` (or as given)."""
    if isinstance(notation, Notation):
        return notation
    if notation not in NOTATIONS:
        raise LatexError(f"unknown notation '{notation}'; choose from {', '.join(NOTATIONS)}")
    return NOTATIONS[notation]
