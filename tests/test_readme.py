"""Every command in README.md is run, and the output pasted under it is what it prints.

The README's ``console`` blocks hold commands (lines starting with ``$ ``) each followed by the
output a run printed; ``...`` stands for lines left out, and a last line ``[exit status N]`` says
the command exits with N (0 otherwise). A command runs in a fresh process in one
temporary folder shared by the whole README, in the README's order (a later command may read a
file an earlier one wrote), with a copy of ``examples/`` beside it. Every pasted line must appear
in the command's output, in order. Each ``python`` block runs on its own, in a fresh Python
process started in that folder (as a reader pasting that one block into a new session there):
it imports what it uses and names no variable of another block; it may read a file an earlier
command wrote. A block that imports an optional framework (torch, jax) this machine lacks is not
run, and the test then skips naming it, after running every other block. A command whose program
(``pdftoppm``) or option (``--pdf``) needs a tool this machine lacks skips the test, naming the
tool; CI installs them.

The two set-up commands install the package, which CI has already done in a fresh environment:
for them the test checks that ``.ci/run`` runs the same installation and the same test command.
Benchmark commands are run with a smoke-test size (their ``--smoke`` flag) so the suite stays fast.

The benchmarks whose tables the README shows name the machine, the BLAS library and its kernel
(``benchmarks/machine.py``), "unknown" without threadpoolctl, and warn about a variable that forces
a kernel. The README's TOML example is ``examples/network.toml`` itself, it loads, and the keys its schema
table documents are exactly those :func:`symbackprop.spec.load_toml` accepts.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from symbackprop.errors import SpecError
from symbackprop.spec import load_toml

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
NETWORK_TOML = REPOSITORY / "examples" / "network.toml"
#: The sentence that opens the README's table of the TOML keys.
TOML_SCHEMA = "A network in a TOML file holds these keys, and no others:"
CI_SCRIPT = REPOSITORY / ".ci" / "run"
ELISION = "..."
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INSTALL = re.compile(r"^python -m pip install (\S+)$")
EXIT_STATUS = re.compile(r"^\[exit status (\d+)\]$")


@dataclass(frozen=True)
class Command:
    line: str
    expected: tuple[str, ...]

    @property
    def status(self) -> int:
        marker = EXIT_STATUS.match(self.expected[-1]) if self.expected else None
        return int(marker.group(1)) if marker else 0

    @property
    def output(self) -> tuple[str, ...]:
        return self.expected[:-1] if self.status else self.expected


@dataclass(frozen=True)
class Block:
    language: str
    body: str
    line_number: int

    def commands(self) -> list[Command]:
        commands: list[Command] = []
        for chunk in re.split(r"^\$ ", self.body, flags=re.MULTILINE)[1:]:
            line, *output = chunk.rstrip("\n").split("\n")
            commands.append(Command(line.strip(), tuple(output)))
        return commands


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1)
        for match in FENCE.finditer(text)
        if match.group(1) in ("console", "python")
    ]


def ci_commands() -> list[str]:
    return [line.strip() for line in CI_SCRIPT.read_text(encoding="utf-8").splitlines()]


def assert_printed_in_order(expected: tuple[str, ...], printed: str, where: str) -> None:
    """Each pasted line (less trailing spaces) appears in the printed lines, in the same order."""
    lines = [line.rstrip() for line in printed.splitlines()]
    position = 0
    for wanted in (line.rstrip() for line in expected):
        if not wanted or wanted == ELISION:
            continue
        try:
            position = lines.index(wanted, position) + 1
        except ValueError:
            pytest.fail(f"{where}: the README shows\n  {wanted}\nbut the command printed:\n{printed}")


def run_setup_command(command: Command, where: str, workspace: Path) -> None:
    """An install-and-run line of the set-up: the installation is the one CI performs."""
    ci = ci_commands()
    for part in (part.strip() for part in command.line.split("&&")):
        installed = INSTALL.match(part)
        if installed:
            target = installed.group(1).strip("'\"")
            assert (
                any(
                    re.fullmatch(rf"python -m pip install (--quiet )?['\"]?{re.escape(target)}['\"]?", line)
                    for line in ci
                )
                or target == "."
            ), f"{where}: .ci/run does not install {target} as the README does"
        elif part == "python -m pytest":
            assert part in ci, f"{where}: .ci/run does not run the README's test command"
        else:
            run_shell(Command(part, command.expected), where, workspace)


def required_tools(words: list[str]) -> list[str]:
    tools = [] if words[0] in ("python", "symbackprop") else [words[0]]
    if "--pdf" in words:
        tools.append("pdflatex")
    return tools


def run_shell(command: Command, where: str, workspace: Path) -> None:
    line = command.line
    if line.startswith("python benchmarks/"):
        line += " --smoke"
    words = shlex.split(line)
    missing = [tool for tool in required_tools(words) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{where}: `{command.line}` needs {', '.join(missing)}, which this machine lacks")
    if words[0] == "python":
        words[0] = sys.executable
    elif words[0] == "symbackprop":
        words[0:1] = [sys.executable, "-m", "symbackprop"]
    result = subprocess.run(
        words, cwd=workspace, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "100"}
    )
    assert result.returncode == command.status, (
        f"{where}: `{command.line}` exited {result.returncode}, not {command.status}:\n{result.stderr}"
    )
    assert_printed_in_order(command.output, result.stdout, where)


#: Optional frameworks a python block may import: where one is missing, that block is not run.
OPTIONAL_FRAMEWORKS = ("torch", "jax")


def missing_framework(block: Block) -> str | None:
    for name in OPTIONAL_FRAMEWORKS:
        if re.search(rf"^import {name}\b", block.body, re.MULTILINE) and importlib.util.find_spec(name) is None:
            return name
    return None


def run_python_block(block: Block, where: str, workspace: Path) -> None:
    """The block alone in a new interpreter reading it from stdin: the folder is on its import path."""
    result = subprocess.run(
        [sys.executable, "-"], input=block.body, cwd=workspace, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{where}: the python block fails when run on its own:\n{result.stderr}"


@pytest.mark.slow
def test_every_readme_command_runs_and_prints_what_the_readme_shows(tmp_path):
    shutil.copytree(REPOSITORY / "examples", tmp_path / "examples")
    shutil.copytree(REPOSITORY / "benchmarks", tmp_path / "benchmarks")
    blocks = readme_blocks()
    assert blocks, "README.md has no console or python blocks"
    not_run = []
    for block in blocks:
        where = f"README.md line {block.line_number}"
        if block.language == "python":
            missing = missing_framework(block)
            if missing:
                not_run.append(f"{where} (needs {missing})")
            else:
                run_python_block(block, where, tmp_path)
            continue
        for command in block.commands():
            if "pip install" in command.line or command.line == "python -m pytest":
                run_setup_command(command, where, tmp_path)
            else:
                run_shell(command, where, tmp_path)
    if not_run:
        pytest.skip(f"every other block ran; not run, for a framework this machine lacks: {', '.join(not_run)}")


def test_the_first_screen_gives_the_two_setup_commands():
    first = readme_blocks()[0]
    lines = [command.line for command in first.commands()]
    assert lines == [
        "python -m pip install . && symbackprop demo",
        'python -m pip install ".[test]" && python -m pytest',
    ]
    assert 'python -m pip install --quiet ".[test]"' in ci_commands()
    assert "python -m pytest" in ci_commands()


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readme_toml_example_is_the_shipped_file_and_loads(tmp_path):
    shown = [match.group(2) for match in FENCE.finditer(readme_text()) if match.group(1) == "toml"]
    example = NETWORK_TOML.read_text(encoding="utf-8")
    assert shown == [example], "the README's TOML block differs from examples/network.toml"
    network = load_toml(NETWORK_TOML)
    assert network.compact == "3 -> 5 softsign -> 4 relu -> 2 sigmoid : bce"
    # The one-line form the README gives for the same network, above the same table.
    one_line = re.search(r'`(spec = "[^"]+")`', readme_text())
    assert one_line is not None, "the README gives no one-line spec form"
    table = example[example.index("[custom_activations]") :]
    (tmp_path / "one_line.toml").write_text(f"{one_line.group(1)}\n\n{table}", encoding="utf-8")
    assert load_toml(tmp_path / "one_line.toml").compact == network.compact


def test_the_readme_documents_exactly_the_keys_a_toml_file_may_hold(tmp_path):
    text = readme_text()
    table = text[text.index(TOML_SCHEMA) :].split("\n\n")[1]
    documented = {re.match(r"\| `\[?(\w+)\]?` \|", row).group(1) for row in table.splitlines()[2:]}  # type: ignore[union-attr]
    # load_toml names the keys it accepts when it refuses one it does not.
    (tmp_path / "unknown.toml").write_text("undocumented_key = 1\n", encoding="utf-8")
    with pytest.raises(SpecError, match="unknown key") as refusal:
        load_toml(tmp_path / "unknown.toml")
    accepted = set(str(refusal.value).rpartition("expected ")[2].split(", "))
    assert documented == accepted


def benchmark_machine() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_machine", REPOSITORY / "benchmarks" / "machine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_name_the_blas_kernel_and_warn_when_it_is_forced(monkeypatch):
    machine = benchmark_machine()
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("MKL_DEBUG_CPU_TYPE", raising=False)
    lines = machine.describe()
    assert lines[0].startswith("machine: ") and "NumPy " in lines[0]
    assert any(line.startswith("BLAS: ") for line in lines)
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert warnings == [
        "warning: OPENBLAS_CORETYPE=Haswell forces OpenBLAS's kernel; the figures hold for that choice only"
        " (run with `env -u OPENBLAS_CORETYPE` for the library's own)"
    ]
    assert machine.forcing_warnings({"MKL_DEBUG_CPU_TYPE": "5"})[0].startswith("warning: MKL_DEBUG_CPU_TYPE=5 ")


def test_benchmarks_say_unknown_without_threadpoolctl(monkeypatch):
    machine = benchmark_machine()
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import threadpoolctl now raises ImportError
    assert machine.library_lines() == ["BLAS: unknown (threadpoolctl is not installed: pip install threadpoolctl)"]
