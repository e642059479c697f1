"""How the checker calls hand-written code, in the forms people write it.

Contract
--------
* A :class:`Layout` says how the user's arrays are laid out (samples as rows or columns, W as
  (out, in) or (in, out), b as (n,), (n, 1) or (1, n), one-hot targets or class indices (m,))
  and converts between it and the canonical layout of the generated modules (rows, (out, in),
  (n,), one-hot).
* :class:`FunctionAdapter` wraps ``grads(params, X, Y)``, which returns a dict of gradients (or a
  ``(loss, grads)`` pair), with an optional ``forward(params, X)`` and ``loss(params, X, Y)``.
* :class:`ObjectAdapter` wraps an object with forward/backward methods, given the names of its
  methods and the paths of its parameters and gradients (``"W{k}"``, ``"weights[{i}]"``,
  ``"params['W{k}']"``, ``"layers[{i}].weight"``; ``{k}`` is the layer from 1, ``{i}`` from 0).
  It writes the probe's parameters into the object before each call.
* Both hand :meth:`run` the parameters under our names (W1, b1, ...) in the user's layout and
  return an :class:`Outcome` with the gradients under our names, read from the keys the user's
  code uses: the parameter's own name, ``d`` + name, ``grad_`` + name, or an explicit mapping.
* Every call of the user's code goes through :func:`call_user`: within the check's time limit,
  with a ``sys.exit`` turned into an ordinary exception (see :mod:`.calls`); a call that does not
  return in time raises :class:`DidNotReturn`, which ends the check with a failing report (not a
  :class:`CheckError`: the input was fine, the code is what fails).
* What the code returns must be numbers: a gradient, a forward pass or a loss that NumPy cannot
  read as real numbers (None, a string, a ragged list, complex numbers, objects that are not
  numbers) is a :class:`CheckError` naming it and what it is. Integer and boolean arrays are
  read, and judged (see :mod:`.diagnosis`), in their own dtype.
* :func:`user_line` and :func:`describe_raised` say where in the user's code something happened
  (the checker's, NumPy's and Python's own frames left out); :mod:`.loading` imports the code.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import sys
import sysconfig
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from ..errors import SymbackpropError
from .calls import Exited, TimedOut, Warned, call_limited
from .reference import Array, Params

SAMPLES = ("rows", "columns")
WEIGHT_LAYOUTS = ("out_in", "in_out")
BIAS_SHAPES = ("flat", "column", "row")
#: One-hot targets as they are, or as each sample's class index (m,) for code that takes labels.
TARGETS = ("one-hot", "indices")
_BIAS_TEXT = {"flat": "(n,)", "column": "(n, 1)", "row": "(1, n)"}


class CheckError(SymbackpropError):
    """The checker cannot call the user's code: a missing name, an ambiguous layout, a crash."""


class DidNotReturn(Exception):
    """The user's code returned no gradients to judge: it did not return within the time limit, or
    called ``sys.exit`` under every layout tried. The check fails with ``reason``; it is not refused."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def option_hint(option: str, values: Sequence[str]) -> str:
    """How to give an option, as a keyword and as a command-line flag:
    ``reduction="mean"|"sum" (--reduction mean|sum)``."""
    keyword = "|".join(f'"{value}"' for value in values)
    return f"{option}={keyword} (--{option.replace('_', '-')} {'|'.join(values)})"


#: Frames in these folders (NumPy, the checker, Python's standard library) are not the user's:
#: the line to show is the last one outside them.
_NOT_USER_CODE = (
    *(f"{Path(str(module.__file__)).resolve().parent}{os.sep}" for module in (numpy, sys.modules[__package__])),
    f"{Path(sysconfig.get_paths()['stdlib']).resolve()}{os.sep}",
)


def describe_raised(error: BaseException) -> str:
    """``KeyError: 'W1' (at mine.py:12, in grads)``: the exception and the user's line that raised
    it; ``sys.exit(0) (at ...)`` for an exit; for a syntax error, the line it is on."""
    if isinstance(error, SyntaxError):
        where = f" (at {Path(error.filename).name}:{error.lineno})" if error.filename else ""
        return f"{type(error).__name__}: {error.msg}{where}"
    text = str(error) if isinstance(error, Exited) else f"{type(error).__name__}: {error}"
    line = user_line(traceback.extract_tb(error.__traceback__))
    return f"{text} ({line})" if line else text


def describe_warnings(warned: Sequence[Warned], shown: int = 3) -> list[str]:
    """The note of the warnings the user's code issued: each different one once, with the user's
    line that issued it (``RuntimeWarning: overflow encountered in reduce (at mine.py:12, in grads)``)."""
    distinct = list(
        dict.fromkeys(
            f"{warning.category}: {warning.message}" + (f" ({line})" if (line := user_line(warning.frames)) else "")
            for warning in warned
        )
    )
    if not distinct:
        return []
    more = f"; and {len(distinct) - shown} more" if len(distinct) > shown else ""
    return [f"your code warned: {'; '.join(distinct[:shown])}{more}"]


def user_line(frames: Sequence[traceback.FrameSummary]) -> str:
    """``at mine.py:12, in grads``: the last of ``frames`` in the user's code, or ""."""
    mine = [
        frame
        for frame in frames
        # Not NumPy, not the checker, not the import machinery ("<frozen importlib._bootstrap>").
        if not frame.filename.startswith("<frozen ")
        and not str(Path(frame.filename).resolve()).startswith(_NOT_USER_CODE)
    ]
    return f"at {Path(mine[-1].filename).name}:{mine[-1].lineno}, in {mine[-1].name}" if mine else ""


