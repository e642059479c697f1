"""Covering sets: few networks that still reach every registry entry and every pairing a check
depends on, computed from the registries and from the spec's own validation.

A full cross product of the registries (hidden activation × output activation × loss) grows with
every entry, and most of it repeats itself: the code and the derivation of a hidden layer depend on
its own activation, those of the output layer on its activation and the loss. A covering set takes,
from the combinations that :class:`symbackprop.Network` accepts, a few in which every value of each
*aspect* (every hidden activation, every accepted (output activation, loss) pair, every loss) that
the full product reaches is reached at least once. Nothing here names an activation or a loss, so a
new registry entry is covered by every test that draws from these sets, and
``tests/test_covering.py`` proves it.

Generating a module (derivation, verification, formatting) is the expensive step of most checks,
so :func:`module_for` keeps one generated module per network for the whole test process, shared by
every test file that checks the same network; under pytest-xdist the workers of one run also share
the generated sources through a folder of that run's temporary directory (tests/conftest.py sets
:data:`SHARED_SOURCES`), so that no network is generated twice in a run.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from symbackprop import ACTIVATIONS, LOSSES, Network, SpecError
from symbackprop.codegen import generate_module, load_module

C = TypeVar("C")
#: What a candidate contributes to one aspect; ``None`` when the aspect does not apply to it.
Aspect = Callable[[Any], Hashable | None]

#: The widths of the covering networks: input, one hidden layer, output (3 outputs leave softmax
#: and the elementwise outputs the same shape; the hidden layer is wider than both, so a transposed
#: weight cannot pass by a shape coincidence).
SIZES = (3, 4, 3)


def accepted(sizes: Sequence[int], activations: Sequence[Any], loss: Any) -> bool:
    """Whether the spec accepts the network (its own validation, not a restatement of it)."""
    try:
        Network(list(sizes), list(activations), loss)
    except SpecError:
        return False
    return True


def reached(candidates: Iterable[C], aspect: Aspect) -> set[Hashable]:
    """The values an aspect takes over the candidates."""
    return {value for value in map(aspect, candidates) if value is not None}


def cover(candidates: Sequence[C], aspects: Mapping[str, Aspect], *, spread: bool = True) -> list[C]:
    """A few candidates in which every value of every aspect over ``candidates`` appears.

    Greedy and deterministic: the first value not yet reached (aspects in turn) picks, among the
    candidates that reach it, the one reaching most values not yet reached, then (with ``spread``)
    the one whose values were used least (so that, say, the hidden activations spread over the
    output pairs), then the first in order (without ``spread``, the candidates come in order of
    preference: each value is then reached once by an early candidate, and the rest take the
    first)."""
    keys_of = [[(name, aspect(c)) for name, aspect in aspects.items() if aspect(c) is not None] for c in candidates]
    holders: dict[tuple[str, Hashable], list[int]] = defaultdict(list)
    for index, keys in enumerate(keys_of):
        for key in keys:
            holders[key].append(index)
    # Values in order of first appearance, the aspects interleaved.
    by_aspect = {name: [key for key in holders if key[0] == name] for name in aspects}
    order = [key for group in itertools.zip_longest(*by_aspect.values()) for key in group if key is not None]
    missing = set(order)
    used: Counter[tuple[str, Hashable]] = Counter()
    chosen: list[int] = []
    for key in order:
        if key not in missing:
            continue
        best = min(
            holders[key],
            key=lambda i: (
                -len(missing.intersection(keys_of[i])),
                sum(used[k] for k in keys_of[i]) if spread else 0,
                i,
            ),
        )
        chosen.append(best)
        missing.difference_update(keys_of[best])
        used.update(keys_of[best])
    return [candidates[i] for i in sorted(chosen)]


def not_reached(selection: Iterable[C], candidates: Iterable[C], aspects: Mapping[str, Aspect]) -> dict[str, set]:
    """Per aspect, the values the candidates reach and the selection does not (empty when covered)."""
    selection, candidates = list(selection), list(candidates)
    return {name: reached(candidates, aspect) - reached(selection, aspect) for name, aspect in aspects.items()}


# --------------------------------------------------------------------------------------------------
# Networks of one hidden layer from the registries


def _elementwise(activation: Any) -> bool:
    return bool(activation.jacobian.diagonal)


def output_pairs(
    entries: Mapping[str, Any] | None = None, losses: Iterable[str] | None = None, sizes: Sequence[int] = SIZES
) -> list[tuple[str, str]]:
    """Every (output activation, loss) the spec accepts on a layer of ``sizes[-1]`` units fed by
    ``sizes[0]`` inputs. ``entries`` maps a name to the activation object the spec judges (the
    registry by default); entries that share an object are judged once."""
    entries = dict(ACTIVATIONS) if entries is None else dict(entries)
    losses = list(LOSSES) if losses is None else list(losses)
    verdicts: dict[tuple[int, str], bool] = {}
    found = []
    for (name, activation), loss in itertools.product(entries.items(), losses):
        key = (id(activation), loss)
        if key not in verdicts:
            verdicts[key] = accepted([sizes[0], sizes[-1]], [activation], loss)
        if verdicts[key]:
            found.append((name, loss))
    return found


def triples(
    entries: Mapping[str, Any] | None = None, losses: Iterable[str] | None = None, sizes: Sequence[int] = SIZES
) -> list[tuple[str, str, str]]:
    """Every (hidden activation, output activation, loss) the spec accepts for ``sizes`` (one
    hidden layer): each activation the spec accepts on a hidden layer with each accepted output
    pair. That acceptance factorises so is the spec's rule (it judges each hidden layer alone, then
    the output with the loss); ``tests/test_covering.py`` checks it against every combination."""
    entries = dict(ACTIVATIONS) if entries is None else dict(entries)
    pairs = output_pairs(entries, losses, sizes)
    if not pairs:
        return []
    output, loss = pairs[0]
    verdicts: dict[int, bool] = {}
    hidden = []
    for name, activation in entries.items():
        if id(activation) not in verdicts:
            verdicts[id(activation)] = accepted(sizes, [activation, entries[output]], loss)
        if verdicts[id(activation)]:
            hidden.append(name)
    return [(h, o, loss) for h in hidden for o, loss in pairs]


#: Each hidden activation, each (output activation, loss) pair: what the code of a network of one
#: hidden layer depends on. Each loss and each output activation follow from the pairs.
TRIPLE_ASPECTS: dict[str, Aspect] = {
    "hidden activation": lambda t: t[0],
    "output activation and loss": lambda t: (t[1], t[2]),
    "loss": lambda t: t[2],
}


@functools.cache
def registry_triples(sizes: tuple[int, ...] = SIZES) -> tuple[tuple[str, str, str], ...]:
    """Every (hidden, output, loss) of registry names the spec accepts at ``sizes``."""
    return tuple(triples(sizes=sizes))


@functools.cache
def covering_triples(sizes: tuple[int, ...] = SIZES) -> tuple[tuple[str, str, str], ...]:
    """The covering set of :func:`registry_triples` for :data:`TRIPLE_ASPECTS`."""
    return tuple(cover(registry_triples(sizes), TRIPLE_ASPECTS))


def triple_id(triple: Sequence[str]) -> str:
    return "-".join(triple)


#: A folder that the test processes of one run share (set by tests/conftest.py under
#: pytest-xdist), or None: sources are then kept in the process alone.
SHARED_SOURCES: Path | None = None


@functools.cache
def source_for(network: Network) -> str:
    """The generated source of ``network``, generated once per test run."""
    if SHARED_SOURCES is None:
        return generate_module(network)
    # The command line of a network names it entirely (widths, activations with their parameters
    # and definitions, loss); the source is the same in every process of the run.
    path = SHARED_SOURCES / f"{hashlib.sha256(network.cli_arguments.encode()).hexdigest()}.py"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    source = generate_module(network)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(source, encoding="utf-8")
    partial.replace(path)  # atomic: another worker reads the whole file or none
    return source


@functools.cache
def module_for(network: Network) -> Any:
    """The generated module of ``network``, loaded once per test process."""
    return load_module(source_for(network))
