"""The ``symbackprop`` command line.

Contract
--------
Each sub-command is a :class:`Command`: a name, a help line, a function that adds its options
and a function that runs it and returns the exit status. Bad input of any kind (a spec, a file,
an option) ends with one ``symbackprop: error: ...`` line on stderr and status 2, never a
traceback; ``verify`` returns 1 when a rule fails, ``check`` when a gradient does not pass.
A malformed command line (an unknown option, ``--epochs 1e3``) is such a line too, naming the
sub-command and the option, not argparse's usage block; every message names the option (``--names``,
``--sections``, ``--spec``), never the Python keyword behind it.

Outputs (``-o``) are regular files: a folder, a device, a FIFO or a socket given as ``-o`` is
refused before any work, and a symbolic link is followed (see :mod:`symbackprop.files`).
``generate`` refuses to replace a file that symbackprop did not write (``--force`` replaces it),
since ``-o mine.py`` may name hand-written code; ``latex`` replaces its output as compilers do,
a document having no such marker to tell its own files from others.

``symbackprop`` alone prints the help (status 0), ``symbackprop --version`` the release, without
importing SymPy: this module imports the pipeline inside the functions that use it. The parser
itself and the option values that are not a network are :mod:`symbackprop.cli_options`.

Ctrl-C ends a command with one ``symbackprop: interrupted`` line and status 130. Each output is
then whole or absent, with no temporary file left (:mod:`symbackprop.files` holds the interrupt
back while a file is renamed into place, and while C extensions are imported).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .cli_options import (
    Parser,
    UsageError,
    add_optimizer_arguments,
    key_pairs,
    named,
    optimizer_options,
    refuse_dashed_values,
    seconds,
)
from .errors import SymbackpropError
from .version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from .spec import Network

#: The network ``demo`` uses: the classifier of the first reference tutorial.
DEFAULT_NETWORK = "2-4-3-1"
DEFAULT_ACTIVATIONS = "relu,relu,sigmoid"
DEFAULT_LOSS = "bce"

#: What ``--version`` prints.
VERSION_LINE = f"symbackprop {__version__}"
#: The rule sets ``verify --rules`` offers, by name (their objects: :func:`rule_sets`).
RULE_SET_NAMES = ("textbook", "tutorial-mistakes")
#: The forms ``check`` prints its report in.
REPORT_FORMATS = ("text", "markdown", "latex")


class Command(NamedTuple):
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
    add_layer_options(parser)


def rule_sets() -> dict[str, Any]:
    """The rule sets of ``verify --rules``, by name."""
    from .rules import TEXTBOOK, TUTORIAL_MISTAKES

    return dict(zip(RULE_SET_NAMES, (TEXTBOOK, TUTORIAL_MISTAKES), strict=True))


def add_layer_options(parser: argparse.ArgumentParser) -> None:
    """The options that complete a network given by its widths: activations, loss, custom activations."""
    from .registry import ACTIVATIONS, LOSSES

    hidden = [entry.label for entry in ACTIVATIONS.values() if entry.jacobian.hidden_allowed]
    output_only = [entry.label for entry in ACTIVATIONS.values() if not entry.jacobian.hidden_allowed]
    parser.add_argument(
        "--activations",
        help=(
            "one activation per layer (relu,relu,sigmoid) or one for all, of: "
            + ", ".join(hidden)
            + (f"; on the output layer only: {', '.join(output_only)}" if output_only else "")
            + "; a parameter in parentheses, like leaky_relu(0.2); or a name given to --activation-def"
        ),
    )
    parser.add_argument("--loss", help=f"one of {', '.join(LOSSES)}")
    parser.add_argument(
        "--activation-def",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="define a custom activation in x, e.g. 'softsign=x/(1+abs(x))' (repeatable)",
    )
    parser.add_argument(
        "--l2",
        metavar="LAMBDA",
        help="add the L2 term (LAMBDA/2) * sum of the squared weights to the loss (biases not regularised;"
        " PyTorch's weight_decay=LAMBDA for plain SGD); 0 or absent for none",
    )


def network_from_arguments(arguments: argparse.Namespace) -> Network:
    from .spec import from_cli

    return from_cli(arguments.network, arguments.activations, arguments.loss, arguments.activation_def, arguments.l2)


def _derive(arguments: argparse.Namespace) -> int:
    print(network_from_arguments(arguments).derive().pretty())
    return 0


def _add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    add_network_arguments(parser)
    parser.add_argument("--rules", choices=RULE_SET_NAMES, default="textbook", help="the rule set to check")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random evaluation point")


def _verify(arguments: argparse.Namespace) -> int:
    report = network_from_arguments(arguments).derive().verify(rule_sets()[arguments.rules], seed=arguments.seed)
    print(report.table())
    return 0 if report.ok else 1


def _add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    from .codegen.targets import DEFAULT_TARGET, TARGET_NAMES

    add_network_arguments(parser)
    parser.add_argument("-o", "--output", required=True, help="the Python module to write, e.g. mlp.py")
    parser.add_argument(
        "--target",
        choices=TARGET_NAMES,
        default=DEFAULT_TARGET,
        help=f"the framework of the module: {', '.join(TARGET_NAMES)} (default: {DEFAULT_TARGET})",
    )
    parser.add_argument("--force", action="store_true", help="replace a file that symbackprop did not write")


def _generate(arguments: argparse.Namespace) -> int:
    from .codegen import generate_module, write_module
    from .codegen.targets import DEFAULT_TARGET, target

    output = _output_file(arguments.output)
    network = network_from_arguments(arguments)
    # The rebuild command written into the module names --target only where it is not the default.
    chosen = "" if arguments.target == DEFAULT_TARGET else f" --target {arguments.target}"
    command = f"symbackprop generate {network.cli_arguments}{chosen} -o {shlex.quote(output.name)}"
    source = generate_module(network, command=command, target=target(arguments.target))
    write_module(output, source, force=arguments.force)
    print(f"wrote {output}")
    return 0


def _output_file(text: str) -> Path:
    """The -o/--output path, checked before any work: a name, a regular file or none yet, in a
    folder that exists (a symbolic link names the file it leads to; the path printed is as given)."""
    from pathlib import Path

    from .files import output_file

    if not text.strip():
        raise SymbackpropError("-o/--output: the file name is empty; give one like mlp.py or derivation.tex")
    output_file(text, "-o/--output")
    return Path(text)


def _add_regenerate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="generated", help="the folder to rebuild (default: generated)")


def _regenerate(arguments: argparse.Namespace) -> int:
    from .codegen import regenerate_reference_modules

    for path in regenerate_reference_modules(arguments.out):
        print(f"wrote {path}")
    return 0


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_network_arguments(parser)
    parser.add_argument("--data", required=True, help="a CSV file with a header line; the other columns are the inputs")
    parser.add_argument(
        "--target", required=True, help="the target column(s), comma-separated (one class-index column for cce)"
    )
    parser.add_argument("--epochs", type=int, default=100, help="passes over the data (default: 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default: 0.1)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="rows per step, at most the number of rows (a larger size is an error); omit for full-batch descent",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    parser.add_argument("--report-every", type=int, default=1, metavar="N", help="print every N epochs")
    parser.add_argument("--out", default="run", help="folder for weights.npz, history.csv, history.png")
    parser.add_argument("--history-format", choices=("csv", "json"), default="csv", help="history.csv or history.json")
    parser.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    add_optimizer_arguments(parser)


def _train(arguments: argparse.Namespace) -> int:
    from .training import check_features, load_csv, prepare_targets, run_training

    network = network_from_arguments(arguments)
    targets = [name.strip() for name in arguments.target.split(",") if name.strip()]
    X, Y, features = load_csv(arguments.data, targets)
    check_features(X, network, where=f"--data: {arguments.data}", columns=features)
    Y = prepare_targets(Y, network, where=f"--target {','.join(targets)} of {arguments.data}")
    result = run_training(
        network,
        X,
        Y,
        epochs=arguments.epochs,
        lr=arguments.lr,
        batch_size=arguments.batch_size,
        out=arguments.out,
        seed=arguments.seed,
        report_every=arguments.report_every,
        history_format=arguments.history_format,
        progress=not arguments.quiet,
        data=f"--data: {arguments.data}",
        validation=arguments.validation,
        patience=arguments.patience,
        **optimizer_options(arguments),
    )
    for kind, path in result.files.items():
        print(f"{kind}: {path}")
    return 0


#: A progress bar redraws itself in place, which only a terminal shows as one line.
QUIET_HELP = "no progress bar (there is none when stderr is not a terminal); the report lines stay"


def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="symbackprop-demo", help="folder for the demo's files")
    parser.add_argument("--quiet", action="store_true", help=QUIET_HELP)


def _demo(arguments: argparse.Namespace) -> int:
    from .codegen import generate_module, write_module
    from .document import render_latex, write_document
    from .files import outputs_folder, write_atomic
    from .spec import from_cli
    from .training import run_training, two_class_data

    # The folder first: a bad --out should fail before the derivation fills the screen; a run that
    # fails (or is interrupted) before writing into it removes it again.
    with outputs_folder(arguments.out) as out:
        network = from_cli(DEFAULT_NETWORK, DEFAULT_ACTIVATIONS, DEFAULT_LOSS)
        derivation = network.derive()
        print(derivation.pretty())
        print()
        report = derivation.verify()
        print(report.table())
        if not report.ok:
            return 1
        module_path, derivation_path, latex_path = out / "mlp.py", out / "derivation.txt", out / "derivation.tex"
        write_module(module_path, generate_module(derivation, output_name=str(module_path)))
        write_atomic(derivation_path, derivation.pretty() + "\n")
        write_document(latex_path, render_latex(derivation, report=report))
        X, Y = two_class_data(400, seed=0)
        print(f"\ntraining {network.compact} on 400 points of two interleaved half-moons")
        result = run_training(
            network,
            X,
            Y,
            epochs=300,
            lr=0.5,
            batch_size=32,
            out=out,
            seed=0,
            report_every=50,
            progress=not arguments.quiet,
        )
        print(f"accuracy before training: {result.accuracy_before:.3f} (chance is about 0.5)")
        print(f"accuracy after training:  {result.accuracy_after:.3f}")
        print(f"\nfiles in {out}/:")
        written = [("generated module", module_path), ("derivation", derivation_path), ("LaTeX derivation", latex_path)]
        for label, path in written + list(result.files.items()):
            print(f"  {label:<17} {path}")
        pdf_command = f"symbackprop latex {network.cli_arguments} -o {shlex.quote(str(latex_path))} --pdf"
        print(f"\nfor a PDF of the derivation: {pdf_command}")
        return 0


def _add_latex_arguments(parser: argparse.ArgumentParser) -> None:
    from .document import FORMATS, SECTIONS
    from .printing.latex import DEFAULT_NOTATION, NOTATIONS

    add_network_arguments(parser)
    parser.add_argument("-o", "--output", help="the file to write (default: print to stdout)")
    parser.add_argument("--format", choices=FORMATS, default="latex", help="latex (default) or markdown")
    parser.add_argument(
        "--pdf", action="store_true", help="also compile the LaTeX to a PDF beside it (latexmk or pdflatex)"
    )
    parser.add_argument(
        "--notation",
        choices=sorted(NOTATIONS),
        default=DEFAULT_NOTATION,
        help="tutorial: w^(k)_ij, h, f_k (default); coursera: W^[l], a^[l], z^[l], g^[l]",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated parts to include, of: {','.join(SECTIONS)} (default: all)",
    )
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument(
        "--standalone", dest="standalone", action="store_true", default=True, help="a complete document (default)"
    )
    layout.add_argument(
        "--fragment",
        dest="standalone",
        action="store_false",
        help="the body only, to \\input into a document of your own",
    )


def _latex(arguments: argparse.Namespace) -> int:
    from .document import LatexError, compile_pdf, render_latex, render_markdown, write_document
    from .document.options import resolve_sections

    with named("--sections"):
        sections = resolve_sections(arguments.sections)
    if arguments.output is not None:
        _output_file(arguments.output)
    if arguments.pdf and (arguments.format != "latex" or not arguments.standalone or not arguments.output):
        raise LatexError("--pdf needs --format latex, a standalone document and -o FILE.tex")
    derivation = network_from_arguments(arguments).derive()
    options = {"notation": arguments.notation, "sections": sections}
    if arguments.format == "markdown":
        text = render_markdown(derivation, **options)
    else:
        text = render_latex(derivation, standalone=arguments.standalone, **options)
    if arguments.output is None:
        sys.stdout.write(text)
        return 0
    path = write_document(arguments.output, text)
    print(f"wrote {path}")
    if arguments.pdf:
        compiled = compile_pdf(path)
        print(f"wrote {compiled.pdf}")
        for points in compiled.overfull_hboxes:
            print(f"warning: an overfull line, {points}pt too wide (see the LaTeX log)", file=sys.stderr)
    return 0


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    from .testing.calls import DEFAULT_TIMEOUT

    parser.add_argument("target", help="your code as module:name (a module on the path or a .py file), e.g. mine:grads")
    parser.add_argument(
        "--spec",
        required=True,
        help="the network: a TOML file, widths like 2-4-1 (with --activations, --loss) or compact form",
    )
    add_layer_options(parser)
    parser.add_argument(
        "--names",
        metavar="W1=KEY,...",
        help="your parameters' keys where they are not W1, b1, ... (e.g. W1=w_hidden,b1=b_hidden;"
        " spaces around a name or key are ignored)",
    )
    parser.add_argument(
        "--grad-names",
        metavar="W1=KEY,...",
        help="the keys of your gradients, where they are not dW1, db1, ... (e.g. W1=grad_w_hidden)",
    )
    parser.add_argument("--samples", choices=("rows", "columns"), help="samples as rows or columns (default: detect)")
    parser.add_argument("--weight-layout", choices=("out_in", "in_out"), help="W as (out, in) or (in, out)")
    parser.add_argument("--bias-shape", choices=("flat", "column", "row"), help="b as (n,), (n, 1) or (1, n)")
    parser.add_argument(
        "--targets", choices=("one-hot", "indices"), help="cce targets one-hot or as class indices (default: detect)"
    )
    parser.add_argument("--reduction", choices=("mean", "sum"), help="gradients averaged (default) or summed")
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32", "float16", "bfloat16"),
        help="precision handed to your code (bfloat16: torch and JAX only)",
    )
    parser.add_argument(
        "--framework",
        choices=("numpy", "torch", "jax"),
        help="what your code computes with: NumPy arrays, torch tensors or JAX arrays (default: detect)",
    )
    parser.add_argument("--device", help="the torch or JAX device to run your code on, e.g. cuda:0 (default: the CPU)")
    parser.add_argument("--finite-differences", action="store_true", help="also check the reference by differences")
    parser.add_argument("--seed", type=int, default=0, help="seed of the probe's parameters and data")
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"the longest your code may take to import or per call (default {DEFAULT_TIMEOUT:g}; 'none': no limit)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        default="text",
        help="the report as a text table (default), Markdown with $$ math, or a LaTeX fragment",
    )
    output.add_argument(
        "--latex", dest="format", action="store_const", const="latex", help="the same as --format latex"
    )


#: The check_gradients keywords that the checker's errors start with, and the options they come from.
_CHECK_OPTIONS = (
    "names",
    "grad_names",
    "samples",
    "weight_layout",
    "bias_shape",
    "targets",
    "reduction",
    "dtype",
    "timeout",
    "framework",
    "device",
)


def _check(arguments: argparse.Namespace) -> int:
    from .spec import from_cli
    from .testing import CheckError, check_gradients, load_target

    with named("--spec"):
        network = from_cli(
            arguments.spec, arguments.activations, arguments.loss, arguments.activation_def, arguments.l2
        )
    names = key_pairs(arguments.names, "--names")
    grad_names = key_pairs(arguments.grad_names, "--grad-names")
    target = load_target(arguments.target, timeout=arguments.timeout)
    try:
        report = check_gradients(
            network,
            target,
            names=names,
            grad_names=grad_names,
            samples=arguments.samples,
            weight_layout=arguments.weight_layout,
            bias_shape=arguments.bias_shape,
            targets=arguments.targets,
            reduction=arguments.reduction,
            dtype=arguments.dtype,
            finite_differences=arguments.finite_differences,
            seed=arguments.seed,
            timeout=arguments.timeout,
            framework=arguments.framework,
            device=arguments.device,
        )
    except CheckError as error:
        # The checker names its Python keywords (grad_names: ...); the user typed --grad-names.
        keyword, colon, rest = str(error).partition(": ")
        if colon and keyword in _CHECK_OPTIONS:
            raise CheckError(f"--{keyword.replace('_', '-')}: {rest}") from None
        raise
    print({"text": report.table, "markdown": report.markdown, "latex": report.latex}[arguments.format]().rstrip("\n"))
    return 0 if report.ok else 1


COMMANDS: list[Command] = [
    Command("derive", "print the index-form derivation of a network", add_network_arguments, _derive),
    Command("verify", "check the derivation against the matrix-form rules", _add_verify_arguments, _verify),
    Command("latex", "write the step-by-step derivation as LaTeX (and PDF) or Markdown", _add_latex_arguments, _latex),
    Command(
        "generate",
        "write the NumPy, PyTorch or JAX module of a network (forward, derived backward, trainer)",
        _add_generate_arguments,
        _generate,
    ),
    Command("train", "train a network on a CSV file; write weights, history and a plot", _add_train_arguments, _train),
    Command(
        "check",
        "check your hand-written gradients against the derivation; name the mistake",
        _add_check_arguments,
        _check,
    ),
    Command(
        "regenerate", "rebuild the committed reference modules in generated/", _add_regenerate_arguments, _regenerate
    ),
    Command(
        "demo",
        "derive, verify, generate and train the default network (2-4-3-1 relu,relu,sigmoid bce)",
        _add_demo_arguments,
        _demo,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="symbackprop",
        description="Derive back-propagation symbolically, verify it, print it and generate code.",
    )
    parser.add_argument("--version", action="version", version=VERSION_LINE)
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subcommands.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Called without ``argv``, as the ``symbackprop`` program is, it ignores SIGINT once the command
    has returned: the outputs are written by then, and an interrupt while the interpreter shuts
    down (a second or so with SymPy and matplotlib loaded) would only end the process silently
    with status -2 instead of the command's own.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        return _run(words)
    finally:
        if argv is None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run(words: list[str]) -> int:
    try:
        if words == ["--version"]:
            # Before the parser, whose help texts import the registry and with it SymPy.
            print(VERSION_LINE)
            return 0
        # Imported here, inside the try, as everything else: Ctrl-C while this module loads
        # (before main runs) ends in a traceback, so it imports as little as it can.
        from .files import interrupts_deferred

        # An interrupt waits for the imports: one in the middle of a C extension's
        # initialisation (NumPy, SymPy's) can crash the interpreter at exit.
        with interrupts_deferred():
            parser = build_parser()
        if not words:
            parser.print_help()
            return 0
        refuse_dashed_values(words)
        # parse_args would report leftover words from the top parser, without the sub-command.
        arguments, extras = parser.parse_known_args(words)
        if extras:
            command = arguments.command
            raise UsageError(
                f"{command}: unrecognized arguments: {' '.join(extras)} (see symbackprop {command} --help)"
            )
        status: int = arguments.run(arguments)
        return status
    except SymbackpropError as error:
        print(f"symbackprop: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`symbackprop derive ... | head`); stop quietly, and point stdout at
        # /dev/null so that flushing it at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
