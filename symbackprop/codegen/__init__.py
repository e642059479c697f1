"""Code generation: a verified derivation printed as a module for a code target.

Layout (one job per module):

* :mod:`.target`: what a target is, a printer, a template and a typed context;
* :mod:`.numpy_module`: the NumPy target (:data:`~.numpy_module.NUMPY`), the default;
* :mod:`.framework_module`: the context the PyTorch and JAX targets share; :mod:`.torch_module`
  (:data:`~.torch_module.TORCH`) and :mod:`.jax_module` (:data:`~.jax_module.JAX`);
* :mod:`.targets`: every target by name (:data:`~.targets.TARGETS`, :func:`.targets.target`);
* :mod:`.module_facts`: what every target's module says about its network, printed once;
* :mod:`.batch_math`: the mathematics every target shares (concrete widths, the batch loss, the
  loss in the output pre-activation);
* :mod:`.formatting`: ruff formatting and comment wrapping of the generated source;
* :mod:`.modules`: generate and write a module;
* :mod:`.loading`: load a generated source in memory as a module;
* :mod:`.reference`: the reference modules of generated/ and ``symbackprop regenerate``.

The names below are the public API (file writing itself lives in :mod:`symbackprop.files`),
imported on first use, so that loading a generated module (:func:`.loading.load_module`) does not
import Jinja and the printers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import GenerationError as GenerationError  # re-exported
from ..lazy import lazy_exports

if TYPE_CHECKING:  # the names for type checkers; __getattr__ imports them at run time
    from .batch_math import loss_from_preactivation, substitute_widths  # noqa: F401
    from .formatting import LINE_LIMIT, REBUILD_COMMENT, format_source, wrap_long_comments  # noqa: F401
    from .jax_module import JAX  # noqa: F401
    from .loading import load_module  # noqa: F401
    from .module_facts import GENERATED_MARKER  # noqa: F401
    from .modules import (  # noqa: F401
        generate_module,
        module_context,
        render_module,
        write_module,
        written_by_symbackprop,
    )
    from .numpy_module import NUMPY, LayerCode, NumpyModule  # noqa: F401
    from .reference import (  # noqa: F401
        REFERENCE_NETWORKS,
        REGENERATE_COMMAND,
        reference_sources,
        regenerate_reference_modules,
    )
    from .target import CodeTarget  # noqa: F401
    from .targets import TARGET_NAMES, TARGETS  # noqa: F401
    from .torch_module import TORCH  # noqa: F401

#: The public name → the module that defines it.
_PUBLIC = {
    "GENERATED_MARKER": "module_facts",
    "LINE_LIMIT": "formatting",
    "NUMPY": "numpy_module",
    "REBUILD_COMMENT": "formatting",
    "REFERENCE_NETWORKS": "reference",
    "REGENERATE_COMMAND": "reference",
    "CodeTarget": "target",
    "JAX": "jax_module",
    "TARGETS": "targets",
    "TARGET_NAMES": "targets",
    "TORCH": "torch_module",
    "LayerCode": "numpy_module",
    "NumpyModule": "numpy_module",
    "format_source": "formatting",
    "generate_module": "modules",
    "load_module": "loading",
    "loss_from_preactivation": "batch_math",
    "module_context": "modules",
    "reference_sources": "reference",
    "regenerate_reference_modules": "reference",
    "render_module": "modules",
    "substitute_widths": "batch_math",
    "wrap_long_comments": "formatting",
    "write_module": "modules",
    "written_by_symbackprop": "modules",
}

__all__ = ["GenerationError", *sorted(_PUBLIC)]

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
