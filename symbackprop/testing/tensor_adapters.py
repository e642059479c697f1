"""How the checker calls code written with PyTorch or JAX: functions on tensors and torch modules.

Contract
--------
* :class:`TensorFunctionAdapter` is a :class:`~.adapters.FunctionAdapter` whose function takes the
  framework's tensors: the parameters, X and Y are handed as tensors of the check's precision on
  its device (see :class:`~.frameworks.Tensors`), and what it returns is read back as NumPy. A
  function that returns one number is a loss function: the framework differentiates it (torch by
  ``backward`` on leaf tensors, JAX by ``jax.value_and_grad``), so that a custom
  ``autograd.Function`` or ``jax.custom_vjp`` inside it is what gets checked; its value is judged
  as the loss.
* :class:`ModuleAdapter` wraps a ``torch.nn.Module``. Its parameters map to ours (W1, b1, ...) by
  ``names`` (ours → the module's parameter names), else by the order of its ``nn.Linear`` layers,
  else by the order of its parameters when they alternate weight, bias (taken as (out, in) where
  the shapes do not tell). Each call loads the
  probe's parameters into it, runs its forward on X, then ``backward``: of ``loss(output, Y)``
  when a loss is given (its value judged as the loss), else of the network's loss, by seeding the
  output with ∂L/∂ŷ of the reference (or δ⁽ᴸ⁾ when the module returns the output's
  pre-activation z⁽ᴸ⁾, logits, which a note says), and reads each parameter's ``.grad`` (none: a
  zero gradient). The module's parameters, buffers, gradients, ``requires_grad`` flags and
  training mode are restored after every call, whatever the call did.
* The precision of the gradients returned is recorded in the :class:`~.adapters.Outcome`, so that
  code that computes in a lower precision than it is given is judged with that precision's
  tolerances.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy

from .. import naming
from .adapters import (
    CheckError,
    DidNotReturn,
    FunctionAdapter,
    KnownLayout,
    Layout,
    ObjectAdapter,
    Outcome,
    _label,
    _loss_number,
    _numbers,
    _pick_gradients,
    _split_loss,
    call_user,
    known_layout_of,
)
from .frameworks import PRECISIONS, Precision, Tensors, precision_of
from .reference import Array, Batch, Params, Reference


def _lowest(precisions: Sequence[Precision | None]) -> str | None:
    known = [precision for precision in precisions if precision is not None]
    return max(known, key=lambda precision: precision.epsilon).name if known else None


def _is_number(value: Any, tensors: Tensors) -> bool:
    """Whether ``value`` is one number (a loss), as a tensor of no dimensions or a Python float."""
    if tensors.owns(value):
        return tuple(value.shape) == ()
    return isinstance(value, float)


class TensorFunctionAdapter(FunctionAdapter):
    """``grads(params, X, Y)`` (or ``loss_fn(params, X, Y)``) on torch tensors or JAX arrays."""

    def __init__(self, grads: Callable[..., Any], *, tensors: Tensors, **options: Any) -> None:
        super().__init__(grads, **options)
        self.tensors = tensors

    def known_layout(self, sizes: Sequence[int]) -> KnownLayout:
        if not self.example:
            return KnownLayout()
        key = self.names.get
        W1, b1 = (self.tensors.array(self.example.get(key(name, name))) for name in ("W1", "b1"))
        return known_layout_of(sizes, W1, b1)

    def _converted(self, returned: Any) -> Any:
        """What the code returned with its tensors as NumPy arrays (a dict, a pair, or one value)."""
        if isinstance(returned, Mapping):
            return {key: self.tensors.array(value) for key, value in returned.items()}
        if isinstance(returned, tuple):
            return tuple(self._converted(value) for value in returned)
        return self.tensors.array(returned)

    def _differentiated(self, given: Mapping[str, Any], X: Any, Y: Any, timeout: float | None) -> tuple[Any, Any]:
        """The loss function's value and its gradient by the framework, keyed as ``given``."""
        function = self.grads_function
        if self.tensors.framework == "jax":
            import jax

            return run_backward(jax.value_and_grad(function), (dict(given), X, Y), timeout, self.label)  # type: ignore[no-any-return]
        leaves = {key: value.detach().clone().requires_grad_(True) for key, value in given.items()}
        loss = call_user(function, (leaves, X, Y), timeout, self.label)
        run_backward(loss.backward, (), timeout, self.label)
        grads = {key: leaf.grad if leaf.grad is not None else leaf.detach() * 0 for key, leaf in leaves.items()}
        return loss, grads

    def run(self, params: Params, X: Array, Y: Array, timeout: float | None = None) -> Outcome:
        """The code's outcome on one batch, called on the framework's tensors."""
        tensors = self.tensors
        given = {self.names.get(name, name): tensors.tensor(value) for name, value in params.items()}
        data = (tensors.tensor(X), tensors.tensor(Y, integer=Y.dtype.kind in "iu"))
        returned = call_user(self.grads_function, (given, *data), timeout, self.label)
        if _is_number(returned, tensors):  # a loss function: the framework takes its gradient
            returned = self._differentiated(given, *data, timeout)
        precision = _lowest(
            [
                tensors.precision_of_tensor(value)
                for value in (returned[1] if isinstance(returned, tuple) else returned).values()
            ]
            if isinstance(returned, Mapping) or (isinstance(returned, tuple) and isinstance(returned[-1], Mapping))
            else []
        )
        loss, returned = _split_loss(self._converted(returned), self.label)
        grads, strays = _pick_gradients(returned, list(params), self.names, self.grad_names, self.label)
        after = {
            name: numpy.asarray(tensors.array(given[self.names.get(name, name)]), dtype=numpy.float64)
            for name in params
        }
        prediction = None
        if self.forward_function is not None:
            copies = {key: tensors.tensor(params[name]) for name, key in self._keys(params)}
            out = call_user(self.forward_function, (copies, data[0]), timeout, _label(self.forward_function))
            out = out[0] if isinstance(out, tuple) else out
            prediction = _numbers(tensors.array(out), "the forward pass's result")
        if self.loss_function is not None:
            copies = {key: tensors.tensor(params[name]) for name, key in self._keys(params)}
            value = call_user(self.loss_function, (copies, *data), timeout, _label(self.loss_function))
            loss = _loss_number(tensors.array(value), "the loss function's result")
        return Outcome(grads, prediction, loss, after, strays, precision=precision)

    def _keys(self, params: Params) -> list[tuple[str, str]]:
        return [(name, self.names.get(name, name)) for name in params]


