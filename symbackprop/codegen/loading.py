"""Loading a generated module's source in memory, with no file.

Contract: :func:`load_module` executes the source as a fresh module of the given name and returns
it, and :func:`load_file` does the same with a generated file through the import system (which
reads its compiled bytecode); either way ``sys.modules`` is left as it was. A leaf of the
code-generation package: the checker loads its cached reference with it without importing Jinja,
the printers or SymPy.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path


def load_module(source: str, name: str = "symbackprop_generated") -> types.ModuleType:
    """The generated source executed as a module in memory (``train`` needs no file)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    with _registered(module):
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def load_file(path: Path, name: str) -> types.ModuleType:
    """The generated file at ``path`` executed as a module named ``name``, through the import system."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a module")
    module = importlib.util.module_from_spec(spec)
    with _registered(module):
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _registered(module: types.ModuleType) -> Iterator[None]:
    # dataclasses and typing look a module up in sys.modules while it executes.
    sys.modules[module.__name__] = module
    try:
        yield
    finally:
        sys.modules.pop(module.__name__, None)
