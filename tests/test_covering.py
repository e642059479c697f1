"""The covering sets reach what they claim: every registry entry and every accepted pairing, for
each kind of check that draws from them (tests/covering.py)."""

from __future__ import annotations

import itertools

import pytest
from covering import (
    SIZES,
    TRIPLE_ASPECTS,
    accepted,
    cover,
    covering_triples,
    not_reached,
    output_pairs,
    registry_triples,
    triples,
)

from symbackprop import ACTIVATIONS, LOSSES, Network


def test_cover_reaches_every_value_of_every_aspect_with_few_candidates() -> None:
    candidates = list(itertools.product("abcde", range(4), "xy"))
    aspects = {"letter": lambda c: c[0], "number and side": lambda c: (c[1], c[2]), "none": lambda c: None}
    chosen = cover(candidates, aspects)
    assert not any(not_reached(chosen, candidates, aspects).values())
    assert len(chosen) == 8  # the 4 × 2 pairs, each once; the letters ride along
    assert len(set(chosen)) == len(chosen) and set(chosen) <= set(candidates)
    assert cover(candidates, aspects) == chosen  # deterministic


def test_not_reached_names_what_a_selection_misses() -> None:
    candidates = [("a", 1), ("b", 2)]
    assert not_reached([("a", 1)], candidates, {"first": lambda c: c[0]}) == {"first": {"b"}}


def test_accepted_triples_are_exactly_what_the_spec_accepts() -> None:
    """triples() judges hidden layers and output pairs apart; that gives the same set as judging
    every combination."""
    every = {
        (hidden, output, loss)
        for hidden, output, loss in itertools.product(ACTIVATIONS, ACTIVATIONS, LOSSES)
        if accepted(SIZES, [hidden, output], loss)
    }
    assert set(triples()) == every == set(registry_triples())
    assert {(output, loss) for output, loss in output_pairs(sizes=(3, 3))} == {
        (output, loss) for output, loss in itertools.product(ACTIVATIONS, LOSSES) if accepted([3, 3], [output], loss)
    }


def test_the_registry_covering_set_reaches_every_entry_and_accepted_pair() -> None:
    chosen = covering_triples()
    assert not any(not_reached(chosen, registry_triples(), TRIPLE_ASPECTS).values())
    assert {entry for triple in chosen for entry in triple[:2]} == set(ACTIVATIONS)
    assert {loss for *_, loss in chosen} == set(LOSSES)
    assert {h for h, _, _ in chosen} == {name for name, entry in ACTIVATIONS.items() if entry.jacobian.hidden_allowed}
    assert len(chosen) < len(registry_triples())
    for h, o, loss in chosen:
        Network(list(SIZES), [h, o], loss)


def test_the_oracle_networks_reach_every_entry_in_every_place_it_may_take() -> None:
    oracle = pytest.importorskip("test_oracle")
    specs = oracle.ORACLE_SPECS
    hidden = {entry for _, entries, _ in specs for entry in entries[:-1]}
    outputs = {(entries[-1], loss) for _, entries, loss in specs}
    elementwise = set(oracle.ELEMENTWISE_IDS) | set(oracle.CASES)
    assert hidden == elementwise
    assert {output for output, _ in outputs} == set(oracle.JUDGED)
    assert {loss for _, loss in outputs} == set(LOSSES)
    # Every accepted (output, loss) pair of the registry, and every loss the corpus is accepted with.
    assert {(o, loss) for o, loss in oracle.OUTPUT_PAIRS if o in ACTIVATIONS} <= outputs
    assert {loss for o, loss in oracle.OUTPUT_PAIRS if o in oracle.CASES} == {
        loss for o, loss in outputs if o in oracle.CASES
    }
    # Every parametric entry of the registry is also checked away from its default parameters.
    parametric = {name for name, activation in ACTIVATIONS.items() if activation.parameters}
    assert {entry.split("(")[0] for entry in oracle.VARIANT_IDS} == parametric
    # The large-|z| check drops only networks of corpus expressions that overflow by design.
    dropped = [spec for spec in specs if spec not in oracle.LARGE_Z_SPECS]
    assert all(
        not oracle.CASES[entry].large_z for _, entries, _ in dropped for entry in entries if entry in oracle.CASES
    )
    assert {entry for _, entries, _ in oracle.LARGE_Z_SPECS for entry in entries} >= set(oracle.BUILTIN_IDS)