def call_user(function: Callable[..., Any], arguments: Sequence[Any], timeout: float | None, where: str) -> Any:
    """``function(*arguments)`` of the user's ``where``, under :func:`.calls.call_limited`: a
    ``sys.exit`` raises :class:`.calls.Exited`, and a call that does not return within
    ``timeout`` seconds :class:`DidNotReturn`."""
    try:
        return call_limited(function, arguments, timeout)
    except TimedOut as error:
        line = user_line(error.frames)
        if error.stopped:
            place = f" (stopped {line})" if line else ""
        else:
            place = f" (still running{' ' + line if line else ''}; it runs on in the background)"
        raise DidNotReturn(
            f"{where} {error}{place}: does it loop forever, or wait for something? (timeout= or"
            " --timeout sets the limit in seconds; None, or none, lifts it)"
        ) from None


@dataclass(frozen=True)
class Layout:
    """The user's layout of data, weights and biases."""

    samples: str = "rows"
    weights: str = "out_in"
    biases: str = "flat"
    targets: str = "one-hot"

    def describe(self) -> str:
        weights = "W (out, in)" if self.weights == "out_in" else "W (in, out)"
        labels = ", y as class indices (m,)" if self.targets == "indices" else ""
        return f"samples as {self.samples}, {weights}, b {_BIAS_TEXT[self.biases]}{labels}"

    def data(self, array: Array, dtype: numpy.dtype) -> Array:
        array = array if self.samples == "rows" else array.T
        return numpy.array(array, dtype=dtype, order="C")

    def target_data(self, Y: Array, dtype: numpy.dtype) -> Array:
        """The targets of a batch (canonical, samples as rows) as the user's code takes them."""
        if self.targets == "indices":
            return numpy.argmax(Y, axis=1)
        return self.data(Y, dtype)

    def view(self, name: str, array: Array) -> Array:
        """A canonical parameter (or gradient) in this layout, as a view: to read, not to hand over."""
        if name.startswith("W"):
            return array if self.weights == "out_in" else array.T
        if array.ndim == 1:
            return {"flat": array, "column": array[:, None], "row": array[None, :]}[self.biases]
        return array

    def to_user(self, name: str, array: Array, dtype: numpy.dtype | None = None) -> Array:
        """A canonical parameter (or gradient) in this layout, as a new array of its own."""
        array = self.view(name, array)
        return numpy.array(array, dtype=dtype or array.dtype, order="C")

    def from_user(self, name: str, array: Array, size: int) -> Array:
        """A user's gradient in the canonical layout, as far as its shape allows (a wrong shape is
        kept, so that the mutants of that shape can still recognise it)."""
        array = numpy.asarray(array, dtype=numpy.float64)
        if name.startswith("W"):
            return array if self.weights == "out_in" or array.ndim != 2 else array.T
        if array.size == size or array.ndim < 2 or 1 in array.shape:
            return array.reshape(-1) if array.ndim else array
        return array.T if self.samples == "columns" else array

    def output(self, array: Array) -> Array:
        array = numpy.asarray(array, dtype=numpy.float64)
        return array if self.samples == "rows" else array.T


