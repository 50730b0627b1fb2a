"""Optimizer step time: ddlopt (NumPy and the torch twins) against torch.optim, in one run.

    .venv/bin/python benchmarks/step_time.py [--device cpu|cuda] [--repeats 7]

Each optimizer updates the same parameters (an MLP's worth: 32 tensors, 1.84 M float32
values) with fixed random gradients. The timed unit is one ``step()``; the figure is
the median over repeats of the mean over a block of steps, after warm-up. Ratios are against
torch.optim with the same foreach setting, measured in the same process, interleaved, so
machine noise hits both alike. Timings are for reading, never asserted in tests.
"""

import argparse
import platform
import statistics
import time

import numpy as np
import torch

import ddlopt
import ddlopt.optim
import ddlopt.torch

SHAPES = [(512, 512), (512,)] * 4 + [(256, 256), (256,)] * 8 + [(1024, 64), (64,)] * 4

PAIRS = {  # name: (ddlopt.torch class, torch.optim class, ddlopt.optim class, kwargs)
    "SGD momentum": (ddlopt.torch.SGD, torch.optim.SGD, ddlopt.optim.SGD,
                     dict(lr=0.01, momentum=0.9, weight_decay=1e-4)),
    "Adagrad": (ddlopt.torch.Adagrad, torch.optim.Adagrad, ddlopt.optim.Adagrad, dict(lr=0.01)),
    "RMSprop": (ddlopt.torch.RMSprop, torch.optim.RMSprop, ddlopt.optim.RMSprop, dict(lr=0.01)),
    "Adam": (ddlopt.torch.Adam, torch.optim.Adam, ddlopt.optim.Adam, dict(lr=1e-3)),
    "AdamW": (ddlopt.torch.AdamW, torch.optim.AdamW, ddlopt.optim.AdamW, dict(lr=1e-3)),
    "NAdam": (ddlopt.torch.NAdam, torch.optim.NAdam, ddlopt.optim.NAdam, dict(lr=1e-3)),
}


def torch_stepper(cls, kwargs, device, foreach):
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).to(device).requires_grad_() for s in SHAPES]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).to(device)
    optimizer = cls(params, foreach=foreach, **kwargs)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return optimizer.step, sync


def numpy_stepper(cls, kwargs):
    rng = np.random.default_rng(0)
    params = [ddlopt.Parameter(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(np.float32)
    return cls(params, **kwargs).step, (lambda: None)


def seconds_per_step(step, sync, block):
    sync()
    start = time.perf_counter()
    for _ in range(block):
        step()
    sync()
    return (time.perf_counter() - start) / block


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--block", type=int, default=20)
    args = parser.parse_args()
    n = sum(int(np.prod(s)) for s in SHAPES)
    name = torch.cuda.get_device_name() if args.device == "cuda" else platform.machine()
    print(f"device {args.device} ({name}), torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} threads, "
          f"{len(SHAPES)} tensors, {n / 1e6:.2f} M float32 values")
    print(f"{'optimizer':<14}{'path':<12}{'ddlopt ms':>10}{'torch ms':>10}{'ratio':>8}")
    for name, (twin, reference, numpy_cls, kwargs) in PAIRS.items():
        for foreach in (False, True):
            ours = torch_stepper(twin, kwargs, args.device, foreach)
            theirs = torch_stepper(reference, kwargs, args.device, foreach)
            for stepper in (ours, theirs):  # warm-up: state allocation, first-call overheads
                seconds_per_step(*stepper, 3)
            times = {"ours": [], "theirs": []}
            for _ in range(args.repeats):  # interleaved, so both see the same machine
                times["ours"].append(seconds_per_step(*ours, args.block))
                times["theirs"].append(seconds_per_step(*theirs, args.block))
            a, b = (statistics.median(times[k]) * 1e3 for k in ("ours", "theirs"))
            path = "foreach" if foreach else "per-tensor"
            print(f"{name:<14}{path:<12}{a:>10.3f}{b:>10.3f}{a / b:>8.2f}")
        if args.device == "cpu":  # the NumPy version against torch's per-tensor path
            step, sync = numpy_stepper(numpy_cls, kwargs)
            seconds_per_step(step, sync, 3)
            t = statistics.median(seconds_per_step(step, sync, args.block) for _ in range(args.repeats))
            print(f"{name:<14}{'NumPy':<12}{t * 1e3:>10.3f}")


if __name__ == "__main__":
    main()
