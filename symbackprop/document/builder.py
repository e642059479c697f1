"""The document builder: a derivation made into the data the templates insert, and rendered.

Contract
--------
:func:`document_context` turns a :class:`~symbackprop.derive.Derivation` into plain data for the
templates, one entry per chosen section (:data:`~.options.SECTIONS`, built by the module of the
same name); every formula in it was printed by :mod:`symbackprop.printing` from the derivation's
own expressions, from the registry entries and from the matrix-form rules the verification
checked. Sections not asked for are not computed. The derivation must verify against the
textbook rules first (:func:`~symbackprop.verify.require_verified`). Every fact the prose
states comes in the context from the module that owns it: the textbook labels of the rules
(:data:`~symbackprop.rules.LABELS`), the symbols it names (:func:`prose_symbols`), the
witnesses and the precision of the verification. Names (the network, the loss, an activation, a
rule set) are plain text, which each format escapes. The templates only loop and insert; the
sentences, one source for both formats, are ``templates/_prose.j2``, the rows of the equations
``templates/_math.j2``:

* :func:`render_latex` fills ``templates/derivation.tex.j2``: a full document (``standalone``)
  or a fragment to ``\\input`` (its first lines list the packages it needs);
* :func:`render_markdown` fills ``templates/derivation.md.j2`` with ``$...$`` / ``$$...$$``
  math that GitHub and Jupyter (MathJax) render; it has no figure (TikZ does not render there);
* :func:`layer_latex` is the display math of one layer, for Jupyter's ``_repr_latex_``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import naming
from ..naming import BATCH_SIZE, A
from ..printing.latex import DEFAULT_NOTATION, Notation, escape_text
from ..printing.linebreak import FormulaWriter
from ..rules import LABELS, TEXTBOOK, RuleSet
from ..templating import render
from .activations import activation_steps
from .backward import backward, layer_blocks
from .forward import forward
from .matrix import matrix
from .network import figure, notation_rows
from .options import resolve_notation, resolve_sections
from .paths import paths
from .verification import verification

if TYPE_CHECKING:
    from ..derive import Derivation, LayerDerivation
    from ..spec import Network
    from ..verify import VerificationReport


def document_context(
    derivation: Derivation,
    *,
    notation: str | Notation = DEFAULT_NOTATION,
    sections: str | Iterable[str] | None = None,
    report: VerificationReport | None = None,
    rules: RuleSet | None = None,
) -> dict[str, Any]:
    """Everything the templates insert, printed; sections not asked for are not computed. The
    derivation must verify against the textbook rules (:func:`~symbackprop.verify.require_verified`)."""
    from ..verify import require_verified

    textbook = require_verified(derivation)
    chosen = resolve_sections(sections)
    style = resolve_notation(notation)
    network = derivation.network
    write = FormulaWriter(style, network.depth)
    rules = rules or TEXTBOOK
    context: dict[str, Any] = {
        "sections": chosen,
        "notation": {"name": style.name, "description": style.description, "layer": style.layer_letter},
        "network": network.compact,
        "network_pieces": title_pieces(network),
        "widths": [f"{write(naming.width(k))} = {size}" for k, size in enumerate(network.sizes)],
        "depth": network.depth,
        "loss_name": network.loss.latex_name,
        "loss_label": network.loss.name,
        "output_symbol": write(A),
        "batch_factor": write(1 / BATCH_SIZE),
        "symbols": prose_symbols(style, write),
        "rule_labels": list(LABELS.values()),
    }
    if "network" in chosen:
        context["figure"] = figure(derivation, write)
        context["notation_rows"] = notation_rows(style, write)
    if "forward" in chosen:
        context["forward"] = forward(derivation, write)
    if "activations" in chosen:
        distinct = {activation.label: activation for activation in network.activations if activation.jacobian.diagonal}
        context["activations"] = [activation_steps(activation, write) for activation in distinct.values()]
    if "backward" in chosen:
        context["backward"] = backward(derivation, write)
    if "matrix" in chosen:
        context["matrix"] = matrix(derivation, write, rules)
    if "paths" in chosen:
        context["paths"] = paths(derivation, write)
    if "verification" in chosen:
        report = report or (textbook if rules is TEXTBOOK else derivation.verify(rules))
        context["verification"] = verification(derivation, write, report, rules)
    return context


def title_pieces(network: Network) -> list[str]:
    """The compact form in the pieces a title may break between: before each arrow, never inside
    a layer's width and activation, nor before the loss (``["2", "-> 4 relu", "-> 1 sigmoid : bce"]``)."""
    first, *layers = network.compact.split(" -> ")
    return [first, *(f"-> {layer}" for layer in layers)]


#: The elementwise (Hadamard) product, as :mod:`symbackprop.printing.latex` prints it.
ELEMENTWISE_PRODUCT = r"\odot"


def prose_symbols(style: Notation, write: FormulaWriter) -> dict[str, str]:
    """The symbols the prose names, printed: the error δ, the unit indices p and q, the batch size m."""
    return {
        "error": style.letter("delta", style.layer_letter, None)[0],
        "unit": write(naming.P),
        "source_unit": write(naming.Q),
        "batch_size": write(BATCH_SIZE),
        "elementwise_product": ELEMENTWISE_PRODUCT,
    }


def render_latex(
    derivation: Derivation,
    *,
    notation: str | Notation = DEFAULT_NOTATION,
    sections: str | Iterable[str] | None = None,
    standalone: bool = True,
    report: VerificationReport | None = None,
    rules: RuleSet | None = None,
) -> str:
    """The LaTeX document (``standalone``) or fragment of the derivation."""
    context = document_context(derivation, notation=notation, sections=sections, report=report, rules=rules)
    return render("derivation.tex.j2", standalone=standalone, escape=escape_text, **context)


def render_markdown(
    derivation: Derivation,
    *,
    notation: str | Notation = DEFAULT_NOTATION,
    sections: str | Iterable[str] | None = None,
    report: VerificationReport | None = None,
    rules: RuleSet | None = None,
) -> str:
    """The derivation as Markdown with MathJax math; the TikZ figure is left out."""
    context = document_context(derivation, notation=notation, sections=sections, report=report, rules=rules)
    return render("derivation.md.j2", **context)


def layer_latex(layer: LayerDerivation, *, notation: str | Notation = DEFAULT_NOTATION) -> str:
    """Display math of one layer's steps (∂L/∂a, δ, ∂L/∂w, ∂L/∂b), for Jupyter's ``_repr_latex_``.

    A layer on its own does not know the network's widths, so sums stay in Σ form; the output
    layer's a⁽ᴸ⁾ prints as ŷ as in the document.
    """
    write = FormulaWriter(resolve_notation(notation), layer.k if layer.is_output else None)
    # A layer alone cannot tell whether the targets sum to one; its δ shows the form it holds.
    blocks = layer_blocks(layer, write, None, targets_sum_to_one=False)
    # Jupyter shows text/latex as mathematics only, so the prose notes are left to the document.
    return render("layer.md.j2", blocks=[{**block, "note": ""} for block in blocks])
