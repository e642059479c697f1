"""Writing outputs: whole or not at all, into folders made on demand.

Contract: :func:`write_atomic` never leaves a half-written file (a temporary file in the same
folder, then a rename), and :func:`make_folder` creates an output folder with its parents. Both
raise :class:`~symbackprop.errors.GenerationError` naming the path and the reason, never
``OSError``. A leaf module: every stage that writes a file uses it, and it imports no stage.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import GenerationError


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then a rename."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise GenerationError(f"{path}: the folder {folder} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise GenerationError(f"{path}: cannot write in {folder} ({error.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise GenerationError(f"{path}: cannot write it ({error.strerror})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def make_folder(path: str | Path, option: str = "--out") -> Path:
    """The folder at path, created with its parents when missing; ``option`` names it in errors."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise GenerationError(f"{option}: {folder} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenerationError(f"{option}: cannot create the folder {folder} ({error.strerror})") from None
    return folder
