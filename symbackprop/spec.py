"""The validated description of a multilayer perceptron: sizes, activations and a loss.

Contract
--------
A :class:`Network` is frozen and valid by construction; the three ways to write one give equal
objects:

* Python: ``Network(sizes=[2, 4, 3, 1], activations=["relu", "relu", "sigmoid"], loss="bce")``
  (``activations`` may be one name for every layer);
* the command line: ``2-4-3-1 --activations relu,relu,sigmoid --loss bce`` (:func:`from_cli`);
* a TOML file (:func:`load_toml`) with ``sizes``, ``activations`` and ``loss`` (or one ``spec``
  string in the compact form), an optional ``l2`` and an optional ``[custom_activations]`` table
  of ``name = "expression in x"``;

and the compact one-string form (:func:`parse_compact`)::

    network    := width ("->" width activation)+ ":" loss ["+" "l2(" number ")"]
    activation := name | name "(" number ("," number)* ")"
    e.g.          "2 -> 4 relu -> 3 relu -> 1 sigmoid : bce"
                  "2 -> 4 relu -> 1 sigmoid : bce + l2(0.01)"

L2 regularisation
-----------------
A network may carry ``l2 = λ`` (``Network(..., l2=0.01)``, ``+ l2(0.01)`` in the compact form,
``l2 = 0.01`` in TOML, ``--l2 0.01`` on the command line): a non-negative finite number, 0 (the
default) meaning no term. The loss is then the mean of the per-sample losses plus

    (λ/2) Σₖ ‖W⁽ᵏ⁾‖²   (the squared Frobenius norm of every weight matrix; biases are not regularised)

so that ∂/∂W⁽ᵏ⁾ gains λW⁽ᵏ⁾ and ∂/∂b⁽ᵏ⁾ nothing. For plain SGD this is PyTorch's
``torch.optim.SGD(..., weight_decay=λ)`` (which adds λ·p to the gradient of every parameter it is
given: pass it the weights only to leave the biases out), and the term is not divided by the
batch size m.

Invalid input raises :class:`~symbackprop.errors.SpecError` with one message that names the
problem and its place (``activations[2] (layer 3)``), and a close match for a misspelt name.
"""

from __future__ import annotations

import math
import numbers
import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp

from .errors import SpecError
from .exprparse import parse_activation_definition
from .files import special_kind
from .printing.text import interval_text
from .registry import LOSSES, Activation, Loss, custom_activation, lookup_activation, lookup_loss

if TYPE_CHECKING:
    from .derive import Derivation

#: Widths above this are refused: nobody means them, and they would only exhaust memory later.
MAX_WIDTH = 1_000_000
#: Depths above this are refused for the same reason: the derivation grows with every layer.
MAX_LAYERS = 1000
#: A TOML spec file larger than this is refused before it is parsed (parsing 4 MB takes seconds).
MAX_TOML_BYTES = 1_000_000
#: Widths are ASCII digits: int() would also read '٢' or '２', which nobody types as a width.
_SIZES = re.compile(r"^\s*\d+(\s*-\s*\d+)+\s*$", re.ASCII)
#: The number of an L2 coefficient: ASCII decimal digits, an optional fraction and exponent.
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?\s*$", re.ASCII)
#: The regularisation term after the loss of the compact form: "+ l2(0.01)".
_L2_TERM = re.compile(r"^l2\s*\((.*)\)$", re.ASCII)


