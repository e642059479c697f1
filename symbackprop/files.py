"""Writing outputs: whole or not at all, with the usual permissions, into folders made on demand.

Contract
--------
* :func:`write_atomic` never leaves a half-written file or a temporary one, even when Ctrl-C
  comes in the middle: it writes a temporary file beside the target and renames it into place
  with SIGINT held back (:func:`interrupts_deferred`), so that an interrupt ends the run after the
  file is whole or before it exists. The file gets the permissions of any new file (0666 less the
  umask, applied by the system as it creates it) or, when it replaces one, that file's permissions.
* What it writes is a regular file. A symbolic link is followed: the file it leads to is written
  and the link stays (as a shell's ``>`` does); a link that leads to itself is refused. A path
  that is a folder, a device, a FIFO or a socket is refused, never replaced by a file (the rename
  would swap ``/dev/null`` or a pipe for a regular file). :func:`output_file` makes those checks
  before any work, naming the command-line option.
* :func:`create_beside` is that temporary file, for writers that need a stream (the generated
  modules' ``save`` has its own copy, since a generated module imports nothing of symbackprop).
* :func:`interrupts_deferred` holds SIGINT back while its body runs and delivers it after, as
  the KeyboardInterrupt it would have been. The command line also wraps in it the imports of C
  extensions (matplotlib, SymPy, NumPy), which crash the interpreter at exit when interrupted
  half-initialised.
* :func:`make_folder` creates an output folder with its parents; :func:`outputs_folder` does so
  for the body of a ``with`` and, when the body fails, removes the folders it created that are
  still empty (a failed run leaves no empty ``--out`` behind).
* :func:`special_kind` says what a path is when it is not a regular file, so that readers refuse
  a device or a FIFO (``/dev/zero`` would be read forever) instead of reading it.

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


#: What a path that is no regular file is, in words, by the test of its mode.
_SPECIAL_FILES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(path: str | Path) -> str | None:
    """What ``path`` is, in words, when it exists and is not a regular file ("a folder", "a FIFO
    (named pipe)", ...); None for a regular file, and for a path that cannot be examined (the
    reader's open then says why)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in _SPECIAL_FILES if test(mode)), "not a regular file")


def output_file(path: str | Path, option: str = "") -> Path:
    """The regular file that writing ``path`` creates or replaces: the file a symbolic link leads
    to, in a folder that exists. Raises GenerationError, prefixed by ``option`` when given, for an
    empty name, a link that leads to itself, a folder, a device, a FIFO or a socket."""
    prefix = f"{option}: " if option else ""
    if not str(path).strip():  # Path("") is the current folder, which nobody means by an empty name
        raise GenerationError(f"{prefix}the file name is empty")
    given = Path(path)
    target = given
    if given.is_symlink():
        try:
            target = Path(os.path.realpath(given, strict=True))
        except FileNotFoundError:  # a link to a file yet to be written: write it
            target = Path(os.path.realpath(given))
        except OSError:
            raise GenerationError(f"{prefix}{given} is a symbolic link that leads to itself") from None
    kind = special_kind(target)
    if kind is not None:
        raise GenerationError(f"{prefix}{given} is {kind}, not a regular file; give a file name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        missing = "is not a folder" if folder.exists() else "does not exist"
        raise GenerationError(f"{prefix}{given}: {folder} {missing}")
    return target


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then a rename.
    The checks and the link-following of :func:`output_file` apply."""
    path = output_file(path)
    folder = path.parent if str(path.parent) else Path(".")
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


@contextlib.contextmanager
def outputs_folder(path: str | Path, option: str = "--out") -> Iterator[Path]:
    """:func:`make_folder` for the body of a ``with``: when the body raises (an error, Ctrl-C),
    the folders made here that are still empty are removed again."""
    missing = []
    for folder in (Path(path), *Path(path).parents):
        if folder.exists() or not str(folder).strip():
            break
        missing.append(folder)
    made = make_folder(path, option)
    try:
        yield made
    except BaseException:
        for folder in missing:  # deepest first; one that holds a file stays, and so do its parents
            try:
                folder.rmdir()
            except OSError:
                break
        raise
