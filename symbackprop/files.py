"""Writing outputs: whole or not at all, with the usual permissions, into folders made on demand.

Contract
--------
* :func:`write_atomic` never leaves a half-written file or a temporary one, even when Ctrl-C
  comes in the middle: it writes a temporary file beside the target and renames it into place
  with SIGINT held back (:func:`interrupts_deferred`), so that an interrupt ends the run after the
  file is whole or before it exists. The file gets the permissions of any new file (0666 less the
  umask, applied by the system as it creates it) or, when it replaces one, that file's permissions.
* :func:`create_beside` is that temporary file, for writers that need a stream (the generated
  modules' ``save`` has its own copy, since a generated module imports nothing of symbackprop).
* :func:`interrupts_deferred` holds SIGINT back while its body runs and delivers it after, as
  the KeyboardInterrupt it would have been. The command line also wraps in it the imports of C
  extensions (matplotlib, SymPy, NumPy), which crash the interpreter at exit when interrupted
  half-initialised.
* :func:`make_folder` creates an output folder with its parents.

Errors are :class:`~symbackprop.errors.GenerationError` naming the path and the reason, never
``OSError``. A leaf module: every stage that writes a file uses it, and it imports no stage.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from .errors import GenerationError

#: How many names :func:`create_beside` tries before it gives up (a clash is a 1-in-2³² event).
_ATTEMPTS = 100


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT back while the body runs, then deliver it as it would have been.

    Python handles a signal in the main thread only, through the handler installed there, so the
    handler is swapped for one that records the signal (``pthread_sigmask`` would not do: the
    kernel hands the signal to another thread, a BLAS worker, and Python still runs the handler at
    its next instruction). Outside the main thread this does nothing: Python runs no handler there.
    """
    # None: a handler that C code installed, which Python could not put back.
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    received: list[int] = []

    def record(number: int, _: FrameType | None) -> None:
        received.append(number)

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            # Delivered to the restored handler: KeyboardInterrupt from Python's own, nothing
            # when SIGINT was ignored, the end of the process under the system default.
            signal.raise_signal(signal.SIGINT)


def create_beside(path: Path) -> tuple[int, Path]:
    """A new, empty hidden file in path's folder, open for writing: (descriptor, its path).

    Opened with mode 0666, which the system reduces by the umask, as for any new file; when path
    exists, the new file takes its read/write/execute bits instead, so that the rename keeps them.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_ATTEMPTS):
        temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            handle = os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue
        # Best effort: a file system without permissions (FAT) refuses chmod, and the file stays.
        with contextlib.suppress(OSError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode) & 0o777)
        return handle, temporary
    raise FileExistsError(f"no free temporary name beside {path}")


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then a rename."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise GenerationError(f"{path}: the folder {folder} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with interrupts_deferred():
        try:
            handle, temporary = create_beside(path)
        except OSError as error:
            raise GenerationError(f"{path}: cannot write in {folder} ({error.strerror or error})") from None
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
            os.replace(temporary, path)
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise GenerationError(f"{path}: cannot write it ({error.strerror})") from None
            raise


def make_folder(path: str | Path, option: str = "--out") -> Path:
    """The folder at path, created with its parents when missing; ``option`` names it in errors."""
    if not str(path).strip():  # Path("") is the current folder, which nobody means by an empty name
        raise GenerationError(f"{option}: the folder name is empty")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise GenerationError(f"{option}: {folder} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenerationError(f"{option}: cannot create the folder {folder} ({error.strerror})") from None
    return folder
