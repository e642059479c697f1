"""A corpus of custom activations for the oracle tests, each with a hand-written mpmath reference.

The reference is written from the mathematical definition, not from the parsed expression, so that
the mpmath oracle also checks the parser (``max(x, 0)`` must mean the same as ``max(0, x)`` away
from the kink). ``large_z`` says whether f and f′ are finite (well inside float64's range) for every
|z| ≤ 1e4, mathematically; those expressions must also run without floating-point errors there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath as mp


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    reference: Callable[[Any], Any]
    large_z: bool = True


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + mp.exp(-x))


CORPUS: tuple[Case, ...] = (
    Case("softsign", "x/(1+abs(x))", lambda x: x / (1 + abs(x))),
    Case("mish_written_out", "x*tanh(log(1+exp(x)))", lambda x: x * mp.tanh(mp.log1p(mp.exp(x)))),
    Case("swish", "x*sigmoid(x)", lambda x: x * _sigmoid(x)),
    Case("erf_act", "erf(x)", lambda x: mp.erf(x)),
    Case("x_erf", "x*erf(x)", lambda x: x * mp.erf(x)),
    Case("square_plus_relu", "x**2 + max(0, x)", lambda x: x**2 + max(0, x)),
    Case("sin_plus_min", "sin(x) + min(x, 0)", lambda x: mp.sin(x) + min(x, 0)),
    Case("relu_swapped", "max(x, 0)", lambda x: max(x, 0)),
    Case("negative_part", "min(0, x)", lambda x: min(0, x)),
    Case("max_one", "max(x, 1)", lambda x: max(x, 1)),
    Case("relu_squared", "max(0, x)**2", lambda x: max(0, x) ** 2),
    Case("abs_plus_x", "abs(x) + x", lambda x: abs(x) + x),
    Case("relu_plus_half", "max(0,x) + x/2", lambda x: max(0, x) + x / 2),
    Case("softplus_fn", "softplus(x)", lambda x: mp.log1p(mp.exp(x))),
    Case("log_one_plus_exp", "log(1+exp(x))", lambda x: mp.log1p(mp.exp(x))),
    Case("pseudo_huber", "sqrt(1+x**2) - 1", lambda x: mp.sqrt(1 + x**2) - 1),
    Case("arctan", "atan(x)", lambda x: mp.atan(x)),
    Case("tanh_squared_plus_x", "tanh(x)**2 + x", lambda x: mp.tanh(x) ** 2 + x),
    Case("hard_tanh", "max(min(x, 1), -1)", lambda x: max(min(x, 1), -1)),
    Case(
        "selu_like",
        "1.0507*(max(0,x) + min(0, 1.67326*(exp(x)-1)))",
        lambda x: mp.mpf("1.0507") * (max(0, x) + min(0, mp.mpf("1.67326") * mp.expm1(x))),
    ),
    Case("expm1_act", "exp(x) - 1", lambda x: mp.expm1(x), large_z=False),
    Case("log_one_plus_square", "log(1 + x**2)", lambda x: mp.log1p(x**2)),
    Case("cosh_act", "cosh(x)", lambda x: mp.cosh(x), large_z=False),
    Case("sinh_act", "sinh(x)", lambda x: mp.sinh(x), large_z=False),
    Case("cubic_caret", "x^3/3 + x", lambda x: x**3 / 3 + x),
    Case("gaussian", "e^(-x^2/2)", lambda x: mp.exp(-(x**2) / 2)),
    Case("quick_gelu", "x*sigmoid(1.702*x)", lambda x: x * _sigmoid(mp.mpf("1.702") * x)),
    Case("hard_swish", "x*min(max(x+3,0),6)/6", lambda x: x * min(max(x + 3, 0), 6) / 6),
    Case("soft_shrink", "x - min(max(x,-0.5),0.5)", lambda x: x - min(max(x, mp.mpf("-0.5")), mp.mpf("0.5"))),
    Case(
        "smoothstep",
        "3*min(max(x,0),1)^2 - 2*min(max(x,0),1)^3",
        lambda x: 3 * min(max(x, 0), 1) ** 2 - 2 * min(max(x, 0), 1) ** 3,
    ),
    Case("elu_written_out", "max(0,x) + min(0, exp(x)-1)", lambda x: max(0, x) + min(0, mp.expm1(x))),
    Case("log_sigmoid", "log(sigmoid(x))", lambda x: -mp.log1p(mp.exp(-x))),
    Case("tanh_exp", "x*tanh(exp(x))", lambda x: x * mp.tanh(mp.exp(x)), large_z=False),
    Case("scaled_atan", "2*atan(x)/pi", lambda x: 2 * mp.atan(x) / mp.pi),
    Case("cos_plus_x", "cos(x) + x", lambda x: mp.cos(x) + x),
    Case("isru", "x/sqrt(1 + x^2)", lambda x: x / mp.sqrt(1 + x**2)),
    Case("tan_eighth", "tan(x/8)", lambda x: mp.tan(x / 8), large_z=False),
    Case("two_pow", "2^x - x", lambda x: mp.power(2, x) - x, large_z=False),
)

#: The hand-written references by name, as the oracles take them.
REFERENCES: dict[str, Callable[[Any], Any]] = {case.name: case.reference for case in CORPUS}
