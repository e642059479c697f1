"""The ``symbackprop`` command line.

Contract
--------
Each sub-command is a :class:`Command`: a name, a help line, a function that adds its options
and a function that runs it and returns the exit status. Bad input of any kind (a spec, a file,
an option) ends with one ``symbackprop: error: ...`` line on stderr and status 2, never a
traceback; ``verify`` returns 1 when a rule fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import SymbackpropError
from .rules import TEXTBOOK, TUTORIAL_MISTAKES
from .spec import Network, from_cli

#: The network ``demo`` uses: the classifier of the first reference tutorial.
DEFAULT_NETWORK = "2-4-3-1"
DEFAULT_ACTIVATIONS = "relu,relu,sigmoid"
DEFAULT_LOSS = "bce"

RULE_SETS = {"textbook": TEXTBOOK, "tutorial-mistakes": TUTORIAL_MISTAKES}


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe a network, shared by every command that takes one."""
    parser.add_argument(
        "network",
        help="layer widths like 2-4-3-1, a TOML file, or the compact form '2 -> 4 relu -> 1 sigmoid : bce'",
    )
    parser.add_argument("--activations", help="one activation per layer (relu,relu,sigmoid) or one for all")
    parser.add_argument("--loss", help="sse, half_sse, mse, bce or cce")
    parser.add_argument(
        "--activation-def",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="define a custom activation in x, e.g. 'softsign=x/(1+abs(x))' (repeatable)",
    )


def network_from_arguments(arguments: argparse.Namespace) -> Network:
    return from_cli(arguments.network, arguments.activations, arguments.loss, arguments.activation_def)


def _derive(arguments: argparse.Namespace) -> int:
    print(network_from_arguments(arguments).derive().pretty())
    return 0


def _add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    add_network_arguments(parser)
    parser.add_argument("--rules", choices=sorted(RULE_SETS), default="textbook", help="the rule set to check")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random evaluation point")


def _verify(arguments: argparse.Namespace) -> int:
    report = network_from_arguments(arguments).derive().verify(RULE_SETS[arguments.rules], seed=arguments.seed)
    print(report.table())
    return 0 if report.ok else 1


def _demo(arguments: argparse.Namespace) -> int:
    network = from_cli(DEFAULT_NETWORK, DEFAULT_ACTIVATIONS, DEFAULT_LOSS)
    derivation = network.derive()
    print(derivation.pretty())
    print()
    report = derivation.verify()
    print(report.table())
    return 0 if report.ok else 1


COMMANDS: list[Command] = [
    Command("derive", "print the index-form derivation of a network", add_network_arguments, _derive),
    Command("verify", "check the derivation against the matrix-form rules", _add_verify_arguments, _verify),
    Command("demo", "derive and verify the default network (2-4-3-1 relu,relu,sigmoid bce)", lambda p: None, _demo),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symbackprop",
        description="Derive back-propagation symbolically, verify it, print it and generate code.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subcommands.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.run(arguments)
    except SymbackpropError as error:
        print(f"symbackprop: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
