"""Data-parallel training of the generated JAX module: a batch sharded by rows across 2 host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``) gives, after five jitted, donating
``train_step`` calls, the parameters of the unsharded run, and ``jax.grad`` of the custom-VJP
``loss_fn`` the unsharded gradients, to 1e-12 relative in float64. The example
``examples/jax_sharded.py`` runs in a fresh process (the device count is fixed when JAX starts);
skipped without JAX.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "jax_sharded.py"


@pytest.mark.slow
def test_two_host_devices_equal_one(tmp_path: Path) -> None:
    pytest.importorskip("jax", reason="JAX is an optional extra: pip install 'symbackprop[jax]'")
    environment = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--devices", "2", "--steps", "5"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Mesh('batch': 2" in result.stdout and "spec=P('batch',)" in result.stdout
    for what in ("the trained parameters", r"jax\.grad\(loss_fn\)"):
        found = re.search(rf"largest relative difference of {what}: (\S+)", result.stdout)
        assert found is not None, result.stdout
        assert float(found.group(1)) <= 1e-12
    assert not any(tmp_path.iterdir())
