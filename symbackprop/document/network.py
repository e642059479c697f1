"""The network section: the layout of the TikZ figure of the network and the notation table.

Contract
--------
:func:`figure` places the units and edges the template ``derivation.tex.j2`` draws with TikZ:
columns ``spacing`` apart (narrower for deeper networks), at most :data:`FIGURE_UNITS` units per
layer (a wider layer shows its first units, a ⋮ and its last), every label printed, and the two
outermost edges of each layer carrying their weight so that the reader sees which index is which
unit. The figure is the only part of the document that uses the concrete widths.
:func:`notation_rows` is the table of symbols, meanings and shapes in the chosen notation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import naming
from ..naming import BATCH_LOSS, BATCH_SIZE
from ..printing.latex import Notation
from ..printing.linebreak import FormulaWriter

if TYPE_CHECKING:
    from ..derive import Derivation

#: Units drawn per layer in the figure; wider layers show the first ones, a ⋮, and the last.
FIGURE_UNITS = 5


def _shown_units(size: int) -> list[int | None]:
    """The units the figure draws (``None`` is the ⋮ between the first ones and the last)."""
    if size <= FIGURE_UNITS:
        return list(range(1, size + 1))
    return [*range(1, FIGURE_UNITS - 1), None, size]


def figure(derivation: Derivation, write: FormulaWriter) -> dict[str, Any]:
    sizes = derivation.network.sizes
    depth = derivation.network.depth
    spacing = round(min(2.8, 14.0 / max(depth, 1)), 2)
    columns: list[dict[str, Any]] = []
    for k, size in enumerate(sizes):
        units = _shown_units(size)
        top = (len(units) - 1) / 2
        nodes = []
        for row, unit in enumerate(units):
            y = round((top - row) * 1.1, 2)
            label = r"\vdots" if unit is None else write(naming.activation_output(k)[unit])
            node = {
                "id": f"u{k}r{row}",
                "x": round(k * spacing, 2),
                "y": y,
                "label": label,
                "dots": unit is None,
                "unit": unit,
            }
            nodes.append(node)
        kind = "input" if k == 0 else ("output" if k == depth else "hidden")
        caption = write(naming.width(k)) + f" = {size}"
        activation = "" if k == 0 else derivation.network.activations[k - 1].latex_name
        columns.append({"k": k, "nodes": nodes, "kind": kind, "caption": caption, "activation": activation})
    edges = []
    for k in range(1, depth + 1):
        sources, targets = columns[k - 1]["nodes"], columns[k]["nodes"]
        # The outermost edges carry their weight, above the top one and below the bottom one, where
        # no other edge crosses: w_11 and w_{n_k n_{k-1}} show which index is which unit.
        outer = {(sources[0]["id"], targets[0]["id"]): "above", (sources[-1]["id"], targets[-1]["id"]): "below"}
        for source in sources:
            for target in targets:
                if source["dots"] or target["dots"]:
                    continue
                side = outer.get((source["id"], target["id"]), "")
                label = write(naming.weight(k)[target["unit"], source["unit"]]) if side else ""
                edges.append({"source": source["id"], "target": target["id"], "label": label, "side": side})
    return {"columns": columns, "edges": edges, "spacing": spacing}


def notation_rows(notation: Notation, write: FormulaWriter) -> list[dict[str, str]]:
    """The notation table; the generic layer letter (k or l) is a symbol of the printing layer."""
    layer = notation.layer_letter
    n_k, n_before = notation.width_name(layer), notation.width_name(f"{layer}-1")
    rows = [
        (n_k, f"number of units in layer ${layer}$ (layer 0 is the input)", ""),
        (
            notation.element("w", layer, "ij", None),
            f"weight from unit $j$ of layer ${layer}-1$ to unit $i$ of layer ${layer}$",
            rf"{notation.vector('w', layer, None)}: {n_k} \times {n_before}",
        ),
        (notation.element("b", layer, "i", None), f"bias of unit $i$ of layer ${layer}$", rf"{n_k} \times 1"),
        (notation.element("z", layer, "i", None), "weighted input (pre-activation) of unit $i$", rf"{n_k} \times 1"),
        (
            notation.element("a", layer, "i", None),
            rf"output of unit $i$; ${write(naming.activation_output(0)[naming.I])}$ is the input"
            + (r", $\hat{y}_{i}$ the prediction" if notation.output_as_prediction else ""),
            rf"{n_k} \times 1",
        ),
        (notation.activation_name(layer), f"activation of layer ${layer}$", ""),
        (
            notation.element("delta", layer, "i", None),
            rf"error of unit $i$, $\partial {notation.loss} / \partial z$ of that unit",
            rf"{n_k} \times 1",
        ),
        (write(sp.KroneckerDelta(naming.I, naming.P)), "Kronecker delta: 1 if $i = p$, else 0", ""),
        (write(naming.LOSS), "loss of one sample", ""),
        (rf"{write(BATCH_LOSS)},\ {write(BATCH_SIZE)}", "mean loss of a batch of $m$ samples", ""),
    ]
    return [{"symbol": symbol, "meaning": meaning, "shape": shape} for symbol, meaning, shape in rows]