@dataclass(frozen=True, init=False)
class Network:
    """A validated multilayer perceptron: ``sizes[0]`` inputs, then one activation per layer."""

    sizes: tuple[int, ...]
    activations: tuple[Activation, ...]
    loss: Loss
    #: λ of the L2 term (λ/2) Σₖ ‖W⁽ᵏ⁾‖² added to the loss; 0 for none (see the module docstring).
    l2: float

    def __init__(
        self,
        sizes: Sequence[int],
        activations: str | Activation | Sequence[str | Activation],
        loss: str | Loss,
        *,
        custom_activations: Mapping[str, str | Activation] | None = None,
        l2: float = 0.0,
        where: str = "",
    ) -> None:
        prefix = f"{where}: " if where else ""
        custom = _custom_table({} if custom_activations is None else custom_activations, prefix)
        checked_sizes = _check_sizes(sizes, prefix)
        layers = len(checked_sizes) - 1
        if isinstance(activations, (str, Activation)):
            activations = [activations] * layers
        elif not _is_list(activations):
            raise SpecError(
                f"{prefix}activations: expected an activation name or a list of one name per layer,"
                f' like ["relu", "sigmoid"], got {_shown(activations)}'
            )
        activations = list(activations)
        if len(activations) != layers:
            raise SpecError(
                f"{prefix}activations: {len(activations)} given for {layers} layer(s);"
                f" sizes {'-'.join(map(str, checked_sizes))} have {layers} layer(s) after the input,"
                " and each needs one activation (or give one name for all)"
            )
        resolved = tuple(
            _resolve_activation(entry, custom, f"{prefix}activations[{index}] (layer {index + 1})")
            for index, entry in enumerate(activations)
        )
        if not isinstance(loss, (str, Loss)):
            raise SpecError(f'{prefix}loss: expected a loss name like "bce", got {_shown(loss)}')
        resolved_loss = loss if isinstance(loss, Loss) else lookup_loss(loss, where=f"{prefix}loss")
        _check_combination(checked_sizes, resolved, resolved_loss, prefix)
        object.__setattr__(self, "sizes", checked_sizes)
        object.__setattr__(self, "activations", resolved)
        object.__setattr__(self, "loss", resolved_loss)
        object.__setattr__(self, "l2", _check_l2(l2, prefix))

    @property
    def depth(self) -> int:
        """The number of layers with weights, L."""
        return len(self.sizes) - 1

    @property
    def compact(self) -> str:
        """The compact one-string form, e.g. ``2 -> 4 relu -> 1 sigmoid : bce + l2(0.01)``."""
        layers = " -> ".join(f"{n} {f.label}" for n, f in zip(self.sizes[1:], self.activations, strict=True))
        penalty = f" + l2({self.l2!r})" if self.l2 else ""
        return f"{self.sizes[0]} -> {layers} : {self.loss.name}{penalty}"

    @property
    def cli_arguments(self) -> str:
        """The command-line form, e.g. ``2-4-1 --activations relu,sigmoid --loss bce``, each word
        quoted for a POSIX shell where it needs it (``'leaky_relu(0.01),sigmoid'``)."""
        words = [
            "-".join(map(str, self.sizes)),
            "--activations",
            ",".join(f.label for f in self.activations),
            "--loss",
            self.loss.name,
        ]
        if self.l2:
            words += ["--l2", repr(self.l2)]
        for custom in dict.fromkeys(f for f in self.activations if f.definition is not None):
            words += ["--activation-def", f"{custom.name}={custom.definition}"]
        return shlex.join(words)

    def __str__(self) -> str:
        return self.compact

    def derive(self) -> Derivation:
        """The symbolic back-propagation derivation of this network: a facade over
        :func:`symbackprop.derive.derive`, imported here because derive comes after the spec."""
        from .derive import derive

        return derive(self)


