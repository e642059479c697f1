"""The derivation document compiled with a real pdflatex, for every architecture of generated/, a
6-layer network of width 512, and every activation (and a custom one) and loss of the registry in
every notation: no error, no overfull line, nothing taller than a page, a sensible page count, the
section titles and a formula per layer in the PDF's text. The title's network breaks only between
layers and is evenly spaced (word positions from ``pdftotext -bbox``), and no display is split
across pages (each display writes the page it starts and ends on into the log). Skipped, with the
reason, where TeX or poppler-utils is not installed."""

from __future__ import annotations

import html
import itertools
import os
import re
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from covering import cover, triples

from symbackprop.document import compile_pdf, render_latex
from symbackprop.errors import GenerationError
from symbackprop.printing.latex import NOTATIONS
from symbackprop.registry import ACTIVATIONS, custom_activation
from symbackprop.spec import Network

pytestmark = pytest.mark.skipif(
    shutil.which("pdflatex") is None or shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="needs pdflatex and poppler-utils (apt-get install texlive-latex-base texlive-latex-recommended"
    " texlive-latex-extra texlive-pictures poppler-utils)",
)

#: The architectures of the reference modules in generated/.
GENERATED = {
    "mlp_3_4_2_2_sse": ([3, 4, 2, 2], ["relu", "relu", "sigmoid"], "sse"),
    "mlp_2_4_3_1_bce": ([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce"),
    "neuron_3_1_half_sse": ([3, 1], ["sigmoid"], "half_sse"),
    "chain_1_1_1_1_sse": ([1, 1, 1, 1], ["relu", "relu", "sigmoid"], "sse"),
    "mlp_7_2_1_bce": ([7, 2, 1], ["sigmoid", "sigmoid"], "bce"),
    "softmax_4_16_3_cce": ([4, 16, 3], ["tanh", "softmax"], "cce"),
}
DEEP_WIDE = ([512] * 7, ["relu", "tanh", "relu", "sigmoid", "relu", "sigmoid"], "bce")
TITLES = [
    "The network and its notation",
    "Forward pass",
    "Derivatives of the activations",
    "Backward pass, layer by layer",
    "Matrix form (BP1–BP4) and batch form",
    "The paths of one deep weight",
    "Verification",
]


Compiled = tuple[Path, tuple[float, ...], int]
#: What TeX logs when a page holds something taller than the page (a display that cannot break).
_OVERFULL_PAGE = re.compile(r"Overfull \\vbox \(([\d.]+)pt too high\)")


def _build_all(folder: Path, jobs: dict[str, tuple[tuple, str]]) -> dict[str, Compiled]:
    """Render every document here (SymPy's caches are not thread-safe), then compile them in parallel."""
    sources = {}
    for name, ((sizes, activations, loss), notation) in jobs.items():
        tex = folder / f"{name}.tex"
        tex.write_text(
            render_latex(Network(sizes=sizes, activations=activations, loss=loss).derive(), notation=notation)
        )
        sources[name] = (tex, len(sizes) - 1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(sources, pool.map(compile_pdf, [tex for tex, _ in sources.values()]), strict=True))
    for name, result in results.items():
        assert not _OVERFULL_PAGE.search(result.log), f"{name}: something is taller than the page"
    return {name: (results[name].pdf, results[name].overfull_hboxes, depth) for name, (_, depth) in sources.items()}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Compiled]:
    jobs = {name: (spec, "tutorial") for name, spec in GENERATED.items()}
    jobs["mlp_2_4_3_1_bce_coursera"] = (GENERATED["mlp_2_4_3_1_bce"], "coursera")
    return _build_all(tmp_path_factory.mktemp("latex"), jobs)


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


def _check(pdf: Path, overfull: tuple[float, ...], depth: int, *, notation: str = "tutorial") -> None:
    assert overfull == (), f"overfull lines in {pdf.name}: {overfull} pt"
    assert 3 <= _pages(pdf) <= 6 + 3 * depth
    text = _text(pdf)
    flat = re.sub(r"\s+", " ", text)
    for title in TITLES:
        assert title in flat, f"section '{title}' missing from {pdf.name}"
    assert "All rules verified" in flat
    for k in range(1, depth + 1):
        role = "output layer" if k == depth else "hidden layer"
        assert f"Layer {k} ({role}" in flat
        # One formula per layer: its error δ_p^(k), which pdftotext writes as δp(k) or δ(k)p.
        superscript = NOTATIONS[notation].layer(k)
        packed = text.replace(" ", "")
        assert f"δp{superscript}" in packed or f"δ{superscript}p" in packed, f"no δ of layer {k} in {pdf.name}"


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_architectures_compile(compiled: dict, name: str) -> None:
    pdf, overfull, depth = compiled[name]
    _check(pdf, overfull, depth)


def test_coursera_notation_compiles(compiled: dict) -> None:
    pdf, overfull, depth = compiled["mlp_2_4_3_1_bce_coursera"]
    _check(pdf, overfull, depth, notation="coursera")
    assert "W[1]" in _text(pdf).replace(" ", "")


@pytest.mark.slow
def test_six_layers_of_width_512_stay_on_the_page(tmp_path: Path) -> None:
    pdf, overfull, depth = _build_all(tmp_path, {"deep_wide": (DEEP_WIDE, "tutorial")})["deep_wide"]
    _check(pdf, overfull, depth)
    flat = re.sub(r"\s+", " ", _text(pdf))
    assert "n6 = 512" in flat.replace("_", "")


#: A user's activation, with a kink-free abs(x) in it, beside the registry's.
SOFTSIGN = custom_activation("softsign", "x/(1+abs(x))")
#: The same under a long name (without "_", which pdftotext reads as a space in typewriter type).
SOFTSIGN_LONG = custom_activation("softsignwithaverylongname", "x/(1+abs(x))")


def _registry_jobs() -> dict[str, tuple[tuple, str]]:
    """A covering set (tests/covering.py) of the accepted networks of one hidden layer with every
    notation: in each notation, each activation (and the custom one) on a hidden layer and on the
    output layer, and each loss, at least once; instead of a network per activation and per loss
    in every notation."""
    entries = {**ACTIVATIONS, SOFTSIGN.name: SOFTSIGN}
    candidates = [(*triple, notation) for triple in triples(entries, sizes=(3, 2, 2)) for notation in NOTATIONS]
    aspects = {
        "hidden": lambda c: (c[0], c[3]),
        "output": lambda c: (c[1], c[3]),
        "loss": lambda c: (c[2], c[3]),
    }
    return {
        f"{hidden}_{output}_{loss}_{notation}": (([3, 2, 2], [entries[hidden], entries[output]], loss), notation)
        for hidden, output, loss, notation in cover(candidates, aspects)
    }


@pytest.mark.slow
def test_every_registry_entry_compiles_in_every_notation(tmp_path: Path) -> None:
    jobs = _registry_jobs()
    for name, (pdf, overfull, depth) in _build_all(tmp_path, jobs).items():
        _check(pdf, overfull, depth, notation=jobs[name][1])


def test_a_cross_reference_is_settled_by_a_second_run(tmp_path: Path) -> None:
    """pdflatex runs once for the derivation documents, and again when its log asks for it."""
    tex = tmp_path / "refs.tex"
    tex.write_text(
        "\\documentclass{article}\\begin{document}See section~\\ref{later}."
        "\\section{Later}\\label{later}\\end{document}\n"
    )
    text = _text(compile_pdf(tex).pdf)
    assert "See section 1." in text and "??" not in text


def _title_network_lines(pdf: Path) -> list[list[tuple[str, float, float]]]:
    """The lines of the network in the title on page 1, each a list of (word, left, right) in points."""
    page = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    words = [
        (html.unescape(text), float(left), float(right), float(bottom))
        for left, right, bottom, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
        )
    ]
    texts = [word[0] for word in words]
    title = words[texts.index("network") + 1 : texts.index("derived")]
    lines: list[list[tuple[str, float, float]]] = []
    bottom_of_line = None
    for text, left, right, bottom in title:
        # An arrow (math) ends half a point above the typewriter words of its line.
        if bottom_of_line is None or abs(bottom - bottom_of_line) > 2:
            lines.append([])
            bottom_of_line = bottom
        lines[-1].append((text, left, right))
    return lines