class ModuleAdapter:
    """A ``torch.nn.Module`` whose backward is checked (see the module's docstring)."""

    def __init__(
        self,
        module: Any,
        reference: Reference,
        *,
        names: Mapping[str, str] | None = None,
        loss: Callable[..., Any] | None = None,
    ) -> None:
        if loss is not None and not callable(loss):
            raise CheckError(f"loss: expected a function loss(output, Y) returning a tensor, or None; got {loss!r:.60}")
        self.module = module
        self.reference = reference
        self.loss_function = loss
        self.label = type(module).__name__
        self.parameters = dict(module.named_parameters())
        self.mapping, self.linear = self._mapping(names)
        first = self.parameters[self.mapping["W1"]]
        precision = precision_of(first.dtype)
        if precision is None:
            raise CheckError(f"{self.label}'s parameters are {first.dtype}; expected a floating-point type")
        self.precision = precision
        self.device = first.device
        self.tensors = Tensors("torch", precision, first.device)
        # What check_gradients reads of every adapter: a module has no key names of its own.
        self.names: dict[str, str] = {}
        self.grad_names: dict[str, str] = {}

    def _mapping(self, names: Mapping[str, str] | None) -> tuple[dict[str, str], bool]:
        """Ours → the module's parameter names, and whether they come from its nn.Linear layers."""
        import torch

        ours = list(self.reference.parameter_names())
        listed = ", ".join(self.parameters) or "none"
        if names is not None:
            if not isinstance(names, Mapping) or not all(
                isinstance(key, str) and isinstance(value, str) for key, value in names.items()
            ):
                raise CheckError(f"names: expected a dict like {{'W1': 'fc1.weight'}}, got {names!r:.60}")
            unknown = [value for value in names.values() if value not in self.parameters]
            if unknown:
                raise CheckError(
                    f"names: {self.label} has no parameter {', '.join(map(repr, unknown))}; it has {listed}"
                )
            missing = [name for name in ours if name not in names]
            if missing:
                raise CheckError(
                    f"names: say which parameter of {self.label} is {', '.join(missing)} (it has {listed})"
                )
            return {name: names[name] for name in ours}, False
        by_id = {id(value): key for key, value in self.parameters.items()}
        linears = [layer for layer in self.module.modules() if isinstance(layer, torch.nn.Linear)]
        depth = self.reference.depth
        hint = f"; say which parameter is which: names={{'W1': 'fc1.weight', 'b1': 'fc1.bias', ...}} (it has {listed})"
        if linears:
            if len(linears) != depth or any(layer.bias is None for layer in linears):
                biased = sum(layer.bias is not None for layer in linears)
                raise CheckError(
                    f"{self.label} has {len(linears)} nn.Linear layers ({biased} with a bias); the network has"
                    f" {depth} layers with biases{hint}"
                )
            mapping = {}
            for k, layer in enumerate(linears, start=1):
                mapping[naming.array("w", k)] = by_id[id(layer.weight)]
                mapping[naming.array("b", k)] = by_id[id(layer.bias)]
            return mapping, True
        values = list(self.parameters.items())
        alternating = len(values) == 2 * depth and all(
            values[2 * i][1].dim() == 2 and values[2 * i + 1][1].dim() == 1 for i in range(depth)
        )
        if not alternating:
            raise CheckError(f"{self.label} has no nn.Linear layers and its parameters are not weight, bias, ...{hint}")
        return {
            name: values[index][0]
            for index, name in enumerate(n for k in range(1, depth + 1) for n in (f"W{k}", f"b{k}"))
        }, False

    def known_layout(self, sizes: Sequence[int]) -> KnownLayout:
        if self.linear:
            return KnownLayout("out_in", "flat", None, samples="rows")
        W1, b1 = (self.tensors.array(self.parameters[self.mapping[name]]) for name in ("W1", "b1"))
        known = known_layout_of(sizes, W1, b1)
        # A square layer's shape tells no layout: a module's weight is (out, in), as nn.Linear's,
        # unless weight_layout says otherwise.
        return KnownLayout(known.weights or "out_in", known.biases, None, samples="rows")

    def _saved(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, bool], bool]:
        state = {key: value.detach().clone() for key, value in self.module.state_dict(keep_vars=True).items()}
        grads = {key: None if value.grad is None else value.grad.clone() for key, value in self.parameters.items()}
        flags = {key: value.requires_grad for key, value in self.parameters.items()}
        return state, grads, flags, self.module.training

    def _restore(self, saved: tuple[dict[str, Any], dict[str, Any], dict[str, bool], bool]) -> None:
        import torch

        state, grads, flags, training = saved
        with torch.no_grad():
            for key, value in self.module.state_dict(keep_vars=True).items():
                value.copy_(state[key])
        for key, value in self.parameters.items():
            value.grad = grads[key]
            value.requires_grad_(flags[key])
        self.module.train(training)

    def run(self, params: Params, X: Array, Y: Array, timeout: float | None = None) -> Outcome:
        """The module's outcome on one batch: its ``.grad`` after ``backward``."""
        import torch

        tensors = self.tensors
        saved = self._saved()
        try:
            with torch.no_grad():
                for name, value in params.items():
                    parameter = self.parameters[self.mapping[name]]
                    if tuple(parameter.shape) != value.shape:
                        raise CheckError(
                            f"{self.label}.{self.mapping[name]} has shape {tuple(parameter.shape)}; {name} of the"
                            f" network is {value.shape}"
                        )
                    parameter.copy_(tensors.tensor(value))
            for parameter in self.parameters.values():
                parameter.grad = None
                parameter.requires_grad_(True)
            data = (tensors.tensor(X), tensors.tensor(Y, integer=Y.dtype.kind in "iu"))
            output = call_user(self.module, (data[0],), timeout, self.label)
            output = output[0] if isinstance(output, tuple) else output
            loss = None
            notes: tuple[str, ...] = ()
            if self.loss_function is not None:
                value = call_user(self.loss_function, (output, data[1]), timeout, _label(self.loss_function))
                loss = _loss_number(tensors.array(value), "the loss function's result")
                run_backward(value.backward, (), timeout, self.label)
                prediction: Array | None = _numbers(tensors.array(output), f"what {self.label} returned")
            else:
                seed, prediction, notes = self._seed(params, X, Y, output)
                run_backward(output.backward, (tensors.tensor(seed),), timeout, self.label)
            grads = {}
            for name, value in params.items():
                grad = self.parameters[self.mapping[name]].grad
                grads[name] = (
                    numpy.zeros(value.shape)
                    if grad is None
                    else _numbers(tensors.array(grad), f"{self.label}.{self.mapping[name]}.grad")
                )
            after = {
                name: numpy.asarray(tensors.array(self.parameters[self.mapping[name]]), dtype=numpy.float64)
                for name in params
            }
        finally:
            self._restore(saved)
        return Outcome(grads, prediction, loss, after, precision=self.precision.name, notes=notes)

    def _seed(self, params: Params, X: Array, Y: Array, output: Any) -> tuple[Array, Array | None, tuple[str, ...]]:
        layout = self._layout()
        sizes = self.reference.network.sizes
        canonical = {name: layout.from_user(name, value, sizes[int(name[1:])]) for name, value in params.items()}
        got = _numbers(self.tensors.array(output), f"what {self.label} returned")
        return output_seed(self.reference, canonical, X, Y, got, self.label)

    def _layout(self) -> Layout:
        known = self.known_layout(self.reference.network.sizes)
        return Layout("rows", known.weights or "out_in", known.biases or "flat")


