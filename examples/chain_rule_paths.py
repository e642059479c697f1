"""The chain rule along paths: a chain of single units, where every gradient is one product.

Reproduces the worked example of the third reference tutorial (backpropagation as "the chain
rule executed in sequence" on a network of one unit per layer, weights θ₁..θ₃ and biases b₁..b₃,
ReLU hidden units, a sigmoid output and the squared error C = (ŷ − y)²):

* for each parameter, ∂C/∂θ is printed as the product of the local derivatives along its path
  from the cost back to it. Every factor is read off symbackprop's derivation of the
  1-1-1-1 network (∂C/∂ŷ from the loss, ∂a/∂z from the activation's registry entry as the
  generated code uses it, ∂zᵏ⁺¹/∂aᵏ from the back-propagated ∂L/∂aᵏ, ∂z/∂θ and ∂z/∂b from the
  parameter gradients), not typed in;
* the product is evaluated at one sample and compared with the gradient of the module
  symbackprop generates and with central finite differences of the loss.

Run ``python examples/chain_rule_paths.py [--out FOLDER]``; it writes the generated module and
the Markdown derivation of the chain (with its path section) into FOLDER (default
``chain-rule-output``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy
import sympy as sp

from symbackprop import Derivation, Network
from symbackprop import equations as eq
from symbackprop.codegen import generate_module, load_module, write_module
from symbackprop.files import write_atomic
from symbackprop.printing.text import pretty
from symbackprop.registry import A

CHAIN = Network([1, 1, 1, 1], ["relu", "relu", "sigmoid"], "sse")
#: The sample and the parameters at which the products are evaluated (both ReLUs active).
POINT = {"x": 1.5, "y": 1.0, "θ1": 0.8, "b1": 0.1, "θ2": 1.2, "b2": -0.2, "θ3": -0.9, "b3": 0.3}
#: Step of the central finite differences.
STEP = 1e-6

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Factor:
    """One local derivative on a path: its name (∂a²/∂z²) and its expression."""

    name: str
    expr: sp.Expr


@dataclass(frozen=True)
class GradientPath:
    """∂C/∂(parameter) as the product of the local derivatives from the parameter to the cost."""

    parameter: str
    factors: tuple[Factor, ...]


def tutorial_names(depth: int) -> dict[sp.Basic, sp.Symbol]:
    """symbackprop's unit-1 symbols renamed as the tutorial writes them: θₖ, bₖ, zᵏ, aᵏ, x, ŷ, y."""
    names: dict[sp.Basic, sp.Symbol] = {eq.target()[1]: sp.Symbol("y"), eq.activation_output(0)[1]: sp.Symbol("x")}
    for k in range(1, depth + 1):
        names[eq.weight(k)[1, 1]] = sp.Symbol(f"θ_{k}")
        names[eq.bias(k)[1]] = sp.Symbol(f"b_{k}")
        names[eq.preactivation(k)[1]] = sp.Symbol(f"z^{k}")
        names[eq.activation_output(k)[1]] = sp.Symbol("ŷ") if k == depth else sp.Symbol(f"a^{k}")
    return names


def at_unit_one(expr: sp.Expr, depth: int) -> sp.Expr:
    """expr with every width and free index set to 1, its sums done: the chain's scalar form."""
    return expr.xreplace({eq.width(k): 1 for k in range(depth + 1)} | {eq.P: 1, eq.Q: 1}).doit()


def scalar(expr: sp.Expr, depth: int) -> sp.Expr:
    """The chain's scalar form of expr in the tutorial's names."""
    return at_unit_one(expr, depth).xreplace(tutorial_names(depth))


def local_derivatives(derivation: Derivation) -> dict[str, Factor]:
    """Every local derivative of the chain, taken from the derivation with all widths and units 1."""
    depth = derivation.network.depth
    if any(size != 1 for size in derivation.network.sizes):
        raise ValueError(f"a chain has one unit per layer, not {derivation.network.compact}")

    def rename(expr: sp.Expr) -> sp.Expr:
        return scalar(expr, depth)

    def upper(k: int) -> str:
        return str(k).translate(_SUPERSCRIPTS)

    def lower(k: int) -> str:
        return str(k).translate(_SUBSCRIPTS)

    def output(k: int) -> str:
        return "ŷ" if k == depth else f"a{upper(k)}"

    factors = {"dC/dyhat": Factor("∂C/∂ŷ", rename(derivation.loss_gradient))}
    for layer in derivation.layers:
        k = layer.k
        claimed = layer.activation.derivative_in_output()
        slope = (
            claimed.xreplace({A: eq.activation_output(k)[1]})
            if claimed is not None
            else sp.diff(layer.delta_local, eq.output_gradient(k)[eq.P])
        )
        factors[f"da{k}/dz{k}"] = Factor(f"∂{output(k)}/∂z{upper(k)}", rename(slope))
        # Each gradient is linear in the δ it multiplies: its coefficient is the local derivative.
        delta = eq.delta(k)[eq.P]
        factors[f"dz{k}/dθ{k}"] = Factor(f"∂z{upper(k)}/∂θ{lower(k)}", rename(sp.diff(layer.weight_gradient, delta)))
        factors[f"dz{k}/db{k}"] = Factor(f"∂z{upper(k)}/∂b{lower(k)}", rename(sp.diff(layer.bias_gradient, delta)))
        if k < depth:
            weight = sp.diff(at_unit_one(layer.output_gradient, depth), eq.delta(k + 1)[1])
            factors[f"dz{k + 1}/da{k}"] = Factor(f"∂z{upper(k + 1)}/∂a{upper(k)}", rename(weight))
    return factors


