"""Timing memory-bound work: a device's bandwidth, and steps timed in turn.

An optimizer step moves bytes more than it computes (chapter 10), so its time is judged
against the bandwidth of the memory it runs from. :func:`bandwidth_probes` are three simple
passes whose bytes are known; :func:`interleaved` times several steps in rounds, each round
timing every step once, so that a burst of load from other jobs hits them all alike.
Chapter 10 and ``benchmarks.optim_step`` (the GPU run) both time with these.
"""

import time

import numpy as np
import torch

__all__ = ["synchronize", "seconds_per_step", "bandwidth_probes", "bandwidths",
           "interleaved", "stepper"]


def synchronize(device):
    """Wait for the device to finish its queued work (CUDA is asynchronous; a CPU is not)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def seconds_per_step(step, sync, block):
    """Mean seconds of one ``step()`` over a block of ``block`` calls, ``sync()`` at both
    ends (so that a device's queued work is inside the block, not outside it)."""
    sync()
    start = time.perf_counter()
    for _ in range(block):
        step()
    sync()
    return (time.perf_counter() - start) / block


def bandwidth_probes(device="cpu", megabytes=256):
    """Three passes over float32 arrays of ``megabytes`` each: ``{name: (call, bytes)}``,
    ``bytes`` counting each byte read and each byte written once.

    - ``copy``, ``b = a``: 2 arrays. On a CPU each line written is first read into the
      cache (*write-allocate*), a read the count does not see: the copy looks slow.
    - ``in-place``, ``a *= 1``: 2 arrays, read and written back, as an optimizer's state
      is; no hidden read.
    - ``triad``, ``c = a + b / 2`` (STREAM's triad): 3 arrays.
    """
    if megabytes <= 0:
        raise ValueError(f"megabytes must be positive, got {megabytes}")
    n = int(megabytes * (1 << 20)) // 4
    a, b, c = (torch.full((n,), 1.0, device=device) for _ in range(3))
    return {"copy": (lambda: b.copy_(a), 2 * 4 * n),
            "in-place": (lambda: a.mul_(1.0), 2 * 4 * n),
            "triad": (lambda: torch.add(a, b, alpha=0.5, out=c), 3 * 4 * n)}


def bandwidths(device="cpu", megabytes=256, repeats=10):
    """Bytes per second each probe of :func:`bandwidth_probes` moves: the fastest of
    ``repeats``. A step's floor uses the fastest probe, which no step should beat."""
    probes = bandwidth_probes(device, megabytes)
    seconds = interleaved({name: call for name, (call, _) in probes.items()}, repeats,
                          block=1, device=device)
    return {name: nbytes / seconds[name] for name, (_, nbytes) in probes.items()}


def interleaved(steps, repeats=5, block=2, device="cpu", summary=min):
    """Seconds per call of each of ``steps`` (``{name: zero-argument callable}``).

    Each is called once first (the warm-up: state allocated, kernels compiled), then
    ``repeats`` rounds time a block of ``block`` calls of every step in turn. ``summary``
    reduces each step's ``repeats`` timings: ``min`` (the default: other jobs on a shared
    machine only ever add time) or, for example, ``statistics.median``.
    """
    if repeats < 1 or block < 1:
        raise ValueError(f"repeats and block must be at least 1, got {repeats} and {block}")
    sync = lambda: synchronize(device)  # noqa: E731
    for step in steps.values():
        seconds_per_step(step, sync, 1)
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(seconds_per_step(step, sync, block))
    return {name: summary(t) for name, t in times.items()}


def stepper(optimizer_class, sizes, device="cpu", **options):
    """The bound ``step`` of ``optimizer_class(params, **options)`` over float32 parameters
    of ``sizes`` (a list of element counts) whose gradients are set once (``1e-3`` times a
    seeded normal draw): a step to time on its own, with no forward or backward pass.

    A ``torch.optim.Optimizer`` class gets torch tensors on ``device``; one of
    ``ddlopt.optim`` (NumPy) gets ``ddlopt.Parameter`` arrays. The bound method keeps its
    optimizer alive (``step.__self__`` is the optimizer).
    """
    if issubclass(optimizer_class, torch.optim.Optimizer):
        gen = torch.Generator(device=device).manual_seed(0)
        params = [torch.randn(s, device=device, generator=gen).requires_grad_()
                  for s in sizes]
        for p in params:
            p.grad = torch.randn(p.shape, device=device, generator=gen) * 1e-3
        return optimizer_class(params, **options).step
    if torch.device(device).type != "cpu":
        raise ValueError(f"{optimizer_class.__name__} runs on NumPy arrays: device must be "
                         f"cpu, got {device}")
    from ..params import Parameter   # the NumPy side of ddlopt
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal(s, dtype=np.float32)) for s in sizes]
    for p in params:
        p.grad = rng.standard_normal(p.data.shape, dtype=np.float32) * np.float32(1e-3)
    return optimizer_class(params, **options).step