def output_seed(
    reference: Reference, params: Params, X: Array, Y: Array, got: Array, label: str
) -> tuple[Array, Array | None, tuple[str, ...]]:
    """What to seed the backward pass of code whose output is ``got`` with, on the batch X, Y and
    the canonical ``params``: ∂L/∂ŷ of the batch mean by the reference, or δ⁽ᴸ⁾ when ``got`` is
    the output's pre-activation z⁽ᴸ⁾ (logits); also the output as the forward pass to judge
    (None for z⁽ᴸ⁾) and the note that says so."""
    sizes = reference.network.sizes
    targets = numpy.eye(sizes[-1])[Y] if Y.ndim == 1 else Y
    cache = reference.forward(params, Batch(numpy.asarray(X, dtype=numpy.float64), targets))
    L = reference.depth
    if got.size != cache.A[L].size:
        raise CheckError(f"{label} returned shape {got.shape}; the network's output is {cache.A[L].shape}")
    shape = got.shape
    got = got.astype(numpy.float64).reshape(cache.A[L].shape)
    from_a, from_z = (float(numpy.max(numpy.abs(got - value), initial=0.0)) for value in (cache.A[L], cache.Z[L]))
    if from_z < from_a:
        note = (
            f"{label} returns z⁽{L}⁾ (logits), not ŷ: the network's loss was applied to"
            f" {reference.network.activations[-1].name}(z⁽{L}⁾)"
        )
        return reference.output_delta(cache).reshape(shape), None, (note,)
    return reference.loss_gradient(cache).reshape(shape), got, ()


