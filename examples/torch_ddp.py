"""Data-parallel training of a generated PyTorch module: DistributedDataParallel, 2 processes, CPU.

The torch module generated from the derivation of a 4-16-8-3 tanh, relu, softmax network with
categorical cross-entropy is trained for five SGD steps twice, from the same initial weights:

* by ``--processes`` processes (2 by default) with the gloo backend, each on its equal share of a
  batch of 64 rows: each computes the derived gradients of the mean loss over its rows (the
  ``torch.autograd.Function`` of the generated ``MLP``), and DistributedDataParallel averages them,
  which is the mean over the whole batch;
* by one process on the whole batch.

It prints the largest relative difference between the two sets of parameters (float64) and exits
with status 1 if it exceeds 1e-12. Run: ``python examples/torch_ddp.py [--processes 2] [--steps 5]``.
Needs PyTorch (``pip install 'symbackprop[torch]'``).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from symbackprop import Network
from symbackprop.codegen import generate_module, load_module
from symbackprop.codegen.targets import TARGETS

NETWORK = Network([4, 16, 8, 3], ["tanh", "relu", "softmax"], "cce")
ROWS = 64
LEARNING_RATE = 0.5
TOLERANCE = 1e-12


def batch(rows: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random float64 inputs and one-hot targets of the network's widths."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn((rows, NETWORK.sizes[0]), generator=generator, dtype=torch.float64)
    classes = torch.randint(0, NETWORK.sizes[-1], (rows,), generator=generator)
    return X, torch.nn.functional.one_hot(classes, NETWORK.sizes[-1]).to(torch.float64)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _worker(
    rank: int, processes: int, port: int, source: str, X: torch.Tensor, Y: torch.Tensor, steps: int, out: str
) -> None:
    """One process: its share of the rows, DDP averaging the derived gradients between processes."""
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=processes)
    try:
        module = load_module(source)
        model = DistributedDataParallel(module.MLP(seed=0))
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        share = X.shape[0] // processes
        mine = slice(rank * share, (rank + 1) * share)
        for _ in range(steps):
            optimizer.zero_grad()
            # DDP hooks forward: the model called with targets returns the loss of the derived backward.
            model(X[mine], Y[mine]).backward()
            optimizer.step()
        if rank == 0:
            module.save(out, model.module.params())
    finally:
        dist.destroy_process_group()


def train_data_parallel(source: str, X: torch.Tensor, Y: torch.Tensor, *, processes: int, steps: int) -> Any:
    """The parameters after ``steps`` SGD steps of ``processes`` DDP processes on equal shares of X."""
    if X.shape[0] % processes:
        raise ValueError(f"{X.shape[0]} rows do not split into {processes} equal shares")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "weights.pt")
        mp.spawn(_worker, args=(processes, _free_port(), source, X, Y, steps, out), nprocs=processes)
        return load_module(source).load(out)


def train_one_process(source: str, X: torch.Tensor, Y: torch.Tensor, *, steps: int) -> Any:
    """The parameters after ``steps`` SGD steps of one process on the whole of X."""
    module = load_module(source)
    model = module.MLP(seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    for _ in range(steps):
        optimizer.zero_grad()
        model.loss(X, Y).backward()
        optimizer.step()
    return {name: value.detach() for name, value in model.params().items()}


def largest_relative_difference(first: Any, second: Any) -> float:
    """max over the parameters of max|a − b| / max|b|."""
    return max(float((first[name] - second[name]).abs().max() / second[name].abs().max()) for name in second)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="DDP processes (default 2)")
    parser.add_argument("--steps", type=int, default=5, help="SGD steps (default 5)")
    arguments = parser.parse_args(argv)
    source = generate_module(NETWORK, target=TARGETS["torch"], output_name="mlp_torch.py")
    X, Y = batch(ROWS)
    parallel = train_data_parallel(source, X, Y, processes=arguments.processes, steps=arguments.steps)
    single = train_one_process(source, X, Y, steps=arguments.steps)
    difference = largest_relative_difference(parallel, single)
    print(f"network: {NETWORK.compact}; {ROWS} rows; {arguments.steps} SGD steps of lr {LEARNING_RATE}, float64")
    print(f"{arguments.processes} DDP processes (gloo) against 1 process on the whole batch")
    print(f"largest relative difference of the parameters: {difference:.3g}")
    return 0 if difference <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