#: A line of the title's network: whole layers only, "→ width activation", the input width first.
_TITLE_LINE = re.compile(r"^(\d+)?( ?→ \d+ \S+)+( : \w+)?$")


@pytest.mark.parametrize(
    ("sizes", "activations", "loss"),
    [
        ([784, 128, 64, 10], ["relu", "relu", "softmax"], "cce"),
        ([3, 8, 8, 8, 8, 2], [SOFTSIGN_LONG, "elu(1.5)", "softplus", SOFTSIGN_LONG, "sigmoid"], "sse"),
    ],
    ids=["784-128-64-10", "long-custom-names"],
)
def test_the_title_breaks_only_between_layers_and_is_evenly_spaced(tmp_path: Path, sizes, activations, loss) -> None:
    network = Network(sizes=sizes, activations=activations, loss=loss)
    tex = tmp_path / "title.tex"
    tex.write_text(render_latex(network.derive(), sections=["network"]))
    lines = _title_network_lines(compile_pdf(tex).pdf)
    assert " ".join(" ".join(word for word, _, _ in line) for line in lines) == network.compact.replace("->", "→")
    for line in lines:
        assert _TITLE_LINE.match(" ".join(word for word, _, _ in line)), f"a layer is split: {line}"
        gaps = [right_word[1] - left_word[2] for left_word, right_word in itertools.pairwise(line)]
        # A colon or full stop gets no wider space than any other word (no "sigmoid :  sse").
        assert max(gaps) - min(gaps) < 0.1, f"uneven spaces {gaps} in {line}"


