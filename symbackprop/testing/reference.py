"""The reference a hand-written gradient is judged against: probe data and the exact gradient.

Contract
--------
* :func:`reference_for` gives the :class:`Reference` of a network, built once per network: its
  generated module, loaded in memory (the exact float64 gradient), and the pieces of that module's
  back-propagation as code printed from the derivation (the output δ, each hidden δ, each f′),
  which :mod:`.mutants` recombines with one step changed. Nothing here restates a derivative.
  The printed code is kept across processes by :mod:`.reference_cache`; the derivation itself is
  derived only when a diagnosis asks for it (:attr:`Reference.derivation`), so that a check that
  passes with a warm cache derives, prints and renders nothing.
* :func:`make_probe` chooses the parameters and the two batches a check runs on, so that a bug
  cannot hide: the batch size m is a prime that is no layer width, the second batch has 2m
  samples (a summed gradient and one that accumulates across calls then differ from an averaged
  one by factors that tell them apart), the weights are the module's own initialisation, and each
  bias puts zero in the widest gap between the unit's pre-activations over both batches, so that
  every unit sees both signs and no pre-activation comes near a kink (ReLU is never judged at 0).
  Parameters and data are rounded to the user's dtype first, so the reference sees exactly the
  numbers the user's code sees.
* :meth:`Reference.backprop` runs the matrix-form rules on the module's forward cache with the
  module's printed expressions; unchanged it equals the module's ``backward`` (the test-suite
  checks it for every activation and loss of the registry).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy
import numpy.random  # imported with the checker, not inside the first check's time

from .. import naming
from ..spec import Network
from .reference_cache import ReferenceCode, cached_reference

if TYPE_CHECKING:
    import sympy as sp

    from ..derive import Derivation

Array = numpy.ndarray
Params = dict[str, Array]

#: The first batch sizes tried; the first prime that is no layer width (and whose double is none).
BATCH_CANDIDATES = (7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


@dataclass(frozen=True)
class Batch:
    """One batch of the probe, samples as rows (the canonical layout)."""

    X: Array
    Y: Array

    @property
    def size(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True)
class Probe:
    """The parameters and the two batches a check runs on (canonical layout, float64 values that
    are exact in the user's dtype)."""

    params: Mapping[str, Array]
    batches: tuple[Batch, Batch]
    #: The smallest |z| over every unit, sample and layer: the distance to the nearest kink.
    margin: float
    dtype: numpy.dtype


@dataclass(frozen=True)
class Cache:
    """The module's forward pass on one batch: Z[k], A[k] for k = 1..L; A[0] = X, and Z[0] = X
    too, so that index k - 1 reads the layer before for every k."""

    Z: tuple[Array, ...]
    A: tuple[Array, ...]
    Y: Array

    @property
    def size(self) -> int:
        return int(self.A[0].shape[0])


#: A replaced step of back-propagation, called as ``step(reference, cache, params, k, correct,
#: upstream)``: ``correct`` is the step's right value and ``upstream`` its input: ∂L/∂a⁽ᵏ⁾ for a
#: δ (at the output, ∂L/∂ŷ of the batch mean), δ⁽ᵏ⁾ for the other steps.
Step = Callable[["Reference", Cache, Mapping[str, Array], int, Array, Array], Array]


@dataclass(frozen=True)
class Reference:
    """The generated module of a network and its back-propagation in pieces."""

    network: Network
    module: types.ModuleType
    #: Printed code of δ⁽ᵏ⁾: the output one (1/m included) and each hidden one in ∂L/∂a⁽ᵏ⁾.
    delta_code: tuple[types.CodeType, ...]
    #: Printed code of f′_k(z⁽ᵏ⁾) for the elementwise layers (None for softmax).
    derivative_code: tuple[types.CodeType | None, ...]
    #: Printed code of ∂L/∂W⁽ᵏ⁾ and ∂L/∂b⁽ᵏ⁾ from δ⁽ᵏ⁾ (and A⁽ᵏ⁻¹⁾), the module's own.
    weight_code: tuple[types.CodeType, ...]
    bias_code: tuple[types.CodeType, ...]
    #: Printed code of ∂L/∂a⁽ᵏ⁾ from δ⁽ᵏ⁺¹⁾ and W⁽ᵏ⁺¹⁾, for the hidden layers k = 1..L−1.
    output_gradient_code: tuple[types.CodeType, ...]

    @property
    def depth(self) -> int:
        return self.network.depth

    @functools.cached_property
    def derivation(self) -> Derivation:
        """The network's derivation, derived on first use (only a diagnosis needs it)."""
        return self.network.derive()

    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.module.PARAMETER_NAMES)

    def forward(self, params: Mapping[str, Array], batch: Batch) -> Cache:
        _, cache = self.module.forward(dict(params), batch.X)
        L = self.depth
        Z = (batch.X, *(cache[naming.array("z", k)] for k in range(1, L + 1)))
        A = tuple(cache[naming.array("a", k)] for k in range(0, L + 1))
        return Cache(Z=Z, A=A, Y=batch.Y)

    def loss(self, params: Mapping[str, Array], batch: Batch) -> float:
        """The mean batch loss, with the network's L2 term where it carries one."""
        _, cache = self.module.forward(dict(params), batch.X)
        data = float(self.module.loss_from_preactivation(cache[naming.array("z", self.depth)], batch.Y))
        penalty = getattr(self.module, "l2_penalty", None)
        return data if penalty is None else data + float(penalty(dict(params)))

    def gradients(self, params: Mapping[str, Array], batch: Batch) -> Params:
        """The exact gradient of the mean batch loss: the generated module's ``backward``."""
        _, grads = self.module.loss_and_grads(dict(params), batch.X, batch.Y)
        return dict(grads)

    def _evaluate(self, code: types.CodeType, **arrays: Any) -> Array:
        namespace = dict(vars(self.module))
        namespace.update(arrays)
        with numpy.errstate(under="ignore"):
            return numpy.asarray(eval(code, namespace), dtype=numpy.float64)  # noqa: S307 - our printed code

    def output_delta(self, cache: Cache) -> Array:
        """δ⁽ᴸ⁾ of the batch mean, as the module computes it (1/m included)."""
        L = self.depth
        names = naming.layer_arrays(L)
        arrays = {names.a: cache.A[L], names.z: cache.Z[L], naming.TARGETS: cache.Y, str(naming.BATCH_SIZE): cache.size}
        return self._evaluate(self.delta_code[L - 1], **arrays)

    def loss_gradient(self, cache: Cache) -> Array:
        """∂L/∂ŷ of the batch mean: the module's per-sample loss gradient over m."""
        return numpy.asarray(self.module.loss_gradient(cache.A[self.depth], cache.Y)) / cache.size

    def hidden_delta(self, cache: Cache, k: int, output_gradient: Array) -> Array:
        """δ⁽ᵏ⁾ from ∂L/∂a⁽ᵏ⁾, as the module computes it (f′ in the output a)."""
        names = naming.layer_arrays(k)
        arrays = {names.a: cache.A[k], names.z: cache.Z[k], names.output_gradient: output_gradient}
        return self._evaluate(self.delta_code[k - 1], **arrays)

    def derivative(self, k: int, at: Array) -> Array:
        """f′_k evaluated at ``at`` (z⁽ᵏ⁾ for the right value, a⁽ᵏ⁾ for a mistake)."""
        code = self.derivative_code[k - 1]
        if code is None:
            raise ValueError(f"layer {k} is not elementwise")
        return numpy.broadcast_to(self._evaluate(code, **{naming.array("z", k): at}), at.shape)

    def elementwise(self, expr: sp.Expr, k: int, cache: Cache) -> Array:
        """An expression in z and a = f(z) (:data:`~symbackprop.naming.X`, :data:`~symbackprop.naming.A`)
        at every unit of layer k on a batch, printed as the module's own code is."""
        names = naming.layer_arrays(k)
        value = self._evaluate(_elementwise_code(expr, k), **{names.z: cache.Z[k], names.a: cache.A[k]})
        return numpy.broadcast_to(value, cache.Z[k].shape)

    def weight_gradient(self, k: int, delta: Array, before: Array, params: Mapping[str, Array]) -> Array:
        """∂L/∂W⁽ᵏ⁾ from a δ⁽ᵏ⁾ and the layer's input, by the module's printed code (which reads
        W⁽ᵏ⁾ itself where the network carries an L2 term)."""
        names = naming.layer_arrays(k)
        arrays = {names.delta: delta, naming.array("a", k - 1): before, names.weight: params[names.weight]}
        return self._evaluate(self.weight_code[k - 1], **arrays)

    def bias_gradient(self, k: int, delta: Array) -> Array:
        """∂L/∂b⁽ᵏ⁾ from a δ⁽ᵏ⁾, by the module's printed code."""
        return self._evaluate(self.bias_code[k - 1], **{naming.layer_arrays(k).delta: delta})

    def backprop(
        self, params: Mapping[str, Array], cache: Cache, changes: Mapping[tuple[str, int], Step] | None = None
    ) -> Params:
        """The gradient by the matrix-form rules, with the steps in ``changes`` replaced.

        Steps, for k = L..1, each the generated module's printed code: ``"delta"`` δ⁽ᵏ⁾,
        ``"weight"`` ∂L/∂W⁽ᵏ⁾ = δ⁽ᵏ⁾ᵀA⁽ᵏ⁻¹⁾, ``"bias"`` ∂L/∂b⁽ᵏ⁾ = Σ_rows δ⁽ᵏ⁾,
        ``"back"`` ∂L/∂a⁽ᵏ⁻¹⁾ = δ⁽ᵏ⁾W⁽ᵏ⁾.
        """
        changes = changes or {}

        def step(name: str, k: int, correct: Array, upstream: Array) -> Array:
            change = changes.get((name, k))
            return correct if change is None else change(self, cache, params, k, correct, upstream)

        grads: Params = {}
        L = self.depth
        delta = step("delta", L, self.output_delta(cache), self.loss_gradient(cache))
        for k in range(L, 0, -1):
            names = naming.layer_arrays(k)
            grads[names.weight] = step("weight", k, self.weight_gradient(k, delta, cache.A[k - 1], params), delta)
            grads[names.bias] = step("bias", k, self.bias_gradient(k, delta), delta)
            if k > 1:
                arrays = {names.delta: delta, names.weight: params[names.weight]}
                back = step("back", k, self._evaluate(self.output_gradient_code[k - 2], **arrays), delta)
                delta = step("delta", k - 1, self.hidden_delta(cache, k - 1, back), back)
        return {name: grads[name] for name in self.parameter_names()}


