"""The frameworks the checker speaks: NumPy, PyTorch and JAX; which one a piece of code is
written for, its precision and device, and the conversion of arrays to and from its tensors.

Contract
--------
* :func:`detect_framework` names the framework of the user's code (one of :data:`FRAMEWORKS`):
  ``"torch"`` for a ``torch.nn.Module`` or ``autograd.Function``, ``"jax"`` for a
  ``jax.custom_vjp`` function, else the framework whose modules, functions or classes the code
  refers to (its globals and closure, and those of the functions it calls, two calls deep); NumPy
  when it refers to neither. Code that refers to both is a :class:`CheckError` asking for
  ``framework=``. Nothing is imported to find out: a framework the process has not imported
  cannot be the code's.
* :data:`PRECISIONS` are the floating-point types the checker judges, each with its machine
  epsilon and the NumPy dtype the probe is kept in (float64 or float32, which hold every value
  of the lower precisions exactly): float64, float32, float16, bfloat16. :func:`precision_of`
  reads a precision from a NumPy, torch or JAX dtype or its name; :func:`round_to` rounds float64
  values to a precision without any framework (bfloat16 by rounding float32 to its upper 16 bits,
  to nearest, ties to even), so that the reference sees the numbers the code sees.
* :class:`Tensors` converts NumPy arrays to a framework's tensors of one precision on one
  device, and its tensors back to NumPy (float16 and bfloat16 as float32, which holds them
  exactly). torch and JAX are imported when a :class:`Tensors` is made, only for code that uses
  them. :func:`probe_in` rounds a probe to a precision lower than its carrier.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy

from .adapters import CheckError
from .reference import Batch, Probe, Reference

FRAMEWORKS = ("numpy", "torch", "jax")


@dataclass(frozen=True)
class Precision:
    """A floating-point type: its name, machine epsilon and the NumPy dtype that carries it."""

    name: str
    epsilon: float
    carrier: numpy.dtype


PRECISIONS = {
    "float64": Precision("float64", 2.0**-52, numpy.dtype(numpy.float64)),
    "float32": Precision("float32", 2.0**-23, numpy.dtype(numpy.float32)),
    "float16": Precision("float16", 2.0**-10, numpy.dtype(numpy.float32)),
    "bfloat16": Precision("bfloat16", 2.0**-7, numpy.dtype(numpy.float32)),
}


def precision_of(dtype: Any) -> Precision | None:
    """The precision of a NumPy, torch or JAX dtype, or of its name (None: not one of ours)."""
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
    else:
        text = str(dtype)
        if text.startswith("torch."):
            name = text.removeprefix("torch.")
        else:
            try:
                name = numpy.dtype(dtype).name
            except TypeError:
                return None
    name = {"double": "float64", "float": "float32", "half": "float16"}.get(name, name)
    return PRECISIONS.get(name)


def round_to(array: numpy.ndarray, precision: Precision) -> numpy.ndarray:
    """``array`` rounded to ``precision``, as float64."""
    if precision.name == "bfloat16":
        bits = numpy.asarray(array, dtype=numpy.float32).view(numpy.uint32)
        rounded = (bits + numpy.uint32(0x7FFF) + ((bits >> 16) & numpy.uint32(1))) & numpy.uint32(0xFFFF0000)
        return rounded.view(numpy.float32).astype(numpy.float64)
    kind = numpy.float16 if precision.name == "float16" else precision.carrier
    return numpy.asarray(array, dtype=kind).astype(numpy.float64)


def _root(value: Any) -> str | None:
    """The framework a module, function, class or object belongs to, by its module's name."""
    if isinstance(value, types.ModuleType):
        return _framework_root(value.__name__)
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        return _framework_root(getattr(value, "__module__", None))
    kind = value if isinstance(value, type) else type(value)  # a class, or an object by its class
    return next((root for base in kind.__mro__ if (root := _framework_root(base.__module__))), None)


def _framework_root(module: Any) -> str | None:
    root = str(module).partition(".")[0]
    return root if root in ("torch", "jax", "jaxlib") and root in sys.modules else None


def _referred(function: Any, depth: int) -> Iterator[Any]:
    """The objects ``function`` refers to by name or closure, and those of the functions among
    them, ``depth`` calls deep."""
    code = getattr(function, "__code__", None)
    if code is None:
        return
    names = set()
    stack = [code]
    while stack:  # nested functions and comprehensions: their names are the function's too
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    namespace = getattr(function, "__globals__", {})
    found = [namespace[name] for name in names if name in namespace]
    found += [cell.cell_contents for cell in (getattr(function, "__closure__", None) or ()) if _filled(cell)]
    for value in found:
        yield value
        if depth > 0 and isinstance(value, types.FunctionType) and value is not function:
            yield from _referred(value, depth - 1)


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def detect_framework(code: Any) -> str:
    """The framework ``code`` is written for (see the module's docstring)."""
    own = _root(code) if not isinstance(code, types.FunctionType) else None
    if own is not None:
        return "jax" if own == "jaxlib" else own
    target = getattr(code, "__func__", code)  # a bound method: its function
    if not isinstance(target, types.FunctionType) and callable(code):
        target = type(code).__call__
    roots = {root for value in _referred(target, 2) if (root := _root(value)) is not None}
    roots = {"jax" if root == "jaxlib" else root for root in roots}
    if len(roots) > 1:
        raise CheckError(
            "your code uses both torch and jax; say which one computes the gradients:"
            ' framework="numpy"|"torch"|"jax" (--framework numpy|torch|jax)'
        )
    return roots.pop() if roots else "numpy"


