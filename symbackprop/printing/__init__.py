"""The only place where SymPy expressions become text.

Contract
--------
* :mod:`.text` prints derivations for a terminal (unicode pretty print), one-line forms for
  reports and messages, and custom activations back in the parser's grammar;
* :mod:`.latex` prints the LaTeX of the document, in each notation of ``NOTATIONS``, and
  :mod:`.linebreak` breaks a long formula into lines that fit the page;
* :mod:`.numpy` prints the NumPy code of the generated module, over a batch with samples as rows,
  after :mod:`.stable` has rewritten the expressions into their stable, dtype-keeping forms.
* Each printer recognises the symbols made by :mod:`symbackprop.equations` by their names, which
  :func:`parse_name` decodes, so the naming scheme lives in one place on each side.
"""

from __future__ import annotations

import re

from .text import pretty_derivation

_NAME = re.compile(r"^(w|b|z|a|delta|dLda)(\d+)$")


def parse_name(name: str) -> tuple[str, int] | None:
    """``("w", 2)`` for the base ``w2`` of :func:`symbackprop.equations.weight`, else ``None``."""
    match = _NAME.match(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


__all__ = ["parse_name", "pretty_derivation"]