#: What torch and JAX say when a hand-written backward returns a gradient of the wrong shape.
_WRONG_SHAPE = ("returned an invalid gradient", "Custom VJP bwd rule must produce", "custom_vjp bwd")


def run_backward(backward: Callable[..., Any], arguments: Sequence[Any], timeout: float | None, label: str) -> Any:
    """``backward(*arguments)``, the framework's backward pass through the user's code; a gradient
    of the wrong shape, refused by the framework, ends the check as code that returned no
    gradient (:class:`~.adapters.DidNotReturn`), with the framework's words."""
    try:
        return call_user(backward, arguments, timeout, f"the backward pass of {label}")
    except (RuntimeError, TypeError, ValueError) as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if any(pattern in str(error) for pattern in _WRONG_SHAPE):
            raise DidNotReturn(
                f"the backward pass of {label} returned a gradient of the wrong shape{_shape_hint(text)}: {text}"
            ) from None
        raise


_SHAPES = re.compile(r"got \[([\d, ]*)\] but expected shape compatible with \[([\d, ]*)\]")


def _shape_hint(text: str) -> str:
    """What torch's words on a gradient of the wrong shape suggest: a transposed gradient, or a
    bias gradient summed over the wrong axis (or not summed over the batch)."""
    match = _SHAPES.search(text)
    if match is None:
        return ""
    got, expected = ([int(n) for n in group.split(",") if n.strip()] for group in match.groups())
    if len(got) == 2 and got == expected[::-1]:
        return " (transposed)"
    if len(expected) == 1 and got != expected:
        return " (a bias gradient summed over the wrong axis, or not over the batch)"
    return ""


