"""The only place where SymPy expressions become text.

Contract
--------
* :mod:`.text` prints derivations and code comments as readable one-line mathematics, short
  forms for reports and messages, and custom activations back in the parser's grammar;
* :mod:`.latex` prints the LaTeX of the document, in each notation of ``NOTATIONS``, and
  :mod:`.linebreak` breaks a long formula into lines that fit the page;
* :mod:`.numpy` prints the NumPy code of the generated module, over a batch with samples as rows,
  after :mod:`.stable` has rewritten the expressions into their stable, dtype-keeping forms.
* Each printer recognises the symbols made by :mod:`symbackprop.naming` by their names, which
  :func:`~symbackprop.naming.parse_name` decodes, so the naming scheme lives in one place.
"""

from __future__ import annotations

from ..naming import parse_name
from .text import pretty_derivation

__all__ = ["parse_name", "pretty_derivation"]
