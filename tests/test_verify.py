"""Verification: every accepted activation x loss pair verifies, every wrong rule is rejected with
its layer, its quantity and a counterexample, and each witness catches what the other cannot."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import sympy as sp

from symbackprop import ACTIVATIONS, LOSSES, TEXTBOOK, TUTORIAL_MISTAKES, Network, Rule, RuleSet, SpecError, verify

PAIRS = list(itertools.product(ACTIVATIONS, LOSSES))


def _output_network(activation: str, loss: str) -> Network:
    return Network([2, 3, 2], ["tanh", activation], loss)


ACCEPTED, REJECTED = [], []
for _activation, _loss in PAIRS:
    try:
        _output_network(_activation, _loss)
        ACCEPTED.append((_activation, _loss))
    except SpecError:
        REJECTED.append((_activation, _loss))


def test_the_spec_accepts_a_pair_for_every_activation_and_loss() -> None:
    assert {activation for activation, _ in ACCEPTED} == set(ACTIVATIONS)
    assert {loss for _, loss in ACCEPTED} == set(LOSSES)


@pytest.mark.parametrize(("activation", "loss"), ACCEPTED)
def test_every_accepted_pair_derives_and_verifies(activation: str, loss: str) -> None:
    report = _output_network(activation, loss).derive().verify()
    assert report.ok, report.table()
    assert {row.target for row in report.rows} == {"loss_gradient", "output_delta", "hidden_delta", "weight", "bias"}


@pytest.mark.parametrize(("activation", "loss"), REJECTED)
def test_every_rejected_pair_says_why(activation: str, loss: str) -> None:
    with pytest.raises(SpecError) as error:
        _output_network(activation, loss)
    message = str(error.value)
    assert message.startswith("loss: ") or message.startswith("sizes[")
    assert f"'{loss}'" in message or activation in message
    assert ACTIVATIONS[activation].label in message or LOSSES[loss].requires_output in message


@pytest.mark.parametrize("activation", [name for name, entry in ACTIVATIONS.items() if entry.jacobian.diagonal])
def test_every_elementwise_activation_verifies_on_hidden_layers(activation: str) -> None:
    report = Network([2, 3, 3, 2], [activation, activation, "identity"], "half_sse").derive().verify()
    assert report.ok, report.table()


@pytest.mark.parametrize("spec", ["3 -> 3 leaky_relu(0.3) -> 2 elu(2.5) : mse", "2 -> 3 softsign -> 1 sigmoid : sse"])
def test_parameters_and_custom_activations_verify(spec: str) -> None:
    from symbackprop import parse_compact

    network = parse_compact(spec, custom_activations={"softsign": "x/(1+abs(x))"})
    assert network.derive().verify().ok


def test_report_lists_every_layer_and_quantity() -> None:
    report = Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce").derive().verify(seed=7)
    assert [(row.layer, row.target) for row in report.rows] == [
        (3, "loss_gradient"),
        (3, "output_delta"),
        (3, "weight"),
        (3, "bias"),
        (2, "hidden_delta"),
        (2, "weight"),
        (2, "bias"),
        (1, "hidden_delta"),
        (1, "weight"),
        (1, "bias"),
    ]
    assert report.concrete_sizes == (2, 3, 3, 1)
    table = report.table()
    assert "seed 7" in table and table.endswith("all rules verified")
    assert "∂L/∂W⁽²⁾" in table and "BP2" in table


# Wrong rules, each a one-word slip from the textbook. The mutant's target, the layers it is
# applied to in the 2-3-3-2 network below (with its ok rows) and the slip.
def _hidden_delta(view, k, *, fprime_layer=None, transpose=False, factor=1):  # type: ignore[no-untyped-def]
    weight = view.W(k + 1) if transpose else view.W(k + 1).T
    return factor * view.hadamard(weight * view.delta(k + 1), view.fprime(fprime_layer or k))


MUTANTS = {
    "drop f' (BP1)": Rule("m", "output_delta", "δᴸ = ∇ₐL", lambda v, k: v.grad_a),
    "drop f' (BP2)": Rule("m", "hidden_delta", "δˡ = Wᵀδ", lambda v, k: v.W(k + 1).T * v.delta(k + 1)),
    "transpose (BP2)": Rule("m", "hidden_delta", "δˡ = Wδ ⊙ f′", lambda v, k: _hidden_delta(v, k, transpose=True)),
    "transpose (BP4)": Rule("m", "weight", "a δᵀ", lambda v, k: v.a(k - 1) * v.delta(k).T),
    "wrong layer's f' (BP2)": Rule(
        "m", "hidden_delta", "f′(zˡ⁺¹)", lambda v, k: _hidden_delta(v, k, fprime_layer=k + 1)
    ),
    "wrong layer's f' (BP1)": Rule("m", "output_delta", "f′(zᴸ⁻¹)", lambda v, k: v.hadamard(v.grad_a, v.fprime(k - 1))),
    "sign (∇ₐL)": Rule("m", "loss_gradient", "−∂ℓ/∂ŷ", lambda v, k: -v.loss_derivative),
    "sign (BP3)": Rule("m", "bias", "−δ", lambda v, k: -v.delta(k)),
    "factor 2 (BP2)": Rule("m", "hidden_delta", "2(...)", lambda v, k: _hidden_delta(v, k, factor=2)),
    "factor 2 (BP4)": Rule("m", "weight", "2δaᵀ", lambda v, k: 2 * v.delta(k) * v.a(k - 1).T),
    "a_k for a_k-1 (BP4)": Rule("m", "weight", "δaₖᵀ", lambda v, k: v.delta(k) * v.a(k).T),
}
#: Equal hidden widths (3, 3), so that some slips are shape-correct in the concrete copy and only
#: a numerical counterexample can expose them; different activations per layer, so that f′ of the
#: wrong layer differs.
MUTANT_NETWORK = Network([3, 3, 3, 2], ["tanh", "sigmoid", "sigmoid"], "sse")


#: What a counterexample says: an element's two values, or the shapes that do not match.
EVIDENCE = ("by the rule is", "SymPy's derivative of the composed loss is", "shape", "cannot be evaluated")


@pytest.fixture(scope="module")
def mutant_derivation():  # type: ignore[no-untyped-def]
    return MUTANT_NETWORK.derive()


@pytest.mark.parametrize("slip", MUTANTS)
def test_every_wrong_rule_is_rejected_with_a_counterexample(slip: str, mutant_derivation) -> None:
    mutant = dataclasses.replace(MUTANTS[slip], name=slip)
    report = mutant_derivation.verify(TEXTBOOK.replacing(mutant, name="mutant"))
    assert not report.ok
    checked = [row for row in report.rows if row.rule == slip]
    assert checked and report.failures == tuple(checked), report.table()
    table = report.table()
    for row in checked:
        # Both witnesses see the slip; the report names the layer, the quantity and the evidence.
        assert not row.symbolic.ok and not row.composed.ok
        assert f"FAIL layer {row.layer} {row.quantity} by {slip} (symbolic): {row.symbolic.detail}" in table
        assert f"FAIL layer {row.layer} {row.quantity} by {slip} (composed): {row.composed.detail}" in table
        for detail in (row.symbolic.detail, row.composed.detail):
            assert any(evidence in detail for evidence in EVIDENCE), detail


def test_shape_correct_slips_get_numeric_counterexamples(mutant_derivation) -> None:
    for slip in ("factor 2 (BP4)", "sign (BP3)", "wrong layer's f' (BP2)", "transpose (BP2)"):
        report = mutant_derivation.verify(TEXTBOOK.replacing(dataclasses.replace(MUTANTS[slip], name=slip)))
        row = next(row for row in report.failures if row.layer == 1)
        assert "the rule gives" in row.composed.detail and "SymPy's derivative" in row.composed.detail
        assert "(widths 3-3-3-2, 1-based indices)" in row.composed.detail


def test_symbolic_counterexample_names_the_element(mutant_derivation) -> None:
    slip = "factor 2 (BP4)"
    report = mutant_derivation.verify(TEXTBOOK.replacing(dataclasses.replace(MUTANTS[slip], name=slip)))
    row = report.failures[-1]
    assert row.layer == 1
    assert row.symbolic.detail == (
        "element ∂L/∂W⁽¹⁾[p, q] by the rule is 2*x[q]*δ⁽¹⁾[p], the derivation gives x[q]*δ⁽¹⁾[p]"
    )


def test_the_two_tutorial_mistakes_are_rejected() -> None:
    network = Network([2, 3, 3, 1], ["tanh", "tanh", "identity"], "sse")
    derivation = network.derive()
    assert derivation.verify(TEXTBOOK).ok
    report = derivation.verify(TUTORIAL_MISTAKES)
    failed = {(row.layer, row.rule) for row in report.failures}
    assert failed == {
        (3, "∇ₐL (sign slip)"),
        (3, "BP4 (a_k for a_k-1)"),
        (2, "BP4 (a_k for a_k-1)"),
        (1, "BP4 (a_k for a_k-1)"),
    }
    sign = report.failures[0]
    assert sign.quantity == "∂L/∂ŷ" and not sign.symbolic.ok and not sign.composed.ok
    # The sign slip is exactly the negative of the truth.
    assert "-2*a⁽³⁾[p] + 2*y[p]" in sign.symbolic.detail and "2*a⁽³⁾[p] - 2*y[p]" in sign.symbolic.detail
    assert "rules 'tutorial mistakes'" in report.table()


def test_only_the_symbolic_witness_sees_a_wrong_derivation(mutant_derivation) -> None:
    # A derivation whose ∂L/∂W⁽¹⁾ is doubled, judged by the right rules: the composed witness
    # never reads the derivation, so it agrees with the rule; the symbolic one does not.
    layer = mutant_derivation.layer(1)
    wrong = dataclasses.replace(layer, weight_gradient=2 * layer.weight_gradient)
    tampered = dataclasses.replace(mutant_derivation, layers=(wrong, *mutant_derivation.layers[1:]))
    report = tampered.verify()
    (row,) = report.failures
    assert (row.layer, row.target, row.symbolic.ok, row.composed.ok) == (1, "weight", False, True)


def test_only_the_composed_witness_sees_a_slip_the_derivation_shares(mutant_derivation) -> None:
    # The same doubled derivation and the doubled rule agree with each other, not with SymPy.
    layer = mutant_derivation.layer(1)
    wrong = dataclasses.replace(layer, weight_gradient=2 * layer.weight_gradient)
    tampered = dataclasses.replace(mutant_derivation, layers=(wrong, *mutant_derivation.layers[1:]))
    slip = dataclasses.replace(MUTANTS["factor 2 (BP4)"], name="factor 2 (BP4)")
    report = tampered.verify(TEXTBOOK.replacing(slip))
    row = next(row for row in report.failures if row.layer == 1)
    assert (row.target, row.symbolic.ok, row.composed.ok) == ("weight", True, False)


def test_a_user_rule_set_of_their_own() -> None:
    # The same rules written differently: transposes of transposes, δ from the elementwise product
    # in the other order; and a set without bias rules, which then has no bias rows.
    own = RuleSet(
        name="mine",
        rules=(
            Rule("grad", "loss_gradient", "∂ℓ/∂ŷ", lambda v, k: v.loss_derivative),
            Rule("out", "output_delta", "f′ ⊙ ∇ₐL", lambda v, k: v.hadamard(v.fprime(k), v.grad_a)),
            Rule(
                "hid",
                "hidden_delta",
                "f′ ⊙ (δᵀW)ᵀ",
                lambda v, k: v.hadamard(v.fprime(k), (v.delta(k + 1).T * v.W(k + 1)).T),
            ),
            Rule("w", "weight", "(a δᵀ)ᵀ", lambda v, k: (v.a(k - 1) * v.delta(k).T).T),
        ),
    )
    report = Network([2, 3, 3, 2], ["relu", "softplus", "sigmoid"], "mse").derive().verify(own)
    assert report.ok, report.table()
    assert report.rule_set == "mine"
    assert "bias" not in {row.target for row in report.rows}
    assert {row.rule for row in report.rows} == {"grad", "out", "hid", "w"}


def test_a_user_rule_for_softmax_only() -> None:
    # Rules may be restricted to an activation; the textbook's softmax BP1 is one.
    wrong_softmax = Rule(
        "softmax slip", "output_delta", "a ⊙ g", lambda v, k: v.hadamard(v.a(k), v.grad_a), activations=("softmax",)
    )
    rules = TEXTBOOK.replacing(wrong_softmax)
    assert Network([2, 3, 3], ["tanh", "softmax"], "cce").derive().verify(rules).failures[0].rule == "softmax slip"
    assert Network([2, 3, 3], ["tanh", "sigmoid"], "bce").derive().verify(rules).ok


def test_a_rule_that_cannot_be_evaluated_is_reported() -> None:
    broken = Rule(
        "needs f′ of softmax",
        "output_delta",
        "∇ₐL ⊙ f′",
        lambda v, k: v.hadamard(v.grad_a, v.fprime(k)),
        activations=("softmax",),
    )
    report = Network([2, 3, 3], ["tanh", "softmax"], "cce").derive().verify(TEXTBOOK.replacing(broken))
    (row,) = report.failures
    assert "the rule cannot be evaluated" in row.symbolic.detail and "not elementwise" in row.symbolic.detail


def test_rule_targets_are_checked() -> None:
    with pytest.raises(SpecError, match="unknown target 'gradient'"):
        Rule("x", "gradient", "", lambda v, k: v.delta(k))


@pytest.mark.parametrize("seed", [1, 2])
def test_other_seeds_other_points_same_verdict(seed: int) -> None:
    derivation = Network([2, 3, 2], ["elu", "softmax"], "cce").derive()
    report = derivation.verify(seed=seed)
    assert report.ok and report.seed == seed
    assert not derivation.verify(TUTORIAL_MISTAKES, seed=seed).ok


def test_the_composed_witness_uses_high_precision_numbers(mutant_derivation) -> None:
    from symbackprop.verify import DIGITS, ConcreteNetwork

    concrete = ConcreteNetwork(mutant_derivation, seed=0)
    values = [v for v in concrete.true_weight_gradients[0] if isinstance(v, sp.Float)]
    assert values and all(v._prec >= DIGITS * 3 for v in values)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: d.verify(seed="a"), "verify: seed must be an integer, got 'a'"),
        (lambda d: d.verify(seed=1.5), "verify: seed must be an integer, got 1.5"),
        (lambda d: d.verify(seed=True), "verify: seed must be an integer, got True"),
        (lambda d: d.verify(rules=5), "verify: rules must be a RuleSet (symbackprop.TEXTBOOK,"),
        (lambda d: d.verify(rules="textbook"), "verify: rules must be a RuleSet"),
        (lambda d: verify(5), "verify: expected a Derivation (from symbackprop.derive(network) or network.derive())"),
        (lambda d: verify(d.network), "verify: expected a Derivation"),
    ],
)
def test_arguments_of_the_wrong_type_are_spec_errors(call, message: str) -> None:  # type: ignore[no-untyped-def]
    derivation = Network([2, 1], "sigmoid", "bce").derive()
    with pytest.raises(SpecError) as error:
        call(derivation)
    assert str(error.value).startswith(message)


def test_any_integer_is_a_seed() -> None:
    derivation = Network([2, 1], "sigmoid", "bce").derive()
    assert derivation.verify(seed=-1).ok
    assert derivation.verify(seed=np.int64(7)).seed == 7
