"""A held-out corpus of hand-written back-propagation: nine coding styles, correct and buggy.

Each :class:`Case` is one implementation as a user would hand it to ``check_gradients``: the code
(a function ``grads(params, X, Y)``, an object with forward/backward, or an ``ObjectAdapter``),
the network it was written for, and only the options the README says a user must give (the weight
layout of a network whose layers are square, ``reduction="sum"`` for summed gradients that come
without their loss, the user's key names). The modules ``style_*`` are written the way people
write back-propagation, independently of symbackprop's catalogue: several mistakes here are in no
catalogue (σ′ as s(1 + s), a leaky slope of 0.01, ELU′ without α, softmax treated elementwise,
δ of the wrong layer, swapped layers, a wrong constant, a stray offset, ReLU′ as z ≥ 1).

A buggy case says where its mistake sits (``layer``: the layer nearest the output whose step is
wrong) and how a diagnosis would name it (``names``: lower-case keywords or phrases, any one of
which in the checker's diagnosis text means the mistake was named).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import (
    style_coursera,
    style_cs231n,
    style_einsum,
    style_index_loops,
    style_keras,
    style_nielsen,
    style_objects,
    style_torch_names,
    style_unrolled,
)

STYLES = (
    "nielsen",
    "objects",
    "keras",
    "coursera",
    "torch_names",
    "cs231n",
    "einsum",
    "index_loops",
    "unrolled",
)


@dataclass(frozen=True, eq=False)
class Case:
    """One hand-written implementation; buggy when ``layer`` is set."""

    name: str
    style: str
    #: A function grads(params, X, Y), an object with forward/backward, or an ObjectAdapter.
    target: Any
    #: The network in compact form: "sizes activations : loss".
    network: str
    #: The options of check_gradients a user must give for this code.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: The mistake in a few words ("" for a correct implementation).
    mistake: str = ""
    #: The layer nearest the output whose step is wrong (None: correct).
    layer: int | None = None
    #: Lower-case alternatives, any one of which in the diagnosis names the mistake.
    names: tuple[str, ...] = ()

    @property
    def buggy(self) -> bool:
        return self.layer is not None


# The ways a diagnosis may name each mistake (lower case; matched as substrings).
MISSING_MEAN = ("1/m", "m times too large", "batch mean", "not averaged", "not divided by m")
EXTRA_MEAN = ("m times too small", "divided by m", "once too often", "extra 1/m", "1/m²", "1/m too many")
DOUBLE = ("twice", "2 times the correct", "factor 2 too many", "factor 2 too large", "doubled")
HALF = ("half", "0.5 times", "factor 2 is missing", "factor 2 too small", "½")
SIGN = ("wrong sign", "sign is flipped", "sign flipped", "y − ŷ", "y - ŷ", "ascent", "negated", "−1 times", "-1 times")
TRANSPOSED = ("transpos",)
MISSING_DERIVATIVE = ("misses f′", "missing f′", "not multiplied by the derivative", "without f′", "f′(z) is missing")
PRIME_OF_ACTIVATION = ("instead of z", "f′(a)", "applied to a", "′(a)", "at a instead")
OUTPUT_WITHOUT_PRIME = ("not passed through", "∂l/∂ŷ", "output activation's derivative", "without the output f′")
WITHOUT_TARGET = ("ŷ where ŷ − y", "ŷ instead of ŷ − y", "not subtracted", "target y", "without y", "subtract 1")
BIAS_AXIS = ("over the units", "wrong axis", "summed over the features", "axis=1", "axis=0")
BIAS_EVERYTHING = ("one number", "samples and the units", "over everything", "a scalar", "over both axes")
ACCUMULATING = ("accumulat",)
ZERO = ("zero", "left at 0", "never set", "not computed", "all 0")
SIGMOID_PLUS = ("s(1+s)", "s(1 + s)", "σ(1+σ)", "σ(1 + σ)", "a(1+a)", "a(1 + a)", "(1 + σ)", "1 + a", "+ for −")
TANH_NO_SQUARE = ("1 − tanh(z)", "1 - tanh(z)", "1 − tanh", "1 - tanh", "not squared", "without the square")
LEAKY_SLOPE = ("0.01", "slope 1e-2", "default slope")
ELU_ALPHA = (
    "without α",
    "without alpha",
    "missing α",
    "missing alpha",
    "α is missing",
    "times α",
    "eᶻ",
    "e^z",
    "exp(z)",
)
SOFTMAX_DIAGONAL = ("diagonal", "elementwise", "element-wise", "full jacobian", "p(1 − p)", "p(1-p)", "p(1 - p)")
NEXT_DELTA_2 = (
    "δ3 where δ2",
    "δ3 instead of δ2",
    "δ3 in place of δ2",
    "δ⁽³⁾",
    "next layer's δ",
    "δ of the next layer",
    "δ of layer 3",
    "layer 3's δ",
    "one layer off",
    "off by one layer",
)
SWAPPED = ("swap", "exchanged", "interchanged", "mixed up", "layer 2's gradient", "gradient of layer 2")
A1_FOR_A2 = ("a1 where a2", "a1 instead of a2", "uses a1", "a⁽¹⁾", "with a1")
MSE_OUTPUTS = ("1/n_l", "n_l", "1/n", "number of outputs", "mean over the outputs", "averaged over the outputs")
GELU_POWER_RULE = ("0.134145", "3·0.044715", "3 * 0.044715", "3*0.044715", "0.044715", "power rule", "x³", "cubic")
STRAY_OFFSET = ("1e-3", "1e-03", "0.001", "1.0e-03", "offset", "added constant", "constant added", "shifted by")
THREE_FOR_TWO = ("1.5 times", "factor 1.5", "3(ŷ", "3 (ŷ", "constant 3", "3/2")
RELU_FROM_ONE = (">= 1", "≥ 1", "z ≥ 1", "threshold 1", "at 1 instead of 0", "kink at 1", "shifted kink", "step at 1")
UNTRANSPOSED_W3 = ("w3ᵀ", "transpose of w3", "untransposed", "not transposed", "w[j][i]", "wrong orientation")
OWN_WEIGHTS_W2 = ("w2 where w3", "w2 instead of w3", "wrong layer's weights", "own weights")
OWN_WEIGHTS_W1 = ("w1 where w2", "w1 instead of w2", "wrong layer's weights", "own weights")

# The networks (widths at most 8).
NIELSEN = "3 -> 5 sigmoid -> 2 sigmoid : half_sse"
NIELSEN_SQUARE = "4 -> 4 sigmoid -> 4 sigmoid -> 4 sigmoid : sse"
THREE_LAYER = "3 -> 5 tanh -> 4 relu -> 2 sigmoid : bce"
LAYERED = "5 -> 7 elu(0.5) -> 3 softmax : cce"
KERAS = "2 -> 8 tanh -> 1 sigmoid : bce"
KERAS_SQUARE = "4 -> 4 leaky_relu(0.1) -> 4 elu(0.5) -> 4 sigmoid : mse"
KERAS_MSE = "3 -> 6 relu -> 5 relu -> 3 identity : mse"
COURSERA = "3 -> 6 relu -> 4 relu -> 1 sigmoid : bce"
COURSERA_SQUARE = "5 -> 5 tanh -> 5 softmax : cce"
TORCH_NUMPY = "4 -> 8 relu -> 3 softmax : cce"
TORCH = "3 -> 6 elu(0.5) -> 5 tanh -> 2 identity : mse"
CS231N = "4 -> 6 relu -> 3 softmax : cce"
CS231N_DEEP = "5 -> 7 leaky_relu(0.1) -> 6 tanh -> 4 softmax : cce"
EINSUM = "3 -> 4 tanh -> 2 identity : sse"
EINSUM_SQUARE = "4 -> 4 softplus -> 4 softmax : cce"
EINSUM_DEEP = "3 -> 5 gelu_tanh -> 5 sigmoid -> 2 sigmoid : bce"
INDEX = "3 -> 4 sigmoid -> 2 sigmoid : bce"
INDEX_SQUARE = "3 -> 3 leaky_relu(0.1) -> 3 tanh -> 3 identity : half_sse"
UNROLLED_SQUARE = "4 -> 4 tanh -> 4 tanh -> 4 sigmoid : bce"
UNROLLED_DEEP = "3 -> 5 leaky_relu(0.1) -> 4 elu(0.5) -> 3 tanh -> 2 sigmoid : bce"
UNROLLED_SIGMOID = "3 -> 4 sigmoid -> 4 sigmoid -> 2 sigmoid : mse"

OUT_IN = {"weight_layout": "out_in"}
IN_OUT = {"weight_layout": "in_out"}
TORCH_NAMES = {"names": style_torch_names.NAMES_3, "grad_names": style_torch_names.GRAD_NAMES_3}


def _nielsen(mistake=None, square=False):
    if square:
        return style_nielsen.make_grads(3, cost="sse", samples="columns", average=False, mistake=mistake)
    return style_nielsen.make_grads(2, cost="half_sse", samples="rows", mistake=mistake)


NIELSEN_SQUARE_OPTIONS = {**OUT_IN, "reduction": "sum"}

CORRECT = [
    Case("nielsen-rows", "nielsen", _nielsen(), NIELSEN),
    Case("nielsen-columns-square-summed", "nielsen", _nielsen(square=True), NIELSEN_SQUARE, NIELSEN_SQUARE_OPTIONS),
    Case("objects-attributes", "objects", style_objects.ThreeLayerNet(), THREE_LAYER),
    Case("objects-layers-float32", "objects", style_objects.layered_adapter(), LAYERED),
    Case("keras", "keras", style_keras.make_grads(["tanh", "sigmoid"], "bce"), KERAS),
    Case(
        "keras-square",
        "keras",
        style_keras.make_grads([("leaky_relu", 0.1), ("elu", 0.5), "sigmoid"], "mse"),
        KERAS_SQUARE,
        IN_OUT,
    ),
    Case("keras-mse", "keras", style_keras.make_grads(["relu", "relu", "identity"], "mse"), KERAS_MSE),
    Case("coursera", "coursera", style_coursera.make_grads(["relu", "relu", "sigmoid"]), COURSERA),
    Case("coursera-square", "coursera", style_coursera.make_grads(["tanh", "softmax"]), COURSERA_SQUARE, OUT_IN),
    Case(
        "torch-names-numpy-float32",
        "torch_names",
        style_torch_names.make_numpy_grads(),
        TORCH_NUMPY,
        {"names": style_torch_names.NAMES_2},
    ),
    Case("torch-names-tensors-float32", "torch_names", style_torch_names.make_torch_grads(), TORCH, TORCH_NAMES),
    Case("cs231n", "cs231n", style_cs231n.make_two_layer(), CS231N),
    Case("cs231n-deep-indices-given", "cs231n", style_cs231n.make_three_layer(), CS231N_DEEP, {"targets": "indices"}),
    Case("einsum-loss-returned", "einsum", style_einsum.make_regression(), EINSUM),
    Case(
        "einsum-square-summed",
        "einsum",
        style_einsum.make_classifier(),
        EINSUM_SQUARE,
        {**OUT_IN, "reduction": "sum"},
    ),
    Case("einsum-deep", "einsum", style_einsum.make_deep(), EINSUM_DEEP),
    Case("index-loops", "index_loops", style_index_loops.make_grads(["sigmoid", "sigmoid"], "bce"), INDEX),
    Case(
        "index-loops-square",
        "index_loops",
        style_index_loops.make_grads([("leaky_relu", 0.1), "tanh", "identity"], "half_sse"),
        INDEX_SQUARE,
        OUT_IN,
    ),
    Case("unrolled-square", "unrolled", style_unrolled.make_square(), UNROLLED_SQUARE, OUT_IN),
    Case("unrolled-three-hidden", "unrolled", style_unrolled.make_deep(), UNROLLED_DEEP),
]


def _bug(name, style, target, network, options, mistake, layer, names):
    return Case(name, style, target, network, options, mistake, layer, names)


def _keras(activations, loss, mistake, layer=None):
    return style_keras.make_grads(activations, loss, mistake, layer)


def _index(activations, loss, mistake, layer=None):
    return style_index_loops.make_grads(activations, loss, mistake, layer)


KERAS_SQUARE_ACTIVATIONS = [("leaky_relu", 0.1), ("elu", 0.5), "sigmoid"]
INDEX_SQUARE_ACTIVATIONS = [("leaky_relu", 0.1), "tanh", "identity"]

BUGGY = [
    # 1. Nielsen
    _bug("nielsen-sigmoid-prime-plus", "nielsen", _nielsen("sigmoid_prime_plus"), NIELSEN, {},
         "σ′ written as s(1 + s) in every layer", 2, SIGMOID_PLUS),
    _bug("nielsen-output-without-prime", "nielsen", _nielsen("output_without_prime"), NIELSEN, {},
         "output δ without σ′(z)", 2, OUTPUT_WITHOUT_PRIME),
    _bug("nielsen-missing-mean", "nielsen", _nielsen("missing_mean"), NIELSEN, {},
         "summed where the mean was meant (missing 1/m)", 2, MISSING_MEAN),
    _bug("nielsen-accumulating", "nielsen", _nielsen("accumulating"), NIELSEN, {},
         "running sums kept across calls (then divided by this batch's m)", 2, ACCUMULATING),
    _bug("nielsen-square-prime-of-activation", "nielsen", _nielsen("prime_of_activation", square=True),
         NIELSEN_SQUARE, NIELSEN_SQUARE_OPTIONS, "σ′(a) for σ′(z) in layer 2", 2, PRIME_OF_ACTIVATION),
    _bug("nielsen-square-delta-of-next-layer", "nielsen", _nielsen("delta_of_next_layer", square=True),
         NIELSEN_SQUARE, NIELSEN_SQUARE_OPTIONS, "dW_l, db_l from δ of layer l + 1", 2, NEXT_DELTA_2),
    _bug("nielsen-square-layers-swapped", "nielsen", _nielsen("layers_swapped", square=True),
         NIELSEN_SQUARE, NIELSEN_SQUARE_OPTIONS, "gradients of layers 2 and 3 swapped", 3, SWAPPED),
    # 2. Objects
    _bug("objects-sign", "objects", style_objects.ThreeLayerNet(mistake="sign"), THREE_LAYER, {},
         "output δ = y − ŷ (sign flipped)", 3, SIGN),
    _bug("objects-db2-left-zero", "objects", style_objects.ThreeLayerNet(mistake="db_left_zero"), THREE_LAYER, {},
         "hidden db2 left at zero", 2, ZERO),
    _bug("objects-tanh-no-square", "objects", style_objects.ThreeLayerNet(mistake="tanh_no_square"), THREE_LAYER, {},
         "tanh′ as 1 − tanh(z)", 1, TANH_NO_SQUARE),
    _bug("objects-layers-accumulating", "objects", style_objects.layered_adapter("accumulating"), LAYERED, {},
         "dW += ... never zeroed (accumulating across calls)", 2, ACCUMULATING),
    _bug("objects-layers-extra-mean", "objects", style_objects.layered_adapter("extra_mean"), LAYERED, {},
         "dW divided by m once more (extra 1/m)", 2, EXTRA_MEAN),
    _bug("objects-layers-elu-without-alpha", "objects", style_objects.layered_adapter("elu_without_alpha"), LAYERED,
         {}, "ELU′ = eᶻ without α", 1, ELU_ALPHA),
    # 3. Keras
    _bug("keras-square-leaky-slope", "keras", _keras(KERAS_SQUARE_ACTIVATIONS, "mse", "leaky_slope_default"),
         KERAS_SQUARE, IN_OUT, "LeakyReLU′ with slope 0.01 where α = 0.1", 1, LEAKY_SLOPE),
    _bug("keras-square-prime-of-activation", "keras",
         _keras(KERAS_SQUARE_ACTIVATIONS, "mse", "prime_of_activation", 2), KERAS_SQUARE, IN_OUT,
         "ELU′(a) for ELU′(z) in layer 2", 2, PRIME_OF_ACTIVATION),
    _bug("keras-mse-without-outputs", "keras", _keras(["relu", "relu", "identity"], "mse", "mse_without_outputs"),
         KERAS_MSE, {}, "mse gradient without its 1/n_L", 3, MSE_OUTPUTS),
    _bug("keras-bias-axis", "keras", _keras(["relu", "relu", "identity"], "mse", "bias_axis", 2), KERAS_MSE, {},
         "db2 summed over axis 1 (the units)", 2, BIAS_AXIS),
    _bug("keras-relu-from-one", "keras", _keras(["relu", "relu", "identity"], "mse", "relu_from_one"), KERAS_MSE, {},
         "ReLU′ as z >= 1", 2, RELU_FROM_ONE),
    _bug("keras-missing-mean", "keras", _keras(["tanh", "sigmoid"], "bce", "missing_mean"), KERAS, {},
         "output dZ not divided by m", 2, MISSING_MEAN),
    _bug("keras-transposed", "keras", _keras(["tanh", "sigmoid"], "bce", "transposed", 2), KERAS, {},
         "dW2 transposed", 2, TRANSPOSED),
    # 4. Coursera
    _bug("coursera-sign", "coursera", style_coursera.make_grads(["relu", "relu", "sigmoid"], "sign"), COURSERA, {},
         "dAL with the minus sign dropped", 3, SIGN),
    _bug("coursera-transposed", "coursera", style_coursera.make_grads(["relu", "relu", "sigmoid"], "transposed", 2),
         COURSERA, {}, "dW2 = A_prev dZᵀ (transposed)", 2, TRANSPOSED),
    _bug("coursera-bias-axis", "coursera", style_coursera.make_grads(["relu", "relu", "sigmoid"], "bias_axis"),
         COURSERA, {}, "db summed over axis 0 (the units) in every layer", 3, BIAS_AXIS),
    _bug("coursera-extra-mean", "coursera", style_coursera.make_grads(["relu", "relu", "sigmoid"], "extra_mean"),
         COURSERA, {}, "dA_prev = 1/m Wᵀ dZ (extra 1/m below the output)", 2, EXTRA_MEAN),
    _bug("coursera-square-missing-derivative", "coursera",
         style_coursera.make_grads(["tanh", "softmax"], "missing_derivative", 1), COURSERA_SQUARE, OUT_IN,
         "tanh_backward left out in layer 1", 1, MISSING_DERIVATIVE),
    _bug("coursera-square-own-weights", "coursera", style_coursera.make_grads(["tanh", "softmax"], "own_weights"),
         COURSERA_SQUARE, OUT_IN, "dA1 = W1ᵀ dZ2 (W of the layer itself, not the next)", 1, OWN_WEIGHTS_W1),
    # 5. PyTorch names, float32
    _bug("torch-numpy-missing-mean", "torch_names", style_torch_names.make_numpy_grads("missing_mean"), TORCH_NUMPY,
         {"names": style_torch_names.NAMES_2}, "dlogits not divided by N", 2, MISSING_MEAN),
    _bug("torch-numpy-transposed", "torch_names", style_torch_names.make_numpy_grads("transposed"), TORCH_NUMPY,
         {"names": style_torch_names.NAMES_2}, "fc2.weight's gradient transposed", 2, TRANSPOSED),
    _bug("torch-missing-derivative", "torch_names", style_torch_names.make_torch_grads(mistake="missing_derivative"),
         TORCH, TORCH_NAMES, "tanh′ left out in layer 2", 2, MISSING_DERIVATIVE),
    _bug("torch-half", "torch_names", style_torch_names.make_torch_grads(mistake="half"), TORCH, TORCH_NAMES,
         "mse gradient without its 2", 3, HALF),
    _bug("torch-prime-of-activation", "torch_names",
         style_torch_names.make_torch_grads(mistake="prime_of_activation"), TORCH, TORCH_NAMES,
         "tanh′ taken at the tanh's output", 2, PRIME_OF_ACTIVATION),
    # 6. CS231n, class indices
    _bug("cs231n-softmax-diagonal", "cs231n", style_cs231n.make_two_layer("softmax_diagonal"), CS231N, {},
         "softmax + cce through the diagonal of the softmax Jacobian only", 2, SOFTMAX_DIAGONAL),
    _bug("cs231n-missing-mean", "cs231n", style_cs231n.make_two_layer("missing_mean"), CS231N, {},
         "dscores not divided by N", 2, MISSING_MEAN),
    _bug("cs231n-missing-relu-mask", "cs231n", style_cs231n.make_two_layer("missing_relu_mask"), CS231N, {},
         "dhidden not masked by ReLU′", 1, MISSING_DERIVATIVE),
    _bug("cs231n-deep-without-target", "cs231n", style_cs231n.make_three_layer(mistake="without_target"),
         CS231N_DEEP, {}, "dscores = probs (the −1 at the class forgotten)", 3, WITHOUT_TARGET),
    _bug("cs231n-deep-bias-axis", "cs231n", style_cs231n.make_three_layer(mistake="bias_axis"), CS231N_DEEP, {},
         "db3 = np.sum(dscores, axis=1)", 3, BIAS_AXIS),
    _bug("cs231n-deep-tanh-no-square", "cs231n", style_cs231n.make_three_layer(mistake="tanh_no_square"),
         CS231N_DEEP, {}, "tanh′ as 1 − tanh(z)", 2, TANH_NO_SQUARE),
    # 7. einsum, summed losses
    _bug("einsum-half", "einsum", style_einsum.make_regression("half"), EINSUM, {},
         "sse gradient without its 2", 2, HALF),
    _bug("einsum-bias-everything", "einsum", style_einsum.make_regression("bias_everything"), EINSUM, {},
         "db1 = einsum('mi->', d1): one number", 1, BIAS_EVERYTHING),
    _bug("einsum-stray-offset", "einsum", style_einsum.make_regression("stray_offset"), EINSUM, {},
         "a stray + 1e-3 on db1", 1, STRAY_OFFSET),
    _bug("einsum-three-for-two", "einsum", style_einsum.make_regression("three_for_two"), EINSUM, {},
         "sse gradient 3(ŷ − y) for 2(ŷ − y)", 2, THREE_FOR_TWO),
    _bug("einsum-square-extra-mean", "einsum", style_einsum.make_classifier("extra_mean"), EINSUM_SQUARE,
         {**OUT_IN, "reduction": "sum"}, "divided by m although the loss is summed", 2, EXTRA_MEAN),
    _bug("einsum-square-transposed", "einsum", style_einsum.make_classifier("transposed"), EINSUM_SQUARE,
         {**OUT_IN, "reduction": "sum"}, "dW1 as einsum('mi,mj->ji')", 1, TRANSPOSED),
    _bug("einsum-deep-a1-for-a2", "einsum", style_einsum.make_deep("a1_for_a2"), EINSUM_DEEP, {},
         "dW3 computed with a⁽¹⁾ instead of a⁽²⁾", 3, A1_FOR_A2),
    _bug("einsum-deep-gelu-power-rule", "einsum", style_einsum.make_deep("gelu_power_rule"), EINSUM_DEEP, {},
         "GELU′ (tanh form) without the 3 of the power rule", 1, GELU_POWER_RULE),
    # 8. index loops
    _bug("index-square-leaky-slope", "index_loops", _index(INDEX_SQUARE_ACTIVATIONS, "half_sse", "leaky_slope_default"),
         INDEX_SQUARE, OUT_IN, "LeakyReLU′ with slope 0.01 where α = 0.1", 1, LEAKY_SLOPE),
    _bug("index-square-untransposed", "index_loops",
         _index(INDEX_SQUARE_ACTIVATIONS, "half_sse", "untransposed", 2), INDEX_SQUARE, OUT_IN,
         "δ_j = f′(z_j) Σ_i w_ji δ_i (W3 untransposed)", 2, UNTRANSPOSED_W3),
    _bug("index-square-swapped-indices", "index_loops",
         _index(INDEX_SQUARE_ACTIVATIONS, "half_sse", "swapped_indices", 2), INDEX_SQUARE, OUT_IN,
         "∂L/∂w_ij += δ_j a_i (dW2 transposed)", 2, TRANSPOSED),
    _bug("index-square-double", "index_loops", _index(INDEX_SQUARE_ACTIVATIONS, "half_sse", "double"),
         INDEX_SQUARE, OUT_IN, "half_sse gradient 2(ŷ − y) (the ½ forgotten)", 3, DOUBLE),
    _bug("index-prime-of-activation", "index_loops", _index(["sigmoid", "sigmoid"], "bce", "prime_of_activation", 1),
         INDEX, {}, "σ′(a) for σ′(z) in layer 1", 1, PRIME_OF_ACTIVATION),
    _bug("index-db1-left-zero", "index_loops", _index(["sigmoid", "sigmoid"], "bce", "db1_left_zero"), INDEX, {},
         "db1 left at zero (bias loop from layer 2)", 1, ZERO),
    # 9. one line per layer
    _bug("unrolled-square-delta-of-next-layer", "unrolled", style_unrolled.make_square("delta_of_next_layer"),
         UNROLLED_SQUARE, OUT_IN, "dW_l, db_l from δ of layer l + 1", 2, NEXT_DELTA_2),
    _bug("unrolled-square-layers-swapped", "unrolled", style_unrolled.make_square("layers_swapped"),
         UNROLLED_SQUARE, OUT_IN, "gradients of layers 2 and 3 swapped", 3, SWAPPED),
    _bug("unrolled-square-own-weights", "unrolled", style_unrolled.make_square("own_weights"), UNROLLED_SQUARE,
         OUT_IN, "D2 = (D3 @ W2) * ...: W2 where W3 belongs", 2, OWN_WEIGHTS_W2),
    _bug("unrolled-square-a1-for-a2", "unrolled", style_unrolled.make_square("a1_for_a2"), UNROLLED_SQUARE, OUT_IN,
         "dW3 computed with a⁽¹⁾ instead of a⁽²⁾", 3, A1_FOR_A2),
    _bug("unrolled-deep-elu-without-alpha", "unrolled", style_unrolled.make_deep("elu_without_alpha"),
         UNROLLED_DEEP, {}, "ELU′ = eᶻ without α", 2, ELU_ALPHA),
    _bug("unrolled-deep-tanh-no-square", "unrolled", style_unrolled.make_deep("tanh_no_square"), UNROLLED_DEEP, {},
         "tanh′ as 1 − tanh(z)", 3, TANH_NO_SQUARE),
    _bug("unrolled-sigmoid-prime-plus", "unrolled", style_unrolled.make_sigmoid_mse("sigmoid_prime_plus"),
         UNROLLED_SIGMOID, {}, "σ′ written as s(1 + s) in every layer", 3, SIGMOID_PLUS),
]  # fmt: skip

if style_torch_names.torch is None:
    # Without torch (an optional extra) the implementations on torch tensors are left out; the
    # style keeps its NumPy ones.
    CORRECT = [case for case in CORRECT if case.network != TORCH]
    BUGGY = [case for case in BUGGY if case.network != TORCH]

CASES = CORRECT + BUGGY
