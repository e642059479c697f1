"""Packages whose public names are imported on first use (PEP 562).

Contract: :func:`lazy_exports` gives a package the module-level ``__getattr__`` and ``__dir__``
that import each public name from the submodule that defines it the first time it is asked for,
and keep it. Importing such a package costs nothing beyond the package itself, so that the pytest
plugin, ``--version`` and a single stage import only what they use. A leaf module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, public: Mapping[str, str], *, submodules: bool = False
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names ``public`` maps to the submodule
    defining each; with ``submodules``, an unknown name that is a submodule is imported too (as an
    eager package would have it)."""

    def __getattr__(name: str) -> object:
        if name not in public:
            if submodules and importlib.util.find_spec(f"{package}.{name}") is not None:
                return importlib.import_module(f".{name}", package)
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(f".{public[name]}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return __getattr__, __dir__
