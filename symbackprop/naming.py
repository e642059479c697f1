"""Every symbol and identifier symbackprop makes, in one place (as google/tangent's ``naming``).

Contract
--------
Stages make their SymPy symbols and generated identifiers with the functions here and never spell
a name themselves; the printers decode the names with :func:`parse_name`, so the scheme lives on
both sides of the pipeline in this module alone. A quantity of layer k is a *kind* and k:

=========  ===========================  ==================  =====================  =============
kind       quantity                     per sample          matrix form (vector)   batch array
=========  ===========================  ==================  =====================  =============
``w``      weights W⁽ᵏ⁾                 ``w2[i, j]``        ``w2``                 ``W2``
``b``      biases b⁽ᵏ⁾                  ``b2[i]``           ``b2``                 ``b2``
``z``      pre-activations z⁽ᵏ⁾         ``z2[i]``           ``z2``                 ``Z2``
``a``      activations a⁽ᵏ⁾ (a⁽⁰⁾ = x)  ``a2[i]``           ``a2``                 ``A2``
``delta``  δ⁽ᵏ⁾ = ∂L/∂z⁽ᵏ⁾              ``delta2[p]``       ``delta2``             ``D2``
``dLda``   ∂L/∂a⁽ᵏ⁾                     ``dLda2[p]``        ``dLda``               ``dL_dA2``
``fprime`` f′ₖ(z⁽ᵏ⁾)                    (a function)        ``fprime2``            ``batch_fprime2``
=========  ===========================  ==================  =====================  =============

Widths are the symbols ``n_k``; i, j index the units of the equations, p, q those of the
derivatives; the batch has ``m`` samples and mean loss ``J``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

#: The argument of an activation, and the one variable of a user's expression.
X = sp.Symbol("x", real=True)
#: The output a = f(x) of an activation, used by derivatives written in output form.
A = sp.Symbol("a", real=True)
#: A prediction ŷᵢ and its target yᵢ, the arguments of a loss term.
YHAT = sp.Symbol("yhat", real=True)
Y = sp.Symbol("y", real=True)
#: The number of outputs n_L, which a loss's scale may use (mse divides by it).
N_OUT = sp.Symbol("n", integer=True, positive=True)
#: The parameter of parametric activations (leaky_relu's slope, elu's scale).
ALPHA = sp.Symbol("alpha", positive=True)
#: A layer's fan-in and fan-out, the variables of an initialisation rule.
FAN_IN, FAN_OUT = sp.symbols("fan_in fan_out", integer=True, positive=True)

#: Free indices of the equations (unit i of a layer, unit j of the layer before).
I, J = sp.symbols("i j", integer=True, positive=True)  # noqa: E741 (the notation's index names)
#: Free indices of the derivatives ∂L/∂w_pq, ∂L/∂b_p, δ_p.
P, Q = sp.symbols("p q", integer=True, positive=True)
#: The per-sample loss.
LOSS = sp.Symbol("L", real=True)
#: The number of samples of a batch.
BATCH_SIZE = sp.Symbol("m", integer=True, positive=True)
#: The mean loss of a batch, J = (1/m) Σ_s L_s.
BATCH_LOSS = sp.Symbol("J", real=True)
#: −lr/m, the factor a training step folds into the output δ, so that gradients are updates.
STEP_SCALE = sp.Symbol("scale", real=True)
#: λ, the coefficient of the L2 term (a network's ``l2``); as messages and text show it; and as
#: generated code names it, the module constant that holds the network's l2.
L2 = sp.Symbol("lambda", nonnegative=True)
L2_DISPLAYED = sp.Symbol("λ", nonnegative=True)
L2_CONSTANT = sp.Symbol("L2", nonnegative=True)

#: The kinds of per-layer quantities, as :func:`parse_name` returns them.
KINDS = ("w", "b", "z", "a", "delta", "dLda")
_NAME = re.compile(rf"^({'|'.join(KINDS)})(\d+)$")
#: The matrix-form names of quantities that are not numbered by layer.
TARGET, OUTPUT_GRADIENT, LOSS_DERIVATIVE = "y", "dLda", "lossprime"
#: The name of f′ₖ as a function or a vector, and the prefix of a batch matrix.
DERIVATIVE, BATCH_PREFIX = "fprime", "batch_"


def parse_name(name: str) -> tuple[str, int] | None:
    """``("w", 2)`` for the base ``w2`` of :func:`weight`, else ``None``."""
    match = _NAME.match(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def width(k: int) -> sp.Symbol:
    """n_k, the number of units of layer k (k = 0 is the input)."""
    return sp.Symbol(f"n_{k}", integer=True, positive=True)


def _base(name: str) -> sp.IndexedBase:
    return sp.IndexedBase(name, real=True)


def weight(k: int) -> sp.IndexedBase:
    """w⁽ᵏ⁾, shape (n_k, n_{k-1})."""
    return _base(f"w{k}")


def bias(k: int) -> sp.IndexedBase:
    """b⁽ᵏ⁾."""
    return _base(f"b{k}")


def preactivation(k: int) -> sp.IndexedBase:
    """z⁽ᵏ⁾."""
    return _base(f"z{k}")


def activation_output(k: int) -> sp.IndexedBase:
    """a⁽ᵏ⁾; a⁽⁰⁾ is the input x."""
    return _base(f"a{k}")


def delta(k: int) -> sp.IndexedBase:
    """δ⁽ᵏ⁾ = ∂L/∂z⁽ᵏ⁾."""
    return _base(f"delta{k}")


def output_gradient(k: int) -> sp.IndexedBase:
    """∂L/∂a⁽ᵏ⁾, the quantity the chain rule brings back to layer k."""
    return _base(f"dLda{k}")


def target() -> sp.IndexedBase:
    """y, the target of one sample."""
    return _base(TARGET)


def vector_name(kind: str, k: int) -> str:
    """The name of layer k's quantity as a matrix symbol: ``w2``, ``delta2``, ``fprime2``."""
    return f"{kind}{k}"


