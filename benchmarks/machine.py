"""What a benchmark ran on, printed before its figures so that they can be compared.

A step of dense matrix products takes half as long again on one BLAS kernel as on another on
the same CPU (OpenBLAS's Haswell kernel against the SkylakeX one it picks on an AVX-512 machine:
26 ms against 15 ms for the 1024-1024-1024-10 step), so a figure means little without the
library, its version, the kernel it chose and its threads. :func:`describe` gives them, from
threadpoolctl (the ``bench`` extra; "unknown" without it), for the libraries loaded so far (import
NumPy first), and warns about every environment variable set that forces a kernel or an
instruction set on NumPy, its BLAS or a peer.

    from machine import print_machine
    print_machine()
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

#: Variables that force a kernel or an instruction set, and on what.
FORCING_VARIABLES = {
    "OPENBLAS_CORETYPE": "OpenBLAS's kernel",
    "OPENBLAS_L2_SIZE": "OpenBLAS's blocking (the cache size it assumes)",
    "MKL_DEBUG_CPU_TYPE": "MKL's code path",
    "MKL_ENABLE_INSTRUCTIONS": "MKL's instruction set",
    "MKL_CBWR": "MKL's code path (reproducible results)",
    "BLIS_ARCH_TYPE": "BLIS's kernel",
    "NPY_DISABLE_CPU_FEATURES": "NumPy's SIMD loops",
    "ATEN_CPU_CAPABILITY": "PyTorch's kernels",
    "DNNL_MAX_CPU_ISA": "oneDNN's instruction set (PyTorch)",
}


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def library_lines() -> list[str]:
    """One line per BLAS library loaded in this process: its name, version, kernel and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["BLAS: unknown (threadpoolctl is not installed: pip install threadpoolctl)"]
    libraries = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not libraries:
        return ["BLAS: unknown (none loaded yet)"]
    return [
        f"BLAS: {info.get('internal_api', 'unknown')} {info.get('version') or 'unknown version'}"
        f" ({info.get('prefix', '?')}), kernel {info.get('architecture') or 'unknown'},"
        f" {info.get('num_threads', '?')} thread(s)"
        for info in libraries
    ]


def forcing_warnings(environment: dict[str, str] | None = None) -> list[str]:
    """A warning for every variable set that forces a kernel, naming it and its value."""
    environment = dict(os.environ) if environment is None else environment
    return [
        f"warning: {name}={environment[name]} forces {what}; the figures hold for that choice only"
        f" (run with `env -u {name}` for the library's own)"
        for name, what in FORCING_VARIABLES.items()
        if environment.get(name)
    ]


def describe() -> list[str]:
    """The machine, the versions that matter, each BLAS library and kernel, and any forcing variable."""
    machine = (
        f"machine: {cpu_name()}, {os.cpu_count()} logical core(s); {platform.system()} {platform.machine()};"
        f" Python {platform.python_version()}, NumPy {_version('numpy')}, SymPy {_version('sympy')}"
    )
    return [machine, *library_lines(), *forcing_warnings()]


def print_machine(file=sys.stdout) -> None:  # type: ignore[no-untyped-def]
    """Print :func:`describe`'s lines, then a blank line."""
    print("\n".join(describe()) + "\n", file=file, flush=True)
