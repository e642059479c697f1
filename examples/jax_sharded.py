"""Data-parallel training of a generated JAX module: a batch sharded across 2 host devices.

The JAX module generated from the derivation of a 4-16-8-3 tanh, relu, softmax network with
categorical cross-entropy is trained for five steps of its jitted ``train_step`` twice, from the
same initial weights, in float64:

* with the batch of 64 rows split by rows across ``--devices`` devices (2 by default; the script
  makes the CPU show that many with ``XLA_FLAGS=--xla_force_host_platform_device_count``) and the
  parameters replicated: XLA partitions the derived step, summing the per-device parts of
  dL/dW = Dᵀ A and dL/db across devices;
* on one device, unsharded.

It also takes ``jax.grad`` of the generated ``loss_fn`` (a ``jax.custom_vjp`` with the derived
backward) under ``jit`` on the sharded batch. It prints the largest relative differences from the
unsharded results and exits with status 1 if one exceeds 1e-12. Run:
``python examples/jax_sharded.py [--devices 2] [--steps 5]``. Needs JAX
(``pip install 'symbackprop[jax]'``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

_DEVICE_FLAG = "--xla_force_host_platform_device_count"


def _ask_for_host_devices(count: int) -> None:
    """Make XLA's CPU platform show ``count`` devices; must run before JAX starts its backend."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _DEVICE_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_DEVICE_FLAG}={count}".strip()


NETWORK_SIZES = [4, 16, 8, 3]
NETWORK_ACTIVATIONS = ["tanh", "relu", "softmax"]
NETWORK_LOSS = "cce"
ROWS = 64
LEARNING_RATE = 0.5
TOLERANCE = 1e-12


def largest_relative_difference(first: Any, second: Any) -> float:
    """max over the parameters of max|a − b| / max|b|."""
    import numpy

    return max(
        float(numpy.max(numpy.abs(numpy.asarray(first[name]) - numpy.asarray(second[name]))))
        / float(numpy.max(numpy.abs(numpy.asarray(second[name]))))
        for name in second
    )


def run(devices: int, steps: int) -> tuple[float, float]:
    """(difference of the trained parameters, difference of jax.grad(loss_fn)), sharded against not."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax.sharding import AxisType, NamedSharding, PartitionSpec

    from symbackprop import Network
    from symbackprop.codegen import generate_module, load_module
    from symbackprop.codegen.targets import TARGETS

    network = Network(NETWORK_SIZES, NETWORK_ACTIVATIONS, NETWORK_LOSS)
    module = load_module(generate_module(network, target=TARGETS["jax"], output_name="mlp_jax.py"))
    available = jax.devices()
    if len(available) < devices:
        raise SystemExit(f"jax_sharded.py: error: {devices} devices asked for, JAX shows {len(available)}")
    # Auto axes: XLA decides how the batch sums Dᵀ A are reduced across devices (under Explicit
    # axes, JAX's default for make_mesh, a product over the sharded rows needs its output sharding).
    mesh = jax.make_mesh((devices,), ("batch",), devices=available[:devices], axis_types=(AxisType.Auto,))
    rows = NamedSharding(mesh, PartitionSpec("batch"))
    replicated = NamedSharding(mesh, PartitionSpec())

    data_key, class_key = jax.random.split(jax.random.key(0))
    X = jax.random.normal(data_key, (ROWS, network.sizes[0]), jax.numpy.float64)
    Y = jax.nn.one_hot(jax.random.randint(class_key, (ROWS,), 0, network.sizes[-1]), network.sizes[-1])

    def train(X: Any, Y: Any, placement: Any) -> Any:
        # train_step donates its parameters: each run starts from its own copy.
        params = jax.device_put(module.init_params(seed=0), placement)
        for _ in range(steps):
            params, _ = module.train_step(params, X, Y, LEARNING_RATE)
        return params

    one_device = available[0]
    sharded = train(jax.device_put(X, rows), jax.device_put(Y, rows), replicated)
    unsharded = train(jax.device_put(X, one_device), jax.device_put(Y, one_device), one_device)
    gradient = jax.jit(jax.grad(module.loss_fn))
    params = module.init_params(seed=0)
    sharded_grads = gradient(jax.device_put(params, replicated), jax.device_put(X, rows), jax.device_put(Y, rows))
    grads = gradient(jax.device_put(params, one_device), jax.device_put(X, one_device), jax.device_put(Y, one_device))
    print(f"network: {network.compact}; {ROWS} rows; {steps} steps of lr {LEARNING_RATE}, float64")
    print(f"batch sharded by rows across {devices} devices: {jax.device_put(X, rows).sharding}")
    return largest_relative_difference(sharded, unsharded), largest_relative_difference(sharded_grads, grads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2, help="host devices to shard the batch across (default 2)")
    parser.add_argument("--steps", type=int, default=5, help="training steps (default 5)")
    arguments = parser.parse_args(argv)
    if ROWS % arguments.devices:
        parser.error(f"{ROWS} rows do not split into {arguments.devices} equal shards")
    _ask_for_host_devices(arguments.devices)
    trained, gradients = run(arguments.devices, arguments.steps)
    print(f"largest relative difference of the trained parameters: {trained:.3g}")
    print(f"largest relative difference of jax.grad(loss_fn): {gradients:.3g}")
    return 0 if max(trained, gradients) <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
