"""Calling the user's code: under a time limit, with an exit turned into an error, and its
warnings recorded.

Contract
--------
* :func:`call_limited` calls one function of the user's and returns what it returns, or raises
  what it raises, with two exceptions. A ``sys.exit`` inside it (``SystemExit``) becomes
  :class:`Exited`, an ordinary exception with the exit code and the user's traceback, so that it
  ends a trial like any crash instead of ending the process. While the call runs, ``os._exit`` is
  replaced by a function that raises ``SystemExit`` too (so it becomes :class:`Exited` saying
  ``os._exit``), and restored afterwards; code that holds its own reference to ``os._exit``, or a
  call left running in a thread (below) that exits later, still ends the process.
  ``KeyboardInterrupt`` is left alone: Ctrl-C stops the check.
* Inside :func:`watching_user_code` (the span of one check), the checker's own NumPy work runs
  under ``numpy.errstate(all="ignore")`` (its report says what is infinite or NaN), each call of
  the user's code under the NumPy error settings its caller had, and the warnings the user's code
  issues (as the active warning filters let through, so ``-W error`` still raises) are recorded
  as :class:`Warned`, with the stack where they were issued, instead of printed.
* With a limit of ``seconds`` (None: no limit), a call that has not returned by then raises
  :class:`TimedOut`, with the user's frames where it was. In the main thread where there is
  ``SIGALRM`` (POSIX), an interval timer interrupts the call between two Python bytecodes: a loop
  in Python is stopped, but code inside one C call is stopped only when that call returns. The
  previous ``SIGALRM`` handler and timer are restored afterwards, and a timer already due sooner
  (pytest-timeout's, say) is left to fire on its own. Elsewhere (another thread, Windows) the call
  runs in a daemon thread that is waited for: a hang is detected, not stopped, and that thread
  runs on in the background. Code that catches every exception (a bare ``except:``) in a loop can
  swallow the alarm.

Nothing here knows the checker; :mod:`.adapters` turns both exceptions into its messages.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

import numpy

#: Seconds each call of the user's code may take, by default (the checker's ``timeout`` option).
DEFAULT_TIMEOUT = 60.0


class Exited(Exception):
    """The user's code called ``sys.exit`` or ``os._exit`` (or raised ``SystemExit``); ``how`` says which."""

    def __init__(self, code: object, how: str = "sys.exit") -> None:
        super().__init__(code)
        self.code = code
        self.how = how

    def __str__(self) -> str:
        return f"{self.how}()" if self.code is None else f"{self.how}({self.code!r})"


class _ProcessExit(SystemExit):
    """What ``os._exit`` raises while the user's code runs: a ``SystemExit``, which the user's
    ``except Exception`` does not catch, as nothing catches the real one."""


def _os_exit(status: int) -> NoReturn:
    raise _ProcessExit(status)


@dataclass(frozen=True)
class Warned:
    """A warning the user's code issued: its category, its text and the stack where it was issued."""

    category: str
    message: str
    frames: list[traceback.FrameSummary] = field(compare=False)


@dataclass(frozen=True)
class _Watch:
    numpy_errors: dict[str, Any]
    warned: list[Warned]

    def record(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """A replacement of ``warnings.showwarning`` that keeps the warning instead of printing it."""
        self.warned.append(Warned(category.__name__, str(message), traceback.extract_stack()[:-1]))


_WATCH: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar("symbackprop_watch", default=None)


@contextlib.contextmanager
def watching_user_code() -> Iterator[list[Warned]]:
    """The span of one check: yields the list in which the warnings of the user's calls are
    recorded, and silences NumPy's floating-point warnings outside those calls."""
    warned: list[Warned] = []
    token = _WATCH.set(_Watch(dict(numpy.geterr()), warned))
    try:
        with numpy.errstate(all="ignore"):
            yield warned
    finally:
        _WATCH.reset(token)


@contextlib.contextmanager
def _as_user_code() -> Iterator[None]:
    """``os._exit`` raising, and within a watch, the caller's NumPy settings and warnings recorded."""
    real_exit = os._exit
    os._exit = _os_exit
    try:
        watch = _WATCH.get()
        if watch is None:
            yield
            return
        with warnings.catch_warnings(), numpy.errstate(**watch.numpy_errors):
            warnings.showwarning = watch.record
            yield
    finally:
        os._exit = real_exit


class TimedOut(Exception):
    """The user's code did not return within ``seconds``; ``frames`` is where it was then, and
    ``stopped`` whether it was stopped (or runs on in a thread)."""

    def __init__(self, seconds: float, frames: Sequence[traceback.FrameSummary], stopped: bool) -> None:
        super().__init__(f"did not return within {seconds:g} s")
        self.seconds = seconds
        self.frames = list(frames)
        self.stopped = stopped


class _Alarm(BaseException):
    """Raised by the SIGALRM handler: a BaseException, so that the user's ``except Exception``
    does not swallow it."""


def call_limited(function: Callable[..., Any], arguments: Sequence[Any], seconds: float | None) -> Any:
    """``function(*arguments)``, within ``seconds`` (None: no limit), a ``sys.exit`` or
    ``os._exit`` as :class:`Exited`."""
    try:
        with _as_user_code():
            if seconds is None:
                return function(*arguments)
            if _alarm_available():
                return _under_alarm(function, arguments, seconds)
            return _in_thread(function, arguments, seconds)
    except SystemExit as exit:
        how = "os._exit" if isinstance(exit, _ProcessExit) else "sys.exit"
        raise Exited(exit.code, how).with_traceback(exit.__traceback__) from None


def _alarm_available() -> bool:
    return (
        hasattr(signal, "SIGALRM")
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )


def _under_alarm(function: Callable[..., Any], arguments: Sequence[Any], seconds: float) -> Any:
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if 0 < outer_delay <= seconds:
        return function(*arguments)  # the timer already set stops the call sooner than ours would
    armed = [True]

    def on_alarm(signum: int, frame: object) -> None:
        # Raised once only: a second alarm must not interrupt the restoring below.
        if armed[0]:
            armed[0] = False
            raise _Alarm

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return function(*arguments)
        finally:
            armed[0] = False  # the alarm may fire just as the call returns: ignored from here on
    except _Alarm as alarm:
        raise TimedOut(seconds, traceback.extract_tb(alarm.__traceback__), stopped=True) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL)
        if outer_delay > 0:
            remaining = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), outer_interval)


def _in_thread(function: Callable[..., Any], arguments: Sequence[Any], seconds: float) -> Any:
    """The call in a daemon thread (with the caller's context variables, such as NumPy's
    ``errstate``), waited for ``seconds``."""
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome["value"] = context.run(function, *arguments)
        except BaseException as error:  # re-raised in the caller's thread, SystemExit included
            outcome["error"] = error

    thread = threading.Thread(target=run, name="symbackprop-check-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        frame = sys._current_frames().get(thread.ident or 0)
        raise TimedOut(seconds, traceback.extract_stack(frame) if frame else [], stopped=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
