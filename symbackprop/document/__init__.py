"""The step-by-step back-propagation document of a derivation, as LaTeX (and PDF) or Markdown.

Contract
--------
A :class:`~symbackprop.derive.Derivation` that verifies against the textbook rules becomes a
document in one of :data:`FORMATS`, made of the chosen :data:`SECTIONS` (in document order,
whatever order is given) in a notation of :data:`~symbackprop.printing.latex.NOTATIONS`:

* :func:`render_latex` is a full LaTeX document (``standalone``) or a fragment to ``\\input``;
* :func:`render_markdown` is Markdown with ``$...$`` / ``$$...$$`` math, without the figure;
* :func:`layer_latex` is the display math of one layer, for Jupyter's ``_repr_latex_``;
* :func:`write_document` writes a document atomically; :func:`compile_pdf` runs ``pdflatex`` (or
  ``latexmk``) on it and reports overfull boxes; :class:`LatexError` is every failure to make
  the document as asked.

Widths stay symbolic (n_k) in every formula, so a 512-wide layer prints as narrow as a 2-wide
one; only the figure uses the concrete widths. A formula too wide for the page is broken before
a + or − (:mod:`symbackprop.printing.linebreak`); an intermediate form that still cannot fit is
left out, its symbol f′ₖ standing for it. A chain's step is a list of lines.

Layout: :mod:`.options` (sections, formats, notation, the error), :mod:`.builder` (the context
and the rendering), one module per section (:mod:`.network`, :mod:`.forward`,
:mod:`.activations`, :mod:`.backward`, :mod:`.matrix`, :mod:`.paths`, :mod:`.verification`),
their helpers (:mod:`.symbols`, :mod:`.equality`, :mod:`.batch`) and :mod:`.pdf` (files and
compilation). At module level it imports only the stages before it (registry, equations, rules,
printing); verify, and codegen's atomic write, are imported inside the functions that use them,
and derive only for type checking.
"""

from __future__ import annotations

from .builder import document_context, layer_latex, render_latex, render_markdown
from .options import FORMATS, SECTIONS, LatexError
from .pdf import CompiledPdf, LatexToolMissing, compile_pdf, write_document

__all__ = [
    "FORMATS",
    "SECTIONS",
    "CompiledPdf",
    "LatexError",
    "LatexToolMissing",
    "compile_pdf",
    "document_context",
    "layer_latex",
    "render_latex",
    "render_markdown",
    "write_document",
]
