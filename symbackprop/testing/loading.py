"""Importing the code to check: ``module:attribute``, a module on the path or a .py file.

Contract: :func:`load_target` imports ``module:attribute`` (a dotted module name or a path to a
.py file), with the working directory on ``sys.path``; paths are parsed, never evaluated. The
import runs as the user's code is called (see :mod:`.calls`): within ``timeout`` seconds, an exit
an error. A module that fails to import (a syntax error, an exception, a ``sys.exit`` or
``os._exit``, an import still running after ``timeout``) is one :class:`~.adapters.CheckError`
line naming its file and line. What it returns is a function, an object with forward and backward
methods, or an :class:`~.adapters.ObjectAdapter`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .adapters import CheckError, ObjectAdapter, check_timeout, describe_raised, user_line
from .calls import DEFAULT_TIMEOUT, Exited, TimedOut, call_limited


def load_target(target: str, *, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
    """The object named by ``module:attribute`` (a dotted module name or a path to a .py file),
    whose import must finish within ``timeout`` seconds (None: no limit)."""
    if not isinstance(target, str):
        raise CheckError(
            f"load_target: expected 'module:attribute' as a string (like 'my_backprop:grads'), got {target!r:.60}"
        )
    module_text, colon, attribute = target.rpartition(":")
    if not colon or not module_text or not attribute:
        raise CheckError(f"'{target}' is not module:attribute (like my_backprop:grads or path/to/net.py:Net)")
    check_timeout(timeout)
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    module = _import(module_text, timeout)
    holder: Any = module
    for part in attribute.split("."):
        if not hasattr(holder, part):
            # What the module itself defines (not what it imports) that could be the target.
            offered = sorted(
                name
                for name, value in vars(module).items()
                if getattr(value, "__module__", None) == module.__name__ and not name.startswith("_")
            )
            listed = f"; it has {', '.join(offered[:12])}" if offered else ""
            raise CheckError(f"{module_text} has no '{attribute}'{listed}")
        holder = getattr(holder, part)
    has_methods = callable(getattr(holder, "forward", None)) and callable(getattr(holder, "backward", None))
    if not (callable(holder) or has_methods or isinstance(holder, ObjectAdapter)):
        raise CheckError(
            f"{target} is a {type(holder).__name__}, not a function grads(params, X, Y), an object with forward"
            " and backward methods, or an ObjectAdapter"
        )
    return holder


def _import(module_text: str, timeout: float | None) -> ModuleType:
    """The module ``module_text`` (a dotted name or a .py file), imported as the user's code is
    called (see :mod:`.calls`); whatever stops its import, a :class:`CheckError` line naming the
    file and line."""
    try:
        if module_text.endswith(".py"):
            return call_limited(_import_file, (Path(module_text),), timeout)  # type: ignore[no-any-return]
        return call_limited(importlib.import_module, (module_text,), timeout)  # type: ignore[no-any-return]
    except CheckError:
        raise
    except TimedOut as error:
        line = user_line(error.frames)
        where = f" (stopped {line})" if error.stopped and line else f" ({line})" if line else ""
        raise CheckError(
            f"{module_text} did not finish importing within {error.seconds:g} s{where}: does it run a long job"
            ' or wait for something when imported? (put its script part under if __name__ == "__main__":)'
        ) from None
    except Exited as exited:
        raise CheckError(
            f"{module_text} called {describe_raised(exited)} at import: a module to check must not exit when"
            ' imported (put its script part under if __name__ == "__main__":)'
        ) from None
    except ModuleNotFoundError as error:
        if error.name is not None and f"{module_text}.".startswith(f"{error.name}."):
            raise CheckError(
                f"cannot import '{module_text}' ({error}); give a module name on the path or a .py file"
            ) from None
        raise CheckError(f"importing {module_text} raised {describe_raised(error)}") from None
    except Exception as error:
        raise CheckError(f"importing {module_text} raised {describe_raised(error)}") from None


def _import_file(path: Path) -> ModuleType:
    """The module of the file ``path``, under its own name unless that is taken (a user's json.py
    must not replace json); not left in ``sys.modules`` when its import fails."""
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    name = path.stem if path.stem not in sys.modules else f"symbackprop_target_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CheckError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
