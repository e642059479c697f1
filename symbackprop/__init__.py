"""symbackprop: back-propagation derived symbolically, verified, printed and turned into code.

The pipeline is a chain of plain functions between frozen objects::

    Network ──derive──► Derivation ──verify──► VerificationReport

``Network(sizes, activations, loss)`` validates a spec; ``Network.derive()`` differentiates the
index-notation equations; ``Derivation.verify()`` checks them against matrix-form rules.

The names below are imported on first use (PEP 562), so that importing one stage (the pytest
plugin, the registry) does not import the whole pipeline, and so that no module of the package
depends on this one: the import graph of the stages stays acyclic.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from .lazy import lazy_exports
from .version import __version__

if TYPE_CHECKING:  # the names for type checkers; __getattr__ imports them at run time
    from .derive import Derivation, LayerDerivation, derive  # noqa: F401
    from .errors import ExpressionError, SpecError, SymbackpropError  # noqa: F401
    from .registry import ACTIVATIONS, LOSSES, Activation, Loss, custom_activation  # noqa: F401
    from .rules import TEXTBOOK, TUTORIAL_MISTAKES, Rule, RuleSet  # noqa: F401
    from .spec import Network, load_toml, parse_compact  # noqa: F401
    from .verify import VerificationReport, verify  # noqa: F401

#: The public name → the module that defines it.
_PUBLIC = {
    "Derivation": "derive",
    "LayerDerivation": "derive",
    "derive": "derive",
    "ExpressionError": "errors",
    "SpecError": "errors",
    "SymbackpropError": "errors",
    "ACTIVATIONS": "registry",
    "LOSSES": "registry",
    "Activation": "registry",
    "Loss": "registry",
    "custom_activation": "registry",
    "TEXTBOOK": "rules",
    "TUTORIAL_MISTAKES": "rules",
    "Rule": "rules",
    "RuleSet": "rules",
    "Network": "spec",
    "load_toml": "spec",
    "parse_compact": "spec",
    "VerificationReport": "verify",
    "verify": "verify",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, submodules=True)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        # Python stores each submodule on its package once loaded; the functions derive and verify
        # share their modules' names, and symbackprop.derive must stay the function.
        if name in _PUBLIC and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
