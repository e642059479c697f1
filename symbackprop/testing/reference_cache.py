"""The checker's reference kept across processes, so that a first check costs what a second does.

Contract
--------
* :func:`cached_reference` gives what a check needs of a network's derivation: the generated module,
  loaded, and the printed code of each back-propagation step (:class:`ReferenceCode`, which
  :mod:`.reference` compiles). It takes both from the cache, or builds them with the function it is
  given (the module's source and the steps) and stores them.
* An entry's key is a SHA-256 digest of the release, the SymPy release, the package's own source
  (every ``.py`` file and template by size and modification time, so that a changed printer or
  registry never serves stale code)
  and the network's full description (sizes, and each activation's and the loss's expressions,
  parameters and behaviour, custom activations included).
* Entries are kept in the ``references`` folder of :func:`symbackprop.cachedir.cache_folder`
  (``$SYMBACKPROP_CACHE_DIR``, else the user's cache folder); ``SYMBACKPROP_CACHE=0`` (or ``off``,
  ``false``, ``no``) turns the cache off.
* An entry is two files: the steps as JSON and the module as a ``.py`` file, which Python's import
  system loads with its compiled bytecode (kept in ``__pycache__`` beside it, as for any module).
  Both are written atomically (a temporary file, then a rename), the module first, so that several
  processes (pytest-xdist workers) may write the same entry at once and a reader sees a whole
  entry or none. An entry that cannot be read, parsed or loaded, or does not hold what this release
  writes, is rebuilt and replaced, its bytecode with it. The cache never fails a check: a folder
  that cannot be created or written only means the entry is built again next time.
* The entry holds code that the checker executes, so it has the trust of the user's own files:
  the folder is the user's, created private (0700), and one that another user owns or may
  write in is not used (:func:`symbackprop.cachedir.private_folder`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import py_compile
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path

from ..cachedir import cache_folder, private_folder
from ..codegen.loading import load_file, load_module
from ..errors import GenerationError
from ..files import write_atomic
from ..spec import Network
from ..version import __version__

#: Raised when an entry's layout changes, so that old entries are rebuilt, not misread.
ENTRY_FORMAT = 1
#: The folder of the cache the entries are kept in.
REFERENCES = "references"
#: The name the reference module is loaded under.
MODULE_NAME = "symbackprop_reference"


@dataclass(frozen=True)
class ReferenceCode:
    """Each back-propagation step of a network's reference as printed code, per layer k = 1..L
    (``derivative`` is None for a layer that is not elementwise; ``output_gradient`` has the hidden
    layers 1..L−1)."""

    delta: tuple[str, ...]
    derivative: tuple[str | None, ...]
    weight_gradient: tuple[str, ...]
    bias_gradient: tuple[str, ...]
    output_gradient: tuple[str, ...]

    def as_json(self) -> str:
        return json.dumps({"format": ENTRY_FORMAT, **asdict(self)}, ensure_ascii=False, indent=0)

    @classmethod
    def from_json(cls, text: str) -> ReferenceCode:
        """The entry, or ValueError when it is not exactly what :meth:`as_json` writes."""
        entry = json.loads(text)
        if not isinstance(entry, dict) or entry.pop("format", None) != ENTRY_FORMAT:
            raise ValueError("not an entry of this format")
        if set(entry) != {field.name for field in fields(cls)}:
            raise ValueError("not the fields of a reference")
        steps = {}
        for name, value in entry.items():
            if not isinstance(value, list) or not all(item is None or isinstance(item, str) for item in value):
                raise ValueError(f"{name}: not a list of code")
            steps[name] = tuple(value)
        return cls(**steps)


@cache
def _source_digest() -> str:
    """A digest of the package's code and templates, each file by its size and modification time
    (as Python validates a module's bytecode: reading every file would cost a first check more)."""
    from ..templating import template_folder

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for root, pattern in ((package, "*.py"), (template_folder(), "*.j2")):
        for path in sorted(root.rglob(pattern)):
            status = path.stat()
            digest.update(f"{path.relative_to(root).as_posix()} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def entry_key(network: Network) -> str:
    import sympy

    parts = (__version__, sympy.__version__, _source_digest(), repr(network))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def entry_paths(network: Network) -> tuple[Path, Path]:
    """The entry's two files: the steps (JSON) and the module (Python)."""
    stem, folder = f"reference_{entry_key(network)}", cache_folder() / REFERENCES
    return folder / f"{stem}.json", folder / f"{stem}.py"


#: Builds a network's reference: the generated module's source, and its steps.
Builder = Callable[[Network], tuple[str, ReferenceCode]]


def cached_reference(network: Network, build: Builder) -> tuple[types.ModuleType, ReferenceCode]:
    """The network's reference module and steps from the cache, else built, and stored for next time."""
    if private_folder(REFERENCES) is None:  # caching off, or no folder to keep it in
        source, code = build(network)
        return load_module(source, MODULE_NAME), code
    steps_path, module_path = entry_paths(network)
    try:
        code = ReferenceCode.from_json(steps_path.read_text(encoding="utf-8"))
        return load_file(module_path, MODULE_NAME), code
    except Exception:  # absent, unreadable or corrupt in any way: rebuilt below, and replaced
        pass
    source, code = build(network)
    try:
        write_atomic(module_path, source)
        # Compiled here, not left to the import system: PYTHONDONTWRITEBYTECODE would stop that.
        py_compile.compile(str(module_path), cfile=importlib.util.cache_from_source(str(module_path)), doraise=True)
        write_atomic(steps_path, code.as_json())
    except (OSError, GenerationError, py_compile.PyCompileError):
        pass  # a cache that cannot be written costs time, never a check
    return load_module(source, MODULE_NAME), code
