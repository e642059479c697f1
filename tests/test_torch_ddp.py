"""Data-parallel training of the generated torch module: DistributedDataParallel with 2 processes
(gloo, CPU) on two equal halves of a batch gives, after five SGD steps, the parameters of one
process on the whole batch, to 1e-12 relative in float64. The example ``examples/torch_ddp.py``
runs as a user runs it, in a fresh process (DDP spawns its own processes); skipped without torch.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "torch_ddp.py"


@pytest.mark.slow
def test_two_ddp_processes_equal_one_process(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="PyTorch is an optional extra: pip install 'symbackprop[torch]'")
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--processes", "2", "--steps", "5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 DDP processes (gloo) against 1 process on the whole batch" in result.stdout
    found = re.search(r"largest relative difference of the parameters: (\S+)", result.stdout)
    assert found is not None, result.stdout
    assert float(found.group(1)) <= 1e-12
    assert not any(tmp_path.iterdir())
