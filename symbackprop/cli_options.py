"""The command line's parsing: a parser whose errors are one line, option groups and option values
that are not a network (the trainer's optimizer, schedule and stopping options, ``NAME=KEY``
pairs, betas and a timeout).

Contract: :class:`Parser` raises :class:`UsageError` (one line naming the command and the option)
where argparse would print its usage and exit; :func:`refuse_dashed_values` says why a word like
``-2-1`` is read as an option; :func:`named` prefixes errors with the option they come from. Each
value parser raises ``argparse.ArgumentTypeError`` (argparse's one-line error
naming the option) or :class:`~symbackprop.errors.SymbackpropError` naming the option it is given;
:func:`add_optimizer_arguments` adds ``train``'s group and :func:`optimizer_options` reads it back
by ``train()``'s names. A leaf beside :mod:`symbackprop.cli`, which imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from .errors import SymbackpropError


class UsageError(SymbackpropError):
    """The command line itself is malformed: an unknown option or command, a value of the wrong type."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``<command>: <argparse's message>``, raised as
    :class:`UsageError` (argparse would print its usage block, then exit)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("symbackprop").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see symbackprop {command + ' ' if command else ''}--help)")


#: What argparse reads as a negative number rather than an option (its own rule).
_NEGATIVE_NUMBER = re.compile(r"-\d+|-\d*\.\d+")


def refuse_dashed_values(words: Sequence[str]) -> None:
    """A word like ``-2-1`` or ``-1e-3`` is read by argparse as an unknown option, which it reports
    as a missing argument; say what happened instead."""
    previous = ""
    for word in words:
        if word == "--":
            return
        if re.match(r"-\d", word) and not _NEGATIVE_NUMBER.fullmatch(word):
            if previous.startswith("--"):
                remedy = f"write {previous}={word}"
            else:
                remedy = "layer widths are positive integers joined by '-', like 2-4-1"
            raise UsageError(f"'{word}' starts with '-', so it is read as an option; {remedy}")
        previous = word


@contextlib.contextmanager
def named(option: str) -> Iterator[None]:
    """Errors raised in the body start with ``option``, unless they name an option already."""
    try:
        yield
    except SymbackpropError as error:
        message = str(error)
        if message.startswith("-"):
            raise
        raise SymbackpropError(f"{option}: {message}") from None


def betas(text: str) -> tuple[float, float]:
    """--betas B1,B2 as two numbers (their ranges are train()'s to check)."""
    parts = text.split(",")
    try:
        if len(parts) == 2:
            return float(parts[0]), float(parts[1])
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected two numbers like 0.9,0.999, got {text!r}")


def add_optimizer_arguments(parser: argparse.ArgumentParser) -> None:
    """The optimizer, schedule, validation and early-stopping options of ``train``: train()'s own."""
    group = parser.add_argument_group("optimizer (as torch.optim defines each, with its defaults)")
    group.add_argument(
        "--optimizer",
        choices=("sgd", "momentum", "nesterov", "adam", "adamw"),
        default="sgd",
        help="sgd (default), momentum and nesterov (SGD with momentum), adam, adamw",
    )
    group.add_argument("--momentum", type=float, metavar="MU", help="momentum and nesterov only (default: 0.9)")
    group.add_argument("--betas", type=betas, metavar="B1,B2", help="adam and adamw only (default: 0.9,0.999)")
    group.add_argument("--eps", type=float, help="adam and adamw only (default: 1e-8)")
    group.add_argument(
        "--weight-decay",
        type=float,
        metavar="WD",
        help="torch's weight_decay, on every parameter, biases included (default: 0; 0.01 for adamw)",
    )
    group.add_argument(
        "--schedule", choices=("step", "cosine"), help="learning rate per epoch: StepLR or CosineAnnealingLR"
    )
    group.add_argument("--step-size", type=int, metavar="N", help="--schedule step: multiply by --gamma every N epochs")
    group.add_argument("--gamma", type=float, help="--schedule step: the factor (default: 0.1)")
    group.add_argument(
        "--validation",
        type=float,
        metavar="FRACTION",
        help="hold out this fraction of the rows (seeded by --seed); their loss and accuracy go in the history",
    )
    group.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="with --validation: stop when the validation loss has not improved for N epochs, keep the best weights",
    )


def optimizer_options(arguments: argparse.Namespace) -> dict[str, Any]:
    """The optimizer and schedule options given on the command line, by train()'s names."""
    names = ("optimizer", "momentum", "betas", "eps", "weight_decay", "schedule", "step_size", "gamma")
    return {name: getattr(arguments, name) for name in names if getattr(arguments, name) is not None}


def key_pairs(text: str | None, option: str) -> dict[str, str] | None:
    """``"W1=w1,b1=bias1"`` as ``{"W1": "w1", "b1": "bias1"}``: each name once, each key once,
    spaces around them stripped."""
    if text is None:
        return None
    pairs: dict[str, str] = {}
    for item in text.split(","):
        name, equals, key = (part.strip() for part in item.partition("="))
        if not equals or not name or not key or "=" in key:
            raise SymbackpropError(f"{option}: '{item}' is not NAME=KEY (like W1=w_hidden)")
        if name in pairs:
            raise SymbackpropError(f"{option}: {name} is given twice; give each parameter once")
        if key in pairs.values():
            first = next(given for given, value in pairs.items() if value == key)
            raise SymbackpropError(f"{option}: both {first} and {name} are given the key '{key}'")
        pairs[name] = key
    return pairs


def seconds(text: str) -> float | None:
    """A --timeout value: a positive number of seconds, or none."""
    if text.strip().lower() == "none":
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds (or none)") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"{text} is not a positive, finite number of seconds (or none)")
    return seconds