@dataclass(frozen=True)
class Outcome:
    """What one call of the user's code gave, under our parameter names, in the user's layout."""

    grads: Params
    prediction: Array | None
    loss: float | None
    #: The parameters after the call, to find code that changes them.
    params_after: Params
    #: Keys of the returned gradients named like gradients of parameters the network lacks (dW3).
    strays: tuple[str, ...] = ()
    #: The precision of the gradients returned, when the code's framework tells (None: their NumPy dtype).
    precision: str | None = None
    #: What the adapter noticed about the call, for the report's notes.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownLayout:
    """What the user's own parameters tell of the layout and dtype (None: they do not say)."""

    weights: str | None = None
    biases: str | None = None
    dtype: numpy.dtype | None = None
    samples: str | None = None


def _gradient_keys(name: str, user_name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((user_name, f"d{user_name}", f"grad_{user_name}", f"d{name}", name)))


def _array_copy(value: Any) -> Array:
    """A copy of ``value`` as a NumPy array (a copy: code that accumulates in place would otherwise
    change what an earlier call returned). A tensor (``detach``, ``cpu`` and ``numpy`` methods, as
    PyTorch's) is read through them; anything else through ``numpy.asarray``, which, unlike
    ``numpy.array``, does not warn about an ``__array__`` without NumPy 2's ``copy`` keyword."""
    if all(callable(getattr(value, method, None)) for method in ("detach", "cpu", "numpy")):
        value = value.detach().cpu().numpy()
    return numpy.array(numpy.asarray(value), copy=True)


def _left_by_code(value: Any, handed: Array) -> Array:
    """A parameter as the code left it: the very array handed over (changed in place or not), or
    a copy of whatever the code put in its place."""
    return handed if value is handed else _array_copy(value)


def _numbers(value: Any, what: str) -> Array:
    """A copy of ``value`` as an array in its own precision (an array of Python numbers, dtype
    object, as float64), or an error saying what it is if it holds no real numbers."""
    try:
        array = _array_copy(value)
    except (TypeError, ValueError):  # ragged lists, objects numpy cannot read
        raise CheckError(f"{what} is {_what_it_is(value)}; expected an array of real numbers") from None
    if array.dtype.kind == "O" and all(isinstance(item, numbers.Real) for item in array.flat):
        array = array.astype(numpy.float64)  # Python or SymPy numbers, as from numpy.array(a_list, dtype=object)
    if array.dtype.kind == "c":
        real = "; its imaginary part is zero: return its .real" if not numpy.any(array.imag) else ""
        raise CheckError(f"{what} is an array of {array.dtype}; expected real numbers{real}")
    if array.dtype.kind not in "biuf":
        raise CheckError(f"{what} is {_what_it_is(value)}; expected an array of real numbers")
    return array


def _what_it_is(value: Any) -> str:
    """``None``, ``a str ('abc')``, ``a list that NumPy cannot read as an array (ragged?)``..."""
    if value is None:
        return "None (was it never assigned, or not returned?)"
    kind = type(value).__name__
    if isinstance(value, (str, bytes)):
        return f"a {kind} ({value!r:.40})"
    if isinstance(value, (list, tuple)):
        return f"a {kind} that is not an array of numbers (rows of different lengths, or items that are not numbers?)"
    if isinstance(value, numpy.ndarray):
        return f"an array of {value.dtype} whose items are not all numbers"
    return f"an object of type {kind}, not an array"


def _loss_number(value: Any, what: str) -> float:
    array = _numbers(value, what)
    if array.size != 1:
        raise CheckError(f"{what} has shape {array.shape}; expected one number, the batch loss")
    return float(array.reshape(-1)[0])


def _split_loss(returned: Any, where: str) -> tuple[float | None, Any]:
    """``(loss, grads)`` as the loss and the gradients; anything else as gradients without a loss."""
    if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], Mapping):
        return _loss_number(returned[0], f"the loss from {where}"), returned[1]
    return None, returned


#: A key that names a gradient in one of the forms read (W3, dW3, grad_W3, and lower case).
_GRADIENT_KEY = re.compile(r"(d|grad_)?[Wb]\d+", re.IGNORECASE)