def _shown(value: Any, limit: int = 60) -> str:
    """A value as an error message quotes it: its repr, cut short (a TOML table can be large)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_list(value: Any) -> bool:
    """Whether value is a list of entries (a list, tuple, array or iterator), not one value: a
    string, bytes, or a table, whose iteration would give its characters or keys."""
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


def _check_l2(value: Any, prefix: str, name: str = "l2", shown: str | None = None) -> float:
    # numbers.Real takes NumPy's floats too; bool is an int to Python, never a coefficient.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{prefix}{name}: expected a non-negative number like 0.01, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise SpecError(f"{prefix}{name}: must be a finite number >= 0 (0 for no L2 term), got {shown or repr(value)}")
    return number + 0.0  # -0.0 is 0.0, so that the two networks are equal and print alike


def parse_l2(text: str, *, prefix: str = "", name: str = "--l2") -> float:
    """λ from its text (``0.01``, ``1e-4``): a plain decimal number, never evaluated."""
    if not _NUMBER.match(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise SpecError(f"{prefix}{name}: '{shown}' is not a number; write it like 0.01 or 1e-4")
    return _check_l2(float(text), prefix, name, shown=text.strip())


def _custom_table(definitions: Any, prefix: str) -> dict[str, Activation]:
    if not isinstance(definitions, Mapping):
        raise SpecError(
            f'{prefix}custom_activations: expected a table of name = "expression in x", got {_shown(definitions)}'
        )
    table = {}
    for name, definition in definitions.items():
        if not isinstance(name, str):
            raise SpecError(f"{prefix}custom_activations: a name must be a string, got {_shown(name)}")
        where = f"{prefix}custom activation '{name}'"
        if isinstance(definition, Activation):
            table[name] = definition
        elif isinstance(definition, str):
            table[name] = custom_activation(name, definition, where=where)
        else:
            raise SpecError(
                f'{where}: expected an expression in x as a string, like "x/(1+abs(x))", got {_shown(definition)}'
            )
    return table


def _check_sizes(sizes: Any, prefix: str) -> tuple[int, ...]:
    if not _is_list(sizes):
        raise SpecError(f"{prefix}sizes: expected a list of layer widths like [2, 4, 1], got {_shown(sizes)}")
    checked = []
    for index, width in enumerate(sizes):
        place = "input" if index == 0 else f"layer {index}"
        # numbers.Integral takes NumPy's integers too; bool is an int to Python, never a width.
        if isinstance(width, bool) or not isinstance(width, numbers.Integral):
            raise SpecError(f"{prefix}sizes[{index}] ({place}): width {_shown(width)} is not an integer")
        value = int(width)
        if value <= 0:
            raise SpecError(f"{prefix}sizes[{index}] ({place}): width must be positive, got {value}")
        if value > MAX_WIDTH:
            raise SpecError(f"{prefix}sizes[{index}] ({place}): width {value} exceeds {MAX_WIDTH}")
        checked.append(value)
        if len(checked) > MAX_LAYERS + 1:
            raise SpecError(
                f"{prefix}sizes: more than {MAX_LAYERS} layers; the derivation grows with every layer, and"
                " this many would not finish"
            )
    if len(checked) < 2:
        raise SpecError(f"{prefix}sizes: need an input width and at least one layer, got {checked}")
    return tuple(checked)


def _resolve_activation(entry: str | Activation, custom: Mapping[str, Activation], where: str) -> Activation:
    if isinstance(entry, Activation):
        return entry
    if not isinstance(entry, str):
        raise SpecError(f"{where}: expected an activation name, got {entry!r}")
    return lookup_activation(entry, where=where, custom=custom)


def _check_combination(sizes: tuple[int, ...], activations: tuple[Activation, ...], loss: Loss, prefix: str) -> None:
    output = activations[-1]
    for index, activation in enumerate(activations[:-1]):
        if not activation.jacobian.hidden_allowed:
            raise SpecError(
                f"{prefix}activations[{index}] (layer {index + 1}): {activation.name} is only allowed"
                f" on the output layer (layer {len(activations)})"
            )
    if output.jacobian.needs_targets_summing_to_one and not loss.targets.sums_to_one:
        fitting = " or ".join(
            f"the {entry.title} loss '{entry.name}'" for entry in LOSSES.values() if entry.targets.sums_to_one
        )
        raise SpecError(f"{prefix}loss: a {output.name} output needs {fitting}, not '{loss.name}'")
    if loss.requires_output is not None and output.name != loss.requires_output:
        raise SpecError(
            f"{prefix}loss: '{loss.name}' needs a {loss.requires_output} output layer, but layer"
            f" {len(activations)} is {output.label}"
        )
    if sizes[-1] < output.jacobian.min_units:
        raise SpecError(
            f"{prefix}sizes[{len(sizes) - 1}] (layer {len(activations)}): {output.name} over one"
            " output is the constant 1; use sigmoid with 'bce' for two classes"
        )
    if loss.prediction_domain == sp.Reals:
        return
    domain = interval_text(loss.prediction_domain)
    produced = output.bound().output_range
    if produced is None:
        raise SpecError(
            f"{prefix}loss: '{loss.name}' needs predictions in {domain}, and the range of the output"
            f" activation {output.label} is not known; use sigmoid (or softmax with cce)"
        )
    if not produced.is_subset(loss.prediction_domain):
        raise SpecError(
            f"{prefix}loss: '{loss.name}' needs predictions in {domain}, but the output activation"
            f" {output.label} gives values in {interval_text(produced)}, where the loss's logarithms are"
            " undefined; use sigmoid (or softmax with cce) on the output layer"
        )


def parse_sizes(text: str, *, where: str = "sizes") -> tuple[int, ...]:
    """Layer widths from ``2-4-3-1``."""
    if not _SIZES.match(text):
        raise SpecError(f"{where}: '{text}' is not a list of widths; write them joined by '-', like 2-4-3-1")
    return tuple(_width_from_text(part.strip(), index, "") for index, part in enumerate(text.split("-")))


def _width_from_text(digits: str, index: int, prefix: str) -> int:
    # int() of thousands of digits raises ValueError (or takes long) before the range check could run.
    if len(digits.lstrip("0")) > len(str(MAX_WIDTH)):
        place = "input" if index == 0 else f"layer {index}"
        shown = digits if len(digits) <= 20 else digits[:20] + "..."
        raise SpecError(f"{prefix}sizes[{index}] ({place}): width {shown} exceeds {MAX_WIDTH}")
    return int(digits)


def _is_ascii_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _names_a_file(text: str) -> bool:
    """Whether text is a path that exists: a TOML file, or a folder or device that load_toml refuses."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


