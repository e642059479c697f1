"""The code-generation targets by name: ``numpy`` (the default), ``torch`` and ``jax``.

Contract: :func:`target` returns the :class:`~symbackprop.codegen.target.CodeTarget` of a name
and raises :class:`~symbackprop.errors.GenerationError` naming the known ones for any other;
:data:`TARGET_NAMES` lists them in order. A target's module (its printer and context) is imported
when the target is first asked for, so NumPy-only users import nothing of the other targets, and
no target imports its framework: generating a torch or JAX module needs neither installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from ..errors import GenerationError
from .target import CodeTarget

#: Target name → (the module defining it, relative to this package; the target's attribute).
_DEFINED_IN: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "numpy": (".numpy_module", "NUMPY"),
        "torch": (".torch_module", "TORCH"),
        "jax": (".jax_module", "JAX"),
    }
)
#: The target names, the default first.
TARGET_NAMES: tuple[str, ...] = tuple(_DEFINED_IN)
DEFAULT_TARGET = "numpy"


def target(name: str) -> CodeTarget:
    """The code target called ``name``."""
    if name not in _DEFINED_IN:
        raise GenerationError(f"unknown code target '{name}'; choose one of {', '.join(TARGET_NAMES)}")
    module, attribute = _DEFINED_IN[name]
    found: CodeTarget = getattr(importlib.import_module(module, __package__), attribute)
    return found


class _Targets(Mapping[str, CodeTarget]):
    """name → target, importing each target's module on first access."""

    def __getitem__(self, name: str) -> CodeTarget:
        if name not in _DEFINED_IN:
            raise KeyError(name)
        return target(name)

    def __iter__(self) -> Iterator[str]:
        return iter(TARGET_NAMES)

    def __len__(self) -> int:
        return len(TARGET_NAMES)


#: Every target by name, ``{"numpy": NUMPY, "torch": TORCH, "jax": JAX}``, imported lazily.
TARGETS: Mapping[str, CodeTarget] = _Targets()