def _pick_gradients(
    returned: Any,
    names: Sequence[str],
    user_names: Mapping[str, str],
    grad_names: Mapping[str, str],
    where: str,
    elsewhere: str = "",
) -> tuple[Params, tuple[str, ...]]:
    """The gradient of each of ``names`` in the dict ``returned``; and the keys left unread that
    name a gradient of another parameter (the code's network may not be the one checked)."""
    if not isinstance(returned, Mapping):
        raise CheckError(
            f"{where} returned {type(returned).__name__}; expected a dict of gradients like "
            f"{{'dW1': ..., 'db1': ...}}{elsewhere}"
        )
    grads = {}
    read = set()
    for name in names:
        keys = (grad_names[name],) if name in grad_names else _gradient_keys(name, user_names.get(name, name))
        found = next((key for key in keys if key in returned), None)
        if found is None:
            raise CheckError(
                f"{where}: no gradient of {user_names.get(name, name)} among the keys {sorted(map(str, returned))};"
                f" expected one of {', '.join(keys)} (or pass grad_names={{'{name}': 'your key'}},"
                f" --grad-names {name}=your_key)"
            )
        grads[name] = _numbers(returned[found], f"the gradient '{found}' from {where}")
        read.add(found)
    strays = tuple(key for key in returned if isinstance(key, str) and key not in read and _GRADIENT_KEY.fullmatch(key))
    return grads, strays


def known_layout_of(network_sizes: Sequence[int], W1: Array | None, b1: Array | None) -> KnownLayout:
    """The layout that the user's first weight and bias reveal, where their shapes are unambiguous."""
    weights = biases = None
    dtype = None
    n_in, n_out = network_sizes[0], network_sizes[1]
    if W1 is not None:
        W1 = numpy.asarray(W1)
        dtype = W1.dtype if numpy.issubdtype(W1.dtype, numpy.floating) else None
        if n_in != n_out and W1.shape == (n_out, n_in):
            weights = "out_in"
        elif n_in != n_out and W1.shape == (n_in, n_out):
            weights = "in_out"
    if b1 is not None:
        shape = numpy.shape(b1)
        biases = {(n_out,): "flat", (n_out, 1): "column", (1, n_out): "row"}.get(shape) if n_out != 1 else None
    return KnownLayout(weights, biases, dtype)


def _key_table(table: Mapping[str, str] | None, option: str, example: str) -> dict[str, str]:
    """``names`` or ``grad_names``: a dict of strings to strings, like ``example``."""
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise CheckError(f"{option}: expected a dict like {example}, got {table!r:.60}")
    for key, value in table.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise CheckError(
                f"{option}: expected a dict of strings like {example}, got the entry {key!r:.30}: {value!r:.30}"
            )
    return dict(table)


def _example_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params``: a dict of the user's parameter names to arrays of real numbers."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise CheckError(f"params: expected a dict of your parameters like {{'W1': array, ...}}, got {params!r:.60}")
    for key, value in params.items():
        if not isinstance(key, str):
            raise CheckError(f"params: the names of the parameters must be strings, got {key!r:.60}")
        _numbers(value, f"params[{key!r}]")
    return dict(params)