def _is_module(code: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(code, torch.nn.Module)


def _jax_64_bits() -> bool:
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def _precision_option(dtype: Any) -> Precision | None:
    """The ``dtype`` option as a precision (None when not given)."""
    if dtype is None:
        return None
    precision = precision_of(dtype)
    if precision is None:
        raise CheckError(f"dtype: {dtype!r:.60} is not one of {', '.join(PRECISIONS)}")
    return precision


def framework_adapter(
    code: Any, framework: str, reference: Reference, options: Mapping[str, Any], dtype: Any, device: Any
) -> tuple[TensorFunctionAdapter | ModuleAdapter, Precision]:
    """The adapter of torch or JAX ``code`` (a module, or a function on tensors), and the precision
    of the tensors it is handed: ``dtype`` when given, else that of the module's parameters or of
    the example ``params``, else float64 (float32 for JAX without 64-bit mode)."""
    given = {key: value for key, value in options.items() if value is not None}
    if isinstance(code, (FunctionAdapter, ObjectAdapter)):
        raise CheckError(
            f"framework={framework!r} checks a function on tensors or a torch.nn.Module; give the adapter's code"
            ' with framework="numpy"'
        )
    if framework == "torch" and _is_module(code):
        extra = [key for key in given if key not in ("names", "loss")]
        if extra:
            raise CheckError(f"{', '.join(extra)}: a torch.nn.Module takes only names= and loss=")
        module = ModuleAdapter(code, reference, names=given.get("names"), loss=given.get("loss"))
        chosen = _precision_option(dtype)
        if chosen is not None and chosen != module.precision:
            raise CheckError(
                f"dtype: {module.label}'s parameters are {module.precision.name}, not {chosen.name};"
                f" convert the module (module.to(torch.{chosen.name})) to check it in {chosen.name}"
            )
        if device is not None and str(device) != str(module.device):
            raise CheckError(
                f"device: {module.label} is on {module.device}; move it (module.to({str(device)!r})) instead"
            )
        return module, module.precision
    if isinstance(code, type) or not callable(code):
        raise CheckError(
            f"{code!r:.60} is neither a function on {framework} tensors (grads(params, X, Y) or"
            " loss_fn(params, X, Y)) nor a torch.nn.Module"
        )
    tensors_given = [value for value in dict(given.get("params") or {}).values() if hasattr(value, "dtype")]
    example = tensors_given[0] if tensors_given else None
    precision = _precision_option(dtype) or (precision_of(example.dtype) if example is not None else None)
    if precision is None:
        precision = PRECISIONS["float32" if framework == "jax" and not _jax_64_bits() else "float64"]
    if device is None and framework == "torch" and example is not None:
        device = getattr(example, "device", None)
    tensors = Tensors(framework, precision, device)
    return TensorFunctionAdapter(code, tensors=tensors, **options), precision
