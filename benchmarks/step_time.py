"""Optimizer step time: ddlopt (NumPy and the torch twins) against torch.optim, in one run.

    .venv/bin/python -m benchmarks.step_time [--device cpu|cuda] [--repeats 7]

Each optimizer updates the same parameters (an MLP's worth: 32 tensors, 1.84 M float32
values) with fixed random gradients. The timed unit is one ``step()``; the figure is
the median over repeats of the mean over a block of steps, after warm-up. Ratios are against
torch.optim with the same foreach setting, measured in the same process, interleaved, so
machine noise hits both alike. Timings are for reading, never asserted in tests.
"""

import argparse
import platform
import statistics

import numpy as np
import torch

import ddlopt.optim
import ddlopt.torch

from .optim_step import numpy_stepper, seconds_per_step, synchronize, torch_stepper

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
    sync = lambda: synchronize(args.device)  # noqa: E731
    for name, (twin, reference, numpy_cls, kwargs) in PAIRS.items():
        for foreach in (False, True):
            ours = torch_stepper(twin, kwargs, SHAPES, args.device, foreach=foreach)
            theirs = torch_stepper(reference, kwargs, SHAPES, args.device, foreach=foreach)
            for stepper in (ours, theirs):  # warm-up: state allocation, first-call overheads
                seconds_per_step(stepper, sync, 3)
            times = {"ours": [], "theirs": []}
            for _ in range(args.repeats):  # interleaved, so both see the same machine
                times["ours"].append(seconds_per_step(ours, sync, args.block))
                times["theirs"].append(seconds_per_step(theirs, sync, args.block))
            a, b = (statistics.median(times[k]) * 1e3 for k in ("ours", "theirs"))
            path = "foreach" if foreach else "per-tensor"
            print(f"{name:<14}{path:<12}{a:>10.3f}{b:>10.3f}{a / b:>8.2f}")
        if args.device == "cpu":  # the NumPy version against torch's per-tensor path
            step = numpy_stepper(numpy_cls, kwargs, SHAPES)
            seconds_per_step(step, sync, 3)
            t = statistics.median(seconds_per_step(step, sync, args.block) for _ in range(args.repeats))
            print(f"{name:<14}{'NumPy':<12}{t * 1e3:>10.3f}")


if __name__ == "__main__":
    main()