def derivative_name(k: int) -> str:
    """f′ₖ's name, as an undefined function or a vector."""
    return vector_name(DERIVATIVE, k)


def batch_name(kind: str, k: int | None = None) -> str:
    """The batch matrix of a per-sample quantity (one row per sample): ``batch_a2``, ``batch_y``."""
    return f"{BATCH_PREFIX}{kind}{'' if k is None else k}"


# Identifiers of the generated code.
#: Batch array names of the per-sample quantities, by kind.
ARRAY_PREFIX = {"a": "A", "z": "Z", "delta": "D", "dLda": "dL_dA", "w": "W", "b": "b"}
#: The predictions a loss reads in a generated module, and the targets.
PREDICTIONS, TARGETS = "Y_hat", "Y"


def array(kind: str, k: int) -> str:
    """The generated code's array of layer k's quantity: ``A3``, ``D2``, ``dL_dA1``, ``W1``."""
    return f"{ARRAY_PREFIX[kind]}{k}"


def gradient_array(kind: str, k: int) -> str:
    """The buffer of ∂L/∂W⁽ᵏ⁾ (kind ``w``) or ∂L/∂b⁽ᵏ⁾ (kind ``b``) in a training step."""
    return f"d{ARRAY_PREFIX[kind]}{k}"


@dataclass(frozen=True)
class LayerArrays:
    """The generated code's identifiers of layer k's arrays and gradient buffers."""

    weight: str
    bias: str
    z: str
    a: str
    delta: str
    output_gradient: str
    weight_gradient: str
    bias_gradient: str


def layer_arrays(k: int) -> LayerArrays:
    """Every identifier of layer k in generated code: ``W2``, ``b2``, ``Z2``, ``A2``, ``D2``, …"""
    return LayerArrays(
        weight=array("w", k),
        bias=array("b", k),
        z=array("z", k),
        a=array("a", k),
        delta=array("delta", k),
        output_gradient=array("dLda", k),
        weight_gradient=gradient_array("w", k),
        bias_gradient=gradient_array("b", k),
    )


def predictions() -> sp.IndexedBase:
    """Ŷ, the predictions a generated loss function reads."""
    return _base(PREDICTIONS)
