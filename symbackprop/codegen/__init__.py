"""Code generation: a verified derivation printed as a module for a code target.

Layout (one job per module):

* :mod:`.target`: what a target is, a printer, a template and a typed context;
* :mod:`.numpy_module`: the NumPy target (:data:`~.numpy_module.NUMPY`), today's only one;
* :mod:`.batch_math`: the mathematics every target shares (concrete widths, the batch loss, the
  loss in the output pre-activation);
* :mod:`.formatting`: ruff formatting and comment wrapping of the generated source;
* :mod:`.modules`: generate, load in memory, and write a module;
* :mod:`.reference`: the reference modules of generated/ and ``symbackprop regenerate``.

The names below are the public API (file writing itself lives in :mod:`symbackprop.files`).
"""

from __future__ import annotations

from ..errors import GenerationError
from .batch_math import loss_from_preactivation, substitute_widths
from .formatting import LINE_LIMIT, REBUILD_COMMENT, format_source, wrap_long_comments
from .modules import generate_module, load_module, module_context, render_module, write_module, written_by_symbackprop
from .numpy_module import GENERATED_MARKER, NUMPY, LayerCode, NumpyModule
from .reference import REFERENCE_NETWORKS, REGENERATE_COMMAND, reference_sources, regenerate_reference_modules
from .target import CodeTarget

__all__ = [
    "GENERATED_MARKER",
    "LINE_LIMIT",
    "NUMPY",
    "REBUILD_COMMENT",
    "REFERENCE_NETWORKS",
    "REGENERATE_COMMAND",
    "CodeTarget",
    "GenerationError",
    "LayerCode",
    "NumpyModule",
    "format_source",
    "generate_module",
    "load_module",
    "loss_from_preactivation",
    "module_context",
    "reference_sources",
    "regenerate_reference_modules",
    "render_module",
    "substitute_widths",
    "wrap_long_comments",
    "write_module",
    "written_by_symbackprop",
]