def paths(derivation: Derivation) -> list[GradientPath]:
    """For θₖ and bₖ of every layer: ∂z/∂(parameter), then ∂a/∂z and ∂z/∂a up to the output, then ∂C/∂ŷ."""
    depth = derivation.network.depth
    local = local_derivatives(derivation)
    result = []
    for k in range(1, depth + 1):
        upward = [local[f"da{k}/dz{k}"]]
        for above in range(k + 1, depth + 1):
            upward += [local[f"dz{above}/da{above - 1}"], local[f"da{above}/dz{above}"]]
        upward.append(local["dC/dyhat"])
        for kind in ("θ", "b"):
            result.append(GradientPath(f"{kind}{k}", (local[f"dz{k}/d{kind}{k}"], *upward)))
    return result


def forward_values(module, params, x: float) -> dict[sp.Symbol, float]:
    """x, every zᵏ and aᵏ of the sample, from the generated module's forward pass."""
    _, cache = module.forward(params, numpy.array([[x]]))
    depth = len(module.SIZES) - 1
    values = {sp.Symbol("x"): x}
    for k in range(1, depth + 1):
        values[sp.Symbol(f"z^{k}")] = float(cache[f"Z{k}"][0, 0])
        values[sp.Symbol("ŷ") if k == depth else sp.Symbol(f"a^{k}")] = float(cache[f"A{k}"][0, 0])
    return values


def finite_difference(module, params, name: str, X, Y) -> float:
    """(C(p + h) − C(p − h)) / 2h for the parameter ``name``."""

    def cost(shift: float) -> float:
        shifted = {key: value.copy() for key, value in params.items()}
        shifted[name].flat[0] += shift
        return module.loss(module.predict(shifted, X), Y)

    return (cost(STEP) - cost(-STEP)) / (2 * STEP)


def print_labelled(label: str, expr: sp.Expr) -> None:
    """``label = expr`` with the expression in SymPy's two-dimensional form, the label on its middle line."""
    body = sp.pretty(expr, order="none", use_unicode=True, wrap_line=False).splitlines()
    for row, line in enumerate(body):
        print((f"{label} = " if row == len(body) // 2 else " " * (len(label) + 3)) + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="chain-rule-output", help="folder for the files written")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    derivation = CHAIN.derive()
    source = generate_module(derivation, output_name="chain_1_1_1_1_sse.py")
    write_module(out / "chain_1_1_1_1_sse.py", source, force=True)
    write_atomic(out / "chain_derivation.md", derivation.markdown(sections="network,forward,backward,paths"))
    module = load_module(source)
    depth = CHAIN.depth
    params = {f"W{k}": numpy.array([[POINT[f"θ{k}"]]]) for k in range(1, depth + 1)}
    params |= {f"b{k}": numpy.array([POINT[f"b{k}"]]) for k in range(1, depth + 1)}
    X, Y = numpy.array([[POINT["x"]]]), numpy.array([[POINT["y"]]])
    values = forward_values(module, params, POINT["x"])
    values |= {sp.Symbol(name.replace("θ", "θ_").replace("b", "b_")): v for name, v in POINT.items() if name[0] in "θb"}
    values[sp.Symbol("y")] = POINT["y"]
    _, cache = module.forward(params, X)
    generated = module.backward(params, cache, Y)

    print(f"Network {CHAIN.compact}, one sample, cost")
    print_labelled("C", scalar(derivation.equations.loss.rhs, depth))
    point = ", ".join(f"{name.translate(_SUBSCRIPTS)} = {value:g}" for name, value in POINT.items())
    print(f"evaluated at {point}, where the forward pass gives")
    forward = [f"{pretty(symbol)} = {value:.6g}" for symbol, value in values.items() if symbol.name[0] in "zaŷ"]
    print("  " + ", ".join(forward))
    rows = []
    for path in paths(derivation):
        kind, k = path.parameter[0], int(path.parameter[1:])
        label = f"∂C/∂{kind}{str(k).translate(_SUBSCRIPTS)}"
        product = sp.Mul(*(factor.expr for factor in path.factors), evaluate=False)
        numbers = [float(factor.expr.subs(values)) for factor in path.factors]
        value = float(numpy.prod(numbers))
        print(f"\n{label} = {' · '.join(factor.name for factor in path.factors)}")
        print_labelled(" " * len(label), product)
        print(" " * len(label) + " = " + " · ".join(f"{number:.6g}" for number in numbers) + f" = {value:.12g}")
        name = f"{'W' if kind == 'θ' else 'b'}{k}"
        rows.append((label, value, float(generated[name].flat[0]), finite_difference(module, params, name, X, Y)))

    print(f"\nparameter   path product          generated gradient    central difference (h = {STEP:g})")
    for label, value, gradient, difference in rows:
        print(f"{label:<10}  {value:<20.12g}  {gradient:<20.12g}  {difference:.12g}")
    worst_generated = max(abs(v - g) / max(abs(g), 1e-300) for _, v, g, _ in rows)
    worst_difference = max(abs(v - d) / max(abs(d), 1e-300) for _, v, _, d in rows)
    print(
        f"largest relative difference: path product vs generated gradient {worst_generated:.1e},"
        f" vs central difference {worst_difference:.1e}"
    )
    print(f"\nfiles in {out}/: chain_1_1_1_1_sse.py, chain_derivation.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
