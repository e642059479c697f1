"""symbackprop's folder in the user's cache, and the switch that turns caching off.

Contract: :func:`cache_folder` is ``$SYMBACKPROP_CACHE_DIR``, else the user's cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on
Windows) with a ``symbackprop`` folder in it; :func:`enabled` is False when ``SYMBACKPROP_CACHE`` is
``0``, ``off``, ``false`` or ``no``. What is kept there (the checker's references, the compiled
templates) is derived data: deleting the folder only costs time. A leaf module.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Environment variables: the folder, and the switch (off for any of :data:`OFF_VALUES`).
CACHE_DIR_VARIABLE = "SYMBACKPROP_CACHE_DIR"
CACHE_SWITCH_VARIABLE = "SYMBACKPROP_CACHE"
OFF_VALUES = frozenset({"0", "off", "false", "no"})


def enabled() -> bool:
    return os.environ.get(CACHE_SWITCH_VARIABLE, "").strip().lower() not in OFF_VALUES


def cache_folder() -> Path:
    """Where cached data is kept (see the module's contract)."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "symbackprop"


def private_folder(name: str) -> Path | None:
    """A folder of the cache, created private (0700) when missing; None when caching is off, or the
    folder cannot be made, or another user owns it or may write in it (caching must never fail the
    work it speeds up, nor run what someone else put there)."""
    if not enabled():
        return None
    folder = cache_folder() / name
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.stat()
    except OSError:
        return None
    # What is kept here is run as code: a folder that another user owns or may write is not used.
    foreign = hasattr(os, "getuid") and status.st_uid != os.getuid()
    return None if foreign or status.st_mode & 0o022 or not folder.is_dir() else folder
