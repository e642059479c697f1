"""Independent oracles for the generated modules: PyTorch autograd in float64 and mpmath at 50 digits.

Nothing here imports the derivation, the printers or the code generator. A network is read only as
data (its widths, the names and parameters of its activations, the name of its loss); built-in
activations and the losses are restated here by name from their textbook definitions, and a custom
activation's SymPy expression is evaluated by the small tree walkers below (:func:`torch_eval`,
:func:`mp_eval`), which know nothing of symbackprop's printers.

An activation or a loss that has no oracle here raises ``NotImplementedError`` naming it, so that a
new registry entry cannot pass unchecked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

#: Working precision of the mpmath oracle, in decimal digits.
MP_DIGITS = 50
#: Relative step of the mpmath central differences (truncation ~1e-40, rounding ~1e-30 at 50 digits).
MP_STEP = mpmath.mpf("1e-20")

Params = dict[str, np.ndarray]


# --------------------------------------------------------------------------------------------------
# Reading a network as data


def parameters_of(activation: Any) -> dict[str, Any]:
    """The exact parameters of an activation (``{"alpha": 1/5}`` for ``leaky_relu(0.2)``)."""
    return {str(symbol): value for symbol, value in activation.parameters}


def is_custom(activation: Any) -> bool:
    """A custom activation carries the text it was defined from; built-ins carry none."""
    return getattr(activation, "definition", None) is not None


def parameter_names(depth: int) -> list[str]:
    return [name for k in range(1, depth + 1) for name in (f"W{k}", f"b{k}")]


# --------------------------------------------------------------------------------------------------
# SymPy expression → torch, by walking the tree


def _relational(expr: sp.Basic, lhs: Any, rhs: Any, lib: str) -> Any:
    if isinstance(expr, sp.LessThan):
        return lhs <= rhs
    if isinstance(expr, sp.StrictLessThan):
        return lhs < rhs
    if isinstance(expr, sp.GreaterThan):
        return lhs >= rhs
    if isinstance(expr, sp.StrictGreaterThan):
        return lhs > rhs
    if isinstance(expr, sp.Equality):
        return lhs == rhs
    if isinstance(expr, sp.Unequality):
        return lhs != rhs
    raise NotImplementedError(f"the {lib} oracle has no form for the relation {type(expr).__name__}: {expr}")


def _torch_functions() -> dict[type, Callable[[Any], Any]]:
    import torch

    return {
        sp.exp: torch.exp,
        sp.log: torch.log,
        sp.Abs: torch.abs,
        sp.tanh: torch.tanh,
        sp.sinh: torch.sinh,
        sp.cosh: torch.cosh,
        sp.sin: torch.sin,
        sp.cos: torch.cos,
        sp.tan: torch.tan,
        sp.atan: torch.atan,
        sp.erf: torch.special.erf,
    }


def torch_eval(expr: sp.Basic, x: Any) -> Any:
    """The value of a SymPy expression in the symbol ``x`` at the torch tensor ``x`` (float64)."""
    import torch

    functions = _torch_functions()

    def number(value: sp.Basic) -> Any:
        return torch.tensor(float(value), dtype=x.dtype)

    def walk(node: sp.Basic) -> Any:
        if node.is_Symbol:
            if node.name != "x":
                raise NotImplementedError(f"the torch oracle knows only the symbol x, not {node}")
            return x
        if node.is_Number or node.is_NumberSymbol:  # integers, rationals, floats, pi, E
            return number(node)
        if isinstance(node, sp.Add):
            result = walk(node.args[0])
            for arg in node.args[1:]:
                result = result + walk(arg)
            return result
        if isinstance(node, sp.Mul):
            result = walk(node.args[0])
            for arg in node.args[1:]:
                result = result * walk(arg)
            return result
        if isinstance(node, sp.Pow):
            base, exponent = node.args
            if exponent == sp.Rational(1, 2):
                return torch.sqrt(walk(base))
            if exponent == sp.Rational(-1, 2):
                return torch.rsqrt(walk(base))
            if exponent.is_Integer:
                return torch.pow(walk(base), int(exponent))
            if exponent.is_Number:
                return torch.pow(walk(base), float(exponent))
            return torch.pow(walk(base), walk(exponent))
        if isinstance(node, sp.Piecewise):
            result = None
            for value, condition in reversed(node.args):
                branch = walk(value)
                if result is None:
                    if condition != sp.true:
                        raise NotImplementedError(f"the torch oracle needs a Piecewise ending in True: {node}")
                    result = branch
                else:
                    result = torch.where(condition_of(condition), branch, result)
            return result
        for kind, function in functions.items():
            if isinstance(node, kind):
                (argument,) = node.args
                return function(walk(argument))
        raise NotImplementedError(f"the torch oracle has no form for {type(node).__name__}: {node}")

    def condition_of(node: sp.Basic) -> Any:
        if node == sp.true:
            return torch.ones_like(x, dtype=torch.bool)
        if node == sp.false:
            return torch.zeros_like(x, dtype=torch.bool)
        if isinstance(node, sp.And):
            result = condition_of(node.args[0])
            for arg in node.args[1:]:
                result = result & condition_of(arg)
            return result
        if isinstance(node, sp.Or):
            result = condition_of(node.args[0])
            for arg in node.args[1:]:
                result = result | condition_of(arg)
            return result
        if isinstance(node, sp.Not):
            return ~condition_of(node.args[0])
        if isinstance(node, sp.ITE):
            test, then, otherwise = node.args
            return torch.where(condition_of(test), condition_of(then), condition_of(otherwise))
        if isinstance(node, sp.core.relational.Relational):
            return _relational(node, walk(node.lhs), walk(node.rhs), "torch") & torch.ones_like(x, dtype=torch.bool)
        raise NotImplementedError(f"the torch oracle has no form for the condition {type(node).__name__}: {node}")

    return walk(expr)


# --------------------------------------------------------------------------------------------------
# SymPy expression → mpmath, by walking the tree

_MP_FUNCTIONS: dict[type, Callable[[Any], Any]] = {
    sp.exp: mpmath.exp,
    sp.log: mpmath.log,
    sp.Abs: abs,
    sp.tanh: mpmath.tanh,
    sp.sinh: mpmath.sinh,
    sp.cosh: mpmath.cosh,
    sp.sin: mpmath.sin,
    sp.cos: mpmath.cos,
    sp.tan: mpmath.tan,
    sp.atan: mpmath.atan,
    sp.erf: mpmath.erf,
}


def _mp_number(node: sp.Basic) -> Any:
    if node.is_Integer:
        return mpmath.mpf(int(node))
    if node.is_Rational:
        return mpmath.mpf(int(node.p)) / int(node.q)
    if node == sp.pi:
        return +mpmath.pi
    if node == sp.E:
        return +mpmath.e
    if node.is_Float:
        return mpmath.mpf(str(node))
    raise NotImplementedError(f"the mpmath oracle has no form for the number {node}")


def mp_eval(expr: sp.Basic, x: Any) -> Any:
    """The value of a SymPy expression in the symbol ``x`` at the mpmath number ``x``."""

    def walk(node: sp.Basic) -> Any:
        if node.is_Symbol:
            if node.name != "x":
                raise NotImplementedError(f"the mpmath oracle knows only the symbol x, not {node}")
            return x
        if node.is_Number or node.is_NumberSymbol:
            return _mp_number(node)
        if isinstance(node, sp.Add):
            return mpmath.fsum(walk(arg) for arg in node.args)
        if isinstance(node, sp.Mul):
            result = mpmath.mpf(1)
            for arg in node.args:
                result = result * walk(arg)
            return result
        if isinstance(node, sp.Pow):
            base, exponent = node.args
            if exponent.is_Integer:
                return walk(base) ** int(exponent)
            if exponent == sp.Rational(1, 2):
                return mpmath.sqrt(walk(base))
            return mpmath.power(walk(base), walk(exponent))
        if isinstance(node, sp.Piecewise):
            for value, condition in node.args:
                if holds(condition):
                    return walk(value)
            raise ValueError(f"no branch of {node} holds at x = {x}")
        for kind, function in _MP_FUNCTIONS.items():
            if isinstance(node, kind):
                (argument,) = node.args
                return function(walk(argument))
        raise NotImplementedError(f"the mpmath oracle has no form for {type(node).__name__}: {node}")

    def holds(node: sp.Basic) -> bool:
        if node == sp.true:
            return True
        if node == sp.false:
            return False
        if isinstance(node, sp.And):
            return all(holds(arg) for arg in node.args)
        if isinstance(node, sp.Or):
            return any(holds(arg) for arg in node.args)
        if isinstance(node, sp.Not):
            return not holds(node.args[0])
        if isinstance(node, sp.ITE):
            test, then, otherwise = node.args
            return holds(then) if holds(test) else holds(otherwise)
        if isinstance(node, sp.core.relational.Relational):
            return bool(_relational(node, walk(node.lhs), walk(node.rhs), "mpmath"))
        raise NotImplementedError(f"the mpmath oracle has no form for the condition {type(node).__name__}: {node}")

    return walk(expr)


def kinks(expr: sp.Basic) -> list[sp.Expr]:
    """The expressions u(x) whose zeros are the kinks of ``expr``: the two sides of each Piecewise
    condition (lhs − rhs) and the argument of each Abs."""
    found: list[sp.Expr] = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.core.relational.Relational) and not isinstance(node, (sp.Equality, sp.Unequality)):
            found.append(node.lhs - node.rhs)
        elif isinstance(node, sp.Abs):
            found.append(node.args[0])
    return found


# --------------------------------------------------------------------------------------------------
# Activations and losses by name


def torch_activation(activation: Any, z: Any) -> Any:
    """f(z) for one layer's pre-activations z (rows are samples), by torch's own functions."""
    import torch
    import torch.nn.functional as F

    if is_custom(activation):
        return torch_eval(activation.expr, z)
    alpha = parameters_of(activation).get("alpha")
    alpha = None if alpha is None else float(alpha)
    by_name: dict[str, Callable[[Any], Any]] = {
        "identity": lambda t: t,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=alpha),
        "elu": lambda t: F.elu(t, alpha=alpha),
        "softplus": F.softplus,
        "silu": F.silu,
        "gelu": F.gelu,  # the exact form 0.5·x·(1 + erf(x/√2))
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "mish": F.mish,
        "softmax": lambda t: torch.softmax(t, dim=1),
    }
    if activation.name not in by_name:
        raise NotImplementedError(f"the torch oracle has no form for the built-in activation '{activation.name}'")
    return by_name[activation.name](z)


def mp_activation_row(activation: Any, zs: Sequence[Any], references: Mapping[str, Callable] | None = None) -> list:
    """f(z) for one sample's pre-activations of one layer, in mpmath.

    ``references`` maps a custom activation's name to a hand-written mpmath function; without one
    the activation's SymPy expression is walked."""
    if is_custom(activation):
        if references and activation.name in references:
            reference = references[activation.name]
            return [reference(z) for z in zs]
        return [mp_eval(activation.expr, z) for z in zs]
    name = activation.name
    alpha = parameters_of(activation).get("alpha")
    if name == "softmax":
        peak = max(zs)
        exps = [mpmath.exp(z - peak) for z in zs]
        total = mpmath.fsum(exps)
        return [e / total for e in exps]
    return [mp_scalar_activation(name, z, alpha) for z in zs]


