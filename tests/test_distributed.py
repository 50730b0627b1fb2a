"""ddlopt.torch optimizers under torch.distributed: DistributedDataParallel (every rank holds
the whole optimizer state) and ZeroRedundancyOptimizer (each rank holds a shard of it).

Two processes on the gloo backend, on CPU, each with half of every batch: after N steps
their parameters must equal those of one process trained on the whole batch. DDP averages
the gradients over the ranks, so with equal halves the averaged gradient is the whole
batch's gradient, up to the order of the float additions: float64 keeps that below 1e-12.
"""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.distributed.optim import ZeroRedundancyOptimizer

import ddlopt.torch

WORLD = 2
STEPS = 20
TOLERANCE = 1e-12   # float64; the two sums differ in rounding only


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_and_data():
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    X = torch.randn(STEPS, 8 * WORLD, 6, generator=gen, dtype=torch.float64)
    y = torch.randn(STEPS, 8 * WORLD, 1, generator=gen, dtype=torch.float64)
    return model, X, y


def make_optimizer(name, params, sharded):
    cls, kwargs = OPTIMIZERS[name]
    if sharded:
        return ZeroRedundancyOptimizer(params, optimizer_class=cls, **kwargs)
    return cls(params, **kwargs)


OPTIMIZERS = {
    "Adam": (ddlopt.torch.Adam, dict(lr=1e-2, weight_decay=1e-3)),
    "SGD": (ddlopt.torch.SGD, dict(lr=1e-2, momentum=0.9, nesterov=True)),
}


def train(model, optimizer, X, y):
    for t in range(STEPS):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X[t]), y[t]).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


CONFIGS = [(name, sharded) for name in OPTIMIZERS for sharded in (False, True)]


def worker(rank, port, results):
    """One rank: every configuration in turn (one spawn for all: starting processes is the
    slow part)."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    try:
        torch.set_num_threads(1)
        half = slice(rank * 8, (rank + 1) * 8)
        for name, sharded in CONFIGS:
            model, X, y = model_and_data()
            ddp = torch.nn.parallel.DistributedDataParallel(model)
            optimizer = make_optimizer(name, ddp.parameters(), sharded)
            params = train(ddp, optimizer, X[:, half], y[:, half])
            results[rank, name, sharded] = [p.numpy() for p in params]
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def distributed_runs():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(worker, args=(free_port(), results), nprocs=WORLD, join=True)
        return dict(results)


@pytest.mark.parametrize("sharded", [False, True], ids=["DDP", "DDP+ZeRO"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_two_ranks_equal_one_process_on_the_whole_batch(distributed_runs, name, sharded):
    model, X, y = model_and_data()
    cls, kwargs = OPTIMIZERS[name]
    alone = train(model, cls(model.parameters(), **kwargs), X, y)
    initial = [p.detach() for p in model_and_data()[0].parameters()]
    assert max((a - b).abs().max().item() for a, b in zip(alone, initial)) > 1e-3  # it moved
    for rank in range(WORLD):
        for ours, reference in zip(distributed_runs[rank, name, sharded], alone, strict=True):
            error = (torch.from_numpy(ours) - reference).abs().max() / reference.abs().max()
            assert error.item() <= TOLERANCE
