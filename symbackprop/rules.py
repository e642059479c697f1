"""The hand-derived matrix-form rules of back-propagation, as data.

Contract
--------
A :class:`Rule` computes one quantity of layer k from a :class:`MatrixView` of the network:

========================  =======================================  ===================
target                    textbook rule (column vectors)           shape
========================  =======================================  ===================
``loss_gradient``         ∇ₐL = ∂L/∂ŷ                                (n_L, 1)
``output_delta``          δᴸ = ∇ₐL ⊙ f′(zᴸ)                          (n_L, 1)
``hidden_delta``          δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ)                   (n_l, 1)
``weight``                ∂L/∂Wˡ = δˡ (aˡ⁻¹)ᵀ + λWˡ                    (n_l, n_{l-1})
``bias``                  ∂L/∂bˡ = δˡ                                 (n_l, 1)
========================  =======================================  ===================

A view hands out the same names in two modes: symbolic (``MatrixSymbol`` objects with symbolic
widths, compared element by element with the derivation) and concrete (explicit matrices of
high-precision numbers from a small copy of the network, compared with SymPy's derivative of
the composed loss). λ is the network's L2 coefficient (``view.l2``: the symbol λ, its number,
or 0 for a network without the term, which removes it). A rule is a plain function of the view
and the layer number, so a user can hand in a :class:`RuleSet` of their own; :data:`TEXTBOOK` is the correct one, and
:data:`TUTORIAL_MISTAKES` carries two errors found in a popular tutorial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Protocol, TypeAlias

import sympy as sp

from .errors import SpecError
from .registry import Activation

MatrixLike: TypeAlias = sp.MatrixBase | sp.MatrixExpr

TARGETS = ("loss_gradient", "output_delta", "hidden_delta", "weight", "bias")
#: The textbook's names of the four equations of back-propagation, by the quantity each gives,
#: in their order BP1–BP4 (∇ₐL, the loss's own derivative, has no number). The document's titles
#: and the comments of generated code name the rules by these.
LABELS: Mapping[str, str] = MappingProxyType(
    {"output_delta": "BP1", "hidden_delta": "BP2", "bias": "BP3", "weight": "BP4"}
)


def layer_targets(is_output: bool, *, bp_order: bool = False) -> tuple[str, ...]:
    """The quantities a layer's rules give: the output layer's ∇ₐL and δ, or a hidden layer's δ,
    then ∂L/∂W and ∂L/∂b (the verification report's order), or with ``bp_order`` in the order of
    :data:`LABELS`, BP1–BP4 (the document's)."""
    delta: tuple[str, ...] = ("loss_gradient", "output_delta") if is_output else ("hidden_delta",)
    targets = (*delta, "weight", "bias")
    if bp_order:
        numbered = list(LABELS)
        return tuple(sorted(targets, key=lambda target: numbered.index(target) if target in numbered else -1))
    return targets


class MatrixView(Protocol):
    """The quantities a rule may use; symbolic or concrete, with the same names."""

    depth: int

    def W(self, k: int) -> MatrixLike: ...
    def b(self, k: int) -> MatrixLike: ...
    def z(self, k: int) -> MatrixLike: ...
    def a(self, k: int) -> MatrixLike: ...
    def delta(self, k: int) -> MatrixLike: ...
    def fprime(self, k: int) -> MatrixLike: ...
    def ones(self, k: int) -> MatrixLike: ...
    def hadamard(self, first: MatrixLike, second: MatrixLike) -> MatrixLike: ...

    @property
    def y(self) -> MatrixLike: ...
    @property
    def grad_a(self) -> MatrixLike: ...
    @property
    def loss_derivative(self) -> MatrixLike: ...
    @property
    def l2(self) -> sp.Expr: ...


@dataclass(frozen=True)
class Rule:
    """One matrix-form rule: ``build(view, k)`` gives the target quantity of layer k."""

    name: str
    target: str
    formula: str
    build: Callable[[MatrixView, int], MatrixLike]
    #: The activations of the layer the rule is for (``None``: every one). A later rule of a set
    #: for the same target takes precedence, so "BP1 (softmax)" replaces BP1 for softmax only.
    activations: tuple[str, ...] | None = None
    #: What the formula gains where the network carries an L2 term (" + λWˡ"); ``build`` reads
    #: ``view.l2``, which is 0 without one.
    l2_term: str = ""

    def formula_for(self, regularised: bool) -> str:
        """The formula as it reads for a network with (or without) an L2 term."""
        return self.formula + self.l2_term if regularised else self.formula

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise SpecError(f"rule '{self.name}': unknown target '{self.target}'; one of {', '.join(TARGETS)}")

    def applies_to(self, activation: Activation) -> bool:
        return self.activations is None or activation.name in self.activations


@dataclass(frozen=True)
class RuleSet:
    """The rules to verify a derivation against; later rules for a target take precedence."""

    name: str
    rules: tuple[Rule, ...]

    def rule_for(self, target: str, activation: Activation) -> Rule | None:
        for rule in reversed(self.rules):
            if rule.target == target and rule.applies_to(activation):
                return rule
        return None

    def replacing(self, *rules: Rule, name: str | None = None) -> RuleSet:
        """This set with ``rules`` taking precedence, e.g. a mutant for a test."""
        return replace(self, name=name or self.name, rules=self.rules + rules)


TEXTBOOK = RuleSet(
    name="textbook",
    rules=(
        Rule("∇ₐL", "loss_gradient", "∂L/∂ŷ = (∂ℓ/∂ŷᵢ)ᵢ", lambda v, k: v.loss_derivative),
        Rule(
            LABELS["output_delta"], "output_delta", "δᴸ = ∇ₐL ⊙ f′(zᴸ)", lambda v, k: v.hadamard(v.grad_a, v.fprime(k))
        ),
        Rule(
            f"{LABELS['output_delta']} (softmax)",
            "output_delta",
            "δᴸ = aᴸ ⊙ (∇ₐL − ⟨∇ₐL, aᴸ⟩)",
            lambda v, k: v.hadamard(v.a(k), v.grad_a - v.ones(k) * (v.a(k).T * v.grad_a)),
            activations=("softmax",),
        ),
        Rule(
            LABELS["hidden_delta"],
            "hidden_delta",
            "δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ)",
            lambda v, k: v.hadamard(v.W(k + 1).T * v.delta(k + 1), v.fprime(k)),
        ),
        Rule(LABELS["bias"], "bias", "∂L/∂bˡ = δˡ", lambda v, k: v.delta(k)),
        Rule(
            LABELS["weight"],
            "weight",
            "∂L/∂Wˡ = δˡ (aˡ⁻¹)ᵀ",
            lambda v, k: v.delta(k) * v.a(k - 1).T + v.l2 * v.W(k),
            l2_term=" + λWˡ",
        ),
    ),
)

#: The textbook rules with two mistakes of a popular tutorial: the sign of ∂L/∂ŷ for
#: L = Σᵢ(yᵢ − ŷᵢ)², and aᵏ where aᵏ⁻¹ belongs in ∂L/∂Wᵏ.
TUTORIAL_MISTAKES = TEXTBOOK.replacing(
    Rule("∇ₐL (sign slip)", "loss_gradient", "∂L/∂ŷᵢ = 2(yᵢ − ŷᵢ)", lambda v, k: 2 * (v.y - v.a(k))),
    Rule(
        f"{LABELS['weight']} (a_k for a_k-1)",
        "weight",
        "∂L/∂Wₖ = (∂L/∂zₖ)ᵀ·aₖ",
        lambda v, k: v.delta(k) * v.a(k).T + v.l2 * v.W(k),
        l2_term=" + λWₖ",
    ),
    name="tutorial mistakes",
)
