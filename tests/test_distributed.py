"""ddlopt.torch optimizers under torch.distributed: DistributedDataParallel (every rank holds
the whole optimizer state), ZeroRedundancyOptimizer (each rank holds a shard of the state)
and FSDP2's ``fully_shard`` (each rank holds a shard of every parameter, of its gradient and
of its state: the parameters are DTensors).

Two processes on the gloo backend, on CPU, each with half of every batch: after N steps
their parameters must equal those of one process trained on the whole batch. DDP and FSDP
average the gradients over the ranks, so with equal halves the averaged gradient is the
whole batch's gradient, up to the order of the float additions: float64 keeps that below
1e-12.

Under FSDP2 the output layer's weight, one row, is split unevenly: rank 0 holds the row,
rank 1 an empty shard. Adafactor (which reads whole rows, columns and norms of a parameter)
and ``check_finite`` (whose verdict every rank must share) look across the shards. The fused
Triton steps take float32 tensors only: they run in Triton's interpreter on each rank's
shards and are compared in float32 with the same fused step in one process.
"""

import datetime
import os
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.distributed.fsdp import fully_shard
from torch.distributed.optim import ZeroRedundancyOptimizer

import ddlopt.torch
from ddlopt.torch import fused

WORLD = 2
STEPS = 20
FSDP_STEPS = 10
TOLERANCE = 1e-12   # float64; the two sums differ in rounding only
# float32 (eps 1.2e-7): the gradients' sums differ in rounding; measured over FSDP_STEPS
# steps: 2.2e-7 (RMSprop), 9e-8 (SGD), 5e-8 (Adam)
FUSED_TOLERANCE = 1e-6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_and_data(steps=STEPS, dtype=torch.float64):
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    model = model.to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype))
    X = torch.randn(steps, 8 * WORLD, 6, generator=gen, dtype=dtype)
    y = torch.randn(steps, 8 * WORLD, 1, generator=gen, dtype=dtype)
    return model, X, y


def shard(model):
    """FSDP2: each layer a unit of its own (gathered for its forward, freed after), then the
    root, as the FSDP2 tutorial does."""
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer)
    fully_shard(model)
    return model


def make_optimizer(name, params, sharded):
    cls, kwargs = OPTIMIZERS[name]
    if sharded:
        return ZeroRedundancyOptimizer(params, optimizer_class=cls, **kwargs)
    return cls(params, **kwargs)


OPTIMIZERS = {
    "Adam": (ddlopt.torch.Adam, dict(lr=1e-2, weight_decay=1e-3)),
    "SGD": (ddlopt.torch.SGD, dict(lr=1e-2, momentum=0.9, nesterov=True)),
}
FSDP_OPTIMIZERS = {
    "Adam": (ddlopt.torch.Adam, dict(lr=1e-2, weight_decay=1e-3, amsgrad=True)),
    "AdamW": (ddlopt.torch.AdamW, dict(lr=1e-2, weight_decay=1e-2)),
    "SGD": (ddlopt.torch.SGD, dict(lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "Adafactor": (ddlopt.torch.Adafactor, dict(lr=1e-2, weight_decay=1e-3)),
}
FUSED_OPTIMIZERS = {  # float32: the Triton kernels' dtype
    "Adam": (ddlopt.torch.Adam, dict(lr=1e-2, weight_decay=1e-3, amsgrad=True)),
    "SGD": (ddlopt.torch.SGD, dict(lr=1e-2, momentum=0.9, nesterov=True)),
    "RMSprop": (ddlopt.torch.RMSprop, dict(lr=1e-2, centered=True, momentum=0.5)),
}


def train(model, optimizer, X, y):
    for t in range(len(X)):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X[t]), y[t]).backward()
        optimizer.step()
    return [whole(p).detach().clone() for p in model.parameters()]