def _mp_sigmoid(z: Any) -> Any:
    return 1 / (1 + mpmath.exp(-z))


def mp_scalar_activation(name: str, z: Any, alpha: Any = None) -> Any:
    """An elementwise built-in activation at one mpmath number, from its textbook definition."""
    if alpha is not None:
        alpha = mpmath.mpf(int(alpha.p)) / int(alpha.q) if hasattr(alpha, "p") else mpmath.mpf(alpha)
    if name == "identity":
        return z
    if name == "sigmoid":
        return _mp_sigmoid(z)
    if name == "tanh":
        return mpmath.tanh(z)
    if name == "relu":
        return z if z > 0 else mpmath.mpf(0)
    if name == "leaky_relu":
        return z if z > 0 else alpha * z
    if name == "elu":
        return z if z > 0 else alpha * mpmath.expm1(z)
    if name == "softplus":
        return mpmath.log1p(mpmath.exp(z))
    if name == "silu":
        return z * _mp_sigmoid(z)
    # Both GELUs written without the cancellation of 1 + erf(u) or 1 + tanh(u) for u ≪ 0, which
    # would leave too few digits for the differences of the tail test even at 50 digits.
    if name == "gelu":
        return z / 2 * mpmath.erfc(-z / mpmath.sqrt(2))  # x·Φ(x), Φ(x) = (1 + erf(x/√2))/2
    if name == "gelu_tanh":
        inner = mpmath.sqrt(2 / mpmath.pi) * (z + mpmath.mpf("0.044715") * z**3)
        return z * _mp_sigmoid(2 * inner)  # x/2·(1 + tanh(u)) = x·σ(2u)
    if name == "mish":
        return z * mpmath.tanh(mpmath.log1p(mpmath.exp(z)))
    raise NotImplementedError(f"the mpmath oracle has no form for the built-in activation '{name}'")


