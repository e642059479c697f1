"""Calling the user's code: under a time limit, and with an exit turned into an error.

Contract
--------
* :func:`call_limited` calls one function of the user's and returns what it returns, or raises
  what it raises, with two exceptions. A ``sys.exit`` inside it (``SystemExit``) becomes
  :class:`Exited`, an ordinary exception with the exit code and the user's traceback, so that it
  ends a trial like any crash instead of ending the process. ``KeyboardInterrupt`` is left alone:
  Ctrl-C stops the check.
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

import contextvars
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any


class Exited(Exception):
    """The user's code called ``sys.exit`` (or raised ``SystemExit``)."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return "sys.exit()" if self.code is None else f"sys.exit({self.code!r})"


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
    """``function(*arguments)``, within ``seconds`` (None: no limit), a ``sys.exit`` as :class:`Exited`."""
    try:
        if seconds is None:
            return function(*arguments)
        if _alarm_available():
            return _under_alarm(function, arguments, seconds)
        return _in_thread(function, arguments, seconds)
    except SystemExit as exit:
        raise Exited(exit.code).with_traceback(exit.__traceback__) from None


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
