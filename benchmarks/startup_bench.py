"""What symbackprop costs a process that barely uses it: the pytest plugin at start-up, and imports.

Every pytest run in an environment where symbackprop is installed loads its plugin (the
``pytest11`` entry point), so the plugin must import nothing heavy until its fixture or option is
used. Measured here, each against a peer in the same run, as the median over ``--repeats`` pairs
run one after the other, in alternating order (so that a change of load hits both sides alike):

* one trivial test with the plugin, against the same run with ``-p no:symbackprop``;
* ``import symbackprop`` and ``import symbackprop.testing``, against an empty interpreter;
* the modules the plugin imports that an empty pytest run would not (by name: SymPy, NumPy and
  Jinja must not be among them).

    python benchmarks/startup_bench.py [--repeats 11]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL_TEST = "def test_one():\n    assert 1 + 1 == 2\n"
HEAVY = ("sympy", "numpy", "jinja2", "scipy", "matplotlib")


def seconds(command: list[str], folder: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, capture_output=True, check=True)
    return time.perf_counter() - start


def paired(first: list[str], second: list[str], folder: str, repeats: int) -> tuple[float, float, float]:
    """Medians of the two commands' times and of their paired differences; the order within a
    pair alternates, so that whatever the first run of a pair pays is shared alike."""
    pairs = []
    for repeat in range(repeats):
        if repeat % 2:
            later, earlier = seconds(second, folder), seconds(first, folder)
            pairs.append((earlier, later))
        else:
            pairs.append((seconds(first, folder), seconds(second, folder)))
    return (
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a - b for a, b in pairs),
    )


def modules_loaded(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sys.modules))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(output.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=11, help="pairs of runs to take the median of (default 11)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "test_trivial.py").write_text(TRIVIAL_TEST)
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_trivial.py"]
        with_plugin, without, overhead = paired(pytest, [*pytest, "-p", "no:symbackprop"], folder, arguments.repeats)
        print(f"one trivial test, median of {arguments.repeats} pairs:")
        print(f"  with the symbackprop plugin     {with_plugin * 1000:8.1f} ms")
        print(f"  with -p no:symbackprop          {without * 1000:8.1f} ms")
        print(f"  the plugin's start-up overhead  {overhead * 1000:8.1f} ms (goal: at most 50 ms)")
        empty = [sys.executable, "-c", "pass"]
        for module in ("symbackprop", "symbackprop.testing"):
            _, _, cost = paired([sys.executable, "-c", f"import {module}"], empty, folder, arguments.repeats)
            print(f"  import {module:<24} {cost * 1000:8.1f} ms more than an empty interpreter")
    plugin = modules_loaded("import pytest; import symbackprop.testing.plugin") - modules_loaded("import pytest")
    heavy = sorted(name for name in plugin if name.split(".")[0] in HEAVY)
    print(f"modules the plugin adds to pytest's: {len(plugin)}; heavy among them: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