def mp_scalar(activation: Any, references: Mapping[str, Callable] | None = None) -> Callable[[Any], Any]:
    """An elementwise activation (built-in or custom) as a function of one mpmath number."""
    if activation.jacobian.diagonal is False:
        raise ValueError(f"{activation.name} is not elementwise")
    return lambda z: mp_activation_row(activation, [z], references)[0]


def torch_loss(name: str, yhat: Any, y: Any) -> Any:
    """The mean over the rows of the per-sample loss ``name``, from its textbook definition."""
    import torch

    n = yhat.shape[1]
    if name == "sse":
        per_sample = ((y - yhat) ** 2).sum(dim=1)
    elif name == "half_sse":
        per_sample = 0.5 * ((yhat - y) ** 2).sum(dim=1)
    elif name == "mse":
        per_sample = ((yhat - y) ** 2).sum(dim=1) / n
    elif name == "bce":
        per_sample = -(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat)).sum(dim=1)
    elif name == "cce":
        per_sample = -(y * torch.log(yhat)).sum(dim=1)
    elif name == "huber":
        per_sample = torch.nn.functional.huber_loss(yhat, y, reduction="none", delta=1.0).sum(dim=1) / n
    else:
        raise NotImplementedError(f"the torch oracle has no form for the loss '{name}'")
    return per_sample.mean()