def whole(tensor):
    """A DTensor gathered from every rank (a collective: every rank calls it); a tensor as
    it is."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def numpy(tensors):
    return [t.numpy() for t in tensors]


CONFIGS = [(name, sharded) for name in OPTIMIZERS for sharded in (False, True)]
FSDP_CONFIGS = [(name, foreach) for name in FSDP_OPTIMIZERS for foreach in (False, True)]


def interpret_fused_steps():
    """Let this process run the fused steps on CPU tensors in Triton's interpreter (CI has
    no GPU); False where Triton is missing or was already imported to compile for a GPU."""
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        return False
    os.environ["TRITON_INTERPRET"] = "1"  # read when triton is imported
    fused.INTERPRET_ON_CPU = True
    return fused.triton_available()


def check_finite_on_one_shard(rank):
    """A NaN in rank 0's shard of one gradient: every rank must refuse the step (a rank
    that took it would part from the others), and no parameter may move."""
    model, X, y = model_and_data(steps=1)
    shard(model)
    optimizer = ddlopt.torch.Adam(model.parameters(), lr=1e-2, check_finite=True)
    torch.nn.functional.mse_loss(model(X[0, :8]), y[0, :8]).backward()
    before = [whole(p).clone() for p in model.parameters()]
    if rank == 0:   # rank 0 holds the output layer's one row; rank 1 holds none of it
        model[2].weight.grad.to_local()[0, 3] = float("nan")
    try:
        optimizer.step()
        message = None
    except FloatingPointError as error:
        message = str(error)
    unchanged = all(torch.equal(whole(p), b) for p, b in zip(model.parameters(), before))
    return message, unchanged


def worker(rank, port, results):
    """One rank: every configuration in turn (one spawn for all: starting processes is the
    slow part)."""
    fused_steps_run = interpret_fused_steps()  # first: torch imports triton on the way
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD, timeout=datetime.timedelta(seconds=120))
    try:
        torch.set_num_threads(1)
        half = slice(rank * 8, (rank + 1) * 8)
        for name, sharded in CONFIGS:
            model, X, y = model_and_data()
            ddp = torch.nn.parallel.DistributedDataParallel(model)
            optimizer = make_optimizer(name, ddp.parameters(), sharded)
            params = train(ddp, optimizer, X[:, half], y[:, half])
            results[rank, name, sharded] = numpy(params)
        for name, foreach in FSDP_CONFIGS:
            model, X, y = model_and_data(FSDP_STEPS)
            cls, kwargs = FSDP_OPTIMIZERS[name]
            optimizer = cls(shard(model).parameters(), foreach=foreach, **kwargs)
            results[rank, "FSDP2", name, foreach] = numpy(train(model, optimizer, X[:, half],
                                                                y[:, half]))
        results[rank, "check_finite"] = check_finite_on_one_shard(rank)
        if fused_steps_run:
            for name, (cls, kwargs) in FUSED_OPTIMIZERS.items():
                runs = []
                for sharded in (True, False):   # FSDP2 on half batches; alone on whole ones
                    model, X, y = model_and_data(FSDP_STEPS, torch.float32)
                    optimizer = cls((shard(model) if sharded else model).parameters(),
                                    fused=True, **kwargs)
                    rows = half if sharded else slice(None)
                    runs.append(numpy(train(model, optimizer, X[:, rows], y[:, rows])))
                    # the fused step ran (it warns and takes the foreach path where it cannot)
                    runs.append(not getattr(optimizer, "_warned_fused_fallback", False))
                results[rank, "fused", name] = runs
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def distributed_runs():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(worker, args=(free_port(), results), nprocs=WORLD, join=True)
        return dict(results)


def relative_error(ours, reference):
    return max(((torch.from_numpy(a) - b).abs().max() / b.abs().max()).item()
               for a, b in zip(ours, reference, strict=True))


def alone_on_the_whole_batches(cls, kwargs, steps=STEPS):
    model, X, y = model_and_data(steps)
    alone = train(model, cls(model.parameters(), **kwargs), X, y)
    initial = [p.detach() for p in model_and_data(steps)[0].parameters()]
    assert max((a - b).abs().max().item() for a, b in zip(alone, initial)) > 1e-3  # it moved
    return alone


@pytest.mark.parametrize("sharded", [False, True], ids=["DDP", "DDP+ZeRO"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_two_ranks_equal_one_process_on_the_whole_batch(distributed_runs, name, sharded):
    alone = alone_on_the_whole_batches(*OPTIMIZERS[name])
    for rank in range(WORLD):
        assert relative_error(distributed_runs[rank, name, sharded], alone) <= TOLERANCE


@pytest.mark.parametrize("foreach", [False, True], ids=["per-tensor", "foreach"])
@pytest.mark.parametrize("name", FSDP_OPTIMIZERS)
def test_fsdp2_sharded_parameters_equal_one_process_on_the_whole_batch(distributed_runs, name,
                                                                       foreach):
    cls, kwargs = FSDP_OPTIMIZERS[name]
    alone = alone_on_the_whole_batches(cls, dict(kwargs, foreach=foreach), FSDP_STEPS)
    for rank in range(WORLD):
        assert relative_error(distributed_runs[rank, "FSDP2", name, foreach], alone) <= TOLERANCE


def test_fsdp2_check_finite_stops_every_rank_when_one_shard_has_a_nan(distributed_runs):
    for rank in range(WORLD):
        message, unchanged = distributed_runs[rank, "check_finite"]
        assert message is not None and "contains NaN" in message and "(shape (1, 8))" in message
        assert unchanged


@pytest.mark.parametrize("name", FUSED_OPTIMIZERS)
def test_fsdp2_fused_step_runs_on_each_ranks_shards(distributed_runs, name):
    if (0, "fused", name) not in distributed_runs:
        pytest.skip("Triton is not installed: no fused step to run")
    for rank in range(WORLD):
        sharded, sharded_fused, alone, alone_fused = distributed_runs[rank, "fused", name]
        assert sharded_fused and alone_fused
        alone = [torch.from_numpy(a) for a in alone]
        assert relative_error(sharded, alone) <= FUSED_TOLERANCE
        initial = [p.detach() for p in model_and_data(FSDP_STEPS, torch.float32)[0].parameters()]
        assert relative_error(numpy(alone), initial) > 1e-3   # it moved