def check_timeout(timeout: float | None) -> None:
    """``timeout``: a positive number of seconds, or None."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < float(timeout) < math.inf:
        raise CheckError(f"timeout: must be a positive number of seconds, or None for no limit; got {timeout!r:.60}")


def _label(function: Callable[..., Any]) -> str:
    # "grads", not "make.<locals>.grads": the name the user gave the function.
    return str(getattr(function, "__qualname__", repr(function))).rpartition("<locals>.")[2]


class FunctionAdapter:
    """``grads(params, X, Y)``, with optional ``forward(params, X)`` and ``loss(params, X, Y)``."""

    def __init__(
        self,
        grads: Callable[..., Any],
        *,
        forward: Callable[..., Any] | None = None,
        loss: Callable[..., Any] | None = None,
        names: Mapping[str, str] | None = None,
        grad_names: Mapping[str, str] | None = None,
        params: Mapping[str, Array] | None = None,
    ) -> None:
        if not callable(grads):
            raise CheckError(
                f"{grads!r:.60} is neither a function grads(params, X, Y) nor an object with forward"
                " and backward methods"
            )
        for option, function, signature in (
            ("forward", forward, "forward(params, X)"),
            ("loss", loss, "loss(params, X, Y)"),
        ):
            if function is not None and not callable(function):
                raise CheckError(f"{option}: expected a function {signature} or None, got {function!r:.60}")
        self.grads_function = grads
        self.forward_function = forward
        self.loss_function = loss
        self.names = _key_table(names, "names", "{'W1': 'w_hidden'}")
        self.grad_names = _key_table(grad_names, "grad_names", "{'W1': 'dw_hidden'}")
        self.example = _example_params(params)
        self.label = _label(grads)

    def known_layout(self, sizes: Sequence[int]) -> KnownLayout:
        if not self.example:
            return KnownLayout()
        key = self.names.get
        return known_layout_of(sizes, self.example.get(key("W1", "W1")), self.example.get(key("b1", "b1")))

    def run(self, params: Params, X: Array, Y: Array, timeout: float | None = None) -> Outcome:
        """The code's outcome on one batch, each function given ``timeout`` seconds. The arrays of
        ``params`` are handed to ``grads`` themselves (the caller's own, made for this call), so that
        they show what the code did to them."""
        given = {self.names.get(name, name): value for name, value in params.items()}
        loss, returned = _split_loss(call_user(self.grads_function, (given, X, Y), timeout, self.label), self.label)
        grads, strays = _pick_gradients(returned, list(params), self.names, self.grad_names, self.label)
        after = {name: _left_by_code(given[self.names.get(name, name)], params[name]) for name in params}
        prediction = None
        if self.forward_function is not None:
            copies = {key: value.copy() for key, value in given.items()}
            out = call_user(self.forward_function, (copies, X), timeout, _label(self.forward_function))
            prediction = _numbers(out[0] if isinstance(out, tuple) else out, "the forward pass's result")
        if self.loss_function is not None:
            copies = {key: value.copy() for key, value in given.items()}
            loss = _loss_number(
                call_user(self.loss_function, (copies, X, Y), timeout, _label(self.loss_function)),
                "the loss function's result",
            )
        return Outcome(grads, prediction, loss, after, strays)


_PATH_TOKEN = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]|\[(['\"])(.*?)\3\]")


def parse_path(path: str) -> list[tuple[str, str | int]]:
    """``"layers[0].weight"`` as ``[("attr", "layers"), ("index", 0), ("attr", "weight")]``;
    ``"params['W1']"`` as ``[("attr", "params"), ("key", "W1")]``."""
    steps: list[tuple[str, str | int]] = []
    position = 0
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        # The path starts with a bare name; every later name follows a dot.
        first = position == 0
        well_formed = match is not None and (
            match.group(0).startswith(".") != first if match.group(1) is not None else not first
        )
        if match is None or not well_formed:
            raise CheckError(f"'{path}' is not an attribute path like W1, weights[0] or params['W1']")
        if match.group(1) is not None:
            steps.append(("attr", match.group(1)))
        elif match.group(2) is not None:
            steps.append(("index", int(match.group(2))))
        else:
            steps.append(("key", match.group(4)))
        position = match.end()
    return steps


def _step_into(root: Any, holder: Any, step: tuple[str, str | int], path: str) -> Any:
    kind, value = step
    try:
        return getattr(holder, str(value)) if kind == "attr" else holder[value]
    except (AttributeError, IndexError, KeyError, TypeError):
        raise CheckError(f"{type(root).__name__} has no '{path}' (failed at {value!r})") from None


def get_path(root: Any, path: str) -> Any:
    holder = root
    for step in parse_path(path):
        holder = _step_into(root, holder, step, path)
    return holder


def set_path(root: Any, path: str, value: Any) -> None:
    steps = parse_path(path)
    holder = root
    for step in steps[:-1]:
        holder = _step_into(root, holder, step, path)
    kind, last = steps[-1]
    try:
        if kind == "attr":
            setattr(holder, str(last), value)
        else:
            holder[last] = value
    except (AttributeError, IndexError, KeyError, TypeError) as error:
        raise CheckError(f"cannot set '{path}' on the object ({error})") from None


class ObjectAdapter:
    """An object with forward/backward methods, given the names of its methods and attributes.

    ``forward(X)`` is called first, then ``backward(*backward_arguments)`` with names from X, Y and
    Y_hat (the forward's result). Gradients are read from ``weight_grads``/``bias_grads`` paths
    after the call, or, when those are None, from the dict ``backward`` returns.
    """

    def __init__(
        self,
        model: Any,
        *,
        forward: str = "forward",
        backward: str = "backward",
        loss: str | None = None,
        weights: str = "W{k}",
        biases: str = "b{k}",
        weight_grads: str | None = None,
        bias_grads: str | None = None,
        backward_arguments: Sequence[str] = ("Y",),
        loss_arguments: Sequence[str] = ("Y_hat", "Y"),
    ) -> None:
        for method in (forward, backward, *([loss] if loss else [])):
            if not callable(getattr(model, method, None)):
                raise CheckError(f"{type(model).__name__} has no method '{method}'")
        for arguments in (backward_arguments, loss_arguments):
            unknown = [name for name in arguments if name not in ("X", "Y", "Y_hat")]
            if unknown:
                raise CheckError(f"unknown argument name(s) {unknown}; use X, Y and Y_hat")
        if (weight_grads is None) != (bias_grads is None):
            raise CheckError("give both weight_grads and bias_grads paths, or neither (backward returns a dict)")
        self.model = model
        self.forward_method, self.backward_method, self.loss_method = forward, backward, loss
        self.paths = {"W": weights, "b": biases}
        self.grad_paths = {"W": weight_grads, "b": bias_grads} if weight_grads else None
        self.backward_arguments = tuple(backward_arguments)
        self.loss_arguments = tuple(loss_arguments)
        self.label = type(model).__name__

    def _path(self, name: str, paths: Mapping[str, str | None]) -> str:
        # Replaced, not str.format: a format field could reach into attributes ("{k.__class__}");
        # any other brace is left for parse_path to refuse.
        k = int(name[1:])
        return str(paths[name[0]]).replace("{k}", str(k)).replace("{i}", str(k - 1))

    def _parameter(self, name: str) -> Any:
        """The object's parameter ``name`` (W1, b1, ...), or an error saying which option to give."""
        try:
            return get_path(self.model, self._path(name, self.paths))
        except CheckError as error:
            option = "weights" if name.startswith("W") else "biases"
            raise CheckError(
                f"{error}: {option}='{self.paths[name[0]]}' does not lead to {self.label}'s {option};"
                f" give ObjectAdapter(model, {option}=...) its path, like 'layers[{{i}}].weight' or"
                f" \"params['{name[0]}{{k}}']\" ({{k}} counts the layers from 1, {{i}} from 0)"
            ) from None

    def known_layout(self, sizes: Sequence[int]) -> KnownLayout:
        # Every parameter must be there: set_path would otherwise add a missing attribute unnoticed.
        found = {f"{kind}{k}": self._parameter(f"{kind}{k}") for k in range(1, len(sizes)) for kind in "Wb"}
        return known_layout_of(sizes, found["W1"], found["b1"])

    def _call(self, method: str, arguments: Sequence[Any], timeout: float | None) -> Any:
        return call_user(getattr(self.model, method), arguments, timeout, f"{self.label}.{method}")

    def run(self, params: Params, X: Array, Y: Array, timeout: float | None = None) -> Outcome:
        """The object's outcome on one batch, each method given ``timeout`` seconds."""
        for name, value in params.items():  # the caller's own arrays, made for this call
            set_path(self.model, self._path(name, self.paths), value)
        prediction = self._call(self.forward_method, (X,), timeout)
        where = f"{self.label}.{self.forward_method}"
        prediction = _numbers(prediction[0] if isinstance(prediction, tuple) else prediction, f"what {where} returned")
        values = {"X": X, "Y": Y, "Y_hat": prediction}
        where = f"{self.label}.{self.backward_method}"
        backward_values = [values[name] for name in self.backward_arguments]
        loss, returned = _split_loss(self._call(self.backward_method, backward_values, timeout), where)
        strays: tuple[str, ...] = ()
        if self.grad_paths is not None:
            grads = {
                name: _numbers(get_path(self.model, path), f"{self.label}.{path}")
                for name, path in ((name, self._path(name, self.grad_paths)) for name in params)
            }
        else:
            elsewhere = (
                " (or, if it keeps them in attributes, tell ObjectAdapter(model, weight_grads=...,"
                " bias_grads=...) their paths, like \"grads['W{k}']\" or 'layers[{i}].weight_grad')"
            )
            grads, strays = _pick_gradients(returned, list(params), {}, {}, where, elsewhere)
        after = {
            name: _left_by_code(get_path(self.model, self._path(name, self.paths)), params[name]) for name in params
        }
        if self.loss_method is not None:
            loss_values = [values[name] for name in self.loss_arguments]
            returned_loss = self._call(self.loss_method, loss_values, timeout)
            loss = _loss_number(returned_loss, f"what {self.label}.{self.loss_method} returned")
        return Outcome(grads, prediction, loss, after, strays)