def mp_loss_row(name: str, yhat: Sequence[Any], y: Sequence[Any]) -> Any:
    """The per-sample loss ``name`` of one row, in mpmath."""
    n = len(yhat)
    if name == "sse":
        return mpmath.fsum((t - p) ** 2 for p, t in zip(yhat, y, strict=True))
    if name == "half_sse":
        return mpmath.fsum((p - t) ** 2 for p, t in zip(yhat, y, strict=True)) / 2
    if name == "mse":
        return mpmath.fsum((p - t) ** 2 for p, t in zip(yhat, y, strict=True)) / n
    if name == "bce":
        return -mpmath.fsum(t * mpmath.log(p) + (1 - t) * mpmath.log(1 - p) for p, t in zip(yhat, y, strict=True))
    if name == "cce":
        return -mpmath.fsum(t * mpmath.log(p) for p, t in zip(yhat, y, strict=True) if t != 0)
    if name == "huber":
        residuals = [abs(p - t) for p, t in zip(yhat, y, strict=True)]
        return mpmath.fsum(r**2 / 2 if r <= 1 else r - mpmath.mpf(1) / 2 for r in residuals) / n
    raise NotImplementedError(f"the mpmath oracle has no form for the loss '{name}'")


# --------------------------------------------------------------------------------------------------
# Whole networks


def torch_forward(network: Any, params: Mapping[str, np.ndarray], X: np.ndarray) -> tuple[Any, list, dict]:
    """ŷ, the list of every layer's Z and the leaf tensors of the parameters (float64, with grad)."""
    import torch

    leaves = {
        name: torch.tensor(np.asarray(value, dtype=np.float64), dtype=torch.float64, requires_grad=True)
        for name, value in params.items()
    }
    a = torch.tensor(np.asarray(X, dtype=np.float64), dtype=torch.float64)
    zs = []
    for k, activation in enumerate(network.activations, start=1):
        z = a @ leaves[f"W{k}"].T + leaves[f"b{k}"]
        zs.append(z)
        a = torch_activation(activation, z)
    return a, zs, leaves


