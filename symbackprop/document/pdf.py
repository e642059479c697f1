"""The document on disk: its text written whole, and a standalone .tex compiled to PDF.

Contract
--------
* :func:`write_document` writes a rendered document atomically (whole or not at all);
* :func:`latex_tool` is the command that compiles here, ``pdflatex`` when present (run again
  only while its log asks for a rerun: the documents have no bibliography or index, and latexmk
  would always run it twice), else ``latexmk``; neither installed raises
  :class:`LatexToolMissing` with an install hint;
* :func:`compile_pdf` compiles a standalone .tex in a temporary folder (the files it inputs are
  found beside the source, through ``TEXINPUTS``), moves the PDF beside the source atomically,
  and returns it with the overfull boxes TeX reported, in points (:class:`CompiledPdf`). A
  failed or timed-out compile raises :class:`~.options.LatexError` with TeX's first error lines.

This module runs subprocesses and touches files; it knows nothing of derivations.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic
from .options import LatexError

INSTALL_HINT = (
    "install TeX Live (Debian/Ubuntu: sudo apt-get install latexmk texlive-latex-base texlive-latex-recommended"
    " texlive-latex-extra texlive-pictures; macOS: brew install --cask mactex-no-gui; Windows: MiKTeX),"
    " or compile the .tex file elsewhere"
)


class LatexToolMissing(LatexError):
    """Neither latexmk nor pdflatex is installed."""


@dataclass(frozen=True)
class CompiledPdf:
    """A compiled document: the PDF and the overfull boxes TeX reported, in points."""

    pdf: Path
    overfull_hboxes: tuple[float, ...]
    log: str


def write_document(path: str | Path, text: str) -> Path:
    """Write a document whole or not at all."""

    write_atomic(path, text)
    return Path(path)


_ERROR_LINE = re.compile(r"^\S+\.tex:\d+: ")
_OVERFULL = re.compile(r"Overfull \\hbox \(([\d.]+)pt too wide\)")
#: What pdflatex's log says when cross-references changed and another run would settle them.
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|Rerun LaTeX")
#: pdflatex runs at most this many times (latexmk decides for itself, in one call).
_MOST_RUNS = 3


def latex_tool() -> list[str]:
    """The command that compiles a .tex file to PDF here: pdflatex when present, else latexmk."""
    if shutil.which("pdflatex"):
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if shutil.which("latexmk"):
        return ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    raise LatexToolMissing(f"--pdf needs latexmk or pdflatex, and neither is on PATH; {INSTALL_HINT}")


def compile_pdf(tex_path: str | Path, *, timeout: float = 300) -> CompiledPdf:
    """Compile a standalone .tex file to the PDF beside it (atomically); the log's overfull boxes."""
    tex_path = Path(tex_path)
    command = latex_tool()
    with tempfile.TemporaryDirectory(prefix="symbackprop-latex-") as folder:
        source = Path(folder) / tex_path.name
        shutil.copyfile(tex_path, source)
        deadline = time.monotonic() + timeout
        log_path = source.with_suffix(".log")
        for _ in range(_MOST_RUNS):
            try:
                finished = subprocess.run(
                    [*command, source.name],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=max(deadline - time.monotonic(), 0.001),
                    env={**os.environ, "TEXINPUTS": f"{tex_path.parent.resolve()}{os.pathsep}"},
                )
            except subprocess.TimeoutExpired:
                raise LatexError(f"{tex_path}: {command[0]} did not finish in {timeout:.0f} s") from None
            log = log_path.read_text(errors="replace") if log_path.exists() else finished.stdout
            if finished.returncode != 0 or not _RERUN.search(log):
                break
        produced = source.with_suffix(".pdf")
        if finished.returncode != 0 or not produced.exists():
            errors = [line for line in log.splitlines() if line.startswith("!") or _ERROR_LINE.match(line)]
            first = "\n".join(errors[:5]) or finished.stdout[-800:]
            raise LatexError(f"{tex_path}: {command[0]} failed (exit {finished.returncode}):\n{first}")
        target = tex_path.with_suffix(".pdf")
        # A temporary name of its own (concurrent runs do not collide), removed on Ctrl-C.
        write_atomic(target, produced.read_bytes())
    overfull = tuple(float(points) for points in _OVERFULL.findall(log))
    return CompiledPdf(pdf=target, overfull_hboxes=overfull, log=log)