@functools.lru_cache(maxsize=512)
def _elementwise_code(expr: sp.Expr, k: int) -> types.CodeType:
    from ..printing.numpy import numpy_code

    at_layer = expr.xreplace(
        {naming.X: naming.preactivation(k)[naming.P], naming.A: naming.activation_output(k)[naming.P]}
    )
    return compile(numpy_code(at_layer), f"<elementwise {k}>", "eval")


def printed_reference(network: Network) -> tuple[str, ReferenceCode]:
    """Derive the network; print its generated module and each step's code."""
    from ..codegen import module_context, render_module
    from ..printing.numpy import numpy_code

    derivation = network.derive()
    context = module_context(derivation, command="")
    layers = context.layers
    steps = ReferenceCode(
        delta=tuple(layer.delta for layer in layers),
        derivative=tuple(
            None if layer.derivative is None else numpy_code(layer.derivative) for layer in derivation.layers
        ),
        weight_gradient=tuple(layer.weight_gradient for layer in layers),
        bias_gradient=tuple(layer.bias_gradient for layer in layers),
        output_gradient=tuple(layer.output_gradient for layer in layers[:-1]),
    )
    return render_module(context), steps


@functools.lru_cache(maxsize=32)
def reference_for(network: Network) -> Reference:
    """The reference of a network (derived, generated and loaded once per network, and printed
    once per release across processes)."""
    module, code = cached_reference(network, printed_reference)

    def compiled(steps: tuple[str, ...], what: str) -> tuple[types.CodeType, ...]:
        return tuple(compile(step, f"<{what} {k}>", "eval") for k, step in enumerate(steps, start=1))

    return Reference(
        network,
        module,
        delta_code=compiled(code.delta, "delta"),
        derivative_code=tuple(
            None if step is None else compile(step, f"<f' {k}>", "eval")
            for k, step in enumerate(code.derivative, start=1)
        ),
        weight_code=compiled(code.weight_gradient, "dL/dW"),
        bias_code=compiled(code.bias_gradient, "dL/db"),
        output_gradient_code=compiled(code.output_gradient, "dL/da"),
    )


