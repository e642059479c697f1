"""The diagnosis beyond the catalogue's planted bugs: mistakes written the way people write them.

The hand-written implementations of tests/handwritten/ (nine coding styles, never shown to the
checker's authors as fixtures of its mutants) carry mistakes whose kind the diagnosis must recover:
the derivative a layer really computes (a slip of the formula, another activation's, a wrong
parameter, which it estimates), δ of the wrong layer, another layer's activation, swapped layers, a
softmax treated as elementwise, a gradient left at zero, a constant added, and a factor the
network's numbers explain. Each is named by its kind, at the layer nearest the output where the
code departs from the derivation, and the broken step stands beside the derived one. Every entry
of the catalogue is made by at least one implementation, here or in tests/test_gradcheck.py.
"""

from __future__ import annotations

import copy
import types

import pytest
from handwritten.cases import BUGGY
from test_gradcheck import MISTAKES
from test_l2 import L2_SLIPS

from symbackprop.testing import CATALOGUE, check_gradients

#: A corpus case, the kind of mistake it must be named by, and the layer nearest the output where it sits.
NAMED = [
    ("objects-tanh-no-square", "wrong_derivative", 1),
    ("nielsen-sigmoid-prime-plus", "wrong_derivative", 2),
    ("keras-square-leaky-slope", "wrong_derivative", 1),
    ("objects-layers-elu-without-alpha", "wrong_derivative", 1),
    ("keras-relu-from-one", "wrong_derivative", 2),
    ("nielsen-square-delta-of-next-layer", "next_layer_delta", 2),
    ("einsum-deep-a1-for-a2", "earlier_activation", 3),
    ("cs231n-softmax-diagonal", "diagonal_jacobian", 2),
    ("objects-db2-left-zero", "missing_gradient", 2),
    ("nielsen-square-layers-swapped", "wrong_layer", 3),
    ("einsum-stray-offset", "constant_offset", 1),
    ("keras-mse-without-outputs", "network_factor", 3),
]
CASES = {case.name: case for case in BUGGY}


def _report(name: str):  # type: ignore[no-untyped-def]
    case = CASES[name]
    target = case.target if isinstance(case.target, types.FunctionType) else copy.deepcopy(case.target)
    return check_gradients(case.network, target, **case.options)


@pytest.mark.parametrize(("name", "mistake", "layer"), NAMED, ids=[name for name, _, _ in NAMED])
def test_a_realistic_mistake_is_named_by_its_kind_at_its_layer(name: str, mistake: str, layer: int) -> None:
    report = _report(name)
    first = report.first_failure
    assert (first.mistake, first.layer) == (mistake, layer), report.table()
    assert any(keyword in first.diagnosis.lower() for keyword in CASES[name].names), first.diagnosis


def test_the_derivative_a_layer_computes_is_printed_beside_the_right_one() -> None:
    first = _report("objects-tanh-no-square").first_failure
    assert "layer 1 computes f′(z) = 1 - tanh(z); tanh′(z) = 1 - tanh(z)²" in first.diagnosis


def test_a_wrong_parameter_is_estimated() -> None:
    first = _report("keras-square-leaky-slope").first_failure
    assert "α = 0.01 where the network's α = 0.1" in first.diagnosis


def test_the_broken_step_stands_beside_the_derived_one() -> None:
    report = _report("objects-tanh-no-square")
    (step,) = report.broken_steps
    assert (step.layer, step.rule) == (1, "BP2")
    assert step.derived == "δ1[p] = (1 - tanh(z1[p])²)⋅∂L/∂a1[p]"
    assert step.fitted == "δ1[p] = (1 - tanh(z1[p]))⋅∂L/∂a1[p]"
    assert r"\tanh" in step.derived_latex and r"\tanh" in step.fitted_latex
    assert "your code fits" in report.table() and "$$" in report.markdown()


def test_a_mistake_nothing_explains_is_not_given_a_confident_name() -> None:
    """GELU′ without the 3 of the power rule: no candidate fits, so no kind is named."""
    report = _report("einsum-deep-gelu-power-rule")
    assert report.verdict == "fail"
    assert all(row.mistake == "" for row in report.rows if not row.ok), report.table()
    assert "no known mistake explains it" in report.first_failure.diagnosis


def test_every_catalogue_entry_has_a_buggy_implementation() -> None:
    made = {mistake for _, _, mistake, _ in MISTAKES} | {mistake for _, mistake, _ in NAMED}
    made |= {"forward_without_output_activation", "changed_parameters", *L2_SLIPS}
    assert made == set(CATALOGUE)


def test_a_factor_or_a_substitution_is_written_into_the_broken_step() -> None:
    (step,) = _report("keras-missing-mean").broken_steps
    assert (step.rule, step.derived) == ("BP4", "∂L/∂w2[p, q] = a1[q]⋅δ2[p]")
    assert step.fitted == "∂L/∂w2[p, q] = m⋅a1[q]⋅δ2[p]"
    (step,) = _report("einsum-deep-a1-for-a2").broken_steps
    assert step.fitted == "∂L/∂w3[p, q] = a1[q]⋅δ3[p]"
