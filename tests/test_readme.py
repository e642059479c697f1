"""Every command in README.md is run, and the output pasted under it is what it prints.

The README's ``console`` blocks hold commands (lines starting with ``$ ``) each followed by the
output a run printed; ``...`` stands for lines left out, and a last line ``[exit status N]`` says
the command exits with N (0 otherwise). A command runs in a fresh process in one
temporary folder shared by the whole README, in the README's order (a later command may read a
file an earlier one wrote), with a copy of ``examples/`` beside it. Every pasted line must appear
in the command's output, in order. ``python`` blocks are executed in that folder too, in order,
sharing one namespace, with that folder on the import path, as a reader pasting them into one
Python session started there would. A command whose program (``pdftoppm``) or option (``--pdf``)
needs a tool this machine lacks skips the test, naming the tool; CI installs them.

The two set-up commands install the package, which CI has already done in a fresh environment:
for them the test checks that ``.ci/run`` runs the same installation and the same test command.
Benchmark commands are run with a smoke-test size (their ``--smoke`` flag) so the suite stays fast.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
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


@pytest.mark.slow
def test_every_readme_command_runs_and_prints_what_the_readme_shows(tmp_path, monkeypatch):
    shutil.copytree(REPOSITORY / "examples", tmp_path / "examples")
    shutil.copytree(REPOSITORY / "benchmarks", tmp_path / "benchmarks")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, object] = {}
    blocks = readme_blocks()
    assert blocks, "README.md has no console or python blocks"
    try:
        for block in blocks:
            where = f"README.md line {block.line_number}"
            if block.language == "python":
                exec(compile(block.body, where, "exec"), namespace)
                continue
            for command in block.commands():
                if "pip install" in command.line or command.line == "python -m pytest":
                    run_setup_command(command, where, tmp_path)
                else:
                    run_shell(command, where, tmp_path)
    finally:
        # Modules the README wrote and imported (the generated mlp.py) must not leak into other tests.
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
                del sys.modules[name]


def test_the_first_screen_gives_the_two_setup_commands():
    first = readme_blocks()[0]
    lines = [command.line for command in first.commands()]
    assert lines == [
        "python -m pip install . && symbackprop demo",
        'python -m pip install ".[test]" && python -m pytest',
    ]
    assert 'python -m pip install --quiet ".[test]"' in ci_commands()
    assert "python -m pytest" in ci_commands()