def parse_compact(text: str, *, custom_activations: Mapping[str, str | Activation] | None = None) -> Network:
    """A network from the compact form ``"2 -> 4 relu -> 3 relu -> 1 sigmoid : bce"``."""
    where = "compact spec"
    if not isinstance(text, str):
        raise SpecError(f"{where}: expected a string like '2 -> 1 sigmoid : bce', got {_shown(text)}")
    body, colon, loss = text.rpartition(":")
    if not colon or not loss.strip():
        raise SpecError(f"{where}: '{text}' has no ': loss' at the end (e.g. '2 -> 1 sigmoid : bce')")
    parts = [part.strip() for part in body.split("->")]
    if len(parts) < 2:
        raise SpecError(f"{where}: '{body.strip()}' needs at least 'inputs -> width activation'")
    if not _is_ascii_number(parts[0]):
        raise SpecError(f"{where}: the input width '{parts[0]}' is not a positive integer")
    sizes = [_width_from_text(parts[0], 0, f"{where}: ")]
    activations = []
    for position, part in enumerate(parts[1:], start=1):
        width, _, activation = part.replace("\t", " ").partition(" ")
        if not _is_ascii_number(width) or not activation.strip():
            raise SpecError(f"{where}: layer {position} is '{part}'; write it as 'width activation', like '4 relu'")
        sizes.append(_width_from_text(width, position, f"{where}: "))
        activations.append(activation.strip())
    loss_name, *terms = (term.strip() for term in loss.split("+"))
    l2 = 0.0
    for term in terms:
        match = _L2_TERM.match(term)
        if match is None:
            raise SpecError(f"{where}: '{term}' after the loss is not a regularisation term; write '+ l2(0.01)'")
        if l2:
            raise SpecError(f"{where}: l2 given twice; write one '+ l2(λ)'")
        l2 = parse_l2(match.group(1), prefix=f"{where}: ", name="l2")
    return Network(sizes, activations, loss_name, custom_activations=custom_activations, l2=l2, where=where)


def parse_activation_definitions(definitions: Iterable[str]) -> dict[str, Activation]:
    """Custom activations from ``name=expression`` strings (the ``--activation-def`` option)."""
    table = {}
    for definition in definitions:
        name, expr = parse_activation_definition(definition)
        if name in table:
            raise SpecError(f"--activation-def '{name}': defined twice; give each custom activation once")
        table[name] = custom_activation(
            name, expr, where=f"--activation-def '{name}'", text=definition.partition("=")[2]
        )
    return table