def torch_loss_and_grads(network: Any, params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray):
    """The mean batch loss and its gradient by every parameter, by torch.autograd in float64."""
    import torch

    yhat, _, leaves = torch_forward(network, params, X)
    value = torch_loss(network.loss.name, yhat, torch.tensor(np.asarray(Y, dtype=np.float64), dtype=torch.float64))
    value.backward()
    return float(value.detach()), {name: leaf.grad.numpy().copy() for name, leaf in leaves.items()}


def bound_expression(activation: Any) -> sp.Expr:
    """The activation's expression with its parameters replaced by their values."""
    return activation.expr.xreplace(dict(activation.parameters)) if activation.parameters else activation.expr


def torch_rows(activation: Any, Z: np.ndarray) -> np.ndarray:
    """A layer's activations of float64 pre-activations, by the torch oracle."""
    import torch

    with torch.no_grad():
        return torch_activation(activation, torch.tensor(np.asarray(Z, dtype=np.float64))).numpy().copy()


def mp_rows(references: Mapping[str, Callable] | None = None) -> Callable[[Any, np.ndarray], np.ndarray]:
    """A layer's activations of float64 pre-activations by the mpmath oracle, rounded to float64."""

    def forward(activation: Any, Z: np.ndarray) -> np.ndarray:
        with mpmath.workdps(MP_DIGITS):
            rows = []
            for row in np.asarray(Z, dtype=np.float64):
                values = mp_activation_row(activation, [mpmath.mpf(float(v)) for v in row], references)
                rows.append([float(v) for v in values])
            return np.array(rows, dtype=np.float64).reshape(np.shape(Z))

    return forward


def kink_distance(
    network: Any,
    params: Mapping[str, np.ndarray],
    X: np.ndarray,
    forward_row: Callable[[Any, np.ndarray], np.ndarray],
) -> float:
    """How close any pre-activation comes to a kink of its layer's activation (∞ when none has one)."""
    nearest = math.inf
    a = np.asarray(X, dtype=np.float64)
    with mpmath.workdps(30):
        for k, activation in enumerate(network.activations, start=1):
            z = a @ np.asarray(params[f"W{k}"], dtype=np.float64).T + np.asarray(params[f"b{k}"], dtype=np.float64)
            for u in kinks(bound_expression(activation)):
                if u.free_symbols:
                    for value in z.ravel():
                        nearest = min(nearest, abs(float(mp_eval(u, mpmath.mpf(float(value))))))
            a = forward_row(activation, z)
    return nearest


def mp_batch_loss(
    network: Any,
    flat: Sequence[Any],
    shapes: Sequence[tuple[str, tuple[int, ...]]],
    X: Sequence[Sequence[Any]],
    Y: Sequence[Sequence[Any]],
    references: Mapping[str, Callable] | None = None,
) -> Any:
    """The mean batch loss at the parameters ``flat`` (mpmath numbers in the order of ``shapes``)."""
    params: dict[str, Any] = {}
    offset = 0
    for name, shape in shapes:
        size = int(np.prod(shape))
        values = list(flat[offset : offset + size])
        offset += size
        if len(shape) == 2:
            values = [values[i * shape[1] : (i + 1) * shape[1]] for i in range(shape[0])]
        params[name] = values
    total = []
    for x, y in zip(X, Y, strict=True):
        a = list(x)
        for k, activation in enumerate(network.activations, start=1):
            W, b = params[f"W{k}"], params[f"b{k}"]
            z = [mpmath.fsum([b[i], *(W[i][j] * a[j] for j in range(len(a)))]) for i in range(len(b))]
            a = mp_activation_row(activation, z, references)
        total.append(mp_loss_row(network.loss.name, a, y))
    return mpmath.fsum(total) / len(total)


