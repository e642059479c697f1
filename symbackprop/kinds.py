"""The behaviours a registry entry owns: its Jacobian structure, its kind of targets, its init rule.

Contract
--------
Stages never branch on an entry's name or a free string: they ask the entry's behaviour objects.

* :class:`Jacobian`: how a layer's outputs depend on its inputs. :data:`DIAGONAL` (aᵢ = f(zᵢ), so
  f′(z) is a vector) or :data:`NORMALISED` (aᵢ = g(zᵢ)/Σⱼ g(zⱼ), softmax); it writes the
  layer's index form and says where such a layer may stand.
* :class:`TargetKind`: what a loss's targets are (:data:`REAL`, :data:`BINARY`, :data:`ONE_HOT`).
  It draws targets for verification and for the checker's probes, checks a user's data (turning
  class indices into one-hot rows), and states how predictions become classes.
* :class:`InitRule`: the variance of a layer's initial weights as a SymPy expression in the
  fan-in and fan-out (:data:`HE`, :data:`GLOROT`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy
import sympy as sp

from .errors import SymbackpropError
from .naming import FAN_IN, FAN_OUT


class TargetsError(SymbackpropError):
    """Targets do not fit the kind of targets a loss takes."""


@dataclass(frozen=True)
class Jacobian:
    """The structure of ∂a⁽ᵏ⁾/∂z⁽ᵏ⁾ of a layer."""

    name: str
    #: ∂aᵢ/∂zⱼ = 0 for i ≠ j: each output depends on its own input alone, and f′(z) is a vector.
    diagonal: bool
    #: Whether a hidden layer may have it (a normalised layer is an output of probabilities).
    hidden_allowed: bool
    #: The fewest units for which the layer is not a constant.
    min_units: int
    #: Needs a loss whose targets sum to one per sample (the softmax + cce simplification).
    needs_targets_summing_to_one: bool

    def index_form(
        self, at: Callable[[sp.Expr], sp.Expr], z: sp.IndexedBase, i: sp.Symbol, j: sp.Symbol, n: sp.Expr
    ) -> sp.Expr:
        """aᵢ from the pre-activations z of n units: ``at(zᵢ)`` for a diagonal Jacobian, else
        ``at(zᵢ) / Σⱼ at(zⱼ)`` (``at`` maps an argument to the entry's expression at it)."""
        numerator = at(z[i])
        if self.diagonal:
            return numerator
        return numerator / sp.Sum(at(z[j]), (j, 1, n))

    def apply(self, values: sp.Matrix) -> sp.Matrix:
        """The layer's outputs from the entry's expression at each unit (concrete widths)."""
        return values if self.diagonal else values / sum(values)

    def diagonal_entry(self, at: Callable[[sp.Expr], sp.Expr], x: sp.Symbol, a: sp.Symbol) -> sp.Expr:
        """∂aᵢ/∂zᵢ at zᵢ = x with aᵢ = a: f′(x) for a diagonal Jacobian; for a normalised one
        (aᵢ = f(zᵢ)/Σⱼ f(zⱼ)), (f′/f)(x)·a(1 − a), the whole of it that code treating the layer as
        elementwise keeps."""
        if self.diagonal:
            return sp.diff(at(x), x)
        return sp.simplify(sp.diff(at(x), x) / at(x)) * a * (1 - a)


DIAGONAL = Jacobian("diagonal", diagonal=True, hidden_allowed=True, min_units=1, needs_targets_summing_to_one=False)
NORMALISED = Jacobian(
    "normalised", diagonal=False, hidden_allowed=False, min_units=2, needs_targets_summing_to_one=True
)


@dataclass(frozen=True)
class TargetKind:
    """What the targets of a loss are, and everything that depends on it."""

    name: str
    #: One sample's targets sum to one (one-hot rows), a fact the derivation may use.
    sums_to_one: bool = False
    #: An output above this is class 1 (labels 0/1 per output), or None.
    threshold: sp.Rational | None = None
    #: A row's class is its largest output (one class per row; class indices are accepted).
    by_largest: bool = False
    #: What classify() returns, and how accuracy counts, in the generated module's docstrings.
    classify_doc: str = ""
    accuracy_doc: str = ""

    @property
    def classifies(self) -> bool:
        """Whether predictions of this kind are classes (the module gets classify and accuracy)."""
        return self.threshold is not None or self.by_largest

    def sample(self, rng: random.Random, n: int, digits: int) -> sp.Matrix:
        """One sample's n targets, exact, for the numeric witness of verification."""
        if self.by_largest:
            hot = rng.randrange(n)
            return sp.Matrix([int(i == hot) for i in range(n)])
        if self.threshold is not None:
            return sp.Matrix([rng.randint(0, 1) for _ in range(n)])
        return sp.Matrix([sp.Float(rng.uniform(-1, 1), digits) for _ in range(n)])

    def sample_rows(self, rng: numpy.random.Generator, rows: int, n: int) -> numpy.ndarray:
        """rows × n targets with every class (or label) as often as the rows allow, in random order."""
        if self.by_largest:
            classes = numpy.arange(rows) % n
            rng.shuffle(classes)
            return numpy.eye(n)[classes]
        if self.threshold is not None:
            labels = (numpy.arange(rows * n) % 2).astype(numpy.float64)
            rng.shuffle(labels)
            return labels.reshape(rows, n)
        return rng.normal(0.0, 1.0, size=(rows, n))

    def prepare(self, Y: numpy.ndarray, outputs: int, loss_name: str) -> numpy.ndarray:
        """Y (rows × columns) checked for a network with ``outputs`` outputs, class indices (one
        column) made one-hot; raises :class:`TargetsError` naming the first bad value."""
        if self.by_largest:
            if Y.shape[1] == 1:
                return numpy.eye(outputs)[self._class_indices(Y[:, 0], outputs)]
            if Y.shape[1] != outputs:
                raise TargetsError(f"{Y.shape[1]} columns, expected {outputs} one-hot columns or 1 class index")
            rows_ok = numpy.isin(Y, (0.0, 1.0)).all(axis=1) & (Y.sum(axis=1) == 1)
            if not rows_ok.all():
                row = int(numpy.flatnonzero(~rows_ok)[0])
                raise TargetsError(f"row {row + 1} is not one-hot (a single 1, the rest 0): {Y[row].tolist()}")
            return Y
        if Y.shape[1] != outputs:
            raise TargetsError(f"{Y.shape[1]} column(s), but the network has {outputs} output(s)")
        if self.threshold is not None and not numpy.all(numpy.isin(Y, (0.0, 1.0))):
            bad = Y[~numpy.isin(Y, (0.0, 1.0))][0]
            raise TargetsError(f"label {bad:g} is not 0 or 1, which '{loss_name}' needs")
        return Y

    @staticmethod
    def _class_indices(labels: numpy.ndarray, outputs: int) -> numpy.ndarray:
        valid = (labels == numpy.round(labels)) & (labels >= 0) & (labels < outputs)
        if not valid.all():
            bad = labels[~valid][0]
            raise TargetsError(f"class index {bad:g} is not one of 0..{outputs - 1} for {outputs} outputs")
        return labels.astype(numpy.int64)


REAL = TargetKind("real")
BINARY = TargetKind(
    "binary",
    threshold=sp.Rational(1, 2),
    classify_doc="Class 0 or 1 of every output of every row: 1 where the predicted probability exceeds 1/2.",
    accuracy_doc="every output of every row counts once",
)
ONE_HOT = TargetKind(
    "one-hot",
    sums_to_one=True,
    by_largest=True,
    classify_doc="The class index of every row: the output with the largest probability.",
    accuracy_doc="Y one-hot",
)


@dataclass(frozen=True)
class InitRule:
    """Initial weights drawn from N(0, variance), the variance an expression in fan-in and fan-out."""

    name: str
    variance: sp.Expr

    def std(self, fan_in: int, fan_out: int) -> float:
        """The standard deviation for a layer with these fans."""
        # The exact variance rounded once, then its square root, as NumPy code would compute it.
        return math.sqrt(float(self.variance.xreplace({FAN_IN: fan_in, FAN_OUT: fan_out})))


#: He et al. (2015), for ReLU-like activations, which zero half of their inputs.
HE = InitRule("He", 2 / FAN_IN)
#: Glorot and Bengio (2010), normal form, for activations symmetric about zero.
GLOROT = InitRule("Glorot", 2 / (FAN_IN + FAN_OUT))
