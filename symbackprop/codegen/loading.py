"""Loading a generated module's source in memory, with no file.

Contract: :func:`load_module` executes the source as a fresh module of the given name and returns
it; ``sys.modules`` is left as it was. A leaf of the code-generation package: the checker loads
its cached reference with it without importing Jinja, the printers or SymPy.
"""

from __future__ import annotations

import sys
import types


def load_module(source: str, name: str = "symbackprop_generated") -> types.ModuleType:
    """The generated source executed as a module in memory (``train`` needs no file)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    # dataclasses and typing look a module up in sys.modules while it executes.
    sys.modules[name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    finally:
        sys.modules.pop(name, None)
    return module