class Tensors:
    """NumPy arrays as one framework's tensors of one precision on one device, and back."""

    def __init__(self, framework: str, precision: Precision, device: Any = None) -> None:
        self.framework = framework
        self.precision = precision
        self.device = device
        if framework == "torch":
            import torch

            self._module: Any = torch
            self._dtype: Any = getattr(torch, precision.name)
            self.device = None if device is None else _torch_device(torch, device)
        else:
            import jax
            import jax.numpy as jnp

            if precision.name == "float64" and not jax.config.read("jax_enable_x64"):
                raise CheckError(
                    "dtype: float64 JAX arrays need 64-bit mode, which is off: turn it on first"
                    ' (jax.config.update("jax_enable_x64", True)) or check in float32 (dtype="float32")'
                )
            self._module = jax
            self._dtype = getattr(jnp, precision.name)
            self.device = None if device is None else _jax_device(jax, device)

    def describe(self) -> str:
        """``torch float32`` or ``torch float32 on cuda:0``: the framework, precision and device."""
        cpu = self.device is None or getattr(self.device, "type", getattr(self.device, "platform", "")) == "cpu"
        device = "" if cpu else f" on {self.device}"
        return f"{self.framework} {self.precision.name}{device}"

    def tensor(self, array: numpy.ndarray, integer: bool = False) -> Any:
        """``array`` as a tensor of this precision (or of integers, for class indices), on the device."""
        if self.framework == "torch":
            torch = self._module
            kind = torch.int64 if integer else self._dtype
            return torch.as_tensor(numpy.asarray(array), device=self.device).to(kind)
        jnp = self._module.numpy
        value = jnp.asarray(numpy.asarray(array), dtype=jnp.int32 if integer else self._dtype)
        return value if self.device is None else self._module.device_put(value, self.device)

    def owns(self, value: Any) -> bool:
        """Whether ``value`` is a tensor of this framework."""
        if self.framework == "torch":
            return isinstance(value, self._module.Tensor)
        return isinstance(value, self._module.Array)

    def array(self, value: Any) -> Any:
        """A tensor of this framework as a NumPy array (float16 and bfloat16 as float32); anything
        else as it is, for the checker to read or refuse."""
        if not self.owns(value):
            return value
        if self.framework == "torch":
            value = value.detach()
            if value.dtype in (self._module.float16, self._module.bfloat16):
                value = value.float()
            return value.cpu().numpy().copy()
        array = numpy.asarray(value)
        return array.astype(numpy.float32) if array.dtype.name in ("float16", "bfloat16") else array.copy()

    def precision_of_tensor(self, value: Any) -> Precision | None:
        """The precision of a tensor of this framework (None for anything else)."""
        return precision_of(value.dtype) if self.owns(value) else None


def probe_in(reference: Reference, probe: Probe, precision: Precision) -> Probe:
    """``probe`` (made in ``precision``'s carrier) with its values rounded to ``precision`` when
    that is lower (float16, bfloat16), and its margin to the nearest kink measured again."""
    if precision.carrier.name == precision.name:
        return probe
    params = {name: round_to(value, precision) for name, value in probe.params.items()}
    first, second = (Batch(round_to(batch.X, precision), round_to(batch.Y, precision)) for batch in probe.batches)
    margin = min(
        float(numpy.min(numpy.abs(z))) for batch in (first, second) for z in reference.forward(params, batch).Z[1:]
    )
    return Probe(params=params, batches=(first, second), margin=margin, dtype=probe.dtype)


def _torch_device(torch: Any, device: Any) -> Any:
    """``device`` (a name such as ``cuda:0``, or a ``torch.device``) as a torch device this machine
    has, or a :class:`CheckError` naming it: the checker's own tensors go there first."""
    try:
        chosen = torch.device(device)
        torch.empty(0, device=chosen)
    except (RuntimeError, TypeError, AssertionError) as error:
        raise CheckError(f"device: {device!r} is not a torch device this machine has ({error})") from None
    return chosen


def _jax_device(jax: Any, device: Any) -> Any:
    """``device`` (a ``jax.Device``, or a name such as ``cpu``, ``cpu:0`` or ``gpu:1``) as one of
    ``jax.devices()``, or a :class:`CheckError` listing them."""
    if not isinstance(device, str):
        return device
    platform, _, index = device.strip().lower().partition(":")
    platform = {"cuda": "gpu"}.get(platform, platform)
    try:
        devices = jax.devices(platform)
    except RuntimeError:
        devices = []
    number = int(index) if index.isdigit() else 0 if not index else -1
    if 0 <= number < len(devices):
        return devices[number]
    known = ", ".join(f"{d.platform}:{d.id}" for d in jax.devices())
    raise CheckError(f"device: {device!r} is not a JAX device this machine has (it has {known})")
