"""symbackprop: back-propagation derived symbolically, verified, printed and turned into code.

The pipeline is a chain of plain functions between frozen objects::

    Network ──derive──► Derivation ──verify──► VerificationReport

``Network(sizes, activations, loss)`` validates a spec; ``Network.derive()`` differentiates the
index-notation equations; ``Derivation.verify()`` checks them against matrix-form rules.
"""

from .derive import Derivation, LayerDerivation, derive
from .errors import ExpressionError, SpecError, SymbackpropError
from .registry import ACTIVATIONS, LOSSES, Activation, Loss, custom_activation
from .rules import TEXTBOOK, TUTORIAL_MISTAKES, Rule, RuleSet
from .spec import Network, load_toml, parse_compact
from .verify import VerificationReport, verify

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "TEXTBOOK",
    "TUTORIAL_MISTAKES",
    "Activation",
    "Derivation",
    "ExpressionError",
    "LayerDerivation",
    "Loss",
    "Network",
    "Rule",
    "RuleSet",
    "SpecError",
    "SymbackpropError",
    "VerificationReport",
    "custom_activation",
    "derive",
    "load_toml",
    "parse_compact",
    "verify",
]