def load_toml(path: str | Path) -> Network:
    """A network from a TOML file. Its keys:

    * ``sizes``: an array of positive integers, the input width then each layer's: ``[2, 4, 1]``;
    * ``activations``: one name for every layer (``"relu"``) or an array of one name per layer,
      a parameter in parentheses (``["leaky_relu(0.2)", "sigmoid"]``);
    * ``loss``: a loss name, ``"bce"``;
    * or, instead of those three, ``spec``: the compact form as one string;
    * ``l2`` (optional): λ of the L2 term, a number >= 0 (0, the default, for none);
    * ``[custom_activations]`` (optional): a table of ``name = "expression in x"``.

    A missing or unknown key, or a value of another type, is a SpecError naming the file and the key.
    """
    if not isinstance(path, (str, Path)):
        raise SpecError(f"load_toml: expected the path of a TOML file (a str or Path), got {_shown(path)}")
    where = str(path)
    kind = special_kind(path)
    if kind is not None:  # a device or a FIFO would be read (or waited on) forever
        raise SpecError(f"{where} is {kind}, not a TOML file")
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_TOML_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"{where}: no such file") from None
    except OSError as error:
        raise SpecError(f"{where}: cannot read it ({error.strerror})") from None
    if len(content) > MAX_TOML_BYTES:
        raise SpecError(f"{where}: larger than {MAX_TOML_BYTES} bytes; a network spec takes a few lines")
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SpecError(f"{where}: not valid TOML ({error})") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise SpecError(f"{where}: not valid TOML (arrays or tables nested too deeply)") from None
    known = {"sizes", "activations", "loss", "spec", "l2", "custom_activations"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
    custom = _custom_table(data.get("custom_activations", {}), f"{where}: ")
    l2 = _check_l2(data.get("l2", 0.0), f"{where}: ")
    if "spec" in data:
        if set(data) - {"spec", "l2", "custom_activations"}:
            raise SpecError(f"{where}: give either 'spec' or 'sizes'/'activations'/'loss', not both")
        if not isinstance(data["spec"], str):
            raise SpecError(f'{where}: spec: expected a string like "2 -> 1 sigmoid : bce", got {_shown(data["spec"])}')
        try:
            network = parse_compact(data["spec"], custom_activations=custom)
        except SpecError as error:
            raise SpecError(f"{where}: {error}") from None
        return with_l2(network, l2 if "l2" in data else None, where=f"{where}: l2")
    missing = [key for key in ("sizes", "activations", "loss") if key not in data]
    if missing:
        raise SpecError(f"{where}: missing key(s) {', '.join(missing)}")
    return Network(data["sizes"], data["activations"], data["loss"], custom_activations=custom, l2=l2, where=where)


def with_l2(network: Network, l2: float | None, *, where: str) -> Network:
    """``network`` with the L2 coefficient ``l2`` (unchanged for ``None``); a network that already
    carries one may not be given another."""
    if l2 is None:
        return network
    if network.l2:
        raise SpecError(f"{where}: given twice; the network already carries l2 = {network.l2!r}")
    return Network(network.sizes, network.activations, network.loss, l2=l2, where=where)


def from_cli(
    network: str,
    activations: str | None = None,
    loss: str | None = None,
    activation_definitions: Iterable[str] = (),
    l2: str | None = None,
) -> Network:
    """A network from the command line: ``SIZES --activations ... --loss ... [--l2 λ]``, a TOML
    file, or the compact form in one argument; ``--l2`` may complete any of them that has no l2."""
    custom = parse_activation_definitions(activation_definitions)
    coefficient = None if l2 is None else parse_l2(l2)
    if network.endswith(".toml") or ("->" not in network and _names_a_file(network)):
        if activations is not None or loss is not None:
            raise SpecError("--activations/--loss: not allowed with a TOML file, which holds them")
        loaded = load_toml(network)
        if custom:
            raise SpecError("--activation-def: put custom activations in the TOML file's [custom_activations]")
        return with_l2(loaded, coefficient, where="--l2")
    if "->" in network:
        if activations is not None or loss is not None:
            raise SpecError("--activations/--loss: not allowed with the compact form, which holds them")
        return with_l2(parse_compact(network, custom_activations=custom), coefficient, where="--l2")
    sizes = parse_sizes(network)
    if activations is None:
        raise SpecError("--activations: missing; give one name per layer (relu,relu,sigmoid) or one for all")
    if loss is None:
        raise SpecError(f"--loss: missing; one of {', '.join(LOSSES)}")
    names = [name.strip() for name in _split_activations(activations)]
    return Network(sizes, names if len(names) > 1 else names[0], loss, custom_activations=custom, l2=coefficient or 0.0)


def _split_activations(text: str) -> list[str]:
    # Commas separate layers except inside the parentheses of a parameter list.
    names, depth, current = [], 0, ""
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "," and depth == 0:
            names.append(current)
            current = ""
        else:
            current += character
    names.append(current)
    return names