def mp_gradients(
    network: Any,
    params: Mapping[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    references: Mapping[str, Callable] | None = None,
) -> tuple[Any, dict[str, np.ndarray]]:
    """The mean batch loss and its gradient by central differences at ``MP_DIGITS`` digits, at the
    float64 values of the parameters and data (taken exactly)."""
    with mpmath.workdps(MP_DIGITS):
        names = parameter_names(len(network.activations))
        shapes = [(name, tuple(np.shape(params[name]))) for name in names]
        flat = [mpmath.mpf(float(v)) for name in names for v in np.asarray(params[name], dtype=np.float64).ravel()]
        Xm = [[mpmath.mpf(float(v)) for v in row] for row in np.asarray(X, dtype=np.float64)]
        Ym = [[mpmath.mpf(float(v)) for v in row] for row in np.asarray(Y, dtype=np.float64)]

        def loss_at(values: Sequence[Any]) -> Any:
            return mp_batch_loss(network, values, shapes, Xm, Ym, references)

        gradient = []
        for index, value in enumerate(flat):
            step = MP_STEP * max(1, abs(value))
            plus, minus = list(flat), list(flat)
            plus[index] = value + step
            minus[index] = value - step
            gradient.append((loss_at(plus) - loss_at(minus)) / (2 * step))
        grads = {}
        offset = 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            grads[name] = np.array([float(g) for g in gradient[offset : offset + size]]).reshape(shape)
            offset += size
        return loss_at(flat), grads


def mp_derivative(function: Callable[[Any], Any], z: Any) -> Any:
    """f′(z) of an elementwise function by a central difference at 120 digits (z away from any
    kink), enough to leave 40 good digits after a cancellation of 40 inside f."""
    with mpmath.workdps(120):
        z = mpmath.mpf(z)
        step = mpmath.mpf("1e-40") * max(1, abs(z))
        return (function(z + step) - function(z - step)) / (2 * step)


# --------------------------------------------------------------------------------------------------
# Comparison


def relative_error(got: np.ndarray, reference: np.ndarray) -> float:
    """max|g − g_ref| / max(max|g_ref|, tiny) over one parameter array (∞ if g is not finite)."""
    got = np.asarray(got, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if got.shape != reference.shape:
        return math.inf
    if not np.all(np.isfinite(got)):
        return math.inf
    if got.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(reference))), np.finfo(np.float64).tiny)
    with np.errstate(over="ignore"):  # a nonzero gradient where the reference is 0: ∞ is right
        return float(np.max(np.abs(got - reference)) / scale)


def worst_errors(grads: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The relative error of every parameter array (a missing array counts as ∞)."""
    return {name: relative_error(grads[name], reference[name]) if name in grads else math.inf for name in reference}


# --------------------------------------------------------------------------------------------------
# Data


def targets(kind: str, rows: int, outputs: int, rng: np.random.Generator) -> np.ndarray:
    """Targets of a loss's kind: one-hot rows, binary labels or real values."""
    if kind == "one-hot":
        return np.eye(outputs)[rng.integers(0, outputs, rows)]
    if kind == "binary":
        return rng.integers(0, 2, (rows, outputs)).astype(np.float64)
    return rng.normal(size=(rows, outputs))


def scale_preactivations(
    network: Any,
    params: Params,
    X: np.ndarray,
    limit: float,
    *,
    forward_row: Callable[[Any, np.ndarray], np.ndarray],
    per_unit: bool = False,
    only_above: bool = True,
) -> None:
    """Rescale each layer's W and b in place, front to back, so that |z| ≤ ``limit``.

    ``forward_row(activation, Z)`` evaluates a layer's activation on its float64 pre-activations
    (an oracle, not the module under test). With ``only_above`` a layer whose pre-activations are
    already within the limit is left alone; otherwise every layer (or with ``per_unit`` every unit)
    is scaled so that its largest |z| is the limit."""
    a = np.asarray(X, dtype=np.float64)
    for k, activation in enumerate(network.activations, start=1):
        W, b = params[f"W{k}"], params[f"b{k}"]
        z = a @ W.T + b
        peak = np.max(np.abs(z), axis=0) if per_unit else np.full(z.shape[1], np.max(np.abs(z)))
        peak = np.where(peak > 0, peak, 1.0)
        factor = limit / peak
        if only_above:
            factor = np.minimum(factor, 1.0)
        W *= factor[:, None]
        b *= factor
        z = a @ W.T + b
        a = forward_row(activation, z)