def batch_size_for(network: Network) -> int:
    """The first prime of :data:`BATCH_CANDIDATES` that, doubled or not, is no layer width."""
    for m in BATCH_CANDIDATES:
        if m not in network.sizes and 2 * m not in network.sizes:
            return m
    raise ValueError(f"no batch size of {BATCH_CANDIDATES} avoids the widths {network.sizes}")


def _rounded(array: Array, dtype: numpy.dtype) -> Array:
    return numpy.asarray(array, dtype=dtype).astype(numpy.float64)


def make_probe(network: Network, *, seed: int = 0, dtype: numpy.typing.DTypeLike = numpy.float64) -> Probe:
    """Parameters and two batches (m and 2m samples) chosen to make bugs identifiable."""
    reference = reference_for(network)
    dtype = numpy.dtype(dtype)
    rng = numpy.random.default_rng(seed)
    m = batch_size_for(network)
    X = _rounded(rng.normal(0.0, 1.0, size=(3 * m, network.sizes[0])), dtype)
    Y = _rounded(network.loss.targets.sample_rows(rng, 3 * m, network.sizes[-1]), dtype)
    params = {name: _rounded(value, dtype) for name, value in reference.module.init_params(seed).items()}
    margin = numpy.inf
    A = X
    for k in range(1, network.depth + 1):
        product = A @ params[naming.array("w", k)].T
        bias, gap = _biases_between_gaps(product)
        params[naming.array("b", k)] = _rounded(bias, dtype)
        Z = product + params[naming.array("b", k)]
        margin = min(margin, float(numpy.min(numpy.abs(Z))), gap)
        A = reference.forward(params, Batch(X, Y)).A[k]
    batches = (Batch(X[:m], Y[:m]), Batch(X[m:], Y[m:]))
    return Probe(params=params, batches=batches, margin=margin, dtype=dtype)


def _biases_between_gaps(product: Array) -> tuple[Array, float]:
    """For each unit (column), the bias that puts zero in the middle of the widest gap between
    its sorted values among the middle 70% of the samples; and the smallest half-gap."""
    values = numpy.sort(product, axis=0)
    rows = values.shape[0]
    low, high = (15 * rows) // 100, max((15 * rows) // 100 + 1, (85 * rows) // 100)
    gaps = values[low + 1 : high + 1] - values[low:high]
    widest = numpy.argmax(gaps, axis=0) + low
    columns = numpy.arange(values.shape[1])
    middle = (values[widest, columns] + values[widest + 1, columns]) / 2
    return -middle, float(numpy.min(gaps[widest - low, columns]) / 2)
