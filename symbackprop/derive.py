"""Back-propagation derived by differentiating the index-notation equations.

Contract
--------
:func:`derive` takes a :class:`~symbackprop.spec.Network` and returns a :class:`Derivation`. Each
layer's results come from ``sympy.diff`` on the equations of :mod:`symbackprop.equations`,
followed by :func:`~symbackprop.contract.contract_deltas`, through the intermediate quantities:

* ∂L/∂a⁽ᴸ⁾_p from the loss; ∂L/∂a⁽ᵏ⁾_p = Σᵢ δ⁽ᵏ⁺¹⁾ᵢ ∂z⁽ᵏ⁺¹⁾ᵢ/∂a⁽ᵏ⁾_p for the hidden layers;
* δ⁽ᵏ⁾_p = Σᵢ ∂L/∂a⁽ᵏ⁾ᵢ ∂a⁽ᵏ⁾ᵢ/∂z⁽ᵏ⁾_p (the full Jacobian for softmax);
* ∂L/∂w⁽ᵏ⁾_pq = Σᵢ δ⁽ᵏ⁾ᵢ ∂z⁽ᵏ⁾ᵢ/∂w⁽ᵏ⁾_pq + ∂R/∂w⁽ᵏ⁾_pq and ∂L/∂b⁽ᵏ⁾_p = Σᵢ δ⁽ᵏ⁾ᵢ ∂z⁽ᵏ⁾ᵢ/∂b⁽ᵏ⁾_p,
  where R is the L2 term of the equations (0 without one): a weight enters the loss through z⁽ᵏ⁾
  and, directly, through R, whose derivative sympy.diff gives as λ w⁽ᵏ⁾_pq once contracted. R
  holds no a, z or b, so δ and ∂L/∂b are those of the network without it.

Layer k refers to layer k + 1 only through the symbol δ⁽ᵏ⁺¹⁾ and the widths are symbols, so the
cost does not depend on the widths and grows linearly with depth. Every stage (the chain before
contraction, the contracted form, the form with f′ written in the output a) is kept for printing.

``Derivation.verify/pretty/latex/markdown`` and the notebook displays are thin facades over the
later stages (:mod:`symbackprop.verify`, :mod:`symbackprop.printing`, :mod:`symbackprop.document`),
imported inside the method: ``net.derive().verify()`` reads as the pipeline does, and the later
stages import this one, never the other way round at import time.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp

from . import equations as eq
from . import naming
from .contract import contract_deltas, integer_exponentials, multiplies_out_to_zero
from .errors import SpecError
from .naming import A, X
from .registry import Activation, Loss

if TYPE_CHECKING:
    from .rules import RuleSet
    from .spec import Network
    from .verify import VerificationReport


@dataclass(frozen=True)
class LayerDerivation:
    """The derivatives of one layer k, with free indices p (unit of layer k) and q (of k - 1)."""

    k: int
    activation: Activation
    is_output: bool
    #: ∂L/∂a⁽ᵏ⁾_p as sympy.diff gives it, Kronecker deltas still inside the sums.
    output_gradient_chain: sp.Expr
    #: ∂L/∂a⁽ᵏ⁾_p contracted.
    output_gradient: sp.Expr
    #: Σᵢ ∂L/∂a⁽ᵏ⁾ᵢ ∂a⁽ᵏ⁾ᵢ/∂z⁽ᵏ⁾_p as sympy.diff gives it, with ∂L/∂a⁽ᵏ⁾ kept as a symbol.
    delta_chain: sp.Expr
    #: δ⁽ᵏ⁾_p contracted, ∂L/∂a⁽ᵏ⁾ still a symbol: the local rule of the layer.
    delta_local: sp.Expr
    #: δ⁽ᵏ⁾_p with ∂L/∂a⁽ᵏ⁾ substituted and f′ as differentiation gives it, in z.
    delta: sp.Expr
    #: δ⁽ᵏ⁾_p with f′ in the output a where the registry offers it, simplified: at the output
    #: layer this is the fused form (ŷ − y for sigmoid + bce and softmax + cce).
    delta_output_form: sp.Expr
    weight_chain: sp.Expr
    #: ∂L/∂w⁽ᵏ⁾_pq in terms of δ⁽ᵏ⁾.
    weight_gradient: sp.Expr
    bias_chain: sp.Expr
    #: ∂L/∂b⁽ᵏ⁾_p in terms of δ⁽ᵏ⁾.
    bias_gradient: sp.Expr
    #: f′_k(z⁽ᵏ⁾_p) as differentiation gives it (None for softmax, whose Jacobian is not diagonal).
    derivative: sp.Expr | None

    def _repr_latex_(self) -> str:
        from .document import layer_latex

        return layer_latex(self)


@dataclass(frozen=True)
class Derivation:
    """The whole derivation: the network, its equations and the derivatives of every layer."""

    network: Network
    equations: eq.Equations
    layers: tuple[LayerDerivation, ...]

    def layer(self, k: int) -> LayerDerivation:
        """Layer k, counted from 1 as in the notation (a SpecError for any other k)."""
        depth = len(self.layers)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= depth:
            raise SpecError(f"layer: expected a layer number from 1 to {depth} ({self.network.compact}), got {k!r:.60}")
        return self.layers[int(k) - 1]

    @property
    def loss_gradient(self) -> sp.Expr:
        """∂L/∂ŷ_p, the derivative of the per-sample loss by output p."""
        return self.layers[-1].output_gradient

    @property
    def output_delta(self) -> sp.Expr:
        """δ⁽ᴸ⁾_p in the form code generation uses (fused where it simplifies)."""
        return self.layers[-1].delta_output_form

    def verify(self, rules: RuleSet | None = None, *, seed: int = 0) -> VerificationReport:
        """Check this derivation against matrix-form rules (the textbook ones by default)."""
        from .verify import verify

        return verify(self, rules, seed=seed)

    def pretty(self) -> str:
        """The derivation as unicode text, layer by layer."""
        from .printing import pretty_derivation

        return pretty_derivation(self)

    def latex(self, **options: Any) -> str:
        """The step-by-step LaTeX document (options as :func:`symbackprop.document.render_latex`)."""
        from .document import render_latex

        return render_latex(self, **options)

    def markdown(self, **options: Any) -> str:
        """The derivation as Markdown with ``$...$`` math (GitHub, Jupyter)."""
        from .document import render_markdown

        return render_markdown(self, **options)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.pretty()


def derive(network: Network | str) -> Derivation:
    """Differentiate the network's equations layer by layer, from the output back; ``network`` is a
    :class:`~symbackprop.spec.Network` or its compact form, ``"2 -> 1 sigmoid : bce"``."""
    from .spec import Network, parse_compact

    if isinstance(network, str):
        network = parse_compact(network)
    elif not isinstance(network, Network):
        raise SpecError(
            f"derive: expected a Network or a compact spec like '2 -> 1 sigmoid : bce', got {network!r:.60}"
        )
    equations = eq.build_equations(network)
    layers: list[LayerDerivation] = []
    for k in range(network.depth, 0, -1):
        layers.append(_derive_layer(equations, k))
    return Derivation(network=network, equations=equations, layers=tuple(reversed(layers)))


def _derive_layer(equations: eq.Equations, k: int) -> LayerDerivation:
    network = equations.network
    layer = equations.layer(k)
    is_output = k == network.depth
    a, z, n = naming.activation_output(k), naming.preactivation(k), naming.width(k)
    I, P, Q = naming.I, naming.P, naming.Q  # noqa: E741 (the equations' own index names)

    if is_output:
        output_gradient_chain = sp.diff(equations.objective.rhs, a[P])
    else:
        following = equations.layer(k + 1)
        output_gradient_chain = sp.Sum(
            naming.delta(k + 1)[I] * sp.diff(following.z.rhs, a[P]), (I, 1, naming.width(k + 1))
        )
    output_gradient = _apply_target_facts(contract_deltas(output_gradient_chain), network.loss)
    if is_output:
        output_gradient = _tidy(output_gradient)

    dLda = naming.output_gradient(k)
    delta_chain = sp.Sum(dLda[I] * sp.diff(layer.a.rhs, z[P]), (I, 1, n))
    delta_local = contract_deltas(delta_chain)
    derivative = None
    if layer.activation.jacobian.diagonal:
        derivative = layer.activation.derivative().xreplace({X: z[P]})
    else:
        delta_local = _rewrite_normalized(delta_local, layer.activation, z, a, n)
    delta = _substitute_output_gradient(delta_local, dLda, output_gradient, network.loss)
    delta_output_form = _output_form(delta, delta_local, dLda[P], layer.activation, derivative, a[P], output_gradient)

    weight = naming.weight(k)[P, Q]
    weight_chain = sp.Sum(naming.delta(k)[I] * sp.diff(layer.z.rhs, weight), (I, 1, n))
    weight_chain += sp.diff(equations.regularizer, weight)
    bias_chain = sp.Sum(naming.delta(k)[I] * sp.diff(layer.z.rhs, naming.bias(k)[P]), (I, 1, n))
    return LayerDerivation(
        k=k,
        activation=layer.activation,
        is_output=is_output,
        output_gradient_chain=output_gradient_chain,
        output_gradient=output_gradient,
        delta_chain=delta_chain,
        delta_local=delta_local,
        delta=delta,
        delta_output_form=delta_output_form,
        weight_chain=weight_chain,
        weight_gradient=contract_deltas(weight_chain),
        bias_chain=bias_chain,
        bias_gradient=contract_deltas(bias_chain),
        derivative=derivative,
    )


def _rewrite_normalized(
    expr: sp.Expr, activation: Activation, z: sp.IndexedBase, a: sp.IndexedBase, n: sp.Symbol
) -> sp.Expr:
    """Write a normalised activation's derivative back in its outputs: with
    aᵢ = g(zᵢ)/Σⱼ g(zⱼ), every g(zₓ) becomes aₓ·S and the normaliser S cancels."""
    index = sp.Dummy("j", integer=True, positive=True)
    normaliser = sp.Sum(activation.at(z[index]), (index, 1, n))
    total = sp.Dummy("S", positive=True)
    expr = expr.replace(
        lambda e: isinstance(e, sp.Sum) and e.dummy_eq(normaliser),
        lambda e: total,
    )
    slot = sp.Wild("slot")
    expr = expr.replace(activation.at(z[slot]), a[slot] * total)
    # Moving the now index-free normaliser out of the sums lets it cancel.
    return contract_deltas(sp.expand_mul(sp.cancel(contract_deltas(expr))))


def _substitute_output_gradient(expr: sp.Expr, symbol: sp.IndexedBase, value: sp.Expr, loss: Loss) -> sp.Expr:
    substituted = expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == symbol,
        lambda e: _at_index(value, e.indices[0]),
    )
    return _apply_target_facts(contract_deltas(substituted), loss)


def _at_index(expr: sp.Expr, index: sp.Expr) -> sp.Expr:
    """expr, whose free index is p, at ``index``; a sum of expr over that same index is first given
    a fresh summation index, so that the substitution cannot capture it (Σᵢ wᵢₚ δᵢ at p = i)."""
    renamed = expr.replace(
        lambda e: isinstance(e, sp.Sum) and any(limit[0] == index for limit in e.limits),
        lambda e: e.xreplace({index: sp.Dummy(str(index), integer=True, positive=True)}),
    )
    return renamed.xreplace({naming.P: index})


def _apply_target_facts(expr: sp.Expr, loss: Loss) -> sp.Expr:
    """Use what the loss says of its targets: Σᵢ yᵢ = 1 for one-hot or probability targets."""
    if not loss.targets.sums_to_one:
        return expr
    y = naming.target()
    return expr.replace(
        lambda e: (
            isinstance(e, sp.Sum) and len(e.limits) == 1 and e.function == y[e.limits[0][0]] and e.limits[0][1] == 1
        ),
        lambda e: sp.Integer(1),
    )


def _output_form(
    delta: sp.Expr,
    delta_local: sp.Expr,
    local_gradient: sp.Indexed,
    activation: Activation,
    derivative: sp.Expr | None,
    output: sp.Indexed,
    output_gradient: sp.Expr,
) -> sp.Expr:
    """δ as ∂L/∂a times f′ in the output a (when the registry claims one) or in z, simplified.

    The factor that multiplies ∂L/∂a in the derived δ must be f′(z): a layer whose derivation
    says otherwise keeps its derived form untouched.
    """
    if derivative is None:
        return _tidy(delta)
    factor = sp.diff(delta_local, local_gradient)
    if not _same(factor, derivative):
        return _tidy(delta)
    claimed = activation.derivative_in_output()
    in_output = claimed.xreplace({A: output}) if claimed is not None else derivative
    fused = _tidy(output_gradient * in_output)
    # The product is kept unless the factors cancel into something shorter than f′ alone
    # (σ + bce gives ŷ − y); multiplied out, a product like (ŷ − y)·SiLU′(z) cancels in floating point.
    if sp.count_ops(fused) < sp.count_ops(in_output):
        return fused
    return output_gradient * in_output


#: Larger expressions are left as differentiation gives them: simplifying them costs seconds
#: and cannot fuse them into a short form anyway.
_SIMPLIFY_LIMIT = 60


def _same(first: sp.Expr, second: sp.Expr) -> bool:
    if first == second or multiplies_out_to_zero(first - second):
        return True
    return _simplifiable(first - second) and sp.simplify(first - second) == 0


def _simplifiable(expr: sp.Expr) -> bool:
    """Whether SymPy's simplify, cancel and factor finish quickly on expr: it is small and
    :func:`integer_exponentials`."""
    return sp.count_ops(expr) <= _SIMPLIFY_LIMIT and integer_exponentials(expr)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """The shortest of a few cheap normal forms (cancelled, factored)."""
    if expr.has(sp.Piecewise, sp.Sum) or not _simplifiable(expr):
        return expr
    candidates = [expr, sp.cancel(expr), sp.factor(expr)]
    return min(candidates, key=sp.count_ops)
