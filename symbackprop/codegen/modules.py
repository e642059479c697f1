"""Generated modules: made from a derivation by a target and written to disk.

Contract: :func:`generate_module` returns the source of one module for a code target (NumPy by
default), deterministic (same spec, same bytes), its first line carrying
:data:`~symbackprop.codegen.module_facts.GENERATED_MARKER`. :func:`write_module` writes atomically
and refuses to replace a file symbackprop did not write unless ``force``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ..derive import Derivation
from ..errors import GenerationError
from ..files import write_atomic
from ..spec import Network
from .module_facts import GENERATED_MARKER
from .numpy_module import NUMPY
from .target import CodeTarget


def module_context(derivation: Derivation, command: str, target: CodeTarget = NUMPY) -> Any:
    """The typed context ``target``'s template is rendered with (the derivation must verify)."""
    return target.make_context(derivation, command)


def render_module(context: Any, target: CodeTarget = NUMPY) -> str:
    """The module's source from a :func:`module_context`, for callers that also use the context."""
    return target.render(context)


def generate_module(
    derivation: Derivation | Network,
    *,
    command: str | None = None,
    output_name: str = "mlp.py",
    target: CodeTarget = NUMPY,
) -> str:
    """The source of the generated module (deterministic: the same spec gives the same bytes)."""
    if isinstance(derivation, Network):
        derivation = derivation.derive()
    if command is None:
        command = f"symbackprop generate {derivation.network.cli_arguments} -o {shlex.quote(output_name)}"
    return render_module(module_context(derivation, command, target), target)


def written_by_symbackprop(path: Path) -> bool:
    """Whether the file at path starts with :data:`GENERATED_MARKER`."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline().startswith(GENERATED_MARKER)
    except OSError:
        return False


def write_module(path: str | Path, source: str, *, force: bool = False) -> None:
    """Write a generated module, refusing to replace a file symbackprop did not write."""
    path = Path(path)
    if path.is_dir():
        raise GenerationError(f"{path}: is a folder; give a file name like {path / 'mlp.py'}")
    if path.exists() and not force and not written_by_symbackprop(path):
        raise GenerationError(
            f"{path}: exists and was not written by symbackprop; choose another name or pass --force to replace it"
        )
    write_atomic(path, source)
