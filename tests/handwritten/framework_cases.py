"""A held-out corpus of hand-written PyTorch and JAX gradients, correct and buggy.

Four forms, as a user hands them to the checker: a function on tensors, a ``torch.nn.Module``
with custom ``autograd.Function`` layers, a JAX loss with a custom VJP (all three checked by
``check_gradients``), and one layer's custom backward (``check_layer``: ``network`` then names
the activation, ``options`` the layer's widths). float32 and float64. As in :mod:`.cases`, a
buggy case says the layer nearest the output whose step is wrong and the words any one of which
names its mistake. Cases of a framework that is not installed are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import style_jax_vjp, style_torch_autograd
from .cases import MISSING_DERIVATIVE, MISSING_MEAN, PRIME_OF_ACTIVATION, SIGN, TRANSPOSED

torch = style_torch_autograd.torch
jax = style_jax_vjp.jax


@dataclass(frozen=True, eq=False)
class FrameworkCase:
    """One implementation; buggy when ``layer`` is set; ``form`` is function, module, loss or layer."""

    name: str
    framework: str
    form: str
    #: A zero-argument function that builds the code (a module is built afresh for each check).
    build: Any
    network: str
    options: Mapping[str, Any] = field(default_factory=dict)
    mistake: str = ""
    layer: int | None = None
    names: tuple[str, ...] = ()

    @property
    def buggy(self) -> bool:
        return self.layer is not None


OUTPUT_PRIME = ("not passed through", "output activation's derivative", *MISSING_DERIVATIVE)
WRONG_SHAPE = ("wrong shape", "shape should be", "transpos")
BIAS_AXIS = ("over the units", "wrong axis", "axis=1", "axis=0", "summed over")
TANH_NO_SQUARE = ("1 − tanh", "1 - tanh", "not squared", "without the square", "1 − a", "1 - a")
DOUBLE = ("twice", "2 times the correct", "factor 2 too many", "factor 2 too large", "doubled")
HALF = ("half", "0.5 times", "factor 2 is missing", "factor 2 too small", "½")
ZERO = ("zero", "left at 0", "never set", "not computed", "all 0")
RELU_FROM_ONE = (">= 1", "≥ 1", "z ≥ 1", "threshold 1", "kink at 1", "step at 1", "shifted")
WITHOUT_TARGET = ("ŷ where ŷ − y", "not subtracted", "target y", "without y")
UNTRANSPOSED = ("untransposed", "not transposed", "transpos", "wrong orientation", "w2ᵀ where w2 belongs")

MANUAL = "4 -> 6 tanh -> 3 softmax : cce"
MODULE = "3 -> 5 tanh -> 2 sigmoid : bce"
SQUARE = "4 -> 4 tanh -> 4 sigmoid : bce"
LOGITS = "4 -> 6 relu -> 3 softmax : cce"
JAX_GRADS = "3 -> 5 sigmoid -> 2 sigmoid : bce"
JAX_LOSS = "3 -> 6 tanh -> 4 tanh -> 2 identity : mse"
JAX_SOFTMAX = "4 -> 5 relu -> 3 softmax : cce"
FLOAT32 = {"dtype": "float32"}
SQUARE_LAYER = {"inputs": 4, "outputs": 4}


def _manual(mistake=None):
    return lambda: style_torch_autograd.make_manual_grads(mistake)


def _module(mistake=None, layer=None, sizes=(3, 5, 2), activations=("tanh", "sigmoid"), float32=False):
    def build():
        return style_torch_autograd.make_module(
            list(sizes), list(activations), mistake, layer, torch.float32 if float32 else torch.float64
        )

    return build


def _square(mistake, layer):
    return _module(mistake, layer, (4, 4, 4), ("tanh", "sigmoid"))


def _logits(mistake=None, float32=False):
    return lambda: style_torch_autograd.make_linear_module([4, 6, 3], mistake, torch.float32 if float32 else None)


def _torch_layer(activation, mistake=None):
    return lambda: style_torch_autograd.make_layer(activation, mistake)


def _jax(make, *arguments):
    return lambda: make(*arguments)


TORCH_CORRECT = [
    FrameworkCase("torch-manual-float64", "torch", "function", _manual(), MANUAL),
    FrameworkCase("torch-manual-float32", "torch", "function", _manual(), MANUAL, FLOAT32),
    FrameworkCase("torch-module-float64", "torch", "module", _module(), MODULE),
    FrameworkCase("torch-module-float32", "torch", "module", _module(float32=True), MODULE),
    FrameworkCase("torch-logits-module", "torch", "module", _logits(), LOGITS),
    FrameworkCase("torch-logits-module-float32", "torch", "module", _logits(float32=True), LOGITS),
    FrameworkCase("torch-layer-sigmoid", "torch", "layer", _torch_layer("sigmoid"), "sigmoid"),
    FrameworkCase("torch-layer-relu-float32", "torch", "layer", _torch_layer("relu"), "relu", FLOAT32),
]

TORCH_BUGGY = [
    FrameworkCase("torch-manual-missing-mean", "torch", "function", _manual("missing_mean"), MANUAL, {},
                  "dlogits = probs − y, not / m", 2, MISSING_MEAN),
    FrameworkCase("torch-manual-transposed", "torch", "function", _manual("transposed"), MANUAL, FLOAT32,
                  "dW2 as hᵀ dlogits", 2, TRANSPOSED),
    FrameworkCase("torch-manual-bias-axis", "torch", "function", _manual("bias_axis"), MANUAL, {},
                  "db2 summed over the classes", 2, BIAS_AXIS),
    FrameworkCase("torch-manual-tanh-no-square", "torch", "function", _manual("tanh_no_square"), MANUAL, {},
                  "tanh′ as 1 − h", 1, TANH_NO_SQUARE),
    FrameworkCase("torch-manual-sign", "torch", "function", _manual("sign"), MANUAL, FLOAT32,
                  "dlogits = y − probs", 2, SIGN),
    FrameworkCase("torch-module-missing-prime", "torch", "module", _module("missing_prime", 1), MODULE, {},
                  "hidden Function's backward without tanh′", 1, MISSING_DERIVATIVE),
    FrameworkCase("torch-module-output-missing-prime", "torch", "module", _module("missing_prime", 2, float32=True),
                  MODULE, {}, "output Function's backward without σ′", 2, OUTPUT_PRIME),
    FrameworkCase("torch-module-prime-of-activation", "torch", "module", _module("prime_of_activation", 1), MODULE,
                  {}, "tanh′(a) for tanh′(z) in layer 1", 1, PRIME_OF_ACTIVATION),
    FrameworkCase("torch-module-sign", "torch", "module", _module("sign", 2), MODULE, {},
                  "output Function's backward negated", 2, SIGN),
    FrameworkCase("torch-module-double", "torch", "module", _module("double", 1, float32=True), MODULE, {},
                  "hidden Function's δ doubled", 1, DOUBLE),
    FrameworkCase("torch-module-bias-none", "torch", "module", _module("bias_none", 1), MODULE, {},
                  "the hidden Function returns None for the bias", 1, ZERO),
    FrameworkCase("torch-square-transposed", "torch", "module", _square("transposed", 1), SQUARE, {},
                  "dW as xᵀ d in a square layer", 1, TRANSPOSED),
    FrameworkCase("torch-square-untransposed-back", "torch", "module", _square("untransposed_back", 2), SQUARE, {},
                  "dx = d Wᵀ in the output layer", 1, UNTRANSPOSED),
    FrameworkCase("torch-logits-relu-from-one", "torch", "module", _logits("relu_from_one"), LOGITS, {},
                  "custom ReLU′ as z ≥ 1", 1, RELU_FROM_ONE),
    FrameworkCase("torch-logits-missing-mask", "torch", "module", _logits("missing_prime", float32=True), LOGITS, {},
                  "custom ReLU's backward without the mask", 1, MISSING_DERIVATIVE),
    FrameworkCase("torch-layer-missing-prime", "torch", "layer", _torch_layer("tanh", "missing_prime"), "tanh", {},
                  "the layer's backward without tanh′", 2, OUTPUT_PRIME),
    FrameworkCase("torch-layer-prime-of-activation", "torch", "layer", _torch_layer("sigmoid", "prime_of_activation"),
                  "sigmoid", FLOAT32, "σ′(a) for σ′(z)", 2, PRIME_OF_ACTIVATION),
    FrameworkCase("torch-layer-transposed", "torch", "layer", _torch_layer("tanh", "transposed"), "tanh", {},
                  "dW as xᵀ d (torch refuses the shape)", 2, WRONG_SHAPE),
    FrameworkCase("torch-layer-square-transposed", "torch", "layer", _torch_layer("tanh", "transposed"), "tanh",
                  SQUARE_LAYER, "dW as xᵀ d in a square layer", 2, TRANSPOSED),
    FrameworkCase("torch-layer-dx-without-w", "torch", "layer", _torch_layer("sigmoid", "dx_without_w"), "sigmoid",
                  SQUARE_LAYER, "dx = d (W forgotten): δ2 where ∂L/∂x = δ1 = δ2 W belongs", 2,
                  ("next layer's δ", "one layer off", "own weights")),
]  # fmt: skip

JAX_CORRECT = [
    FrameworkCase("jax-grads", "jax", "function", _jax(style_jax_vjp.make_grads), JAX_GRADS),
    FrameworkCase("jax-loss-custom-tanh", "jax", "loss", _jax(style_jax_vjp.make_loss), JAX_LOSS),
    FrameworkCase("jax-loss-custom-cross-entropy", "jax", "loss", _jax(style_jax_vjp.make_softmax_loss), JAX_SOFTMAX),
    FrameworkCase("jax-layer-tanh", "jax", "layer", _jax(style_jax_vjp.make_layer, "tanh"), "tanh"),
]

JAX_BUGGY = [
    FrameworkCase("jax-grads-missing-mean", "jax", "function", _jax(style_jax_vjp.make_grads, "missing_mean"),
                  JAX_GRADS, {}, "output δ not divided by m", 2, MISSING_MEAN),
    FrameworkCase("jax-grads-prime-of-activation", "jax", "function",
                  _jax(style_jax_vjp.make_grads, "prime_of_activation"), JAX_GRADS, {}, "σ′(a) in layer 1", 1,
                  PRIME_OF_ACTIVATION),
    FrameworkCase("jax-grads-transposed", "jax", "function", _jax(style_jax_vjp.make_grads, "transposed"), JAX_GRADS,
                  {}, "dW1 returned (in, out)", 1, TRANSPOSED),
    FrameworkCase("jax-loss-missing-prime", "jax", "loss", _jax(style_jax_vjp.make_loss, "missing_prime"), JAX_LOSS,
                  {}, "custom tanh's bwd returns g", 2, MISSING_DERIVATIVE),
    FrameworkCase("jax-loss-prime-of-activation", "jax", "loss",
                  _jax(style_jax_vjp.make_loss, "prime_of_activation", 1), JAX_LOSS, {},
                  "custom tanh's bwd: 1 − tanh(a)² in layer 1", 1, PRIME_OF_ACTIVATION),
    FrameworkCase("jax-loss-no-square", "jax", "loss", _jax(style_jax_vjp.make_loss, "no_square"), JAX_LOSS, {},
                  "custom tanh's bwd: 1 − a", 2, TANH_NO_SQUARE),
    FrameworkCase("jax-loss-sign", "jax", "loss", _jax(style_jax_vjp.make_loss, "sign"), JAX_LOSS, {},
                  "custom tanh's bwd negated", 2, SIGN),
    FrameworkCase("jax-cross-entropy-missing-mean", "jax", "loss",
                  _jax(style_jax_vjp.make_softmax_loss, "missing_mean"), JAX_SOFTMAX, {},
                  "custom cross-entropy bwd: p − y without 1/m", 2, MISSING_MEAN),
    FrameworkCase("jax-cross-entropy-without-target", "jax", "loss",
                  _jax(style_jax_vjp.make_softmax_loss, "without_target"), JAX_SOFTMAX, {},
                  "custom cross-entropy bwd: p/m", 2, WITHOUT_TARGET),
    FrameworkCase("jax-layer-missing-prime", "jax", "layer", _jax(style_jax_vjp.make_layer, "sigmoid", "missing_prime"),
                  "sigmoid", {}, "the layer's bwd without σ′", 2, OUTPUT_PRIME),
    FrameworkCase("jax-layer-square-transposed", "jax", "layer", _jax(style_jax_vjp.make_layer, "tanh", "transposed"),
                  "tanh", SQUARE_LAYER, "dW as xᵀ d in a square layer", 2, TRANSPOSED),
    FrameworkCase("jax-layer-bias-not-summed", "jax", "layer",
                  _jax(style_jax_vjp.make_layer, "tanh", "bias_not_summed"), "tanh", {},
                  "db = d: the sum over the batch forgotten (JAX refuses the shape)", 2, WRONG_SHAPE),
    FrameworkCase("jax-layer-half", "jax", "layer", _jax(style_jax_vjp.make_layer, "sigmoid", "half"), "sigmoid", {},
                  "the layer's δ halved", 2, HALF),
]  # fmt: skip

CORRECT = (TORCH_CORRECT if torch is not None else []) + (JAX_CORRECT if jax is not None else [])
BUGGY = (TORCH_BUGGY if torch is not None else []) + (JAX_BUGGY if jax is not None else [])
CASES = CORRECT + BUGGY
