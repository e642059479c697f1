"""The reference modules committed in generated/: the networks of our tutorials, rebuilt by one command.

Contract: :func:`reference_sources` is the exact content of generated/ (a test compares it byte for
byte with the committed files); :func:`regenerate_reference_modules` writes it, which is what
``symbackprop regenerate`` runs.
"""

from __future__ import annotations

from pathlib import Path

from ..files import make_folder, write_atomic
from ..spec import Network
from ..templating import render
from .modules import generate_module, write_module

#: The networks of our reference tutorials, committed in generated/ with where each comes from.
REFERENCE_NETWORKS: tuple[tuple[str, Network, str], ...] = (
    (
        "mlp_3_4_2_2_sse.py",
        Network([3, 4, 2, 2], ["relu", "relu", "sigmoid"], "sse"),
        "the worked two-hidden-layer example with two sigmoid outputs and squared error",
    ),
    (
        "mlp_2_4_3_1_bce.py",
        Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce"),
        "the binary classifier of the first tutorial, also the network of `symbackprop demo`",
    ),
    (
        "neuron_3_1_half_sse.py",
        Network([3, 1], ["sigmoid"], "half_sse"),
        "a single sigmoid neuron with the 1/2 sum-of-squares loss of the classic textbook derivation",
    ),
    (
        "chain_1_1_1_1_sse.py",
        Network([1, 1, 1, 1], ["relu", "relu", "sigmoid"], "sse"),
        "a chain of single units, where every matrix is a number and the chain rule is plain",
    ),
    (
        "mlp_7_2_1_bce.py",
        Network([7, 2, 1], ["sigmoid", "sigmoid"], "bce"),
        "the small all-sigmoid classifier with seven inputs and binary cross-entropy",
    ),
    (
        "mlp_2_8_1_bce_l2.py",
        Network([2, 8, 1], ["relu", "sigmoid"], "bce", l2=0.001),
        "a binary classifier with L2 regularisation, λ = 0.001: BP4 becomes δaᵀ + λW",
    ),
    (
        "softmax_4_16_3_cce.py",
        Network([4, 16, 3], ["tanh", "softmax"], "cce"),
        "a softmax classifier for three classes (iris-sized inputs) with categorical cross-entropy",
    ),
)
REGENERATE_COMMAND = "symbackprop regenerate"


def reference_sources() -> dict[str, str]:
    """The file name and source of every module of generated/, plus its README."""
    sources = {name: generate_module(network, command=REGENERATE_COMMAND) for name, network, _ in REFERENCE_NETWORKS}
    sources["README.md"] = render(
        "generated_readme.md.j2",
        command=REGENERATE_COMMAND,
        modules=[(name, network.compact, note) for name, network, note in REFERENCE_NETWORKS],
    )
    return sources


def regenerate_reference_modules(folder: str | Path) -> list[Path]:
    """Rebuild the committed reference modules in folder; returns the files written."""
    folder = make_folder(folder)
    written = []
    for name, source in reference_sources().items():
        path = folder / name
        write_module(path, source) if name.endswith(".py") else write_atomic(path, source)
        written.append(path)
    return written