#: Each display, instrumented, writes to the log the page its first and its last row land on.
_DISPLAY_PAGE = re.compile(r"display (begins|ends) on page (\d+)")


def _split_displays(source: str, folder: Path) -> list[tuple[int, int]]:
    """The displays of a standalone document that start on one page and end on another."""
    instrumented = source.replace(
        "\\begin{align*}\n", "\\begin{align*}\n\\write-1{display begins on page \\thepage}"
    ).replace("\n\\end{align*}", "\\write-1{display ends on page \\thepage}\n\\end{align*}")
    tex = folder / "displays.tex"
    tex.write_text(instrumented)
    marks = _DISPLAY_PAGE.findall(compile_pdf(tex).log)
    assert [kind for kind, _ in marks] == ["begins", "ends"] * source.count("\\begin{align*}")
    pages = [int(page) for _, page in marks]
    return [(first, last) for first, last in zip(pages[::2], pages[1::2], strict=True) if first != last]


@pytest.mark.parametrize(
    ("sizes", "activations", "loss"),
    [([784, 128, 64, 10], ["relu", "relu", "softmax"], "cce"), ([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce")],
    ids=["784-128-64-10", "2-4-3-1"],
)
def test_no_display_is_split_across_pages(tmp_path: Path, sizes, activations, loss) -> None:
    source = render_latex(Network(sizes=sizes, activations=activations, loss=loss).derive())
    assert "\\allowdisplaybreaks" not in source and "\\displaybreak" not in source
    assert _split_displays(source, tmp_path) == []


def test_the_pdf_is_moved_into_place_atomically_and_not_onto_a_fifo(tmp_path: Path) -> None:
    """The PDF takes a temporary name of its own beside the target (no fixed .NAME.pdf.tmp that two
    runs would share) and leaves none behind; a FIFO where the PDF goes is refused, not replaced."""
    tex = tmp_path / "doc.tex"
    tex.write_text("\\documentclass{article}\\begin{document}Hello.\\end{document}\n")
    assert compile_pdf(tex).pdf == tmp_path / "doc.pdf"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["doc.pdf", "doc.tex"]
    (tmp_path / "doc.pdf").unlink()
    os.mkfifo(tmp_path / "doc.pdf")
    with pytest.raises(GenerationError, match=r"doc.pdf is a FIFO \(named pipe\), not a regular file"):
        compile_pdf(tex)
    assert stat.S_ISFIFO((tmp_path / "doc.pdf").lstat().st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["doc.pdf", "doc.tex"]
